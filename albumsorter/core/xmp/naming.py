"""Which file is a photo's sidecar: `IMG_0042.jpg.xmp` (darktable, digiKam) or `IMG_0042.xmp` (Lightroom).

A sidecar that already exists in either naming is the one used, so AlbumSorter never puts a second one beside it
(the darktable name wins where both exist: it cannot belong to another file). The Adobe name is shared by every
file with the same stem (`IMG_0042.jpg` and the raw `IMG_0042.CR2` it was developed from, or `IMG_0042.png`):
there it belongs to none of them for sure, so AlbumSorter neither reads nor writes it and uses the darktable name.
File names are matched case-insensitively (`IMG_0042.JPG.XMP`), as on Windows and macOS.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from albumsorter.core.xmp.model import SidecarError, SidecarStyle

SUFFIX = ".xmp"


def folder_names(folder: Path) -> list[str]:
    """The names in a photo's folder (what `sidecar_path` needs; list it once to name many photos' sidecars)."""
    try:
        return os.listdir(folder)
    except OSError as exc:
        raise SidecarError(f"cannot list the folder {folder}: {exc.strerror or exc}") from None


def _stem(name: str) -> str:
    stem, dot, _ = name.rpartition(".")
    return stem if dot and stem else name


def _find(wanted: str, by_folded: dict[str, list[str]]) -> str | None:
    matches = by_folded.get(wanted.casefold(), [])
    if wanted in matches:
        return wanted
    return matches[0] if len(matches) == 1 else None


def _candidates(photo: Path, names: Iterable[str]) -> tuple[str, str | None, dict[str, list[str]]]:
    """(darktable name, Adobe name or None where the stem is shared, the folder's names by case-folded name)."""
    by_folded: dict[str, list[str]] = {}
    for name in names:
        by_folded.setdefault(name.casefold(), []).append(name)
    darktable = photo.name + SUFFIX
    stem = _stem(photo.name)
    adobe: str | None = stem + SUFFIX
    sharing = [
        n
        for n in (m for group in by_folded.values() for m in group)
        if _stem(n).casefold() == stem.casefold() and not n.casefold().endswith(SUFFIX)
    ]
    if any(n.casefold() != photo.name.casefold() for n in sharing):
        adobe = None
    return darktable, adobe, by_folded


def existing_sidecar(photo: Path, names: Iterable[str] | None = None) -> Path | None:
    """The photo's sidecar if one exists in either naming. `names` is the folder's listing (listed when None): pass
    one listing for a whole folder of photos; a sidecar created since is still found under its exact name."""
    darktable, adobe, by_folded = _candidates(photo, folder_names(photo.parent) if names is None else names)
    for wanted in (darktable, adobe):
        found = _find(wanted, by_folded) if wanted else None
        if found:
            return photo.parent / found
    for wanted in (darktable, adobe):  # made after `names` was listed
        if wanted and os.path.lexists(photo.parent / wanted):
            return photo.parent / wanted
    return None


def sidecar_path(
    photo: Path | str, style: SidecarStyle | str = SidecarStyle.DARKTABLE, names: Iterable[str] | None = None
) -> Path:
    """Where the photo's sidecar is, or will be written in `style` when it has none yet."""
    photo = Path(photo)
    style = SidecarStyle(style)
    listing = folder_names(photo.parent) if names is None else list(names)
    found = existing_sidecar(photo, listing)
    if found is not None:
        return found
    darktable, adobe, _ = _candidates(photo, listing)
    if style is SidecarStyle.ADOBE and adobe is not None:
        return photo.parent / adobe
    return photo.parent / darktable
