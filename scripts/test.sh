#!/usr/bin/env bash
# The test command: template lint, then unit, integration (moto + sandbox over HTTP)
# and end-to-end (`cargo lambda watch`) tests. Starts and stops its own moto server.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$MINIPAY_ROOT"

setup_tools
trap cleanup EXIT
logdir=$(mktemp -d -t minipay-test.XXXXXX)

log "cfn-lint template.yaml"
cfn-lint template.yaml

log "starting moto server (DynamoDB API)"
start_moto "$logdir"
export MINIPAY_TEST_DYNAMODB="$MOTO_URL"

log "building the workspace (debug)"
cargo build --workspace --bins --quiet

log "running the tests"
cargo test --workspace "$@"
