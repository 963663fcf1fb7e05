#!/usr/bin/env bash
# The extra Docker engines our tests run on beside Debian 12's Engine 20.10 (the default daemon at
# /var/run/docker.sock, which this script never touches):
#   docker28  Engine 28.5 with the containerd image store and Engine 29's API floor
#             (DOCKER_MIN_API_VERSION=1.44): Debian sid's docker.io and containerd, downloaded and
#             unpacked under $cache_dir, not installed; sid's runc is left out (it needs a newer
#             glibc), Debian 12's runc runs its containers. Its own containerd, bridge and folders.
#   podman4   Debian 12's Podman 4 through its Docker-compatible socket.
# Usage:
#   scripts/engines.sh start        start what does not answer yet; prints `NAME DOCKER_HOST`
#   scripts/engines.sh stop         stop what this script started (the default daemon stays)
#   scripts/engines.sh list         prints `NAME DOCKER_HOST` for every engine answering
#   eval "$(scripts/engines.sh env NAME)"
#                                   points DOCKER_HOST (and PATH, for a docker CLI that speaks
#                                   the engine's API) at one engine
# Needs root (it unpacks under /var, makes a bridge, runs daemons). Safe to run again.
set -euo pipefail

engines=(docker28 podman4)
cache_dir=/var/cache/squashbox-engines
state_dir=/var/lib/squashbox-engines
run_dir=/run/squashbox-engines
sid_root=$cache_dir/sid

docker28_socket=/var/run/squashbox-docker28.sock
docker28_bridge=squashbox28
# A /24 that neither docker0 (172.17.0.0/16) nor Podman's default network (10.88.0.0/16) uses.
docker28_bridge_cidr=172.31.228.1/24
containerd_socket=$run_dir/containerd/containerd.sock
podman_socket=/run/podman/podman.sock

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

answers() { curl -sf --max-time 5 --unix-socket "$1" http://engine/_ping >/dev/null 2>&1; }

wait_for_socket() {
  local socket=$1 what=$2 log=$3
  for _ in $(seq 1 120); do
    answers "$socket" && return 0
    sleep 0.5
  done
  echo "$what did not answer on $socket within 60 s; its log ($log) ends:" >&2
  tail -n 20 "$log" >&2 || true
  return 1
}

# Waits up to 60 s for a process to exit after SIGTERM, then kills it.
stop_pid() {
  local pid=$1 what=$2
  kill -0 "$pid" 2>/dev/null || return 0
  say "Stopping $what (pid $pid)"
  kill "$pid"
  for _ in $(seq 1 120); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.5
  done
  echo "$what (pid $pid) ignored SIGTERM for 60 s: killing it" >&2
  kill -9 "$pid" 2>/dev/null || true
}

# The pid in a pidfile this script wrote, if that process is still the program it started:
# a pid reused by another program after a crash must not be stopped.
live_pid() {
  local pidfile=$1 program=$2 pid
  [ -s "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [ -r "/proc/$pid/exe" ] || return 1
  [ "$(basename "$(readlink "/proc/$pid/exe")")" = "$program" ] || return 1
  echo "$pid"
}

# The Debian mirror the machine's own apt sources use, so the download goes where apt already
# may go (deb822 files first, then one-line sources); the first URI of a release suite wins
# (not -security, not -updates).
debian_mirror() {
  local uri
  uri=$(awk '
    /^URIs:/ { uris = $2 }
    /^Suites:/ { for (i = 2; i <= NF; i++) if ($i !~ /-/) { print uris; exit } }
  ' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && $3 !~ /-/ { print $2; exit }' /etc/apt/sources.list)
  fi
  [ -n "$uri" ] || { echo "no Debian mirror found in /etc/apt/sources.list(.d)" >&2; return 1; }
  echo "$uri"
}

# Downloads sid's packages into the cache and unpacks them under $sid_root, once: apt is pointed
# at lists and a cache of our own, so the machine's own apt state never sees sid.
unpack_sid() {
  local stamp=$sid_root/.unpacked
  [ -f "$stamp" ] && return 0
  local apt=$cache_dir/apt
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$cache_dir/debs"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(debian_mirror) sid main" \
    >"$apt/sources.list"
  local opts=(
    -o "Dir::Etc::sourcelist=$apt/sources.list" -o Dir::Etc::sourceparts=-
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Get::List-Cleanup=0
  )
  if ! ls "$cache_dir"/debs/*.deb >/dev/null 2>&1; then
    say "Downloading Debian sid's docker.io, docker-cli, containerd and tini into $cache_dir/debs"
    apt-get "${opts[@]}" -qq update
    (cd "$cache_dir/debs" && apt-get "${opts[@]}" -qq download $(sid_packages "${opts[@]}"))
  fi
  say "Unpacking them under $sid_root"
  rm -rf "$sid_root"
  mkdir -p "$sid_root"
  for deb in "$cache_dir"/debs/*.deb; do dpkg -x "$deb" "$sid_root"; done
  # Absolute links (docker-init -> /usr/bin/tini-static) would point into the machine's own /usr.
  find "$sid_root" -type l -lname '/*' | while read -r link; do
    ln -sfn "$sid_root$(readlink "$link")" "$link"
  done
  touch "$stamp"
}

# docker.io, containerd and tini, plus the CLI's own package where sid has split it out.
sid_packages() {
  local packages=(docker.io containerd tini)
  if apt-cache "$@" show docker-cli >/dev/null 2>&1; then packages+=(docker-cli); fi
  echo "${packages[@]}"
}

# sid's own programs first, then the machine's (runc, ip, mount…).
sid_path() { echo "$sid_root/usr/bin:$sid_root/usr/sbin:$PATH"; }

start_containerd() {
  local pidfile=$run_dir/containerd.pid
  if live_pid "$pidfile" containerd >/dev/null && [ -S "$containerd_socket" ]; then return 0; fi
  mkdir -p "$run_dir/containerd" "$state_dir/containerd"
  # Kubernetes' CRI plugins are of no use here and would look for CNI set-ups.
  cat >"$run_dir/containerd.toml" <<EOF
version = 3
root = "$state_dir/containerd"
state = "$run_dir/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime", "io.containerd.cri.v1.images"]
[grpc]
  address = "$containerd_socket"
[ttrpc]
  address = "$containerd_socket.ttrpc"
EOF
  say "Starting sid's containerd (log: $run_dir/containerd.log)"
  # A socket left by an earlier run would pass for this one before it listens: dockerd then
  # gives up on it (seen on a busy machine: "error initializing buildkit … connection refused").
  rm -f "$containerd_socket" "$containerd_socket.ttrpc"
  PATH=$(sid_path) setsid nohup "$sid_root/usr/bin/containerd" --config "$run_dir/containerd.toml" \
    >"$run_dir/containerd.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  for _ in $(seq 1 120); do
    [ -S "$containerd_socket" ] && grep -q "containerd successfully booted" "$run_dir/containerd.log" && return 0
    sleep 0.5
  done
  echo "containerd was not serving within 60 s; its log ends:" >&2
  tail -n 20 "$run_dir/containerd.log" >&2
  return 1
}

start_bridge() {
  ip link show "$docker28_bridge" >/dev/null 2>&1 && return 0
  # A bridge of its own: dockerd started with --bridge=none deletes docker0, which the default
  # daemon needs for every RUN step.
  ip link add "$docker28_bridge" type bridge
  ip addr add "$docker28_bridge_cidr" dev "$docker28_bridge"
  ip link set "$docker28_bridge" up
}

start_docker28() {
  answers "$docker28_socket" && return 0
  unpack_sid
  mkdir -p "$run_dir" "$state_dir/docker28"
  start_containerd
  start_bridge
  echo '{"features":{"containerd-snapshotter":true}}' >"$run_dir/docker28.json"
  say "Starting Engine $("$sid_root/usr/sbin/dockerd" --version | awk '{print $3}' | tr -d ,) (log: $run_dir/docker28.log)"
  PATH=$(sid_path) DOCKER_MIN_API_VERSION=1.44 setsid nohup "$sid_root/usr/sbin/dockerd" \
    --config-file "$run_dir/docker28.json" \
    --data-root "$state_dir/docker28" \
    --exec-root "$run_dir/docker28" \
    --pidfile "$run_dir/docker28.pid" \
    --containerd "$containerd_socket" \
    -H "unix://$docker28_socket" \
    --bridge "$docker28_bridge" \
    --iptables=false \
    >"$run_dir/docker28.log" 2>&1 </dev/null &
  wait_for_socket "$docker28_socket" "Engine 28.5" "$run_dir/docker28.log"
}

stop_docker28() {
  local pid
  if pid=$(live_pid "$run_dir/docker28.pid" dockerd); then stop_pid "$pid" "Engine 28.5"; fi
  if pid=$(live_pid "$run_dir/containerd.pid" containerd); then stop_pid "$pid" "sid's containerd"; fi
  rm -f "$run_dir/docker28.pid" "$run_dir/containerd.pid"
  if ip link show "$docker28_bridge" >/dev/null 2>&1; then ip link del "$docker28_bridge"; fi
}

start_podman4() {
  answers "$podman_socket" && return 0
  if ! command -v podman >/dev/null; then
    say "Installing Debian's podman"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman >/dev/null
  fi
  mkdir -p "$run_dir" /run/podman
  say "Starting Podman $(podman --version | awk '{print $3}')'s Docker-compatible socket (log: $run_dir/podman.log)"
  setsid nohup podman system service --time=0 "unix://$podman_socket" \
    >"$run_dir/podman.log" 2>&1 </dev/null &
  echo $! >"$run_dir/podman.pid"
  wait_for_socket "$podman_socket" "Podman" "$run_dir/podman.log"
}

stop_podman4() {
  local pid
  if pid=$(live_pid "$run_dir/podman.pid" podman); then stop_pid "$pid" "Podman's socket"; fi
  rm -f "$run_dir/podman.pid"
}

socket_of() {
  case $1 in
    docker28) echo "$docker28_socket" ;;
    podman4) echo "$podman_socket" ;;
    *) echo "unknown engine '$1' (known: ${engines[*]})" >&2; return 1 ;;
  esac
}

list() {
  local socket
  for engine in "${engines[@]}"; do
    socket=$(socket_of "$engine")
    if answers "$socket"; then echo "$engine unix://$socket"; fi
  done
}

env_of() {
  local engine=$1 socket
  socket=$(socket_of "$engine")
  answers "$socket" || { echo "$engine is not running: scripts/engines.sh start" >&2; return 1; }
  echo "export DOCKER_HOST=unix://$socket"
  # Debian 12's docker CLI speaks API 1.41 at most, below Engine 28.5's floor of 1.44.
  if [ "$engine" = docker28 ]; then echo "export PATH=$sid_root/usr/bin:\$PATH"; fi
}

[ "$(id -u)" = 0 ] || { echo "engines.sh needs root" >&2; exit 1; }
case ${1:-} in
  start)
    for engine in "${engines[@]}"; do "start_$engine"; done
    list
    ;;
  stop) for engine in "${engines[@]}"; do "stop_$engine"; done ;;
  list) list ;;
  env) env_of "${2:?usage: engines.sh env NAME}" ;;
  *)
    echo "usage: engines.sh start|stop|list|env NAME" >&2
    exit 2
    ;;
esac
