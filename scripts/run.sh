#!/usr/bin/env bash
# Sets everything up on a fresh Debian/Ubuntu machine, builds Squashbox and opens it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$root_dir"

say "Building Squashbox (release)"
npm --prefix ui run build
cargo build --release --workspace --features squashbox/custom-protocol
say "Opening Squashbox"
exec "${CARGO_TARGET_DIR:-target}/release/squashbox"
