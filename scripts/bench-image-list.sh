#!/usr/bin/env bash
# Benchmark: how long `squashbox-cli images --json` takes to list 300 images, as a ratio against
# `docker images --format json` in the same run (the machines are noisy; the ratio is the figure).
# Makes 300 tiny distinct images, measures, then removes them.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-300}
runs=${RUNS:-10}
repo="squashbox-bench/list-$$"

cargo build --release -p squashbox-cli --quiet
cli=./target/release/squashbox-cli

work=$(mktemp -d)
cleanup() {
  docker images --format '{{.Repository}}:{{.Tag}}' | grep "^$repo:" | xargs -r docker rmi -f >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "making $count images…"
echo "bench" > "$work/file"
tar -C "$work" -cf "$work/layer.tar" file
for i in $(seq 1 "$count"); do
  # A distinct config per image (the label) gives a distinct image ID.
  docker import --change "LABEL n=$i" "$work/layer.tar" "$repo:$i" >/dev/null
done
echo "daemon now holds $(docker images -q | sort -u | wc -l) images"

time_runs() {
  local start end
  start=$(date +%s%N)
  for _ in $(seq 1 "$runs"); do "$@" >/dev/null; done
  end=$(date +%s%N)
  echo $(( (end - start) / runs / 1000000 ))
}

"$cli" images --json >/dev/null # warm the daemon's caches once for both sides
ours=$(time_runs "$cli" images --json)
baseline=$(time_runs docker images --format '{{json .}}')
listed=$("$cli" images --json | grep -c '"id"')
echo "squashbox-cli images --json: ${ours} ms per run (${listed} images)"
echo "docker images --format json: ${baseline} ms per run"
awk -v a="$ours" -v b="$baseline" 'BEGIN { printf "ratio: %.2f\n", a / b }'
