#!/usr/bin/env bash
# Installs what the local stack and the tests need, if it is missing: the pinned Python
# tools (moto server, cfn-lint, cargo-lambda, boto3) and the workspace's build.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$MINIPAY_ROOT"

command -v cargo >/dev/null || { log "cargo is required (https://rustup.rs)"; exit 1; }
command -v python3 >/dev/null || { log "python3 is required"; exit 1; }
command -v curl >/dev/null || { log "curl is required"; exit 1; }

if ! python3 -m pip install --disable-pip-version-check -q -r requirements-dev.txt --dry-run 2>/dev/null | grep -q "Would install"; then
  log "Python tools are installed (requirements-dev.txt)"
else
  log "installing Python tools from requirements-dev.txt"
  python3 -m pip install --disable-pip-version-check -q -r requirements-dev.txt
fi
for tool in moto_server cfn-lint cargo-lambda; do
  command -v "$tool" >/dev/null || { log "$tool is not on PATH after installing requirements-dev.txt"; exit 1; }
done
