"""The grid's model: the catalog's photos matching the current filter, in the filter's order.

Rows are core PhotoRecords (without faces). Every query runs off the GUI thread, in the catalog session's
read lane on its own read-only connection; only the newest request's answer is applied, so typing in the
search box or clicking filters never freezes the window, however big the catalog. An answer is applied as
the difference from the rows shown (insertions, removals, changed rows) rather than a reset, so the
selection and scroll position survive the refreshes that happen while indexing. Thumbnails come from a
ThumbnailCache (loaded lazily, only for the cells that get painted).

The model refreshes itself when the session opens a catalog or reports a change (`catalog_changed`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal

from albumsorter._qt.best_shot_badges import best_shot_words
from albumsorter._qt.catalog_session import CatalogSession
from albumsorter._qt.thumbnails import ThumbnailCache
from albumsorter.core.catalog import PICK_PICKED, PICK_REJECTED, STATUS_ERROR, Catalog, PhotoFilter, PhotoRecord

log = logging.getLogger(__name__)

RECORD_ROLE = Qt.ItemDataRole.UserRole + 1
ID_ROLE = Qt.ItemDataRole.UserRole + 2
PATH_ROLE = Qt.ItemDataRole.UserRole + 3
THUMBNAIL_ROLE = Qt.ItemDataRole.UserRole + 4
THUMBNAIL_FAILED_ROLE = Qt.ItemDataRole.UserRole + 5

GRID_QUERY = "grid-rows"  # the read key: a newer grid query replaces a queued older one


def query_rows(catalog: Catalog, flt: PhotoFilter) -> tuple[list[PhotoRecord], int, int]:
    """What the grid shows (runs in the read lane): the matching photos, the catalog's photo count and its picks."""
    return catalog.query(flt), catalog.count(PhotoFilter()), catalog.count(PhotoFilter(picks=["picked"]))


class PhotoModel(QAbstractListModel):
    """Signals: count_changed(int) after every applied refresh (`total` holds the catalog's photo count, `picked`
    its picks); rows_about_to_change() / rows_changed() around applying an answer (the grid keeps its place)."""

    count_changed = Signal(int)
    rows_about_to_change = Signal()
    rows_changed = Signal()

    def __init__(self, session: CatalogSession, thumbnails: ThumbnailCache | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.filter = PhotoFilter()
        self.thumbnails = thumbnails
        self.total = 0
        self.picked = 0
        self._generation = 0  # of the newest request; older answers are ignored
        self._pending = 0  # generation still awaited (0: none)
        self._rows: list[PhotoRecord] = []
        self._row_of_id: dict[int, int] = {}
        self._rows_of_path: dict[str, int] = {}
        self.resets = 0  # for tests: a refresh should be a diff, not a reset
        self.row_source = query_rows  # (catalog, filter) -> query_rows's answer; stacks.StackRows while stacks are on
        if thumbnails is not None:
            thumbnails.ready.connect(self._thumbnail_ready)
        session.opened.connect(self._catalog_opened)
        session.catalog_changed.connect(lambda _change: self.refresh())

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

    def set_filter(self, flt: PhotoFilter) -> None:
        self.filter = dataclasses.replace(flt)  # a copy: the query thread reads it later
        self.refresh()

    def refresh(self) -> None:
        """Ask for the rows again. Returns at once; the answer is applied (as a difference) when it arrives,
        unless a newer refresh was asked for meanwhile."""
        self._generation += 1
        if self.session.path is None:
            self._pending = 0
            self.total = 0
            self.apply([])
            return
        generation, flt, source = self._generation, self.filter, self.row_source
        self._pending = generation
        self.session.read(
            GRID_QUERY,
            lambda catalog: source(catalog, flt),
            lambda answer: self._answered(generation, *answer),
            on_error=lambda exc: self._failed(generation, exc),
        )

    def is_busy(self) -> bool:
        """A refresh was asked for and its answer has not been applied yet."""
        return bool(self._pending)

    def _catalog_opened(self, path) -> None:
        """Another catalog (or none): start from an empty grid, then its rows."""
        self._pending = 0
        self.beginResetModel()
        self._rows = []
        self._reindex()
        self.endResetModel()
        self.resets += 1
        self.refresh()

    def _answered(self, generation: int, records: list[PhotoRecord], total: int, picked: int = 0) -> None:
        if generation != self._generation:
            return  # a newer request is on its way
        self._pending = 0
        self.total = total
        self.picked = picked
        self.apply(records)

    def _failed(self, generation: int, exc: Exception) -> None:
        log.error("grid query failed", exc_info=(type(exc), exc, exc.__traceback__))
        if generation == self._generation:
            self._pending = 0

    def apply(self, records: Sequence[PhotoRecord]) -> None:
        new = list(records)
        old_ids = [r.id for r in self._rows]
        new_ids = [r.id for r in new]
        if old_ids == new_ids:
            self._update_changed(new)
        else:
            self.rows_about_to_change.emit()
            if not self._apply_diff(new):
                self.beginResetModel()
                self._rows = new
                self._reindex()
                self.endResetModel()
                self.resets += 1
            self.rows_changed.emit()
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
    if rec.status == STATUS_ERROR:
        parts.append(f"could not be read: {rec.error}")
    else:
        parts.append(f"{rec.face_count} face{'s' if rec.face_count != 1 else ''} counted")
        if rec.face_count:
            parts.append(f"{rec.smile_count} smiling")
        if rec.rating:
            parts.append("★" * rec.rating)
        if rec.taken_at:
            parts.append(f"taken {rec.taken_at.replace('T', ' ')}")
        parts += best_shot_words(rec)
    parts.append({PICK_PICKED: "picked", PICK_REJECTED: "rejected"}.get(rec.pick, "unflagged"))
    return " · ".join(parts)
