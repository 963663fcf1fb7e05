#!/usr/bin/env bash
# render.sh — regenerate every Squashbox app icon from the hand-written SVG.
#
# Why this exists: Tauri's bundler needs the icon as a fixed set of raster
# files (PNGs at several sizes, a Windows .ico, a macOS .icns), but the only
# thing we edit is icons/squashbox.svg. Change the SVG, run this script, and
# commit the SVG together with the regenerated files.
#
#   Usage:  icons/render.sh            (from anywhere)
#   Needs:  rsvg-convert (librsvg2-bin), ImageMagick 6 at /usr/bin/convert
#           (imagemagick) and python3 (writes the .icns container itself).
#           Debian: apt-get install -y imagemagick librsvg2-bin
#
# Every PNG is forced to 8-bit RGBA (PNG32:) because Tauri rejects icons
# without an alpha channel. Override the tools with CONVERT=... RSVG=... .
set -euo pipefail

cd "$(dirname "$0")"
SVG=squashbox.svg
CONVERT=${CONVERT:-/usr/bin/convert}   # not /usr/local/bin/convert (a stand-in)
RSVG=${RSVG:-rsvg-convert}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# render SIZE OUT: rasterise the SVG at SIZE x SIZE into an RGBA PNG
render() {
  "$RSVG" -w "$1" -h "$1" "$SVG" -o "$tmp/raw-$1.png"
  "$CONVERT" "$tmp/raw-$1.png" -strip "PNG32:$2"
}

for s in 16 24 32 48 64 128 256 512 1024; do
  render "$s" "$tmp/$s.png"
done

# Files Tauri's bundle.icon list expects
cp "$tmp/32.png"  32x32.png
cp "$tmp/128.png" 128x128.png
cp "$tmp/256.png" 128x128@2x.png
cp "$tmp/256.png" 256x256.png     # Linux: hicolor/256x256 (Tauri files 128x128@2x under "256x256@2")
cp "$tmp/512.png" icon.png

# Windows: one .ico holding 16..256 (ImageMagick stores 256 as PNG, rest as BMP+alpha)
"$CONVERT" "$tmp/16.png" "$tmp/24.png" "$tmp/32.png" "$tmp/48.png" \
           "$tmp/64.png" "$tmp/256.png" icon.ico

# macOS: .icns written by hand with PNG payloads, same entry set as Apple's
# iconutil. (Debian's png2icns is deliberately not used: it stores the
# 256/512/1024 entries as JPEG 2000, which many non-Apple readers, e.g. the
# Rust `icns` crate, cannot decode.) Layout: 'icns' + u32 BE total length,
# then entries of 4-byte type + u32 BE length (incl. 8-byte header) + PNG bytes.
python3 - "$tmp" <<'PY'
import struct, sys
tmp = sys.argv[1]
entries = [
    (b"icp4", 16), (b"icp5", 32), (b"ic07", 128), (b"ic08", 256),
    (b"ic09", 512), (b"ic10", 1024),                # 1x (ic10 = 512@2x)
    (b"ic11", 32), (b"ic12", 64), (b"ic13", 256), (b"ic14", 512),  # @2x
]
body = b""
for kind, size in entries:
    data = open(f"{tmp}/{size}.png", "rb").read()
    body += kind + struct.pack(">I", len(data) + 8) + data
with open("icon.icns", "wb") as f:
    f.write(b"icns" + struct.pack(">I", len(body) + 8) + body)
PY

echo "icons regenerated from $SVG:"
for f in 32x32.png 128x128.png 128x128@2x.png 256x256.png icon.png icon.ico; do
  printf '  %-16s %s\n' "$f" "$(identify -format '%[channels] %wx%h ' "$f")"
done
printf '  %-16s %s bytes\n' icon.icns "$(stat -c %s icon.icns)"
