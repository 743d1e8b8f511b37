#!/usr/bin/env bash
# `make fuzz`: builds every cargo-fuzz target and runs each for FUZZ_SECONDS (default 30)
# with libFuzzer's -max_total_time; fails if any target crashed (a panic, an assertion of
# its check, a sanitizer report, a timeout or running out of memory).
#
#   make fuzz                                  # every target, 30 s each
#   FUZZ_SECONDS=300 make fuzz                 # longer
#   FUZZ_TARGETS="route_bodies settle_body" make fuzz
#
# cargo fuzz passes nightly-only flags (-Zsanitizer, -Cpasses=sancov...); this machine has
# only a stable toolchain, which accepts them with RUSTC_BOOTSTRAP=1. Builds go to
# fuzz/target. Each target's corpus grows in fuzz/corpus/<target> (not committed), starting
# from fuzz/seeds/<target>; fuzz/regressions/<target> (committed crash inputs) is loaded
# too, so a regression fails the run at once. Crash inputs land in fuzz/artifacts/<target>.
# `make test` replays the seeds and regressions without libFuzzer (tests/tests/fuzz_replay.rs).
set -uo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
FUZZ_SECONDS="${FUZZ_SECONDS:-30}"
# The targets are the files of fuzz/fuzz_targets (the one list; tests/tests/fuzz_replay.rs
# holds fuzz/Cargo.toml's [[bin]] entries, the seeds and the regressions to it).
ALL_TARGETS=$(for file in fuzz/fuzz_targets/*.rs; do basename "$file" .rs; done | tr '\n' ' ')
FUZZ_TARGETS="${FUZZ_TARGETS:-$ALL_TARGETS}"
export RUSTC_BOOTSTRAP=1

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  log "installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install --locked --version "$CARGO_FUZZ_VERSION" cargo-fuzz || exit 1
fi

# 16 codegen units: the AWS SDK behind minipay-shared builds far faster, fuzzing barely slower.
build_flags=(--codegen-units 16)
log "building the fuzz targets (release, debug assertions and overflow checks, AddressSanitizer)"
cargo fuzz build "${build_flags[@]}" || exit 1

dict_of() {
  case "$1" in
    wechat_notify_xml) echo fuzz/dicts/xml.dict ;;
    query_path | douyin_callback_signed) echo "" ;;
    *) echo fuzz/dicts/json.dict ;;
  esac
}

failed=()
for target in $FUZZ_TARGETS; do
  mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
  corpora=("fuzz/corpus/$target")
  # Both exist for every target (the replay test of `make test` fails otherwise).
  corpora+=("fuzz/seeds/$target" "fuzz/regressions/$target")
  options=(-max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=4096 -max_len=8192 -print_final_stats=1)
  dict=$(dict_of "$target")
  [[ -n "$dict" ]] && options+=(-dict="$dict")
  log "fuzzing $target for ${FUZZ_SECONDS} s"
  start=$SECONDS
  if cargo fuzz run "${build_flags[@]}" "$target" "${corpora[@]}" -- "${options[@]}" \
    >"fuzz/artifacts/$target/last-run.log" 2>&1; then
    log "$target: no crash in $((SECONDS - start)) s ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "fuzz/artifacts/$target/last-run.log" | grep -o '[0-9]*$') runs)"
  else
    log "$target: CRASH after $((SECONDS - start)) s; log: fuzz/artifacts/$target/last-run.log"
    grep -E "panicked at|^thread '|==ERROR|SUMMARY|Test unit written to|Deadly signal|timeout" \
      "fuzz/artifacts/$target/last-run.log" | head -20 >&2
    failed+=("$target")
  fi
done

if ((${#failed[@]})); then
  log "crashes in: ${failed[*]} (inputs in fuzz/artifacts/<target>/; replay with: RUSTC_BOOTSTRAP=1 cargo fuzz run <target> <input>)"
  exit 1
fi
log "no crash in: $FUZZ_TARGETS"
