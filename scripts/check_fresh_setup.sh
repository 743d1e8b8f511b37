#!/usr/bin/env bash
# Proof that scripts/setup.sh works on a new user's machine: copies the repository's files
# (tracked and untracked, not ignored: no .venv, no target/) to a temporary directory and
# runs setup there as a new user would (`env -i`, a new empty HOME, PATH only the Rust
# toolchain and /usr/local/bin:/usr/bin:/bin), so .venv is made from nothing with the
# python3 that PATH finds and every tool comes from PyPI. Then checks that python3,
# moto_server, cfn-lint and cargo-lambda resolve to that .venv, report the versions pinned
# in requirements-dev.txt (Selenium too), that chromium and chromedriver are on PATH, that
# moto serves, and that a second setup is quick. Leaves no process and removes its
# temporary directory. .ci/run runs it before `make test`.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

log() { printf '==> %s\n' "$*" >&2; }
ms() { date +%s%3N; }
secs() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
fail() { log "FAIL: $*"; exit 1; }

cargo_path=$(command -v cargo) || fail "cargo is not on PATH"
cargo_bin=$(dirname "$cargo_path")
: "${CARGO_HOME:=$HOME/.cargo}" "${RUSTUP_HOME:=$HOME/.rustup}"

tmp=$(mktemp -d -t minipay-fresh.XXXXXX)
finish() {
  local pids
  # Nothing started here may outlive the check: anything still running from the copy is ours.
  pids=$(pgrep -f -- "$tmp/" || true)
  if [[ -n "$pids" ]]; then
    log "FAIL: processes left behind: $(echo "$pids" | tr '\n' ' ')"
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    rc=1
  fi
  rm -rf "$tmp"
  exit "${rc:-0}"
}
trap 'rc=$?; finish' EXIT

mkdir -p "$tmp/home" "$tmp/repo" "$tmp/logs"
git -C "$ROOT" ls-files -z --cached --others --exclude-standard \
  | tar -C "$ROOT" --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C "$tmp/repo"
[[ ! -e "$tmp/repo/.venv" ]] || fail ".venv was copied"

fresh_env=(env -i HOME="$tmp/home" TERM=dumb LANG=C.UTF-8
  PATH="$cargo_bin:/usr/local/bin:/usr/bin:/bin" CARGO_HOME="$CARGO_HOME" RUSTUP_HOME="$RUSTUP_HOME")
for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
  [[ -n "${!v:-}" ]] && fresh_env+=("$v=${!v}")
done
cd "$tmp/repo"
# shellcheck disable=SC2016
base=$("${fresh_env[@]}" bash -c 'command -v python3 && python3 --version' | paste -sd ' ' -) \
  || fail "no python3 on $cargo_bin:/usr/local/bin:/usr/bin:/bin"
log "fresh copy in $tmp/repo, HOME=$tmp/home, python3 on PATH: $base"

start=$(ms)
"${fresh_env[@]}" bash scripts/setup.sh || fail "scripts/setup.sh failed in the fresh copy"
first=$(secs $(($(ms) - start)))
log "first setup (new .venv, from PyPI): ${first}s"

pin() { sed -n "s/^$1\(\[[^]]*\]\)\{0,1\}==\([^ #]*\).*/\2/p" requirements-dev.txt; }
MOTO=$(pin moto) CFN_LINT=$(pin cfn-lint) CARGO_LAMBDA=$(pin cargo-lambda) SELENIUM=$(pin selenium)
[[ -n "$MOTO" && -n "$CFN_LINT" && -n "$CARGO_LAMBDA" && -n "$SELENIUM" ]] \
  || fail "cannot read the pins of requirements-dev.txt"

# The checks run as the scripts do: lib.sh's PATH, in the same bare environment.
# shellcheck disable=SC2016
"${fresh_env[@]}" MOTO="$MOTO" CFN_LINT="$CFN_LINT" CARGO_LAMBDA="$CARGO_LAMBDA" SELENIUM="$SELENIUM" \
  LOGS="$tmp/logs" bash -c '
  set -euo pipefail
  source scripts/lib.sh
  trap cleanup EXIT
  bad() { echo "==> FAIL: $*" >&2; exit 1; }
  for tool in python3 moto_server cfn-lint cargo-lambda; do
    where=$(command -v "$tool") || bad "$tool is not on PATH"
    [[ "$where" == "$MINIPAY_VENV/bin/$tool" ]] || bad "$tool is $where, not from .venv"
    echo "    $tool -> $where"
  done
  python3 scripts/check_requirements.py requirements-dev.txt || bad ".venv does not match requirements-dev.txt"
  moto_server --help >/dev/null || bad "moto_server --help failed"
  have=$(python3 -c "import moto; print(moto.__version__)")
  [[ "$have" == "$MOTO" ]] || bad "moto $have, want $MOTO"
  echo "    moto_server --help: ok; moto $have"
  have=$(cfn-lint --version)
  [[ "$have" == "cfn-lint $CFN_LINT" ]] || bad "cfn-lint --version: $have, want $CFN_LINT"
  echo "    cfn-lint --version: $have"
  have=$(cargo lambda --version)
  [[ "$have" == "cargo-lambda $CARGO_LAMBDA "* || "$have" == "cargo-lambda $CARGO_LAMBDA" ]] \
    || bad "cargo lambda --version: $have, want $CARGO_LAMBDA"
  echo "    cargo lambda --version: $have"
  have=$(python3 -c "import selenium; print(selenium.__version__)")
  [[ "$have" == "$SELENIUM" ]] || bad "selenium $have, want $SELENIUM"
  for tool in chromium chromedriver; do
    where=$(command -v "$tool") || bad "$tool is not on PATH (setup installs chromium and chromium-driver)"
    echo "    $tool -> $where: $("$tool" --version 2>/dev/null | head -n 1)"
  done
  echo "    selenium $have (the console browser test drives the system chromium through chromedriver)"
  start_moto "$LOGS"
  python3 -c "import boto3, sys; boto3.client(\"dynamodb\", endpoint_url=sys.argv[1]).list_tables()" \
    "$MOTO_URL" || bad "moto does not answer DynamoDB ListTables"
  echo "    moto server (scripts/moto_serial.py) answers DynamoDB ListTables (boto3) on $MOTO_URL"
' || fail "the tools in the fresh .venv"

start=$(ms)
out=$("${fresh_env[@]}" bash scripts/setup.sh 2>&1) || fail "second setup failed: $out"
took=$(($(ms) - start))
out=${out//$'\033'\[1m/}
out=${out//$'\033'\[0m/}
[[ "$out" == *"Python tools are installed in .venv"* && "$out" != *installing* ]] \
  || fail "second setup did not find everything installed: $out"
(( took < 2000 )) || fail "second setup took $(secs "$took")s (must be under 2 s)"
log "second setup: $(secs "$took")s: $out"
log "OK: a new user's setup installs the pinned tools into .venv (first run ${first}s)"
