#!/usr/bin/env bash
# The reference images of the benchmarks (issue 3), shared by bench-audit.sh and bench-squash.sh.
# Sourced, with $work (a temp folder), ZIP_MB and FILES set by the caller. Each builder prints the
# tag it made; the caller removes it.

# a ÷ b, two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 == a && b + 0 == b && b > 0) printf "%.2f", a / b; else print "n/a" }'; }
# The median of the figures given, and their range (`lo–hi`).
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
range() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s–%s", lo, hi }'; }

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

# DEEP_FILES files, each under its own 3.3 KB-deep path whose directories the layer never names
# (tar lets them stay implicit, and `docker save` keeps the layer as written): what once took
# the audit 870 MB for a 6 MB image. Loaded, not built: a build would name the directories.
build_deep_image() {
  local tag=squashbox-bench/deep:$$
  python3 - "$work/deep.tar" "$DEEP_FILES" "$tag" <<'PY'
import hashlib, io, json, sys, tarfile
out, files, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
layer = io.BytesIO()
with tarfile.open(fileobj=layer, mode="w", format=tarfile.GNU_FORMAT) as t:
    for i in range(files):
        parts = [f"c{i:05}"]
        while len("/".join(parts)) < 3300:
            parts.append("abcdefg")
        data = f"file {i}\n".encode()
        info = tarfile.TarInfo("/".join(parts) + "/f.txt")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
layer = layer.getvalue()
config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]},
    "history": [{"created_by": "deep paths"}]}).encode()
config_name = hashlib.sha256(config).hexdigest() + ".json"
manifest = json.dumps([{"Config": config_name, "RepoTags": [tag], "Layers": ["deep/layer.tar"]}]).encode()
with tarfile.open(out, "w") as t:
    for name, data in [(config_name, config), ("deep/layer.tar", layer), ("manifest.json", manifest)]:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
PY
  docker load -q -i "$work/deep.tar" >/dev/null
  rm -f "$work/deep.tar"
  echo "$tag"
}
