#!/usr/bin/env bash
# Runs the tests whose outcome depends on the engine (the integration modules images, audit,
# squash, squash_cancel, squash_direct, events and prune, and the prune tests) on each extra engine of
# scripts/engines.sh, by pointing DOCKER_HOST (and PATH, for the docker CLI) at it. Engines it
# had to start are stopped again at the end. One log per engine under target/engines/.
# Usage: scripts/test-engines.sh [ENGINE...]   (docker28 podman4 by default; `default` runs the
#        same tests on the default daemon, for a baseline)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
engines_sh=$PWD/scripts/engines.sh

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# shellcheck source=scripts/failed-tests.sh
source "$PWD/scripts/failed-tests.sh"

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(docker28 podman4)

features=(--features squashbox/custom-protocol)
integration_modules=(images:: audit:: squash:: squash_cancel:: squash_direct:: events:: prune::)

# `--workspace` as in scripts/test.sh: the same packages give the same features, so nothing is
# compiled twice (the tests themselves are squashbox-cli's).
say "Building the test binaries"
cargo test --workspace --no-run "${features[@]}" --test integration --test prune

if [ -z "$("$engines_sh" list)" ]; then trap '"$engines_sh" stop' EXIT; fi
"$engines_sh" start >/dev/null

log_dir=$PWD/target/engines
mkdir -p "$log_dir"
summary=()
status=0
for engine in "${targets[@]}"; do
  log=$log_dir/$engine.log
  say "Tests on $engine (log: $log)"
  start=$(date +%s)
  # The subshell runs as an `if` condition, where errexit is off: each step's failure is kept.
  if (
    if [ "$engine" != default ]; then
      env=$("$engines_sh" env "$engine") || exit 1
      eval "$env"
    fi
    # What squashes leave behind is remembered in a data folder of this run's own.
    SQUASHBOX_DATA_DIR=$(mktemp -d)
    export SQUASHBOX_DATA_DIR
    trap 'rm -rf "$SQUASHBOX_DATA_DIR"' EXIT
    docker version --format "client API {{.Client.APIVersion}}, server {{.Server.Version}} (API {{.Server.APIVersion}})" || exit 1
    rc=0
    cargo test --workspace "${features[@]}" --no-fail-fast --test integration -- "${integration_modules[@]}" || rc=1
    cargo test --workspace "${features[@]}" --no-fail-fast --test prune || rc=1
    exit "$rc"
  ) >"$log" 2>&1; then
    outcome=passed
  else
    outcome=failed
    status=1
    failed_tests "$log" | sed "s/^/  $engine: /"
  fi
  seconds=$(($(date +%s) - start))
  counts=$(grep -o '[0-9]* passed; [0-9]* failed' "$log" | awk '{p += $1; f += $3} END {print p " passed, " f " failed"}')
  summary+=("$engine: $outcome ($counts) in ${seconds}s")
done

say "Summary"
printf '%s\n' "${summary[@]}"
exit "$status"
