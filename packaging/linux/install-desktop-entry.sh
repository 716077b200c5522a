#!/bin/sh
# Add AlbumSorter to the desktop's application menu (for this user), pointing at this folder.
#   ./install-desktop-entry.sh            install
#   ./install-desktop-entry.sh --remove   remove
# Move the AlbumSorter folder where it will stay (e.g. ~/.local/opt/AlbumSorter) before running this.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
icons="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor/512x512/apps"
if [ "${1:-}" = "--remove" ]; then
    rm -f "$apps/albumsorter.desktop" "$icons/albumsorter.png"
    echo "AlbumSorter removed from the application menu."
    exit 0
fi
mkdir -p "$apps" "$icons"
cp "$here/albumsorter.png" "$icons/albumsorter.png"
sed -e "s|^Exec=.*|Exec=\"$here/AlbumSorter\" %f|" -e "s|^TryExec=.*|TryExec=$here/AlbumSorter|" \
    "$here/albumsorter.desktop" > "$apps/albumsorter.desktop"
chmod 644 "$apps/albumsorter.desktop"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$apps" >/dev/null 2>&1 || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q "${icons%/512x512/apps}" >/dev/null 2>&1 || true
echo "AlbumSorter added to the application menu ($apps/albumsorter.desktop)."
