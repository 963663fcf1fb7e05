#!/usr/bin/env bash
# The reference images of the benchmarks (issue 3), shared by bench-audit.sh and bench-squash.sh.
# Sourced, with $work (a temp folder), ZIP_MB and FILES set by the caller. Each builder prints the
# tag it made; the caller removes it.

# a ÷ b, two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

rootfs() {
  mkdir -p "$1/rootfs/bin"
  cp /bin/busybox "$1/rootfs/bin/busybox"
  ln -sf busybox "$1/rootfs/bin/sh"
}

build_zip_image() {
  local dir=$work/zip tag=squashbox-bench/zip:$$
  rootfs "$dir"
  head -c "$((ZIP_MB * 1024 * 1024))" /dev/urandom > "$dir/payload.bin"
  (cd "$dir" && zip -q -0 big.zip payload.bin && rm payload.bin)
  cat > "$dir/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
COPY big.zip /big.zip
RUN ["/bin/busybox", "unzip", "-q", "/big.zip", "-d", "/data"]
RUN ["/bin/busybox", "rm", "/big.zip"]
DOCKERFILE
  DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$dir" >/dev/null 2>"$work/build.log" || { cat "$work/build.log" >&2; exit 1; }
  rm -f "$dir/big.zip"
  echo "$tag"
}

build_files_image() {
  local dir=$work/files tag=squashbox-bench/files:$$
  rootfs "$dir"
  python3 - "$dir" "$FILES" <<'PY'
import os, sys
root, count = sys.argv[1], int(sys.argv[2])
per_dir = 1000
for i in range(count):
    d = os.path.join(root, "tree", f"d{i // per_dir:03}")
    if i % per_dir == 0:
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i % per_dir:04}.txt"), "w") as f:
        f.write(f"file {i} " * 8)
# The overwrite: new content for the first sixth of the directories.
dirs = (count + per_dir - 1) // per_dir
for i in range(0, (count // 6)):
    d = os.path.join(root, "over", f"d{i // per_dir:03}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i % per_dir:04}.txt"), "w") as f:
        f.write(f"new {i} " * 9)
PY
  local deleted
  deleted=$(seq -f "/data/d%03g" "$((FILES / 6000))" "$((FILES / 3000 - 1))" | tr '\n' ' ')
  cat > "$dir/Dockerfile" <<DOCKERFILE
FROM scratch
COPY rootfs/ /
COPY tree/ /data/
COPY over/ /data/
RUN /bin/busybox rm -rf $deleted
DOCKERFILE
  DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$dir" >/dev/null 2>"$work/build.log" || { cat "$work/build.log" >&2; exit 1; }
  echo "$tag"
}
