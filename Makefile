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
