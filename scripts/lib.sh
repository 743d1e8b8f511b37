# Helpers shared by the scripts: ports, waiting, background processes we started.
# shellcheck shell=bash

MINIPAY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MINIPAY_PIDS=()

# The project's virtualenv (made by scripts/setup.sh from requirements-dev.txt) comes first
# on PATH, for these scripts and everything they start: `python3` (boto3, PyYAML, moto for
# the helper scripts), moto_server, cfn-lint and cargo-lambda (so `cargo lambda ...`, also
# from the Rust tests) are the pinned ones, never whatever is installed globally.
# MINIPAY_SYSTEM_PATH is PATH without it: where setup.sh looks for the python3 to make it from.
MINIPAY_VENV="$MINIPAY_ROOT/.venv"
MINIPAY_SYSTEM_PATH=":$PATH:"
MINIPAY_SYSTEM_PATH="${MINIPAY_SYSTEM_PATH//":$MINIPAY_VENV/bin:"/:}"
MINIPAY_SYSTEM_PATH="${MINIPAY_SYSTEM_PATH#:}"
MINIPAY_SYSTEM_PATH="${MINIPAY_SYSTEM_PATH%:}"
PATH="$MINIPAY_VENV/bin${MINIPAY_SYSTEM_PATH:+:$MINIPAY_SYSTEM_PATH}"
export PATH MINIPAY_VENV MINIPAY_SYSTEM_PATH

# Dummy credentials and a region: the AWS SDK signs requests even for an emulator.
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-$AWS_REGION}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# setup_tools: runs scripts/setup.sh (installs or checks the pinned tools in .venv) and
# forgets the command locations bash remembered before .venv/bin held them.
setup_tools() {
  "$MINIPAY_ROOT/scripts/setup.sh"
  hash -r
}

# free_port: a port no socket was bound to a moment ago, for a program that cannot bind
# port 0 and report its port (cargo lambda watch); another program may take it first.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for_http URL SECONDS: until URL answers at all (any status).
wait_for_http() {
  local url=$1 limit=${2:-30} start=$SECONDS
  until curl -s -o /dev/null "$url"; do
    if (( SECONDS - start > limit )); then
      log "timed out waiting for $url"
      return 1
    fi
    sleep 0.2
  done
}

# reported_port LOGFILE WHAT [SECONDS]: the port a starting server that bound port 0
# reports in its log ("... listening on http://127.0.0.1:PORT"). A starting process gives
# nothing to block on here: the log is polled, with a deadline.
reported_port() {
  local logfile=$1 what=$2 limit=${3:-30} start=$SECONDS line
  until line=$(grep -m1 -oE 'listening on http://127\.0\.0\.1:[0-9]+' "$logfile" 2>/dev/null); do
    if (( SECONDS - start > limit )); then
      log "$what did not report its port within $limit s; the end of $logfile:"
      tail -n 20 "$logfile" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "${line##*:}"
}

# Runs a command in the background in its own process group, logging to a file, and
# remembers it so that cleanup stops it (and only it).
start_bg() {
  local logfile=$1; shift
  setsid "$@" </dev/null >"$logfile" 2>&1 &
  MINIPAY_PIDS+=("$!")
}

cleanup() {
  local pid
  for pid in "${MINIPAY_PIDS[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}

# start_moto LOGDIR: starts moto server on a port the system picks (moto binds port 0
# itself, so no other process can take the port between choosing and binding) and
# exports MOTO_URL. moto writes its port into a FIFO once it listens; the read blocks
# until then (opened read-write, so that opening never blocks) and times out only when
# moto failed to start.
start_moto() {
  local logdir=$1 fifo port fd
  fifo="$logdir/moto.port"
  rm -f "$fifo"
  mkfifo "$fifo"
  exec {fd}<>"$fifo"
  start_bg "$logdir/moto.log" python3 "$MINIPAY_ROOT/scripts/moto_serial.py" -H 127.0.0.1 -p 0 --port-file "$fifo"
  if ! read -r -t 60 -u "$fd" port; then
    exec {fd}<&-
    log "moto server did not report its port within 60 s; the end of $logdir/moto.log:"
    tail -n 20 "$logdir/moto.log" >&2
    return 1
  fi
  exec {fd}<&-
  rm -f "$fifo"
  MOTO_URL="http://127.0.0.1:$port"
  export MOTO_URL
}
