"""Exporting picks: copies into a destination folder, never overwriting, never writing elsewhere."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

# Characters that are not allowed (or are dangerous) in a file name on some system.
_BAD_CHARS = set('<>:"/\\|?*\x00') | {chr(i) for i in range(32)}


@dataclass
class ExportResult:
    copied: list[tuple[str, str]] = field(default_factory=list)  # (source, destination)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)


def safe_name(name: str) -> str:
    """A file name that stays inside its folder on every platform."""
    cleaned = "".join("_" if c in _BAD_CHARS else c for c in name).strip(" .")
    return cleaned or "photo"


# Most file systems allow 255 bytes in one name: a long name plus " (1)" must be shortened, not fail the export.
_MAX_NAME_BYTES = 255


def _fit(stem: str, tail: str) -> str:
    while stem and len(os.fsencode(stem + tail)) > _MAX_NAME_BYTES:
        stem = stem[:-1]
    return stem + tail


def _unique_target(dest: Path, name: str) -> Path:
    stem, suffix = os.path.splitext(safe_name(name))
    if len(suffix) > 16:  # not an extension, just a dot in a long name
        stem, suffix = stem + suffix, ""
    candidate = dest / _fit(stem, suffix)
    n = 1
    while candidate.exists() or candidate.is_symlink():
        candidate = dest / _fit(stem, f" ({n}){suffix}")
        n += 1
    return candidate


def copy_new(source: Path, dest_dir: Path, name: str | None = None) -> Path:
    """Copy `source` into `dest_dir` under a name not yet taken; the copy is created exclusively, so a
    file appearing at the same moment is never overwritten either."""
    dest_dir = dest_dir.resolve()
    while True:
        target = _unique_target(dest_dir, name or source.name)
        if target.parent != dest_dir:  # pragma: no cover - safe_name forbids separators
            raise ValueError(f"refusing to write outside {dest_dir}: {target}")
        try:
            with open(source, "rb") as src, open(target, "xb") as out:
                shutil.copyfileobj(src, out, 1024 * 1024)
        except FileExistsError:
            continue
        except BaseException:
            if target.exists():
                target.unlink()  # no half-written copy left behind
            raise
        shutil.copystat(source, target)
        return target


def export_photos(
    paths: Iterable[str | Path],
    dest: Path | str,
    on_progress: Callable[[int, int, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ExportResult:
    """Copy each photo into `dest` (created if needed). Originals are only read."""
    dest = Path(dest).expanduser()
    dest.mkdir(parents=True, exist_ok=True)
    items = [Path(p) for p in paths]
    result = ExportResult()
    for i, source in enumerate(items):
        if should_stop and should_stop():
            break
        try:
            target = copy_new(source, dest)
            result.copied.append((str(source), str(target)))
        except OSError as exc:
            result.failed.append((str(source), exc.strerror or str(exc)))
        if on_progress:
            on_progress(i + 1, len(items), str(source))
    return result
