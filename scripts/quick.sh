#!/usr/bin/env bash
# The developer's loop: formatting, lints and the unit tests that need no daemon and no window,
# on a tree already set up once (bash scripts/setup.sh or the test command). The whole suite,
# with real daemons, the window and the installer, is scripts/test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all --check
step "UI: ESLint and Prettier"
npm --prefix ui run --silent lint
step "cargo clippy (core and CLI)"
cargo clippy -p squashbox-core -p squashbox-cli --all-targets -- -D warnings
step "core unit tests"
cargo test -q -p squashbox-core --lib
step "UI: type check and unit tests"
npm --prefix ui run --silent check
npm --prefix ui test --silent
