#!/usr/bin/env bash
# Property-based testing of a running local stack against openapi.yaml with schemathesis:
# no 5xx answer, and every answer as documented (status, content type, body schema).
#
#   KEEP=1 make demo                                   # leaves the stack running; prints its API URL
#   scripts/schemathesis.sh http://127.0.0.1:<port> [extra schemathesis run options]
#   make schemathesis BASE_URL=http://127.0.0.1:<port>
#
# BASE_URL is the root of `cargo lambda watch`, which serves function F at
# /lambda-url/F/<path>. A small loopback reverse proxy started here maps the document's
# paths onto it (/openid -> /lambda-url/openid/openid, /orders/* and /refunds/* ->
# /lambda-url/query/..., /notify/* -> /lambda-url/notify/notify/...), so that one base URL
# serves every operation. It is stopped on exit.
#
# Credentials: the admin key is ADMIN_API_KEY, else the one in the demo's
# .local/functions.env; the session is MINIPAY_SESSION, else one made by logging in
# through the platform sandbox (its URL is SANDBOX_URL, else DOUYIN_API_BASE from the env
# file): POST /sandbox/login_code, then POST /openid.
#
# Bounds (environment): ST_MAX_EXAMPLES test cases per operation (default 30),
# ST_REQUEST_TIMEOUT seconds per request (10), ST_MAX_RESPONSE_TIME seconds an answer may
# take before it counts as a failure (5; schemathesis 4 runs Hypothesis without a
# per-example deadline, this is its replacement for 3.x's --hypothesis-deadline),
# ST_MAX_TIME seconds for the run (300), ST_TIMEOUT seconds before the run is killed (600).
# ST_SEED makes a run repeatable. The exit status is schemathesis's: 0 when nothing failed.
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE_URL="${1:-${BASE_URL:-}}"
if [[ -z "$BASE_URL" ]]; then
  echo "usage: $0 BASE_URL [schemathesis run options]   (BASE_URL: the cargo lambda watch root, e.g. http://127.0.0.1:9000)" >&2
  exit 2
fi
shift || true
BASE_URL="${BASE_URL%/}"
ENV_FILE="${MINIPAY_ENV_FILE:-$ROOT/.local/functions.env}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
env_value() { [[ -f "$ENV_FILE" ]] && sed -n "s/^$1=//p" "$ENV_FILE" | tail -n 1; }

# --- schemathesis, pinned, in its own virtualenv (its dependencies stay apart from moto's)
VENV="${MINIPAY_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/minipay}/schemathesis-$SCHEMATHESIS_VERSION"
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  log "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

work=$(mktemp -d -t minipay-schemathesis.XXXXXX)
proxy_pid=""
cleanup() {
  if [[ -n "$proxy_pid" ]]; then
    kill -TERM "$proxy_pid" 2>/dev/null || true
    wait "$proxy_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# --- the loopback proxy: the document's paths -> cargo lambda watch function URLs
cat > "$work/proxy.py" <<'PY'
"""Loopback reverse proxy: API Gateway paths -> `cargo lambda watch` function URLs."""
import http.client
import http.server
import json
import sys
import urllib.parse

UPSTREAM = urllib.parse.urlsplit(sys.argv[1])
# First path segment -> the function that serves it (template.yaml's HttpApi routes).
FUNCTIONS = {
    "openid": "openid",
    "prepay": "prepay",
    "orders": "query",
    "refunds": "query",
    "notify": "notify",
    "refund": "refund",
    "settle": "settle",
    "admin": "admin",
}
HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "host", "content-length"}


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def forward(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        path, sep, query = self.path.partition("?")
        function = FUNCTIONS.get(path.lstrip("/").split("/", 1)[0])
        if function is None:
            data = json.dumps({"error": {"code": "not_found", "message": f"no route for {self.command} {path}"}}).encode()
            return self.reply(404, [("content-type", "application/json")], data)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            # cargo lambda watch answers 500 itself, without invoking the function, for a
            # body declared as text (application/json, text/xml) that is not UTF-8; API
            # Gateway hands such a body to the function base64-encoded. Declared as binary,
            # cargo lambda watch does the same, and the function's own answer is checked.
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
            headers["Content-Type"] = "application/octet-stream"
        conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=60)
        try:
            conn.request(self.command, f"/lambda-url/{function}{path}{sep}{query}", body=body, headers=headers)
            upstream = conn.getresponse()
            data = upstream.read()
            self.reply(upstream.status, [(k, v) for k, v in upstream.getheaders() if k.lower() not in HOP], data)
        finally:
            conn.close()

    def reply(self, status, headers, data):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def __getattr__(self, name):
        # Every method goes to the function, TRACE and the like included: the function
        # answers what it does not serve itself.
        if name.startswith("do_"):
            return self.forward
        raise AttributeError(name)

    def log_message(self, fmt, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
with open(sys.argv[2], "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
PY
python3 "$work/proxy.py" "$BASE_URL" "$work/port" &
proxy_pid=$!
for _ in $(seq 50); do [[ -s "$work/port" ]] && break; sleep 0.1; done
[[ -s "$work/port" ]] || { log "the proxy did not start"; exit 1; }
API="http://127.0.0.1:$(cat "$work/port")"
log "proxy $API -> $BASE_URL/lambda-url/<function>/<path>"

# --- credentials
ADMIN_KEY="${ADMIN_API_KEY:-$(env_value ADMIN_API_KEY)}"
[[ -n "$ADMIN_KEY" ]] || { log "no admin key: set ADMIN_API_KEY or run KEEP=1 make demo first"; exit 1; }
SESSION="${MINIPAY_SESSION:-}"
if [[ -z "$SESSION" ]]; then
  SANDBOX="${SANDBOX_URL:-$(env_value DOUYIN_API_BASE)}"
  [[ -n "$SANDBOX" ]] || { log "no session: set MINIPAY_SESSION or SANDBOX_URL"; exit 1; }
  code=$(curl -fsS -X POST -H 'content-type: application/json' -d '{"user":"schemathesis"}' "$SANDBOX/sandbox/login_code" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["code"])')
  SESSION=$(curl -fsS -X POST -H 'content-type: application/json' -d "{\"code\":\"$code\"}" "$API/openid" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["session"])')
  log "logged in through the sandbox: a session for the session-scheme operations"
fi
export MINIPAY_ST_SESSION="$SESSION" MINIPAY_ST_ADMIN_KEY="$ADMIN_KEY"
# Each security scheme of openapi.yaml gets its own bearer (values read from the environment).
cat > "$work/schemathesis.toml" <<'TOML'
[auth.openapi.session]
bearer = "${MINIPAY_ST_SESSION}"

[auth.openapi.adminKey]
bearer = "${MINIPAY_ST_ADMIN_KEY}"
TOML

# --- the run
args=(
  --url "$API"
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
  --max-examples "${ST_MAX_EXAMPLES:-30}"
  --request-timeout "${ST_REQUEST_TIMEOUT:-10}"
  --max-response-time "${ST_MAX_RESPONSE_TIME:-5}"
  --max-time "${ST_MAX_TIME:-300}"
  # One worker: with two, Hypothesis on CPython 3.11 sometimes fails generating a case
  # ("SystemError: AST constructor recursion depth mismatch", a CPython bug with ast.parse
  # in threads), which schemathesis reports as a runtime error of the run.
  --workers "${ST_WORKERS:-1}"
  --generation-database none
  --continue-on-failure
  --report junit --report-dir "${ST_REPORT_DIR:-$work/report}"
  --no-color
)
[[ -n "${ST_SEED:-}" ]] && args+=(--seed "$ST_SEED")
log "schemathesis $SCHEMATHESIS_VERSION against $API (openapi.yaml)"
cd "$work"
status=0
timeout --signal=TERM --kill-after=30 "${ST_TIMEOUT:-600}" \
  "$VENV/bin/schemathesis" --config-file "$work/schemathesis.toml" run "$ROOT/openapi.yaml" "${args[@]}" "$@" || status=$?
if [[ $status == 124 ]]; then
  log "schemathesis did not finish within ${ST_TIMEOUT:-600} s"
fi
exit "$status"
