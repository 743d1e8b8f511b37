#!/usr/bin/env bash
# The performance benchmark (`make bench`), written to BENCHMARKS.md:
#   CPU per operation (Rust vs the PyPI packages), cold starts, warm latency and DynamoDB
#   requests per route, release binary sizes and peak memory.
# Builds release binaries into target/bench (never the debug target/ the tests use), runs a
# local stack on loopback only (moto, the sandbox, counting proxies) and stops every process
# it started. Knobs: BENCH_ORDERS (warm orders, 200), BENCH_COLD (cold starts per function,
# 20), BENCH_BATCH (orders per fresh table, 25), BENCH_BUILD=0 (reuse the release binaries
# as they are), BENCH_CALLGRIND=0 (skip the instruction counts), BENCH_TIMEOUT (seconds for
# the measuring part, 1800).
# The cold starts are compared, in the same run, with two references (issue 13: absolute times
# move by half again on these shared machines, so every speed target is a ratio or a difference):
#   * the floor, bench/floor: a do-nothing lambda_runtime function built with the same profile;
#   * the old binaries: BENCH_BASELINE (a git revision, default 3e0e51e, the last commit before
#     issue 13's work) is exported with `git archive` into target/bench/baseline/src and built
#     there (`cargo build --release --bins`, CARGO_TARGET_DIR=target/bench/baseline/target: a
#     full LTO build the first time); its function binaries are kept in target/bench/baseline/bin
#     with the commit in bin/REV, so later runs do not rebuild. BENCH_BASELINE=none: no baseline;
#     a revision this clone does not have (shallow) is logged and skipped. BENCH_BUILD=0 uses
#     the kept baseline binaries only if bin/REV names that revision.
# BENCH_BLOAT=0 skips the per-function `cargo bloat --crates` breakdown (profile `bloat`: the
# release build with symbols; each package built on its own, i.e. with its own feature set).
# That needs cargo-bloat (`cargo install cargo-bloat`, 0.12); without it the breakdown is skipped.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$MINIPAY_ROOT"

export CARGO_TARGET_DIR="$MINIPAY_ROOT/target/bench"
ORDERS=${BENCH_ORDERS:-200}
COLD=${BENCH_COLD:-20}
LIMIT=${BENCH_TIMEOUT:-1800}
BIN="$CARGO_TARGET_DIR/release"
RESULTS="$CARGO_TARGET_DIR/results"
LOGS="$CARGO_TARGET_DIR/logs"
VENV="$CARGO_TARGET_DIR/py"
started=$SECONDS

setup_tools
trap cleanup EXIT
mkdir -p "$RESULTS" "$LOGS"
rm -f "$RESULTS"/*.json "$LOGS"/*.log

if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating $VENV for the Python packages compared against (bench/requirements.txt)"
  python3 -m venv --system-site-packages "$VENV"
fi
"$VENV/bin/python" -m pip install --disable-pip-version-check -q -r bench/requirements.txt

if [[ "${BENCH_BUILD:-1}" != 0 ]]; then
  log "building the release binaries and the bench_ops example into $CARGO_TARGET_DIR (LTO: slow the first time)"
  timeout "${BENCH_BUILD_TIMEOUT:-3600}" cargo build --release --bins --quiet
  timeout "${BENCH_BUILD_TIMEOUT:-3600}" cargo build --release -p minipay-shared --example bench_ops --quiet
fi
for f in openid prepay query notify refund settle push floor sandbox examples/bench_ops; do
  [[ -x "$BIN/$f" ]] || { log "missing $BIN/$f (run without BENCH_BUILD=0)"; exit 1; }
done

# The function binaries: those cargo bloat breaks down and the baseline keeps.
FUNCTION_BINS=(openid prepay query notify refund settle push reconcile events admin)

# The old binaries (BENCH_BASELINE, see the header), into $BASELINE_BIN; results/baseline.json
# says which revision the report compares with, or why none.
BASELINE=${BENCH_BASELINE:-3e0e51e}
BASELINE_DIR="$CARGO_TARGET_DIR/baseline"
BASELINE_BIN=""
baseline_note() {
  python3 -c 'import json, sys; print(json.dumps(dict(zip(("rev", "commit", "status"), sys.argv[1:]))))' \
    "$@" >"$RESULTS/baseline.json"
}
build_baseline() {
  local commit f
  if [[ "$BASELINE" == none ]]; then
    log "BENCH_BASELINE=none: no baseline binaries"
    baseline_note none "" none
    return 0
  fi
  if ! commit=$(git rev-parse --verify --quiet "$BASELINE^{commit}"); then
    log "baseline revision $BASELINE is not in this clone (shallow?): going on without a baseline"
    baseline_note "$BASELINE" "" missing
    return 0
  fi
  if [[ -f "$BASELINE_DIR/bin/REV" && "$(cat "$BASELINE_DIR/bin/REV")" == "$commit" ]]; then
    log "baseline $BASELINE ($commit): binaries already in $BASELINE_DIR/bin"
  elif [[ "${BENCH_BUILD:-1}" == 0 ]]; then
    log "BENCH_BUILD=0 and no baseline binaries of $commit in $BASELINE_DIR/bin: going on without a baseline"
    baseline_note "$BASELINE" "$commit" not-built
    return 0
  else
    log "building the baseline $BASELINE ($commit) into $BASELINE_DIR (a full LTO build the first time)"
    rm -rf "$BASELINE_DIR/src" "$BASELINE_DIR/bin"
    mkdir -p "$BASELINE_DIR/src" "$BASELINE_DIR/bin"
    git archive "$commit" | tar -x -C "$BASELINE_DIR/src"
    if ! (cd "$BASELINE_DIR/src" && CARGO_TARGET_DIR="$BASELINE_DIR/target" \
        timeout "${BENCH_BUILD_TIMEOUT:-3600}" cargo build --release --bins --quiet); then
      log "the baseline build failed: going on without a baseline"
      baseline_note "$BASELINE" "$commit" build-failed
      return 0
    fi
    for f in "${FUNCTION_BINS[@]}"; do
      if [[ -x "$BASELINE_DIR/target/release/$f" ]]; then cp "$BASELINE_DIR/target/release/$f" "$BASELINE_DIR/bin/"; fi
    done
    echo "$commit" >"$BASELINE_DIR/bin/REV"
  fi
  BASELINE_BIN="$BASELINE_DIR/bin"
  baseline_note "$BASELINE" "$commit" built
}
build_baseline

# cargo bloat per function (and the floor), into results/bloat_<name>.json.
if [[ "${BENCH_BLOAT:-1}" == 0 ]]; then
  log "BENCH_BLOAT=0: no cargo bloat breakdown"
elif ! cargo bloat --version >/dev/null 2>&1; then
  log "cargo-bloat is not installed (cargo install cargo-bloat): no cargo bloat breakdown"
else
  for f in "${FUNCTION_BINS[@]}" floor; do
    log "cargo bloat --profile bloat -p $f --bin $f --crates"
    timeout "${BENCH_BUILD_TIMEOUT:-3600}" cargo bloat --profile bloat -p "$f" --bin "$f" --crates -n 40 \
      --message-format json >"$RESULTS/bloat_$f.json" 2>"$LOGS/bloat_$f.log" \
      || { log "cargo bloat $f failed (see $LOGS/bloat_$f.log)"; rm -f "$RESULTS/bloat_$f.json"; }
  done
fi
deadline=$((SECONDS + LIMIT))
left() { local s=$((deadline - SECONDS)); echo $((s > 1 ? s : 1)); }

log "CPU per operation: Rust (bench_ops)"
timeout "$(left)" "$BIN/examples/bench_ops" >"$RESULTS/ops_rust.json"
log "CPU per operation: Python packages (bytedance, wechatpy, wechatpayv3)"
timeout "$(left)" "$VENV/bin/python" scripts/bench_python_ops.py >"$RESULTS/ops_python.json"
if [[ "${BENCH_CALLGRIND:-1}" != 0 ]]; then
  log "instructions per operation (callgrind)"
  timeout "$(left)" python3 scripts/bench_callgrind.py --bin "$BIN/examples/bench_ops" >"$RESULTS/callgrind.json" \
    || log "callgrind failed; the report leaves instruction counts out"
fi
log "Python reference: import boto3"
timeout "$(left)" python3 scripts/bench_python_import.py --runs 20 >"$RESULTS/python_import.json"

log "starting moto server, the table and the catalog"
start_moto "$LOGS"
TABLE=minipay-bench
python3 scripts/create_table.py --endpoint-url "$MOTO_URL" --table "$TABLE" >/dev/null
python3 scripts/load_catalog.py --endpoint-url "$MOTO_URL" --table "$TABLE" catalog/sample.json >/dev/null

APP_ID=tt_bench_app
APP_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
SALT=$(python3 -c 'import secrets; print(secrets.token_hex(20))')
TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
ADMIN_API_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
SANDBOX_PORT=$(free_port)
SANDBOX_URL="http://127.0.0.1:$SANDBOX_PORT"
DDB_PROXY_PORT=$(free_port)
PLATFORM_PROXY_PORT=$(free_port)
GATEWAY_PORT=$(free_port)

# The platforms call https notify URLs only: `notify` is configured with a public one,
# which the sandbox carries to the local gateway, as a developer's tunnel would.
PUBLIC_ORIGIN=https://minipay.bench.test

log "starting the platform sandbox (release) on $SANDBOX_URL"
SANDBOX_PORT=$SANDBOX_PORT SANDBOX_APP_ID=$APP_ID SANDBOX_APP_SECRET=$APP_SECRET \
  SANDBOX_SALT=$SALT SANDBOX_TOKEN=$TOKEN \
  SANDBOX_PUBLIC_ORIGIN=$PUBLIC_ORIGIN SANDBOX_LOCAL_ORIGIN=http://127.0.0.1:$GATEWAY_PORT \
  start_bg "$LOGS/sandbox.log" "$BIN/sandbox"
wait_for_http "$SANDBOX_URL/sandbox/health" 30

log "starting the counting proxies (table :$DDB_PROXY_PORT, platform :$PLATFORM_PROXY_PORT)"
: >"$LOGS/proxy-requests.jsonl"
start_bg "$LOGS/proxy.log" python3 scripts/bench_proxy.py \
  --dynamodb-port "$DDB_PROXY_PORT" --dynamodb-upstream "$MOTO_URL" \
  --platform-port "$PLATFORM_PROXY_PORT" --platform-upstream "$SANDBOX_URL" --log "$LOGS/proxy-requests.jsonl"
wait_for_http "http://127.0.0.1:$PLATFORM_PROXY_PORT/sandbox/health" 30
: >"$LOGS/proxy-requests.jsonl"

# Exactly the variables a deployment sets, pointed at the local stack through the proxies.
cat >"$LOGS/functions.env" <<ENV
TABLE_NAME=$TABLE
AWS_REGION=$AWS_REGION
AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID
AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$DDB_PROXY_PORT
DOUYIN_APP_ID=$APP_ID
DOUYIN_APP_SECRET=$APP_SECRET
DOUYIN_SALT=$SALT
DOUYIN_TOKEN=$TOKEN
DOUYIN_API_BASE=http://127.0.0.1:$PLATFORM_PROXY_PORT
DOUYIN_NOTIFY_URL=$PUBLIC_ORIGIN/notify/douyin
ADMIN_API_KEY=$ADMIN_API_KEY
ORDER_VALID_SECONDS=900
ENV

log "cold starts, warm latency, DynamoDB requests and peak memory ($ORDERS orders, $COLD cold starts per function)"
lambda_status=0
timeout --kill-after=10 "$(left)" python3 scripts/bench_lambda.py --bin-dir "$BIN" --env-file "$LOGS/functions.env" \
  --sandbox "$SANDBOX_URL" --moto-url "$MOTO_URL" --gateway-port "$GATEWAY_PORT" \
  --proxy-log "$LOGS/proxy-requests.jsonl" --log-dir "$LOGS" --orders "$ORDERS" --cold "$COLD" \
  --batch "${BENCH_BATCH:-25}" --catalog catalog/sample.json --floor-bin "$BIN/floor" \
  ${BASELINE_BIN:+--baseline-bin-dir "$BASELINE_BIN"} \
  --out "$RESULTS/lambda.json" || lambda_status=$?
cleanup
MINIPAY_PIDS=()

log "writing BENCHMARKS.md"
python3 scripts/bench_report.py --results "$RESULTS" --bin-dir "$BIN" --out BENCHMARKS.md \
  ${BASELINE_BIN:+--baseline-bin-dir "$BASELINE_BIN"} \
  --seconds $((SECONDS - started)) --orders "$ORDERS" --cold "$COLD"
log "done in $((SECONDS - started))s: BENCHMARKS.md (raw figures in $RESULTS, logs in $LOGS)"
exit "$lambda_status"
