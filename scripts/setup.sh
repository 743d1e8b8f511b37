#!/usr/bin/env bash
# Installs the pinned Python tools the local stack and the tests need (moto server,
# cfn-lint, cargo-lambda, boto3, PyYAML, Selenium: requirements-dev.txt) into the project's
# virtualenv .venv at the repository root, which scripts/lib.sh puts first on PATH. Every
# script runs this first, so it is quick (a fraction of a second) when everything is
# already right:
#
#   .venv is up to date when its python runs, .venv/.requirements-dev.sha256 holds the
#   sha256 of requirements-dev.txt as it was at the last successful install, and every pin
#   of requirements-dev.txt is installed at exactly that version
#   (scripts/check_requirements.py, importlib.metadata).
#
# Otherwise it makes .venv (again, if its python no longer runs or the repository moved)
# from the system's python3 (MINIPAY_PYTHON overrides which), runs pip install -r
# requirements-dev.txt and pip check, checks the pins again and only then writes the stamp;
# a changed requirements-dev.txt is installed over the existing .venv. `rm -rf .venv`
# starts afresh.
#
# Needs from the system: cargo, curl, and python3 >= 3.9 with the venv module and ensurepip.
# Debian and Ubuntu ship ensurepip apart, in python3-venv (python3.X-venv): when it is
# missing and we run as root with apt-get, this installs it (apt-get update, then
# apt-get install python3.X-venv); MINIPAY_NO_APT=1 stops that, and as any other user it
# says which command to run.
#
# The console's browser test (tests/tests/console_browser.rs) drives the system's headless
# Chromium through its chromedriver with Selenium (pinned here; it is given both paths and
# never downloads a browser or driver of its own). When `chromium` or `chromedriver` is not
# on PATH (MINIPAY_CHROMIUM, MINIPAY_CHROMEDRIVER name others), root with apt-get installs
# Debian's chromium and chromium-driver the same way (MINIPAY_NO_APT=1 stops that);
# otherwise setup says what to install and fails.
#
# `scripts/setup.sh mutants` (make mutants) also installs cargo-mutants, pinned below, into
# .venv/bin with `cargo install --locked` (a minute or two of compiling, once): only when
# asked, so that `make test` and CI never pay for it. MINIPAY_CARGO_MUTANTS may name an
# already built cargo-mutants binary of the pinned version (a cache): it is copied instead.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$MINIPAY_ROOT"

REQS=requirements-dev.txt
VENV=$MINIPAY_VENV
STAMP=$VENV/.requirements-dev.sha256
TOOLS=(moto_server cfn-lint cargo-lambda)
CARGO_MUTANTS_VERSION=27.1.0

case "${1:-}" in
  "") want_mutants=false ;;
  mutants) want_mutants=true ;;
  *) log "usage: scripts/setup.sh [mutants]"; exit 2 ;;
esac

command -v cargo >/dev/null || { log "cargo is required (https://rustup.rs)"; exit 1; }
command -v curl >/dev/null || { log "curl is required"; exit 1; }

want_sum=$(sha256sum "$REQS" | cut -d' ' -f1)

# cargo_mutants_version BINARY: the version BINARY reports ("cargo-mutants 27.1.0"), or nothing.
cargo_mutants_version() {
  local out
  out=$("$1" mutants --version 2>/dev/null) || return 0
  echo "${out#cargo-mutants }"
}

# ensure_cargo_mutants: .venv/bin/cargo-mutants is the pinned version, or it is installed.
ensure_cargo_mutants() {
  local have
  have=$(cargo_mutants_version "$VENV/bin/cargo-mutants")
  if [[ "$have" == "$CARGO_MUTANTS_VERSION" ]]; then
    log "cargo-mutants $CARGO_MUTANTS_VERSION is installed in .venv"
    return 0
  fi
  if [[ -n "${MINIPAY_CARGO_MUTANTS:-}" ]]; then
    have=$(cargo_mutants_version "$MINIPAY_CARGO_MUTANTS")
    if [[ "$have" != "$CARGO_MUTANTS_VERSION" ]]; then
      log "MINIPAY_CARGO_MUTANTS=$MINIPAY_CARGO_MUTANTS is not cargo-mutants $CARGO_MUTANTS_VERSION (${have:-no version})"
      return 1
    fi
    log "copying cargo-mutants $CARGO_MUTANTS_VERSION into .venv from $MINIPAY_CARGO_MUTANTS"
    install -m 755 "$MINIPAY_CARGO_MUTANTS" "$VENV/bin/cargo-mutants"
    return 0
  fi
  log "installing cargo-mutants $CARGO_MUTANTS_VERSION into .venv (cargo install --locked; a minute or two)"
  cargo install --quiet --locked --force cargo-mutants --version "$CARGO_MUTANTS_VERSION" --root "$VENV"
  have=$(cargo_mutants_version "$VENV/bin/cargo-mutants")
  [[ "$have" == "$CARGO_MUTANTS_VERSION" ]] \
    || { log "after cargo install, .venv/bin/cargo-mutants reports ${have:-no version}"; return 1; }
}

# done_ok: the Python tools are right; add cargo-mutants when asked, and stop.
done_ok() {
  if $want_mutants; then ensure_cargo_mutants || exit 1; fi
  exit 0
}

# venv_usable: .venv has a python that runs, and it was made here (the scripts pip installs
# name their python by its absolute path: a repository moved elsewhere needs a new .venv).
venv_usable() {
  local first=""
  [[ -x "$VENV/bin/python" && -f "$VENV/bin/pip" ]] || return 1
  read -r first <"$VENV/bin/pip" || true
  [[ "$first" == "#!$VENV/bin/python"* ]] || return 1
  "$VENV/bin/python" -c '' 2>/dev/null
}

# up_to_date [quiet]: the venv is usable, the stamp matches requirements-dev.txt, every pin
# is installed at its version and every tool is there.
up_to_date() {
  local tool
  [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want_sum" ]] || return 1
  venv_usable || return 1
  for tool in "${TOOLS[@]}"; do [[ -x "$VENV/bin/$tool" ]] || return 1; done
  if [[ "${1:-}" == quiet ]]; then
    "$VENV/bin/python" scripts/check_requirements.py "$REQS" >/dev/null 2>&1
  else
    "$VENV/bin/python" scripts/check_requirements.py "$REQS"
  fi
}

# browser_present: the headless browser and its driver are there (both on PATH, or named).
browser_present() {
  command -v "${MINIPAY_CHROMIUM:-chromium}" >/dev/null \
    && command -v "${MINIPAY_CHROMEDRIVER:-chromedriver}" >/dev/null
}

# ensure_browser: chromium and chromedriver are there, or (Debian, as root) installs them,
# or says what to do.
ensure_browser() {
  browser_present && return 0
  if command -v apt-get >/dev/null && [[ "$(id -u)" == 0 && "${MINIPAY_NO_APT:-}" != 1 ]]; then
    log "chromium or chromedriver is missing (the console's browser test): installing Debian's chromium and chromium-driver with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
    browser_present && return 0
  fi
  log "the console's browser test needs headless Chromium and its chromedriver: $(browser_missing) missing."
  if command -v apt-get >/dev/null; then
    log "Debian/Ubuntu: install them, then run this again:"
    log "    sudo apt-get update && sudo apt-get install -y chromium chromium-driver"
  else
    log "install Chromium and the chromedriver of the same version (or set MINIPAY_CHROMIUM and"
    log "MINIPAY_CHROMEDRIVER to them), then run this again"
  fi
  return 1
}

browser_missing() {
  local missing=()
  command -v "${MINIPAY_CHROMIUM:-chromium}" >/dev/null || missing+=("${MINIPAY_CHROMIUM:-chromium}")
  command -v "${MINIPAY_CHROMEDRIVER:-chromedriver}" >/dev/null || missing+=("${MINIPAY_CHROMEDRIVER:-chromedriver}")
  echo "${missing[*]}"
}

if browser_present && up_to_date quiet; then
  log "Python tools are installed in .venv ($REQS)"
  done_ok
fi

# One setup at a time (make demo and make test started together share .venv).
mkdir -p "$VENV"
if command -v flock >/dev/null; then
  exec 9>"$VENV/.setup.lock"
  flock 9
  if browser_present && up_to_date quiet; then
    log "Python tools are installed in .venv ($REQS)"
    done_ok
  fi
fi

ensure_browser || exit 1
if up_to_date quiet; then
  log "Python tools are installed in .venv ($REQS); chromium and chromedriver are installed"
  done_ok
fi

# base_python: the python3 to make the venv from (not the venv's own).
base_python() {
  if [[ -n "${MINIPAY_PYTHON:-}" ]]; then
    command -v "$MINIPAY_PYTHON" || { log "MINIPAY_PYTHON=$MINIPAY_PYTHON is not a command"; return 1; }
  else
    PATH="$MINIPAY_SYSTEM_PATH" command -v python3 || { log "python3 (>= 3.9) is required"; return 1; }
  fi
}

# ensure_venv_support PYTHON: the venv module and ensurepip are there, or (Debian, as root)
# installs python3.X-venv, or says what to do.
ensure_venv_support() {
  local py=$1 ver pkg
  "$py" -c 'import venv, ensurepip; ensurepip.version()' 2>/dev/null && return 0
  ver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  pkg="python$ver-venv"
  if [[ "$(readlink -f "$py")" == /usr/bin/python3* ]] && command -v apt-get >/dev/null \
    && [[ "$(id -u)" == 0 && "${MINIPAY_NO_APT:-}" != 1 ]]; then
    log "$py has no ensurepip (Debian's $pkg): installing it with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
    "$py" -c 'import venv, ensurepip; ensurepip.version()' && return 0
  fi
  log "$py cannot make a virtualenv: its venv module or ensurepip is missing."
  if [[ "$(readlink -f "$py")" == /usr/bin/python3* ]] && command -v apt-get >/dev/null; then
    log "Debian/Ubuntu keep them in a package of their own; install it, then run this again:"
    log "    sudo apt-get install $pkg     (or: sudo apt-get install python3-venv)"
  else
    log "install a python3 that has them (or set MINIPAY_PYTHON to one), then run this again"
  fi
  return 1
}

# Why this run installs, for the log.
if ! venv_usable; then
  why="no usable .venv"
elif [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$want_sum" ]]; then
  why="$REQS changed since the last install, or it did not finish"
elif ! why=$("$VENV/bin/python" scripts/check_requirements.py "$REQS" 2>&1); then
  why=$(printf '%s' "$why" | paste -sd ';' -)
  why=${why//;/; }
else
  why="a tool is missing from .venv/bin"
fi

if ! venv_usable; then
  py=$(base_python)
  "$py" -c 'import sys; sys.exit(sys.version_info < (3, 9))' \
    || { log "$py is $("$py" --version 2>&1); the tools need Python >= 3.9"; exit 1; }
  ensure_venv_support "$py"
  log "creating the project virtualenv .venv with $py ($("$py" --version 2>&1))"
  # Whatever is left of a broken venv goes (the lock file stays: we hold it).
  find "$VENV" -mindepth 1 -maxdepth 1 ! -name .setup.lock -exec rm -rf {} +
  if ! "$py" -m venv "$VENV"; then
    find "$VENV" -mindepth 1 -maxdepth 1 ! -name .setup.lock -exec rm -rf {} +
    log "$py -m venv .venv failed (see above)"
    exit 1
  fi
fi

log "installing the Python tools from $REQS into .venv ($why)"
rm -f "$STAMP"
"$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q -r "$REQS"
"$VENV/bin/python" -m pip check --disable-pip-version-check >/dev/null \
  || { "$VENV/bin/python" -m pip check --disable-pip-version-check; log "pip check failed in .venv"; exit 1; }
echo "$want_sum" >"$STAMP"
if ! up_to_date; then
  rm -f "$STAMP"
  log "after pip install, .venv does not hold every pin of $REQS and the tools (${TOOLS[*]})"
  exit 1
fi
log "Python tools are installed in .venv ($REQS)"
done_ok
