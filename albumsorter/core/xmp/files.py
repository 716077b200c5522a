"""Reading and writing sidecar files, and reading the XMP inside a photo, without ever writing a photo.

A sidecar is read through a descriptor opened without following links and written whole to a temporary file in
the same folder, then renamed over the old one: a crash leaves the old sidecar or the new one, never half of
either, and a reader (darktable, digiKam) never sees a partial file. A sidecar path that is a link is refused,
so nothing is ever written (or read) outside the photo's folder through one. The photo itself is only opened for
reading.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path

from albumsorter.core.xmp import packet
from albumsorter.core.xmp.model import SidecarError, SidecarInfo, SidecarStyle, XmpState
from albumsorter.core.xmp.naming import existing_sidecar, sidecar_path

MAX_SIDECAR_BYTES = 64 * 1024 * 1024  # darktable's longest histories make sidecars of a few hundred kB
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # POSIX; on Windows the is-a-link check before opening stands alone
_O_BINARY = getattr(os, "O_BINARY", 0)
_ATTEMPTS = 3  # another tool saving the sidecar between our read and our rename: merge again


def _describe(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EROFS:
        return "read-only file system"
    if exc.errno == errno.ENOSPC:
        return "disk full"
    return exc.strerror or str(exc)


def _read_sidecar_bytes(path: Path) -> tuple[bytes, os.stat_result] | None:
    """A sidecar's bytes and status; None when there is none. Refuses links, folders and huge files."""
    if path.is_symlink():
        raise SidecarError(f"the sidecar {path.name} is a link; AlbumSorter does not follow links out of the photo's folder")
    try:
        fd = os.open(path, os.O_RDONLY | _O_NOFOLLOW | _O_BINARY)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # became a link after the check above
            raise SidecarError(f"the sidecar {path.name} is a link; AlbumSorter does not follow links") from None
        raise SidecarError(f"cannot read the sidecar {path.name}: {_describe(exc)}") from None
    with os.fdopen(fd, "rb") as file:
        status = os.fstat(file.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise SidecarError(f"{path.name} is not a regular file")
        if status.st_size > MAX_SIDECAR_BYTES:
            raise SidecarError(f"the sidecar {path.name} is too large to be XMP ({status.st_size} bytes); it was left as it is")
        try:
            return file.read(), status
        except OSError as exc:
            raise SidecarError(f"cannot read the sidecar {path.name}: {_describe(exc)}") from None


def _state(path: Path, entries: packet.Entries, *, embedded: bool, mtime: float) -> XmpState:
    stars, rejected, picked, label = packet.rating_and_pick(entries)
    subject, hierarchical, own_subjects = packet.keywords(entries)
    regions = packet.stored_regions(entries)
    return XmpState(
        path=path,
        embedded=embedded,
        mtime=mtime,
        rating=stars,
        rejected=rejected,
        picked=picked,
        pick_label=label,
        keywords=tuple(subject),
        hierarchical_keywords=tuple(hierarchical),
        own_subjects=tuple(own_subjects),
        regions=tuple(r.region for r in regions if r.region is not None and not r.own),
        own_regions=tuple(r.region for r in regions if r.region is not None and r.own),
    )


def _parse_sidecar(path: Path, data: bytes, mtime: float) -> XmpState:
    if not data.strip():
        return XmpState(path=path, embedded=False, mtime=mtime)
    try:
        entries = packet.read_entries(data)
    except SidecarError as exc:
        raise SidecarError(f"the sidecar {path.name} is {exc}") from None
    return _state(path, entries or {}, embedded=False, mtime=mtime)


def read_sidecar(photo_path: Path | str, names: Iterable[str] | None = None) -> XmpState | None:
    """What the photo's sidecar (either naming) says; None when it has none. `names`: the folder's listing, if
    already known (see `naming.folder_names`)."""
    photo = Path(photo_path)
    path = existing_sidecar(photo, names)
    if path is None:
        return None
    found = _read_sidecar_bytes(path)
    if found is None:  # deleted in the meantime
        return None
    data, status = found
    return _parse_sidecar(path, data, status.st_mtime)


def read_embedded_xmp(photo_path: Path | str) -> XmpState | None:
    """What the XMP inside the photo says (Lightroom and phones write it there); None when it has none or exiv2
    does not know the format. The photo is opened for reading only."""
    photo = Path(photo_path)
    try:
        with open(photo, "rb") as file:
            status = os.fstat(file.fileno())
            data = file.read()
    except OSError as exc:
        raise SidecarError(f"cannot read {photo.name}: {_describe(exc)}") from None
    try:
        entries = packet.read_entries(data, image=True)
    except SidecarError as exc:
        raise SidecarError(f"{photo.name} is {exc}") from None
    if not entries:
        return None
    return _state(photo, entries, embedded=True, mtime=status.st_mtime)


def photo_orientation(photo_path: Path | str) -> int:
    """The photo's EXIF orientation (1-8) as AlbumSorter's decoder applies it (for `FaceRegion.from_box`)."""
    from PIL import Image

    from albumsorter.core.decoding import EXIF_ORIENTATION

    try:
        with Image.open(photo_path) as image:  # reads the header only
            value = int(image.getexif().get(EXIF_ORIENTATION, 1))
    except Exception:  # no or broken EXIF: the decoder shows it as stored too
        return 1
    return value if 1 <= value <= 8 else 1


def _write_atomically(target: Path, data: bytes, previous: os.stat_result | None) -> None:
    """Write `data` to a new file beside `target`, then rename it over `target`."""
    folder = target.parent
    temporary = folder / f".albumsorter-{secrets.token_hex(6)}.xmp.tmp"  # short: a long photo name must still fit
    mode = stat.S_IMODE(previous.st_mode) if previous is not None else 0o666  # the umask applies to a new file
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_BINARY, mode)
    except OSError as exc:
        raise SidecarError(f"cannot write in the folder {folder}: {_describe(exc)}") from None
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        if previous is not None:
            os.chmod(temporary, mode)  # os.open's mode is filtered by the umask; keep the old file's exactly
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise SidecarError(f"cannot write the sidecar {target.name}: {_describe(exc)}") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_sidecar(
    photo_path: Path | str,
    info: SidecarInfo,
    style: SidecarStyle | str = SidecarStyle.DARKTABLE,
    names: Iterable[str] | None = None,
) -> XmpState | None:
    """Write or update the photo's sidecar so that it says `info`, keeping every field AlbumSorter does not own.

    Updates the sidecar that exists in either naming, else creates one in `style`; creates none for a photo with
    nothing to say. Returns what the sidecar now says (the values to remember as "last written"), or None when
    there is no sidecar. Raises SidecarError with the reason (read-only folder, broken sidecar, a link...); the
    existing sidecar is then as it was.
    """
    photo = Path(photo_path)
    listing = None if names is None else list(names)
    for _ in range(_ATTEMPTS):
        target = sidecar_path(photo, style, listing)
        found = _read_sidecar_bytes(target)
        if found is None and not info.says_anything:
            return None
        existing, previous = found if found is not None else (None, None)
        if previous is not None and not os.access(target, os.W_OK):
            raise SidecarError(f"the sidecar {target.name} is read-only; it was left as it is")
        merged = packet.merged_packet(existing if existing and existing.strip() else None, info)
        if merged is None:  # already says all this
            assert existing is not None and previous is not None
            return _parse_sidecar(target, existing, previous.st_mtime)
        if not _unchanged_since(target, previous):
            listing = None  # another tool saved (or created) it meanwhile: merge into its version
            continue
        _write_atomically(target, merged, previous)
        return _parse_sidecar(target, merged, target.stat().st_mtime)
    raise SidecarError(f"the sidecar of {photo.name} kept changing while AlbumSorter tried to update it")


def _unchanged_since(path: Path, previous: os.stat_result | None) -> bool:
    try:
        now = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return previous is None
    if previous is None:
        return False
    return (now.st_ino, now.st_size, now.st_mtime_ns) == (previous.st_ino, previous.st_size, previous.st_mtime_ns)
