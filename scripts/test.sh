#!/usr/bin/env bash
# Sets everything up, then runs every check and test: formatting, lints, the UI's type check and
# unit tests, the Rust unit, integration (real daemon) and end-to-end (real window) tests, and
# the Linux installer, built, installed, opened and removed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$root_dir"

# What squashes leave behind is remembered in the user's data folder; the tests keep their own.
SQUASHBOX_DATA_DIR="$(mktemp -d)"
export SQUASHBOX_DATA_DIR
trap 'rm -rf "$SQUASHBOX_DATA_DIR"' EXIT

say "cargo fmt --check"
cargo fmt --all --check

say "actionlint (the GitHub workflows)"
actionlint

# The end-to-end tests run the real app with its web assets embedded.
say "Building the UI"
npm --prefix ui run build

say "cargo clippy"
cargo clippy --workspace --all-targets --features squashbox/custom-protocol -- -D warnings

say "UI lint, type check and unit tests"
npm --prefix ui run lint
npm --prefix ui run check
npm --prefix ui test

say "cargo test"
cargo test --workspace --features squashbox/custom-protocol

# cargo test regenerates the TypeScript twins of the IPC types; stale ones mean the UI was
# checked against types the Rust side no longer has.
if ! git diff --quiet -- ui/src/lib/ipc/bindings || [ -n "$(git ls-files --others --exclude-standard ui/src/lib/ipc/bindings)" ]; then
  echo "ui/src/lib/ipc/bindings changed when the tests ran: commit the regenerated files." >&2
  git status --short ui/src/lib/ipc/bindings >&2
  exit 1
fi

# The tests whose outcome depends on the engine, again on Engine 28.5 with the containerd image
# store (and Engine 29's API floor) and on Podman 4: where most of our users are.
say "The engine matrix: Engine 28.5 (containerd store) and Podman 4"
bash scripts/test-engines.sh

# The same tests over the routes to a remote daemon: ssh (docker system dial-stdio) and TLS,
# each to a server of its own on loopback, plus the clear errors (unknown host key, password-only
# login, TLS without certificates).
say "Remote daemons: ssh and TLS on loopback (scripts/test-remote.sh)"
bash scripts/test-remote.sh

# ---------------------------------------------------------------------------------------------
# The Linux installer: a release build (minutes on two cores), then the .deb installed with
# dpkg, the installed app opened under Xvfb, and the package removed again.
say "The Linux installer (scripts/test-package.sh)"
bash scripts/test-package.sh
