.PHONY: demo test setup lint fmt build-release

## Brings up the local stack and drives one complete payment through it.
demo:
	bash scripts/demo.sh

## Unit, integration (moto + sandbox) and end-to-end (cargo lambda watch) tests.
test:
	bash scripts/test.sh

setup:
	bash scripts/setup.sh

## Formatting and clippy, as CI runs them.
lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

## Release binaries for the host, as `sam build` makes them for Lambda.
build-release:
	cargo lambda build --release --compiler cargo

.PHONY: fuzz schemathesis

## cargo-fuzz targets (fuzz/), FUZZ_SECONDS each (default 30); fails on any crash.
fuzz:
	bash fuzz/run.sh

## schemathesis against a running stack: make schemathesis BASE_URL=http://127.0.0.1:<port> (see KEEP=1 make demo).
schemathesis:
	bash scripts/schemathesis.sh "$(BASE_URL)"

## Performance benchmark (release builds in target/bench, local stack on loopback): writes BENCHMARKS.md.
.PHONY: bench
bench:
	bash scripts/bench.sh

## Mutation testing of the signing modules and the money rules (cargo-mutants, about half an hour): see scripts/mutants.sh.
.PHONY: mutants
mutants:
	bash scripts/mutants.sh
