"""What the batch job analyses: the photos of folders, list files and URIs, each with its size and time.

A SOURCE is a local folder (walked as `index` walks it), a local photo, a text file listing photos (one
path or URI a line; blank lines and lines starting with # skipped; relative paths are relative to the list
file), or a URI any pyarrow filesystem reads (`s3://bucket/photos/`, `gs://…`, `hdfs://…`) naming a folder,
a photo or a list file. Photos are local absolute paths or URIs, as the Parquet rows will name them.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from albumsorter.core.scanning import BROKEN_LINK_SIZE, PHOTO_EXTENSIONS, looks_like_photo, walk_files


class SourceError(Exception):
    """A SOURCE that does not exist or cannot be listed."""


@dataclass(frozen=True)
class SourceFile:
    path: str  # absolute local path, or a URI
    size: int
    mtime_ns: int

    @property
    def is_uri(self) -> bool:
        return is_uri(self.path)


def is_uri(text: str) -> bool:
    scheme, sep, _ = text.partition("://")
    return bool(sep) and scheme.isalnum() and len(scheme) > 1  # "C://" is not a URI


def filesystem_for(uri: str) -> tuple[Any, str]:
    """(pyarrow filesystem, path in it) for a URI; one filesystem per scheme and host (an S3 client per photo would
    resolve credentials and regions again each time)."""
    from pyarrow import fs

    scheme, _, rest = uri.partition("://")
    key = f"{scheme}://{rest.split('/', 1)[0]}"
    cached = _FILESYSTEMS.get(key)
    if cached is not None and uri.startswith(cached[1]) and "%" not in uri:  # an escaped URI: pyarrow decodes it
        return cached[0], uri[len(cached[1]) :]
    filesystem, path = fs.FileSystem.from_uri(uri)
    if uri.endswith(path) and "?" not in uri:
        _FILESYSTEMS[key] = (filesystem, uri[: len(uri) - len(path)])
    return filesystem, path


_FILESYSTEMS: dict[str, tuple[Any, str]] = {}


def _is_photo_name(name: str) -> bool:
    return PurePosixPath(name).suffix.lower() in PHOTO_EXTENSIONS


def _local_folder(root: Path) -> Iterator[SourceFile]:
    """As `index` picks files: photo extensions, or anything whose content starts like a photo."""
    for entry in walk_files(root):
        if entry.size == BROKEN_LINK_SIZE or entry.path.suffix.lower() in PHOTO_EXTENSIONS or looks_like_photo(entry.path):
            yield SourceFile(str(entry.path), entry.size, entry.mtime_ns)


def _local_file(path: Path) -> SourceFile:
    try:
        st = path.stat()
    except OSError:  # listed but absent: analysed anyway, so its row says why it could not be read
        return SourceFile(str(path), 0, 0)
    return SourceFile(str(path), st.st_size, st.st_mtime_ns)


def _list_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def _from_list(entries: Iterable[str], base: Path | None) -> Iterator[SourceFile]:
    uris = []
    for entry in entries:
        if is_uri(entry):
            uris.append(entry)
            continue
        path = Path(entry).expanduser()
        if not path.is_absolute() and base is not None:
            path = base / path
        yield _local_file(Path(os.path.abspath(path)))
    yield from _uri_files(uris)


def _uri_files(uris: Sequence[str]) -> Iterator[SourceFile]:
    """Sizes and times of listed URIs; one that is absent is still analysed (its row says why)."""
    from pyarrow import fs

    for uri in uris:
        filesystem, path = filesystem_for(uri)
        info = filesystem.get_file_info(path)
        ok = info.type == fs.FileType.File
        yield SourceFile(uri, int(info.size or 0) if ok else 0, int(info.mtime_ns or 0) if ok else 0)


def _uri_source(uri: str) -> Iterator[SourceFile]:
    from pyarrow import fs

    try:
        filesystem, path = filesystem_for(uri)
        info = filesystem.get_file_info(path)
    except Exception as exc:
        raise SourceError(f"cannot open {uri}: {exc}") from None
    if info.type == fs.FileType.NotFound:
        raise SourceError(f"not found: {uri}")
    prefix = uri[: len(uri) - len(path)] if uri.endswith(path) else uri.partition("://")[0] + "://"
    if info.type == fs.FileType.Directory:
        found = filesystem.get_file_info(fs.FileSelector(path, recursive=True))
        for item in sorted(found, key=lambda i: i.path):
            hidden = any(part.startswith(".") for part in PurePosixPath(item.path).relative_to(path).parts)
            if item.type == fs.FileType.File and not hidden and _is_photo_name(item.path):
                yield SourceFile(prefix + quote(item.path), int(item.size or 0), int(item.mtime_ns or 0))
    elif _is_photo_name(path):
        yield SourceFile(uri, int(info.size or 0), int(info.mtime_ns or 0))
    else:
        with filesystem.open_input_stream(path) as fh:
            yield from _from_list(_list_lines(fh.read().decode("utf-8")), None)


def expand_sources(sources: Sequence[str]) -> list[SourceFile]:
    """Every photo of the SOURCEs, each once, in a stable order. Raises SourceError for a SOURCE that is absent."""
    out: dict[str, SourceFile] = {}
    for source in sources:
        if is_uri(source):
            files: Iterable[SourceFile] = _uri_source(source)
        else:
            path = Path(os.path.abspath(Path(source).expanduser()))
            if path.is_dir():
                files = _local_folder(path)
            elif not path.is_file():
                raise SourceError(f"not found: {path}")
            elif path.suffix.lower() in PHOTO_EXTENSIONS or looks_like_photo(path):
                files = [_local_file(path)]
            else:
                try:
                    text = path.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as exc:
                    raise SourceError(f"{path} is neither a folder, a photo nor a readable list of photos: {exc}") from None
                files = _from_list(_list_lines(text), path.parent)
        for f in files:
            out.setdefault(f.path, f)
    return list(out.values())


def fetch_to_temp(uri: str, folder: str) -> Path:
    """Copy a URI's bytes into a local temporary file (the analysis reads local files). Raises OSError."""
    filesystem, path = filesystem_for(uri)
    handle, name = tempfile.mkstemp(dir=folder, suffix=PurePosixPath(path).suffix)
    with os.fdopen(handle, "wb") as out, filesystem.open_input_stream(path) as src:
        while chunk := src.read(1 << 20):
            out.write(chunk)
    return Path(name)
