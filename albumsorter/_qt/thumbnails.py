"""Thumbnails: decoded off the GUI thread (the task runner's thumbnails lane), kept in an LRU memory cache and
(optionally) on disk.

Decoding uses core.decoding.decode_file, so EXIF orientation and HEIC are handled exactly like indexing.
Tasks produce QImage (thread-safe); the GUI thread turns them into QPixmap on first paint. Requests are
served newest first (the cells the user is looking at now) and only as many are handed to the lane as it
has threads; a bounded queue drops requests for cells scrolled away long ago, so scrolling through 10,000
photos never builds a backlog.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage, QPixmap

from albumsorter._qt.tasks import TaskRunner

THUMB_SIDE = 320  # device pixels of the long side of a stored thumbnail
MAX_QUEUE = 400
MEMORY_BYTES = 192 * 1024 * 1024
LANE = "thumbnails"


def default_disk_cache_dir() -> Path | None:
    """$ALBUMSORTER_THUMBNAILS (empty: no disk cache), else the user's cache directory."""
    override = os.environ.get("ALBUMSORTER_THUMBNAILS")
    if override is not None:
        return Path(override) if override else None
    import platformdirs

    return Path(platformdirs.user_cache_dir("AlbumSorter", appauthor=False)) / "thumbnails"


def rgb_to_qimage(rgb) -> QImage:
    """An H x W x 3 uint8 array as a QImage that owns its pixels."""
    import numpy as np

    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def load_image(path: str, max_side: int | None) -> QImage:
    """A photo upright as a QImage (raises core.decoding.PhotoError with a user-facing reason)."""
    from albumsorter.core.decoding import decode_file

    return rgb_to_qimage(decode_file(path, max_side).rgb)


def _disk_key(path: str, side: int) -> str | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    raw = f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0{side}".encode("utf-8", "surrogateescape")
    return hashlib.sha1(raw).hexdigest()


def load_thumbnail(path: str, side: int, disk_dir: Path | None) -> QImage:
    """The thumbnail of `path` (runs in the thumbnails lane): from the disk cache when it is there, else
    decoded and stored in it. Raises with a user-facing reason when the photo cannot be read."""
    cached = None
    key = _disk_key(path, side) if disk_dir else None
    if key:
        cached = disk_dir / key[:2] / f"{key}.jpg"
        if cached.is_file():
            image = QImage(str(cached))
            if not image.isNull():
                return image
    image = load_image(path, side)
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".{os.getpid()}.tmp.jpg")
            if image.save(str(tmp), "JPEG", 85):
                os.replace(tmp, cached)
        except OSError:
            pass  # the disk cache is an optimisation only
    return image


class ThumbnailCache(QObject):
    """`pixmap(path)` returns the thumbnail or None (and schedules loading); `ready(path)` fires when one
    arrives. Decodes in the `runner`'s thumbnails lane (a runner of its own when none is given)."""

    ready = Signal(object)  # path (str, possibly with surrogate escapes)

    def __init__(
        self,
        runner: TaskRunner | None = None,
        side: int = THUMB_SIDE,
        disk_dir: Path | None | bool = True,
        threads: int | None = None,
        memory_bytes: int = MEMORY_BYTES,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.side = side
        self.disk_dir = default_disk_cache_dir() if disk_dir is True else (disk_dir or None)
        self._own_runner = runner is None
        self.runner = runner if runner is not None else TaskRunner(self)
        self.threads = threads or max(1, min(4, (os.cpu_count() or 2) - 1))
        self.runner.add_lane(LANE, self.threads)
        self.memory_bytes = memory_bytes
        self._images: OrderedDict[str, QPixmap | QImage] = OrderedDict()
        self._bytes = 0
        self._queue: OrderedDict[str, None] = OrderedDict()  # newest request last
        self._running: set[str] = set()
        self.failed: dict[str, str] = {}
        self._closed = False

    # --- queries ---

    def pixmap(self, path: str, request: bool = True) -> QPixmap | None:
        item = self._images.get(path)
        if item is not None:
            self._images.move_to_end(path)
            if isinstance(item, QImage):  # first use on the GUI thread
                item = QPixmap.fromImage(item)
                self._images[path] = item
            return item
        if request and path not in self.failed:
            self.request(path)
        return None

    def has(self, path: str) -> bool:
        return path in self._images

    def __len__(self) -> int:
        return len(self._images)

    # --- loading ---

    def request(self, path: str) -> None:
        if self._closed or path in self._running or path in self._images:
            return
        self._queue[path] = None
        self._queue.move_to_end(path)
        while len(self._queue) > MAX_QUEUE:
            self._queue.popitem(last=False)  # scrolled away long ago
        self._pump()

    def _pump(self) -> None:
        while self._queue and len(self._running) < self.threads and not self._closed:
            path, _ = self._queue.popitem(last=True)
            self._running.add(path)
            self.runner.submit(
                LANE,
                lambda _context, path=path: load_thumbnail(path, self.side, self.disk_dir),
                on_result=partial(self._on_loaded, path),
                on_error=lambda exc, path=path: self._on_failed(path, str(exc)),  # a placeholder, never a crash
            )

    def _on_loaded(self, path: str, image: QImage) -> None:
        self._running.discard(path)
        if not self._closed:
            self._store(path, image)
            self.ready.emit(path)
        self._pump()

    def _on_failed(self, path: str, reason: str) -> None:
        self._running.discard(path)
        self.failed[path] = reason
        if not self._closed:
            self.ready.emit(path)
        self._pump()

    def _store(self, path: str, image: QImage) -> None:
        old = self._images.pop(path, None)
        if old is not None:
            self._bytes -= _size(old)
        self._images[path] = image
        self._bytes += _size(image)
        while self._bytes > self.memory_bytes and len(self._images) > 1:
            _, evicted = self._images.popitem(last=False)
            self._bytes -= _size(evicted)

    def invalidate(self, path: str) -> None:
        old = self._images.pop(path, None)
        if old is not None:
            self._bytes -= _size(old)
        self.failed.pop(path, None)

    def idle(self) -> bool:
        return not self._queue and not self._running

    def shutdown(self, wait_ms: int = 10000) -> None:
        """Stop taking requests (called when the window closes). A runner of its own is shut down here; a
        shared one is the window's to shut down."""
        self._closed = True
        self._queue.clear()
        if self._own_runner:
            self.runner.shutdown(wait_ms)


def _size(item: QPixmap | QImage) -> int:
    return max(1, item.width() * item.height() * 4)
