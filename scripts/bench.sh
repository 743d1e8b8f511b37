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
for f in openid prepay query notify refund settle push sandbox examples/bench_ops; do
  [[ -x "$BIN/$f" ]] || { log "missing $BIN/$f (run without BENCH_BUILD=0)"; exit 1; }
done
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
  --batch "${BENCH_BATCH:-25}" --catalog catalog/sample.json \
  --out "$RESULTS/lambda.json" || lambda_status=$?
cleanup
MINIPAY_PIDS=()

log "writing BENCHMARKS.md"
python3 scripts/bench_report.py --results "$RESULTS" --bin-dir "$BIN" --out BENCHMARKS.md \
  --seconds $((SECONDS - started)) --orders "$ORDERS" --cold "$COLD"
log "done in $((SECONDS - started))s: BENCHMARKS.md (raw figures in $RESULTS, logs in $LOGS)"
exit "$lambda_status"
