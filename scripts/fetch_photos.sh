#!/usr/bin/env bash
# Fetches real photos for tinyqat's data sets (tinyqat data ..., docs/data.md) from Debian's
# python3-skimage package, without installing it (or Python): apt-get download + dpkg-deb, then copies
# the natural photos (listed below) into DIR (default: .cache/photos in the repository).
#
#   bash scripts/fetch_photos.sh [DIR]
#
# Idempotent: the .deb is kept in DIR/.deb and reused; photos already present and identical are left
# alone. Each photo's sha256 is checked against the one the documented sets were built with; a different
# file (another package version) is taken but reported, because sets built from it will differ.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${1:-$ROOT/.cache/photos}"
PKG=python3-skimage
SRC=./usr/lib/python3/dist-packages/skimage/data

log() { echo "fetch_photos: $*"; }
die() { echo "fetch_photos: ERROR: $*" >&2; exit 1; }

# The natural photographs of skimage/data, all at least 300 px on the short side, with the sha256 of
# python3-skimage 0.19.3-8 (Debian 12). Left out on purpose: synthetic or non-photo images (color,
# logo, horse, phantom, chessboard*, checker_bilevel, block, palette*, page, text, bw_text), tiny ones
# (microaneurysms 102 px, the GIF and TIFF test files, truncated.jpg), clock_motion (already
# motion-blurred) and cell (an almost uniform microscopy field).
PHOTOS="
astronaut.png 88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5
brick.png 7966caf324f6ba843118d98f7a07746d22f6a343430add0233eca5f6eaaa8fcf
camera.png b0793d2adda0fa6ae899c03989482bff9a42d3d5690fc7e3648f2795d730c23a
chelsea.png 596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb
coffee.png cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7
coins.png f8d773fc9cfa6f4d8e5942dc34d0a0788fcaed2a4fefbbed0aef5398d7ef4cba
grass.png b6b6022426b38936c43a4ac09635cd78af074e90f42ffa8227ac8b7452d39f89
gravel.png c48615b451bf1e606fbd72c0aa9f8cc0f068ab7111ef7d93bb9b0f2586440c12
hubble_deep_field.jpg 3a19c5dd8a927a9334bb1229a6d63711b1c0c767fb27e2286e7c84a3e2c2f5f4
ihc.png f8dd1aa387ddd1f49d8ad13b50921b237df8e9b262606d258770687b0ef93cef
moon.png 78739619d11f7eb9c165bb5d2efd4772cee557812ec847532dbb1d92ef71f577
motorcycle_left.png db18e9c4157617403c3537a6ba355dfeafe9a7eabb6b9b94cb33f6525dd49179
motorcycle_right.png 5fc913ae870e42a4b662314bc904d1786bcad8e2f0b9b67dba5a229406357797
retina.jpg 38a07f36f27f095e818aea7b96d34202c05176d30253c66733f2e00379e9e0e6
rocket.jpg c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c
"

command -v apt-get >/dev/null || die "apt-get not found: this script needs Debian/Ubuntu"
command -v dpkg-deb >/dev/null || die "dpkg-deb not found"
mkdir -p "$DIR/.deb" || die "cannot create $DIR"
DEBDIR="$(cd "$DIR/.deb" && pwd)"

deb="$(find "$DEBDIR" -maxdepth 1 -name "${PKG}_*.deb" | sort | tail -n 1)"
if [[ -n "$deb" ]] && dpkg-deb --info "$deb" >/dev/null 2>&1; then
  log "using cached $(basename "$deb")"
else
  rm -f "$DEBDIR"/${PKG}_*.deb
  # As root, apt downloads as user _apt unless told otherwise; the cache folder may not be writable by it.
  sandbox=()
  [[ $(id -u) -eq 0 ]] && sandbox=(-o APT::Sandbox::User=root)
  download() { (cd "$DEBDIR" && apt-get download "${sandbox[@]}" "$PKG"); }
  if ! download; then
    if [[ $(id -u) -eq 0 ]]; then
      log "apt-get download failed; running apt-get update and retrying"
      apt-get update -q || true
      download || die "apt-get download $PKG failed (no network or no Debian package lists?); cannot fetch the photos"
    else
      die "apt-get download $PKG failed (no network, or package lists missing: run 'apt-get update' as root); cannot fetch the photos"
    fi
  fi
  deb="$(find "$DEBDIR" -maxdepth 1 -name "${PKG}_*.deb" | sort | tail -n 1)"
  [[ -n "$deb" ]] || die "apt-get download reported success but no ${PKG}_*.deb is in $DEBDIR"
fi
version="$(dpkg-deb --field "$deb" Version)"
log "package $PKG $version ($(basename "$deb"))"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
members=()
while read -r name _; do [[ -n "$name" ]] && members+=("$SRC/$name"); done <<<"$PHOTOS"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" -f - "${members[@]}" ||
  die "$(basename "$deb") does not contain all expected photos (package layout changed?)"

taken=0 changed=0
while read -r name want; do
  [[ -n "$name" ]] || continue
  src="$tmp/$SRC/$name"
  [[ -s "$src" ]] || die "$name missing from $(basename "$deb")"
  sum="$(sha256sum "$src" | cut -d' ' -f1)"
  state="new"
  if [[ -f "$DIR/$name" ]] && cmp -s "$src" "$DIR/$name"; then
    state="present"
  else
    [[ -e "$DIR/$name" ]] && state="replaced"
    cp "$src" "$DIR/.$name.tmp" && mv -f "$DIR/.$name.tmp" "$DIR/$name"
  fi
  note=""
  if [[ "$want" != "-" && "$want" != "$sum" ]]; then
    note="  (differs from the pinned sha256 $want: sets built from it will differ)"
    changed=$((changed + 1))
  fi
  printf 'fetch_photos: %-24s %8d bytes  sha256 %s  %s%s\n' "$name" "$(stat -c %s "$src")" "${sum:0:16}" "$state" "$note"
  taken=$((taken + 1))
done <<<"$PHOTOS"

log "$taken photos in $DIR ($PKG $version)"
((changed == 0)) || log "WARNING: $changed photo(s) differ from the pinned versions"
