#!/usr/bin/env bash
# Mutation testing (`make mutants`): cargo-mutants, pinned in scripts/setup.sh, makes one
# small change at a time to the signing modules and the money rules (.cargo/mutants.toml
# names the files) and runs the shared crate's unit tests against each; a change they do not
# notice is a missing test, or an equivalent change whose reason is in mutants-reasons.md.
#
# It works in a scratch copy of the tree (the working tree is never changed, even when the
# run is interrupted) and builds into target/mutants, kept between runs, so that only the
# shared crate is rebuilt for each mutant. Results go to mutants.out/ (missed.txt,
# caught.txt, unviable.txt, timeout.txt, outcomes.json). Arguments go to cargo mutants, e.g.
# `scripts/mutants.sh -f shared/src/wechat/sign.rs` or `--list`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$MINIPAY_ROOT"

"$MINIPAY_ROOT/scripts/setup.sh" mutants
hash -r

# The unit tests that cross-check against openssl and python3 must run here, not skip.
export MINIPAY_REQUIRE_TOOLS=1
export CARGO_TARGET_DIR="$MINIPAY_ROOT/target/mutants"

start=$SECONDS
rc=0
cargo mutants --package minipay-shared "$@" || rc=$?
log "cargo mutants finished in $((SECONDS - start)) s (exit $rc; results in mutants.out/)"
exit "$rc"
