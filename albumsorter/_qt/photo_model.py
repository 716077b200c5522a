"""The grid's model: the catalog's photos matching the current filter, in the filter's order.

Rows are core PhotoRecords (without faces). `refresh()` re-runs the core query and applies the difference
as row insertions/removals/changes instead of a reset, so the selection and scroll position survive the
batched refreshes that happen while indexing. Thumbnails come from a ThumbnailCache (loaded lazily, only
for the cells that get painted).

Queries are read-only and, once a catalog is big enough that one takes noticeable time (tens of thousands
of photos: the core's query costs ~0.5-1 s per 10,000 photos on a slow laptop), they run on a query thread
with its own read-only connection; only the newest request's result is applied, so typing in the search
box or clicking filters never freezes the window. Small catalogs are queried synchronously (immediate,
deterministic results).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import time

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt, QThread, Signal, Slot

from albumsorter.core.catalog import Catalog, PhotoFilter, PhotoRecord
from albumsorter._qt.thumbnails import ThumbnailCache

RECORD_ROLE = Qt.ItemDataRole.UserRole + 1
ID_ROLE = Qt.ItemDataRole.UserRole + 2
PATH_ROLE = Qt.ItemDataRole.UserRole + 3
THUMBNAIL_ROLE = Qt.ItemDataRole.UserRole + 4
THUMBNAIL_FAILED_ROLE = Qt.ItemDataRole.UserRole + 5


ASYNC_AFTER_S = 0.05  # a query slower than this moves later queries to the query thread


class _QueryWorker(QObject):
    """Lives on the query thread; owns a read-only connection to the catalog."""

    result = Signal(int, object, int)  # generation, records, total photos

    def __init__(self, path) -> None:
        super().__init__()
        self.path = path
        self.catalog: Catalog | None = None
        self.latest = 0  # written by the GUI thread: requests older than this are skipped

    @Slot(int, object)
    def run_query(self, generation: int, flt: PhotoFilter) -> None:
        if generation < self.latest:
            return
        try:
            if self.catalog is None:
                self.catalog = Catalog(self.path, readonly=True)
            records = self.catalog.query(flt)
            total = self.catalog.count(PhotoFilter())
        except Exception:  # the GUI thread falls back to a synchronous query
            records, total = None, -1
        self.result.emit(generation, records, total)

    def close(self) -> None:
        if self.catalog is not None:
            self.catalog.close()
            self.catalog = None


class PhotoModel(QAbstractListModel):
    """Signals: count_changed(int) after every applied refresh (`total` holds the catalog's photo count)."""

    count_changed = Signal(int)
    _request = Signal(int, object)

    def __init__(self, thumbnails: ThumbnailCache | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.catalog: Catalog | None = None
        self.filter = PhotoFilter()
        self.thumbnails = thumbnails
        self.total = 0
        self.generation = 0
        self.pending = 0  # generation of the query running on the query thread (0: none)
        self.last_query_s = 0.0
        self.async_after_s = ASYNC_AFTER_S
        self._requested_at = 0.0
        self._thread: QThread | None = None
        self._worker: _QueryWorker | None = None
        self._rows: list[PhotoRecord] = []
        self._row_of_id: dict[int, int] = {}
        self._rows_of_path: dict[str, int] = {}
        self.resets = 0  # for tests: a refresh should be a diff, not a reset
        if thumbnails is not None:
            thumbnails.ready.connect(self._thumbnail_ready)

    # --- Qt model API ---

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        rec = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return display(rec.name)
        if role == RECORD_ROLE:
            return rec
        if role == ID_ROLE:
            return rec.id
        if role == PATH_ROLE:
            return rec.path
        if role == THUMBNAIL_ROLE:
            return self.thumbnails.pixmap(rec.path) if self.thumbnails is not None else None
        if role == THUMBNAIL_FAILED_ROLE:
            return self.thumbnails.failed.get(rec.path) if self.thumbnails is not None else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return describe(rec)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return describe(rec)
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    # --- access ---

    def records(self) -> list[PhotoRecord]:
        return list(self._rows)

    def record(self, row: int) -> PhotoRecord:
        return self._rows[row]

    def ids(self) -> list[int]:
        return [r.id for r in self._rows]

    def row_of(self, photo_id: int) -> int | None:
        return self._row_of_id.get(photo_id)

    def index_of(self, photo_id: int) -> QModelIndex:
        row = self._row_of_id.get(photo_id)
        return self.index(row, 0) if row is not None else QModelIndex()

    # --- loading ---

    def set_catalog(self, catalog: Catalog | None) -> None:
        self._stop_thread()
        self.catalog = catalog
        self.last_query_s = 0.0
        self.beginResetModel()
        self._rows = []
        self._reindex()
        self.endResetModel()
        self.resets += 1
        self.refresh()

    def set_filter(self, flt: PhotoFilter) -> None:
        self.filter = flt
        self.refresh()

    def refresh(self, sync: bool = False) -> None:
        """Re-run the query and apply the difference (inserts, removals, changed rows); on the query thread
        when queries have become slow, unless `sync`."""
        self.generation += 1
        if self.catalog is None:
            self.pending = 0
            self.total = 0
            self.apply([])
            return
        if not sync and self.last_query_s > self.async_after_s and self._start_thread():
            self.pending = self.generation
            self._requested_at = time.perf_counter()
            self._worker.latest = self.generation
            self._request.emit(self.generation, self.filter)
            return
        self.pending = 0
        t = time.perf_counter()
        records = self.catalog.query(self.filter)
        self.total = self.catalog.count(PhotoFilter())
        self.last_query_s = time.perf_counter() - t
        self.apply(records)

    def is_busy(self) -> bool:
        return bool(self.pending)

    def shutdown(self) -> None:
        self._stop_thread()

    def _start_thread(self) -> bool:
        if self._thread is not None:
            return True
        if self.catalog is None:
            return False
        self._worker = _QueryWorker(self.catalog.path)
        self._thread = QThread()
        self._thread.setObjectName("albumsorter-query")
        self._worker.moveToThread(self._thread)
        self._request.connect(self._worker.run_query)
        self._worker.result.connect(self._on_result)
        # The read connection is closed on its own thread, as the thread ends.
        self._thread.finished.connect(self._worker.close, Qt.ConnectionType.DirectConnection)
        self._thread.start()
        return True

    def _stop_thread(self) -> None:
        if self._thread is None:
            return
        self._worker.latest = 1 << 62
        self._thread.quit()
        self._thread.wait()
        self._request.disconnect(self._worker.run_query)
        self._worker.result.disconnect(self._on_result)
        self._thread = self._worker = None
        self.pending = 0

    def _on_result(self, generation: int, records, total: int) -> None:
        if generation != self.generation:
            return  # a newer request is on its way
        self.pending = 0
        self.last_query_s = time.perf_counter() - self._requested_at
        if records is None:
            self.refresh(sync=True)
            return
        self.total = total
        self.apply(records)

    def apply(self, records: Sequence[PhotoRecord]) -> None:
        new = list(records)
        old_ids = [r.id for r in self._rows]
        new_ids = [r.id for r in new]
        if old_ids == new_ids:
            self._update_changed(new)
        elif not self._apply_diff(new):
            self.beginResetModel()
            self._rows = new
            self._reindex()
            self.endResetModel()
            self.resets += 1
        self.count_changed.emit(len(self._rows))

    # --- internals ---

    def _reindex(self) -> None:
        self._row_of_id = {r.id: i for i, r in enumerate(self._rows)}
        self._rows_of_path = {r.path: i for i, r in enumerate(self._rows)}

    def _update_changed(self, new: list[PhotoRecord]) -> None:
        first = last = None
        for i, (a, b) in enumerate(zip(self._rows, new)):
            if a != b:
                self._rows[i] = b
                first = i if first is None else first
                last = i
        if first is not None:
            self._reindex()
            self.dataChanged.emit(self.index(first), self.index(last))

    def _apply_diff(self, new: list[PhotoRecord]) -> bool:
        """Removals then insertions, in order, when the kept rows keep their relative order (the usual case:
        photos arriving while indexing, or leaving a filter). Returns False when a reset is simpler."""
        new_set = {r.id for r in new}
        old_set = {r.id for r in self._rows}
        kept_old = [r.id for r in self._rows if r.id in new_set]
        kept_new = [r.id for r in new if r.id in old_set]
        if kept_old != kept_new:
            return False  # reordered (e.g. a smile score changed under the smile sort)
        removed = sum(1 for r in self._rows if r.id not in new_set)
        inserted = len(new) - len(kept_new)
        if removed + inserted > max(200, len(new) // 2):
            return False  # a different filter: one reset is cheaper than thousands of signals
        # Removals, as contiguous runs from the end so earlier row numbers stay valid.
        i = len(self._rows) - 1
        while i >= 0:
            if self._rows[i].id in new_set:
                i -= 1
                continue
            j = i
            while j - 1 >= 0 and self._rows[j - 1].id not in new_set:
                j -= 1
            self.beginRemoveRows(QModelIndex(), j, i)
            del self._rows[j : i + 1]
            self.endRemoveRows()
            i = j - 1
        # Insertions, as contiguous runs from the start (rows before them already match `new`).
        i = 0
        while i < len(new):
            if new[i].id in old_set:
                i += 1
                continue
            j = i
            while j + 1 < len(new) and new[j + 1].id not in old_set:
                j += 1
            self.beginInsertRows(QModelIndex(), i, j)
            self._rows[i:i] = new[i : j + 1]
            self.endInsertRows()
            i = j + 1
        self._reindex()
        self._update_changed(new)
        return True

    def _thumbnail_ready(self, path: str) -> None:
        row = self._rows_of_path.get(path)
        if row is not None:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [THUMBNAIL_ROLE])


def display(text: str) -> str:
    """A file name or path for showing: non-UTF-8 bytes (kept as surrogate escapes) become U+FFFD, which Qt
    can draw, instead of silently vanishing."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def describe(rec: PhotoRecord) -> str:
    """One line for tooltips and screen readers."""
    parts = [display(rec.name)]
    if rec.status == "error":
        parts.append(f"could not be read: {rec.error}")
    else:
        parts.append(f"{rec.face_count} face{'s' if rec.face_count != 1 else ''}")
        if rec.face_count:
            parts.append(f"{rec.smile_count} smiling")
        if rec.taken_at:
            parts.append(f"taken {rec.taken_at.replace('T', ' ')}")
    parts.append({1: "picked", -1: "rejected"}.get(rec.pick, "unflagged"))
    return " · ".join(parts)
