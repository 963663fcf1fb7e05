#!/usr/bin/env bash
# Builds the Linux installers: a .deb and an .rpm, each with the app and squashbox-cli.
# The AppImage is left to the release workflow: its tools are downloaded while it is built.
#
#   bash scripts/package.sh     -> prints the paths of the two packages, one a line, last
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$root_dir"

triple="$(rustc -vV | sed -n 's/^host: //p')"
say "Building the .deb and .rpm for $triple (release)"
echo "Not building the AppImage here: linuxdeploy and its plugins are downloaded during that build. The release workflow builds it." >&2
# --target, as in the release workflow: the sidecar script builds the workspace for the same
# target, so the bundler's cargo build finds it done (see scripts/sidecar.mjs).
ui/node_modules/.bin/tauri build --ci --target "$triple" --bundles deb,rpm \
  --config src-tauri/release.conf.json

bundle_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/$triple/release/bundle"
version="$(python3 -c 'import json; print(json.load(open("tauri.conf.json"))["version"])')"
say "Packages"
ls "$bundle_dir/deb/Squashbox_${version}_"*.deb "$bundle_dir/rpm/Squashbox-${version}-"*.rpm
