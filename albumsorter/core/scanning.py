"""Walking a photo folder: every candidate file once, hidden folders and the app's own files skipped."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from albumsorter.core.decoding import sniff

# Extensions that promise a photo: a file with one of these that is not an image is reported as an error;
# any other file is looked at by content and silently ignored when it is not an image.
PHOTO_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif", ".heic", ".heif", ".avif"}
)

# Files the app itself may leave beside photos (a catalog given with --catalog inside the folder).
APP_FILE_SUFFIXES = (".albumsorter", ".sqlite", ".sqlite-wal", ".sqlite-shm", ".db", ".db-wal", ".db-shm")


BROKEN_LINK_SIZE = -1


@dataclass(frozen=True)
class FileEntry:
    path: Path  # absolute, not resolved through symlinks (the path the user sees)
    size: int
    mtime_ns: int


def looks_like_photo(path: Path) -> bool:
    """By content: does this file start like a photo format we read?"""
    try:
        with open(path, "rb") as fh:
            return sniff(fh.read(32)) is not None
    except OSError:
        return False


def walk_files(root: Path | str, skip: Callable[[Path], bool] | None = None) -> Iterator[FileEntry]:
    """Every regular file below `root`, in a stable order (sorted per folder).

    Hidden files and folders (a leading dot) are skipped; symlinked folders are followed once each, so a
    symlink loop ends; a folder that cannot be listed or disappears is skipped.
    """
    root = Path(root).absolute()
    seen_dirs: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            folder_stat = folder.stat()
        except OSError:
            continue
        key = (folder_stat.st_dev, folder_stat.st_ino)
        if key in seen_dirs:
            continue
        seen_dirs.add(key)
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        subdirs = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                if entry.is_dir(follow_symlinks=True):
                    subdirs.append(path)
                    continue
                st: os.stat_result | None = entry.stat(follow_symlinks=True) if entry.is_file(follow_symlinks=True) else None
            except OSError:  # a symlink loop (ELOOP), a file vanishing
                st = None
            if st is None:
                # A dangling or looping link named like a photo is reported as an error, not silently lost;
                # sockets, fifos and other links are skipped.
                if entry.is_symlink() and path.suffix.lower() in PHOTO_EXTENSIONS:
                    yield FileEntry(path, BROKEN_LINK_SIZE, 0)
                continue
            if entry.name.endswith(APP_FILE_SUFFIXES) or (skip is not None and skip(path)):
                continue
            yield FileEntry(path, st.st_size, st.st_mtime_ns)
        stack.extend(reversed(subdirs))
