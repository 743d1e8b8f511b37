#!/usr/bin/env bash
# The local stack: moto (DynamoDB) with the table from template.yaml and the sample
# catalog, the platform sandbox, and the functions under `cargo lambda watch`; then one
# complete payment driven as a mini-program would. KEEP=1 leaves the stack running.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$MINIPAY_ROOT"

setup_tools
trap cleanup EXIT
state=.local
mkdir -p "$state"

log "building the functions and the sandbox (debug)"
cargo build --workspace --bins --quiet
SANDBOX_BIN="${CARGO_TARGET_DIR:-target}/debug/sandbox"

log "starting moto server"
start_moto "$state"
TABLE=minipay-local
python3 scripts/create_table.py --endpoint-url "$MOTO_URL" --table "$TABLE"
python3 scripts/load_catalog.py --endpoint-url "$MOTO_URL" --table "$TABLE" catalog/sample.json

# Local stand-ins for the secrets a deployment keeps in SSM.
APP_ID=tt_local_demo_app
APP_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
SALT=$(python3 -c 'import secrets; print(secrets.token_hex(20))')
TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
ADMIN_API_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
MERCHANT_WEBHOOK_SECRET=whsec_$(python3 -c 'import secrets; print(secrets.token_hex(16))')
WECHAT_APP_ID=wx_local_demo_app
WECHAT_APP_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
WECHAT_MCH_ID=1900000109
WECHAT_API_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
# A throwaway merchant client certificate: WeChat refunds are sent with one.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=minipay-demo \
  -keyout "$state/apiclient_key.pem" -out "$state/apiclient_cert.pem" </dev/null >/dev/null 2>&1
WECHAT_CLIENT_CERT=$(cat "$state/apiclient_cert.pem" "$state/apiclient_key.pem")

# WeChat Pay APIv3: the merchant's API key pair and its certificate's serial, the APIv3
# key, and WeChat Pay's two keys (the public-key pair and the platform certificate's key):
# the sandbox plays a merchant in the middle of switching to the public key.
for key in mch_private pay_private platform_private; do
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$state/$key.pem" 2>/dev/null
done
openssl pkey -in "$state/mch_private.pem" -pubout -out "$state/mch_public.pem"
openssl pkey -in "$state/pay_private.pem" -pubout -out "$state/pay_public.pem"
WECHAT_APIV3_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
WECHAT_MCH_CERT_SERIAL=$(python3 -c 'import secrets; print(secrets.token_hex(20).upper())')
WECHAT_PAY_PUBLIC_KEY_ID=PUB_KEY_ID_$(python3 -c 'import secrets; print("".join(secrets.choice("0123456789") for _ in range(32)))')
WECHAT_MCH_PRIVATE_KEY=$(cat "$state/mch_private.pem")
WECHAT_PAY_PUBLIC_KEY=$(cat "$state/pay_public.pem")

# The trade system's two RSA key pairs: the app's (signs byteAuthorization) and the
# platform's (signs callbacks), made fresh for this run.
"$SANDBOX_BIN" keygen "$state/keys" >/dev/null
DOUYIN_PRIVATE_KEY=$(cat "$state/keys/app_private_key.pem")
DOUYIN_PLATFORM_PUBLIC_KEY=$(cat "$state/keys/platform_public_key.pem")

# The sandbox and the receiver bind port 0 and report the ports they got. cargo lambda watch
# cannot (`-P 0` means 9000): it gets a port found free just before.
WATCH_PORT=$(free_port)
TRADE_PORT=$(free_port)
# WeChat Pay is reached over TLS, refunds with the merchant certificate; the functions
# trust the sandbox's CA through SSL_CERT_FILE, whose certificates they add to their roots.
SANDBOX_CA="$state/sandbox-ca.pem"
API_URL="http://127.0.0.1:$WATCH_PORT"
# The platforms call https notify URLs only: the functions are configured with public
# ones, and the sandbox carries them to the local API, as a developer's tunnel would.
PUBLIC_ORIGIN=https://minipay.demo.test
DOUYIN_NOTIFY_URL=$PUBLIC_ORIGIN/lambda-url/notify/notify/douyin
WECHAT_NOTIFY_URL=$PUBLIC_ORIGIN/lambda-url/notify/notify/wechat
SANDBOX_TLS_PORT=0

log "starting the platform sandbox ($PUBLIC_ORIGIN tunnelled to $API_URL)"
SANDBOX_PORT=0 SANDBOX_APP_ID=$APP_ID SANDBOX_APP_SECRET=$APP_SECRET \
  SANDBOX_SALT=$SALT SANDBOX_TOKEN=$TOKEN \
  SANDBOX_PUBLIC_ORIGIN=$PUBLIC_ORIGIN SANDBOX_LOCAL_ORIGIN=$API_URL \
  SANDBOX_NOTIFY_URL=$DOUYIN_NOTIFY_URL SANDBOX_WECHAT_NOTIFY_URL=$WECHAT_NOTIFY_URL \
  SANDBOX_WECHAT_APP_ID=$WECHAT_APP_ID SANDBOX_WECHAT_APP_SECRET=$WECHAT_APP_SECRET \
  SANDBOX_WECHAT_MCH_ID=$WECHAT_MCH_ID SANDBOX_WECHAT_API_KEY=$WECHAT_API_KEY \
  SANDBOX_WECHAT_CLIENT_CERT="$(cat "$state/apiclient_cert.pem")" \
  SANDBOX_TLS_PORT=$SANDBOX_TLS_PORT SANDBOX_TLS_CA_FILE=$SANDBOX_CA \
  SANDBOX_WECHAT_V3_APIV3_KEY=$WECHAT_APIV3_KEY SANDBOX_WECHAT_V3_MODE=switching \
  SANDBOX_WECHAT_V3_MERCHANT_CERT_SERIAL=$WECHAT_MCH_CERT_SERIAL \
  SANDBOX_WECHAT_V3_MERCHANT_PUBLIC_KEY="$(cat "$state/mch_public.pem")" \
  SANDBOX_WECHAT_V3_PUBLIC_KEY_ID=$WECHAT_PAY_PUBLIC_KEY_ID \
  SANDBOX_WECHAT_V3_PUBLIC_KEY_PRIVATE="$(cat "$state/pay_private.pem")" \
  SANDBOX_WECHAT_V3_PLATFORM_PRIVATE_KEY="$(cat "$state/platform_private.pem")" \
  SANDBOX_TRADE_APP_PUBLIC_KEY="$(cat "$state/keys/app_public_key.pem")" \
  SANDBOX_TRADE_PLATFORM_PRIVATE_KEY="$(cat "$state/keys/platform_private_key.pem")" \
  start_bg "$state/sandbox.log" "$SANDBOX_BIN"
SANDBOX_URL="http://127.0.0.1:$(reported_port "$state/sandbox.log" "the sandbox")"
# The TLS line follows the first one at once.
WECHAT_PAY_URL=""
for _ in $(seq 50); do
  WECHAT_PAY_URL=$(grep -m1 -oE 'https://127\.0\.0\.1:[0-9]+' "$state/sandbox.log" || true)
  [[ -n $WECHAT_PAY_URL ]] && break
  sleep 0.1
done
[[ -n $WECHAT_PAY_URL ]] || { log "the sandbox did not report its TLS port"; exit 1; }
log "the sandbox listens on $SANDBOX_URL, WeChat Pay on $WECHAT_PAY_URL"

# The SDK names its EventBridge endpoint override after the service id
# (AWS_ENDPOINT_URL_EVENTBRIDGE), like AWS_ENDPOINT_URL_DYNAMODB below.
log "starting the merchant's webhook receiver"
MERCHANT_WEBHOOK_SECRET=$MERCHANT_WEBHOOK_SECRET start_bg "$state/webhook_receiver.log" \
  python3 scripts/webhook_receiver.py --port 0 --fail-first "${WEBHOOK_FAIL_FIRST:-0}"
HOOK_URL="http://127.0.0.1:$(reported_port "$state/webhook_receiver.log" "the webhook receiver")"
log "the webhook receiver listens on $HOOK_URL/hooks"

cat > "$state/functions.env" <<ENV
TABLE_NAME=$TABLE
AWS_REGION=$AWS_REGION
AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID
AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
AWS_ENDPOINT_URL_DYNAMODB=$MOTO_URL
DOUYIN_APP_ID=$APP_ID
DOUYIN_APP_SECRET=$APP_SECRET
DOUYIN_SALT=$SALT
DOUYIN_TOKEN=$TOKEN
DOUYIN_API_BASE=$SANDBOX_URL
DOUYIN_NOTIFY_URL=$DOUYIN_NOTIFY_URL
ADMIN_API_KEY=$ADMIN_API_KEY
ORDER_VALID_SECONDS=900
WECHAT_APP_ID=$WECHAT_APP_ID
WECHAT_APP_SECRET=$WECHAT_APP_SECRET
WECHAT_MCH_ID=$WECHAT_MCH_ID
WECHAT_API_KEY=$WECHAT_API_KEY
WECHAT_API_BASE=$WECHAT_PAY_URL
WECHAT_LOGIN_BASE=$SANDBOX_URL
WECHAT_NOTIFY_URL=$WECHAT_NOTIFY_URL
WECHAT_APIV3_KEY=$WECHAT_APIV3_KEY
WECHAT_MCH_CERT_SERIAL=$WECHAT_MCH_CERT_SERIAL
WECHAT_PAY_PUBLIC_KEY_ID=$WECHAT_PAY_PUBLIC_KEY_ID
DOUYIN_OPEN_API_BASE=$SANDBOX_URL
DOUYIN_KEY_VERSION=1
RECONCILE_AFTER_SECONDS=0
AWS_ENDPOINT_URL_EVENTBRIDGE=$MOTO_URL
EVENT_BUS_NAME=default
MERCHANT_WEBHOOK_URL=$HOOK_URL/hooks
MERCHANT_WEBHOOK_SECRET=$MERCHANT_WEBHOOK_SECRET
ENV
# A PEM spans lines, which an env file cannot hold: pass them to watch as variables.
export WECHAT_CLIENT_CERT DOUYIN_PRIVATE_KEY DOUYIN_PLATFORM_PUBLIC_KEY WECHAT_MCH_PRIVATE_KEY WECHAT_PAY_PUBLIC_KEY
# The same deployment switched to the newer APIs, the trade system and WeChat Pay v3:
# only the modes differ (and, here, the local port its public URL is tunnelled to).
TRADE_URL="http://127.0.0.1:$TRADE_PORT"
cp "$state/functions.env" "$state/functions-trade.env"
printf 'DOUYIN_PAY_MODE=trade\nWECHAT_PAY_API=v3\n' >> "$state/functions-trade.env"

log "starting cargo lambda watch on $API_URL"
SSL_CERT_FILE=$SANDBOX_CA start_bg "$state/watch.log" cargo lambda watch --ignore-changes -A 127.0.0.1 -P "$WATCH_PORT" --env-file "$state/functions.env"
wait_for_http "$API_URL" 120

log "feeding the table's stream to push and events (as Lambda's event source mappings would), and the events schedule every minute"
start_bg "$state/stream_pump.log" python3 scripts/stream_pump.py --endpoint-url "$MOTO_URL" --table "$TABLE" \
  --invoke-url "$API_URL/2015-03-31/functions/push/invocations" \
  --invoke-url "$API_URL/2015-03-31/functions/events/invocations" \
  --tick-url "$API_URL/2015-03-31/functions/events/invocations" --tick-seconds 60 \
  --failures "$state/{function}-failures.jsonl"

python3 scripts/demo_flow.py --api "$API_URL" --sandbox "$SANDBOX_URL" --admin-key "$ADMIN_API_KEY" \
  --endpoint-url "$MOTO_URL" --table "$TABLE" --webhook-events "$HOOK_URL/events"
python3 scripts/demo_flow.py --api "$API_URL" --sandbox "$SANDBOX_URL" --admin-key "$ADMIN_API_KEY" --platform wechat

log "starting a second cargo lambda watch with DOUYIN_PAY_MODE=trade and WECHAT_PAY_API=v3 on $TRADE_URL"
SSL_CERT_FILE=$SANDBOX_CA start_bg "$state/watch-trade.log" cargo lambda watch --ignore-changes -A 127.0.0.1 -P "$TRADE_PORT" --env-file "$state/functions-trade.env"
wait_for_http "$TRADE_URL" 120
log "pointing the tunnel ($PUBLIC_ORIGIN) at the trade-mode API"
curl -sf -X PUT "$SANDBOX_URL/sandbox/tunnel" -H 'content-type: application/json' \
  -d "{\"public_origin\":\"$PUBLIC_ORIGIN\",\"local_origin\":\"$TRADE_URL\"}" >/dev/null
python3 scripts/demo_flow.py --api "$TRADE_URL" --sandbox "$SANDBOX_URL" --admin-key "$ADMIN_API_KEY" --platform douyin-trade
python3 scripts/demo_flow.py --api "$TRADE_URL" --sandbox "$SANDBOX_URL" --admin-key "$ADMIN_API_KEY" --platform wechat-v3

if [[ "${KEEP:-}" == 1 ]]; then
  log "the stack keeps running (API $API_URL, trade-mode API $TRADE_URL, sandbox $SANDBOX_URL, moto $MOTO_URL); Ctrl-C stops it"
  log "the platforms' callbacks go to the trade-mode API now; PUT $SANDBOX_URL/sandbox/tunnel moves them"
  log "merchant console: $API_URL/lambda-url/admin/console (sign in with ADMIN_API_KEY from $state/functions.env)"
  wait
fi
