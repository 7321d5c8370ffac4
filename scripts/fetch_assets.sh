#!/usr/bin/env bash
# Fetch the Debian packages whose images the composited-sequence generator uses
# (trackerzoo.datasets.synthetic) and unpack them into a cache directory outside
# the repository. Nothing here is installed system-wide: `apt-get download` only
# fetches the .deb files, `dpkg-deb -x` unpacks them into the cache.
#
#   scripts/fetch_assets.sh            # into ${TRACKERZOO_ASSETS:-~/.cache/trackerzoo/assets}
#   scripts/fetch_assets.sh DIR        # into DIR
#
# Afterwards `python -m trackerzoo.datasets.synthetic.assets --index` (or the first
# `trackerzoo make-dataset` without --procedural) builds the asset index.
set -euo pipefail

PACKAGES=(openclipart-png tuxpaint-stamps-default tuxpaint-data mate-backgrounds opencv-doc)
ASSETS_DIR="${1:-${TRACKERZOO_ASSETS:-$HOME/.cache/trackerzoo/assets}}"
DEB_DIR="$ASSETS_DIR/debs"
ROOT_DIR="$ASSETS_DIR/root"

mkdir -p "$DEB_DIR" "$ROOT_DIR"

# apt-get download needs package lists; fetch them once if this machine has none.
if ! apt-cache show "${PACKAGES[0]}" >/dev/null 2>&1; then
    echo "package lists are missing; running apt-get update" >&2
    if [ "$(id -u)" -eq 0 ]; then apt-get update; else sudo apt-get update; fi
fi

cd "$DEB_DIR"
for package in "${PACKAGES[@]}"; do
    if ls "$DEB_DIR"/"${package}"_*.deb >/dev/null 2>&1; then
        echo "already downloaded: $package"
    else
        echo "downloading: $package"
        apt-get download "$package"
    fi
done

for deb in "$DEB_DIR"/*.deb; do
    stamp="$ROOT_DIR/.unpacked-$(basename "$deb")"
    if [ -e "$stamp" ]; then
        continue
    fi
    echo "unpacking: $(basename "$deb")"
    dpkg-deb -x "$deb" "$ROOT_DIR"
    touch "$stamp"
done

echo "assets unpacked under $ROOT_DIR"
