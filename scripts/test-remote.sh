#!/usr/bin/env bash
# Runs the tests whose outcome depends on how the daemon is reached (the integration modules
# images, audit, squash, squash_cancel, squash_direct, events and prune, and the prune tests)
# over the two remote routes, on loopback only, plus the remote tests of their own (src-tauri/core/
# tests/integration/remote.rs: the clear errors, the remote's disk figures):
#   ssh  an sshd of this script's own on 127.0.0.1 (its own port, config, host key; a client key
#        and known_hosts made here), whose login shell runs `docker` against the local daemon;
#        Squashbox reaches it as `ssh://root@127.0.0.1:PORT`, through `docker system dial-stdio`.
#   tls  a dockerd of this script's own on tcp://127.0.0.1:PORT with --tlsverify and certificates
#        made here (its own data root, exec root, pidfile, socket, bridge and containerd
#        namespace), reached with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH.
# The machine's own ssh configuration is not touched: `ssh` on the tests' PATH is a wrapper that
# adds `-F` with this script's client config. Both servers are stopped at the end.
# Usage: scripts/test-remote.sh [ssh|tls|errors...]   (all three by default). Needs root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
# shellcheck source=scripts/failed-tests.sh
source "$PWD/scripts/failed-tests.sh"

work=$PWD/target/remote
run_dir=/run/squashbox-remote
state_dir=/var/lib/squashbox-remote
ssh_port=22722
tls_port=22376
bridge=squashboxtls
# A /24 that neither docker0, Podman's network nor scripts/engines.sh's bridge uses.
bridge_cidr=172.31.229.1/24

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(ssh tls errors)

features=(--features squashbox/custom-protocol)
integration_modules=(images:: audit:: squash:: squash_cancel:: squash_direct:: events:: prune::)

# The pid in a pidfile this script wrote, if that process is still the program it started.
live_pid() {
  local pidfile=$1 program=$2 pid
  [ -s "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [ -r "/proc/$pid/exe" ] || return 1
  [ "$(basename "$(readlink "/proc/$pid/exe")")" = "$program" ] || return 1
  echo "$pid"
}

stop_pid() {
  local pid=$1
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.5
  done
  kill -9 "$pid" 2>/dev/null || true
}

stop_all() {
  local pid
  if pid=$(live_pid "$work/ssh/sshd.pid" sshd); then stop_pid "$pid"; fi
  if pid=$(live_pid "$run_dir/dockerd.pid" dockerd); then stop_pid "$pid"; fi
  if ip link show "$bridge" >/dev/null 2>&1; then ip link del "$bridge"; fi
}

port_free() { ! ss -ltnH "sport = :$1" | grep -q .; }

# --- ssh ----------------------------------------------------------------------------------------
start_sshd() {
  local dir=$work/ssh
  mkdir -p "$dir" "$work/bin"
  ssh-keygen -q -t ed25519 -N '' -C squashbox-test-host -f "$dir/host_ed25519"
  ssh-keygen -q -t ed25519 -N '' -C squashbox-test-client -f "$dir/client_ed25519"
  # A key the server does not know: with it, only a password would get in.
  ssh-keygen -q -t ed25519 -N '' -C squashbox-test-stranger -f "$dir/stranger_ed25519"
  cp "$dir/client_ed25519.pub" "$dir/authorized_keys"
  echo "[127.0.0.1]:$ssh_port $(cut -d' ' -f1,2 "$dir/host_ed25519.pub")" >"$dir/known_hosts"
  : >"$dir/empty_known_hosts"
  cat >"$dir/sshd_config" <<EOF
Port $ssh_port
ListenAddress 127.0.0.1
HostKey $dir/host_ed25519
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PubkeyAuthentication yes
# Offered, so that a client without an accepted key meets a password prompt (which BatchMode
# refuses to answer): the password-only case of the tests.
PasswordAuthentication yes
KbdInteractiveAuthentication no
PermitRootLogin yes
StrictModes no
UsePAM no
EOF
  cat >"$dir/config" <<EOF
Host 127.0.0.1 squashbox-remote-unknown squashbox-remote-nokey
  HostName 127.0.0.1
  Port $ssh_port
  User root
  IdentitiesOnly yes
  IdentityAgent none
  GlobalKnownHostsFile /dev/null
Host 127.0.0.1
  IdentityFile $dir/client_ed25519
  UserKnownHostsFile $dir/known_hosts
Host squashbox-remote-unknown
  IdentityFile $dir/client_ed25519
  UserKnownHostsFile $dir/empty_known_hosts
Host squashbox-remote-nokey
  IdentityFile $dir/stranger_ed25519
  UserKnownHostsFile $dir/known_hosts
EOF
  printf '#!/bin/sh\nexec /usr/bin/ssh -F %q "$@"\n' "$dir/config" >"$work/bin/ssh"
  chmod +x "$work/bin/ssh"
  # Debian's sshd refuses to start without its privilege separation folder.
  mkdir -p /run/sshd
  port_free "$ssh_port" || { echo "port $ssh_port is taken" >&2; return 1; }
  say "Starting sshd on 127.0.0.1:$ssh_port (log: $dir/sshd.log)"
  /usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log"
  for _ in $(seq 1 40); do
    PATH=$work/bin:$PATH ssh -o BatchMode=yes 127.0.0.1 true 2>/dev/null && return 0
    sleep 0.25
  done
  echo "sshd did not let the test key in; its log ends:" >&2
  tail -n 20 "$dir/sshd.log" >&2
  return 1
}

# --- TLS ----------------------------------------------------------------------------------------
make_certificates() {
  local dir=$work/tls
  mkdir -p "$dir/client"
  cd "$dir"
  key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
  key ca-key.pem
  openssl req -x509 -new -key ca-key.pem -days 2 -subj /CN=squashbox-test-ca -out ca.pem \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
  sign() {
    local name=$1 usage=$2 ext=$3
    key "$name-key.pem"
    openssl req -new -key "$name-key.pem" -subj "/CN=$name" -out "$name.csr"
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n%s' \
      "$usage" "$ext" >"$name.ext"
    openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
      -extfile "$name.ext" -out "$name-cert.pem" 2>/dev/null
  }
  sign server serverAuth 'subjectAltName=IP:127.0.0.1'
  sign client clientAuth ''
  cp ca.pem client/ca.pem
  cp client-cert.pem client/cert.pem
  cp client-key.pem client/key.pem
  # What a user with the CA but no client certificate has.
  mkdir -p ca-only && cp ca.pem ca-only/ca.pem
  cd - >/dev/null
}

start_tls_dockerd() {
  make_certificates
  local dir=$work/tls
  mkdir -p "$run_dir" "$state_dir"
  port_free "$tls_port" || { echo "port $tls_port is taken" >&2; return 1; }
  if ! ip link show "$bridge" >/dev/null 2>&1; then
    # A bridge of its own: a dockerd started with --bridge=none deletes docker0.
    ip link add "$bridge" type bridge
    ip addr add "$bridge_cidr" dev "$bridge"
    ip link set "$bridge" up
  fi
  say "Starting a TLS dockerd on tcp://127.0.0.1:$tls_port (log: $work/dockerd.log)"
  setsid nohup dockerd \
    --data-root "$state_dir/docker" \
    --exec-root "$run_dir/exec" \
    --pidfile "$run_dir/dockerd.pid" \
    -H "unix://$run_dir/docker.sock" \
    -H "tcp://127.0.0.1:$tls_port" \
    --tlsverify --tlscacert "$dir/ca.pem" --tlscert "$dir/server-cert.pem" --tlskey "$dir/server-key.pem" \
    --bridge "$bridge" --iptables=false \
    --containerd-namespace squashbox-remote --containerd-plugins-namespace squashbox-remote-plugins \
    >"$work/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 1 120); do
    curl -sf --max-time 5 --unix-socket "$run_dir/docker.sock" http://docker/_ping >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "the TLS dockerd did not answer within 60 s; its log ends:" >&2
  tail -n 20 "$work/dockerd.log" >&2
  return 1
}

# --- the runs -----------------------------------------------------------------------------------
say "Building the test binaries"
cargo test --workspace --no-run "${features[@]}" --test integration --test prune

stop_all
rm -rf "$work"
mkdir -p "$work"
trap stop_all EXIT
start_sshd
start_tls_dockerd

summary=()
status=0
for target in "${targets[@]}"; do
  log=$work/$target.log
  say "Tests over $target (log: $log)"
  start=$(date +%s)
  if (
    unset DOCKER_HOST DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_TLS DOCKER_CERT_PATH
    export PATH=$work/bin:$PATH
    SQUASHBOX_DATA_DIR=$(mktemp -d)
    export SQUASHBOX_DATA_DIR
    trap 'rm -rf "$SQUASHBOX_DATA_DIR"' EXIT
    case $target in
      ssh)
        export DOCKER_HOST=ssh://root@127.0.0.1:$ssh_port
        # The tests' own independent readings (curl) go to the daemon behind the route.
        export SQUASHBOX_TEST_DAEMON_SOCKET=/var/run/docker.sock
        ;;
      tls)
        export DOCKER_HOST=tcp://127.0.0.1:$tls_port DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=$work/tls/client
        export SQUASHBOX_TEST_DAEMON_SOCKET=$run_dir/docker.sock
        ;;
      errors)
        export SQUASHBOX_TEST_SSH=ssh://root@127.0.0.1:$ssh_port
        export SQUASHBOX_TEST_SSH_UNKNOWN_HOST=ssh://squashbox-remote-unknown
        export SQUASHBOX_TEST_SSH_PASSWORD_ONLY=ssh://squashbox-remote-nokey
        export SQUASHBOX_TEST_TLS_HOST=tcp://127.0.0.1:$tls_port
        export SQUASHBOX_TEST_TLS_CERTS=$work/tls/client
        export SQUASHBOX_TEST_TLS_CA_ONLY=$work/tls/ca-only
        cargo test --workspace "${features[@]}" --test integration -- --ignored remote::
        exit
        ;;
      *) echo "unknown target $target: ssh, tls or errors" >&2; exit 2 ;;
    esac
    docker version --format "server {{.Server.Version}} (API {{.Server.APIVersion}}) via $DOCKER_HOST" || exit 1
    rc=0
    cargo test --workspace "${features[@]}" --no-fail-fast --test integration -- "${integration_modules[@]}" || rc=1
    cargo test --workspace "${features[@]}" --no-fail-fast --test prune || rc=1
    exit "$rc"
  ) >"$log" 2>&1; then
    outcome=passed
  else
    outcome=failed
    status=1
    failed_tests "$log" | sed "s/^/  $target: /"
  fi
  seconds=$(($(date +%s) - start))
  counts=$(grep -o '[0-9]* passed; [0-9]* failed' "$log" | awk '{p += $1; f += $3} END {print p " passed, " f " failed"}')
  summary+=("$target: $outcome ($counts) in ${seconds}s")
done

say "Summary"
printf '%s\n' "${summary[@]}"
exit "$status"
