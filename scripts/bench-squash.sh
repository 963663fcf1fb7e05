#!/usr/bin/env bash
# Benchmark of the squash on the reference images of issue 3 (see bench-images.sh), each figure
# beside a baseline from the same run:
#   squashbox-cli squash (classic builder, verification included) ÷ a plain classic `docker build`
#   of the very Dockerfile Squashbox renders (goal ≤ 1.05 for the build part);
#   its build part alone (the source's read for the verification runs beside it) and the
#   verification after it, from the outcome's own clock;
#   docker-squash (PyPI, installed into target/bench-venv) and `docker export | docker import` of
#   the same image, for comparison;
#   the CLI's multi-stage path with the builder left to it (one audit of the source keeping its
#   files, then the build, then a read of the result only; BuildKit on these images) ÷ a plain
#   BuildKit build of the same Dockerfile;
#   result size ÷ the audit's filesystem bytes (goal ≤ 1.01);
#   the direct method (--method direct: one audit of the source keeping its files, then a second
#   read that writes the one layer straight into `docker load`, then the comparison) ÷ the plain
#   classic build (goal ≤ 2.0), its part after that audit (what a squash after an audit in the window costs)
#   ÷ the plain build (goal ≤ 1.0), and both ÷ `docker save` of the source plus `docker load`
#   of the result, timed apart: the least any client-side flatten can take;
#   a partial squash by the same method (--keep-layers 1: the first layer kept as it is, one
#   layer on top for the rest), against the same two baselines.
# The direct method's figures are medians of ROUNDS rounds (3 by default), each round's ratios
# taken against the baselines measured in that round.
# It runs on the daemon DOCKER_HOST names (the default one without it; another engine of
# scripts/engines.sh with `eval "$(bash scripts/engines.sh env docker28)"` first), and empties BuildKit's cache (all of it) before
# each BuildKit build: a record left by an earlier run would turn the copy into a cache hit.
# Usage: bash scripts/bench-squash.sh [zip|files]...   (both by default)
set -euo pipefail
cd "$(dirname "$0")/.."
ZIP_MB=${ZIP_MB:-1024}
ROUNDS=${ROUNDS:-3}
FILES=${FILES:-100000}
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(zip files)

cargo build --release -p squashbox-cli --quiet
cli=$PWD/target/release/squashbox-cli
venv=$PWD/target/bench-venv
[ -x "$venv/bin/docker-squash" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet docker-squash; }
work=$(mktemp -d)
host=${DOCKER_HOST:-unix:///var/run/docker.sock}
socket=${host#unix://}
tags=()
cleanup() {
  for t in "${tags[@]}"; do docker rmi -f "$t" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT
source "$(dirname "$0")/bench-images.sh"

# Wall seconds of a command, output discarded.
seconds() {
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1
  end=$(date +%s%N)
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", (e - s) / 1e9 }'
}

for case in "${cases[@]}"; do
  case $case in
    zip) echo "building the zip image ($ZIP_MB MB)…"; image=$(build_zip_image) ;;
    files) echo "building the many-files image ($FILES files)…"; image=$(build_files_image) ;;
    *) echo "unknown case $case (zip or files)" >&2; exit 2 ;;
  esac
  tags+=("$image" "$image-plain" "$image-squashed" "$image-imported" "$image-docker-squash" "$image-auto" "$image-plain-kit" "$image-direct" "$image-partial")
  fs_bytes=$("$cli" audit "$image" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["report"]["filesystemBytes"])')

  "$cli" squash "$image" --tag "$image-plain" --builder classic --dockerfile > "$work/Dockerfile"
  mkdir -p "$work/empty"
  # Ours first, then the plain build with --no-cache: neither may reuse the other's layers.
  # The containerd store refuses a multi-stage squash of this image (its RUN steps were the
  # classic builder's): the row then says "failed".
  start=$(date +%s%N)
  if "$cli" squash "$image" --tag "$image-squashed" --builder classic --json > "$work/outcome.json"; then
    ours=$(awk -v s="$start" -v e="$(date +%s%N)" 'BEGIN { printf "%.2f", (e - s) / 1e9 }')
    read -r build_part verify_part < <(python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); print("%.2f %.2f" % (o["buildSeconds"], o["verifySeconds"]))' "$work/outcome.json")
  else
    ours=failed build_part=failed verify_part=failed
  fi
  # The direct method against its baselines, in rounds: the plain build here took 1.46 s in one
  # run and 2.35 s in another, so each round's ratios are taken beside each other and the
  # medians reported, with their range.
  plains=() directs=() afters=() writes=() compares=() save_loads=() saves=() loads=()
  r_direct=() r_after=() r_direct_sl=() r_after_sl=()
  for _ in $(seq "$ROUNDS"); do
    plain=$(seconds sh -c "DOCKER_BUILDKIT=0 docker build --no-cache -q -t '$image-plain' -f '$work/Dockerfile' '$work/empty'")
    docker rmi "$image-plain" >/dev/null
    start=$(date +%s%N)
    "$cli" squash "$image" --tag "$image-direct" --method direct --json > "$work/direct.json"
    direct=$(awk -v s="$start" -v e="$(date +%s%N)" 'BEGIN { printf "%.2f", (e - s) / 1e9 }')
    read -r direct_write direct_verify < <(python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); print("%.2f %.2f" % (o["buildSeconds"], o["verifySeconds"]))' "$work/direct.json")
    direct_after=$(awk -v a="$direct_write" -v b="$direct_verify" 'BEGIN { printf "%.2f", a + b }')
    saved=$(seconds sh -c "docker save '$image' > /dev/null")
    docker save "$image-direct" -o "$work/direct.tar"
    docker rmi "$image-direct" >/dev/null
    loaded=$(seconds docker load -i "$work/direct.tar")
    docker rmi "$image-direct" >/dev/null
    rm -f "$work/direct.tar"
    save_load=$(awk -v a="$saved" -v b="$loaded" 'BEGIN { printf "%.2f", a + b }')
    plains+=("$plain") directs+=("$direct") afters+=("$direct_after") writes+=("$direct_write")
    compares+=("$direct_verify") saves+=("$saved") loads+=("$loaded") save_loads+=("$save_load")
    r_direct+=("$(ratio "$direct" "$plain")") r_after+=("$(ratio "$direct_after" "$plain")")
    r_direct_sl+=("$(ratio "$direct" "$save_load")") r_after_sl+=("$(ratio "$direct_after" "$save_load")")
  done
  plain=$(median "${plains[@]}") save_load=$(median "${save_loads[@]}")
  partial=$(seconds "$cli" squash "$image" --tag "$image-partial" --method direct --keep-layers 1 --json)
  docker image inspect "$image-partial" >/dev/null 2>&1 || partial="failed"
  # docker-squash wants a temp folder that does not exist yet; it says "failed" when it fails.
  peer=$(seconds "$venv/bin/docker-squash" -t "$image-docker-squash" --tmp-dir "$work/docker-squash-$case" "$image")
  docker image inspect "$image-docker-squash" >/dev/null 2>&1 || peer="failed"
  # The auto path, and its baseline: BuildKit copying from the tag (it reads an ID as a registry name).
  docker builder prune -af >/dev/null
  start=$(date +%s%N)
  if "$cli" squash "$image" --tag "$image-auto" --method multistage --json > "$work/auto.json"; then
    auto=$(awk -v s="$start" -v e="$(date +%s%N)" 'BEGIN { printf "%.2f", (e - s) / 1e9 }')
    read -r auto_builder auto_build auto_verify < <(python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); print(o["method"], "%.2f %.2f" % (o["buildSeconds"], o["verifySeconds"]))' "$work/auto.json")
  else
    auto=failed auto_builder=refused auto_build=failed auto_verify=failed
  fi
  id=$(docker image inspect --format '{{.Id}}' "$image")
  mkdir -p "$work/kit"
  sed "s|--from=$id|--from=$image|" "$work/Dockerfile" > "$work/kit/Dockerfile"
  tar -C "$work/kit" -cf "$work/kit.tar" Dockerfile
  # Debian's docker CLI has no buildx: BuildKit through the Engine API, as Squashbox drives it.
  kit_tag=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$image-plain-kit")
  docker builder prune -af >/dev/null
  plain_kit=$(seconds curl -sf --unix-socket "$socket" -X POST -H 'Content-Type: application/x-tar' \
    --data-binary @"$work/kit.tar" "http://localhost/build?version=2&nocache=1&t=$kit_tag")
  docker image inspect "$image-plain-kit" >/dev/null 2>&1 || plain_kit="failed"
  docker builder prune -af >/dev/null
  exported=$(seconds sh -c "docker create --name sbx-bench-$$ '$image' /bin/sh >/dev/null && docker export sbx-bench-$$ | docker import - '$image-imported' >/dev/null; docker rm sbx-bench-$$ >/dev/null")
  size=$(docker image inspect --format '{{.Size}}' "$image-squashed" 2>/dev/null || echo failed)
  echo "image $image: filesystem $fs_bytes bytes"
  echo "  plain docker build of the rendered Dockerfile   ${plain} s"
  echo "  squashbox-cli squash (build + verify + tag)     ${ours} s   ÷ plain build = $(ratio "$ours" "$plain")"
  echo "    of which the build (source read beside it)    ${build_part} s   ÷ plain build = $(ratio "$build_part" "$plain")"
  echo "    and the verification after it                 ${verify_part} s   ÷ plain build = $(ratio "$verify_part" "$plain")"
  echo "  the direct method, medians of $ROUNDS rounds (range), each ratio against its own round's baselines:"
  echo "    plain build $(median "${plains[@]}") s ($(range "${plains[@]}")); docker save of the source $(median "${saves[@]}") s ($(range "${saves[@]}")) + docker load of the result $(median "${loads[@]}") s ($(range "${loads[@]}"))"
  echo "    squashbox-cli squash --method direct          $(median "${directs[@]}") s ($(range "${directs[@]}"))   ÷ plain build = $(median "${r_direct[@]}") ($(range "${r_direct[@]}"))   ÷ save+load = $(median "${r_direct_sl[@]}") ($(range "${r_direct_sl[@]}"))"
  echo "      after the audit (write + load, verify)      $(median "${afters[@]}") s ($(range "${afters[@]}"))   ÷ plain build = $(median "${r_after[@]}") ($(range "${r_after[@]}"))   ÷ save+load = $(median "${r_after_sl[@]}") ($(range "${r_after_sl[@]}"))"
  echo "      of which writing and loading the layer      $(median "${writes[@]}") s; the comparison $(median "${compares[@]}") s"
  echo "  squashbox-cli squash --method direct --keep-layers 1   ${partial} s   ÷ plain build = $(ratio "$partial" "$plain")   ÷ save+load = $(ratio "$partial" "$save_load")"
  echo "  docker-squash $("$venv/bin/docker-squash" --version 2>&1 | tail -1)   ${peer} s   ÷ plain build = $(ratio "$peer" "$plain")"
  echo "  docker export | docker import                   ${exported} s   ÷ plain build = $(ratio "$exported" "$plain")"
  echo "  plain BuildKit build of the same Dockerfile     ${plain_kit} s"
  echo "  squashbox-cli squash --method multistage ($auto_builder)   ${auto} s   ÷ plain BuildKit build = $(ratio "$auto" "$plain_kit")"
  echo "    audit of the source (files kept, once)        $(awk -v a="$auto" -v b="$auto_build" -v c="$auto_verify" 'BEGIN { if (a == "failed") print a; else printf "%.2f", a - b - c }') s"
  echo "    build                                         ${auto_build} s   ÷ plain BuildKit build = $(ratio "$auto_build" "$plain_kit")"
  echo "    verification (the result's read only)         ${auto_verify} s"
  echo "  result size ÷ filesystem bytes = $(ratio "$size" "$fs_bytes")"
done
