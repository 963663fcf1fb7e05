#!/usr/bin/env bash
# The Linux installer, end to end: build the .deb (scripts/package.sh), check what it declares
# and holds, install it with dpkg, open the installed app under Xvfb and find its window, run
# the installed CLI, uninstall, and check that nothing it installed is left.
#
#   bash scripts/test-package.sh       (run by test.sh; needs root or sudo, as dpkg does)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$root_dir"

fail() { echo "test-package: $*" >&2; exit 1; }
# (No `| grep -q` or early-exiting readers here: with pipefail, the writer's SIGPIPE fails them.)
installed() { [ "$(dpkg-query -W -f='${Status}' squashbox 2>/dev/null || true)" = "install ok installed" ]; }

# Someone's own install is not ours to replace or remove.
if installed; then
  fail "a squashbox package is already installed here; remove it (dpkg -r squashbox) to run this test"
fi

work="$(mktemp -d)"
app_pid=""
xvfb_pid=""
cleanup() {
  [ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null || true
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null || true
  # A failure between install and uninstall must not leave the package behind.
  if installed; then
    as_root dpkg --purge squashbox >/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

started=$(date +%s)
bash scripts/package.sh | tee "$work/package.out"
deb="$(grep '\.deb$' "$work/package.out" | tail -n 1)"
rpm="$(grep '\.rpm$' "$work/package.out" | tail -n 1)"
[ -f "$deb" ] && [ -f "$rpm" ] || fail "package.sh did not name a .deb and an .rpm"
echo "package.sh took $(( $(date +%s) - started )) s; $(basename "$deb") is $(stat -c %s "$deb") bytes, $(basename "$rpm") $(stat -c %s "$rpm")"

say "What the .deb declares and holds"
# Listed as usr/bin/x or ./usr/bin/x, folders with or without a trailing slash: made absolute.
dpkg-deb -c "$deb" | awk '{print $NF}' | sed -E 's|^\.?/?|/|; s|(.)/$|\1|' > "$work/contents"
rpm -qpl "$rpm" > "$work/rpm-contents"
for path in /usr/bin/squashbox /usr/bin/squashbox-cli /usr/share/applications/Squashbox.desktop \
  /usr/share/icons/hicolor/{32x32,128x128,256x256,512x512}/apps/squashbox.png; do
  grep -qx "$path" "$work/contents" || fail "$path is not in the .deb"
  grep -qx "$path" "$work/rpm-contents" || fail "$path is not in the .rpm"
done
# Every shared library the two programs load must come from a package the .deb depends on
# (the way dpkg-shlibdeps would declare them, libc6 and libgcc-s1 included), and be one the
# .rpm requires by its soname (the way rpmbuild would).
depends="$(dpkg-deb -f "$deb" Depends)"
requires="$(rpm -qpR "$rpm")"
echo "Depends: $depends"
dpkg-deb -x "$deb" "$work/root"
for program in squashbox squashbox-cli; do
  # libc6's version floor must cover the newest glibc symbol version the program uses.
  needs_glibc="$(objdump -T "$work/root/usr/bin/$program" | grep -o 'GLIBC_[0-9.]*' | sort -V | tail -n 1 | cut -d_ -f2)"
  declared="$(sed -n 's/.*libc6 (>= \([0-9.]*\)).*/\1/p' <<<"$depends")"
  [ -n "$declared" ] && dpkg --compare-versions "$declared" ge "$needs_glibc" ||
    fail "$program uses glibc $needs_glibc symbols; the .deb asks for libc6 (>= ${declared:-any})"
  for lib in $(objdump -p "$work/root/usr/bin/$program" | awk '/NEEDED/ {print $2}'); do
    [ "$lib" = ld-linux-x86-64.so.2 ] ||
      grep -q "^$lib(" <<<"$requires" || fail "$program needs $lib, which the .rpm does not require"
    path="$(ldconfig -p | awk -v lib="$lib" '$1 == lib && /x86-64/ && !found {print $NF; found = 1}')"
    [ -n "$path" ] || fail "$program needs $lib, which this machine does not have"
    # dpkg knows a library by the path its package shipped it at, /lib or /usr/lib.
    owner="$( { dpkg -S "$path" || dpkg -S "$(readlink -f "$path")" || true; } 2>/dev/null | sed -n '1s/:.*//p')"
    [ -n "$owner" ] || fail "no package owns $path ($lib, needed by $program)"
    grep -Eq "(^|, )$owner( |,|$)" <<<"$depends" || fail "$program needs $lib from $owner, which the .deb does not depend on"
  done
done
desktop-file-validate "$work/root/usr/share/applications/Squashbox.desktop"

say "Install with dpkg"
# What exists before the install may stay after the uninstall (/usr/bin, icon folders…).
while read -r path; do [ -e "$path" ] && echo "$path"; done <"$work/contents" >"$work/before"
as_root dpkg -i "$deb"
installed || fail "dpkg did not install squashbox"
[ "$(command -v squashbox-cli)" = /usr/bin/squashbox-cli ] || fail "squashbox-cli is not /usr/bin/squashbox-cli on the PATH"
squashbox-cli --version

say "Open the installed app under Xvfb"
# A dead daemon address: the app opens on its no-daemon screen, whatever runs on this machine,
# and reads no settings of the user's (config and data folders of its own).
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$work/display" 2>/dev/null &
xvfb_pid=$!
for _ in $(seq 1 50); do [ -s "$work/display" ] && break; sleep 0.1; done
display=":$(cat "$work/display")"
mkdir -p "$work/home"
DISPLAY="$display" HOME="$work/home" XDG_CONFIG_HOME="$work/home/config" XDG_DATA_HOME="$work/home/data" \
  DOCKER_HOST=unix:///nonexistent/docker.sock /usr/bin/squashbox >"$work/app.log" 2>&1 &
app_pid=$!
window=""
for _ in $(seq 1 300); do
  window="$(DISPLAY="$display" xdotool search --onlyvisible --name '^Squashbox$' 2>/dev/null | head -n 1 || true)"
  [ -n "$window" ] && break
  kill -0 "$app_pid" 2>/dev/null || { cat "$work/app.log" >&2; fail "the installed app exited before showing a window"; }
  sleep 0.1
done
[ -n "$window" ] || { cat "$work/app.log" >&2; fail "no Squashbox window appeared within 30 s"; }
DISPLAY="$display" xwininfo -id "$window" | grep -E "Width|Height|Map State"
# The window is there; the page in it is drawn once the screenshot holds more than a blank
# window's few colours (the no-daemon screen has text, an icon, shadows).
shot="${CARGO_TARGET_DIR:-target}/package-test-window.png"
colours=0
for _ in $(seq 1 100); do
  DISPLAY="$display" import -window root "$shot"
  colours="$(identify -format '%k' "$shot")"
  [ "$colours" -gt 50 ] && break
  sleep 0.2
done
[ "$colours" -gt 50 ] || fail "the window stayed blank ($colours colours in $shot)"
echo "window $window drawn: $colours colours in $shot"
kill "$app_pid"; wait "$app_pid" 2>/dev/null || true; app_pid=""
kill "$xvfb_pid"; wait "$xvfb_pid" 2>/dev/null || true; xvfb_pid=""

say "Uninstall with dpkg"
as_root dpkg --purge squashbox
! installed || fail "dpkg still lists squashbox as installed"
dpkg-query -W squashbox >/dev/null 2>&1 && fail "dpkg still knows squashbox after the purge"
left=()
while read -r path; do
  [ -e "$path" ] && ! grep -qx "$path" "$work/before" && left+=("$path")
done <"$work/contents"
[ ${#left[@]} -eq 0 ] || fail "left behind after the uninstall: ${left[*]}"
echo "installed, opened and uninstalled cleanly"
