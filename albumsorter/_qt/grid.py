"""The thumbnail grid: one QListView in icon mode over the PhotoModel, painted by PhotoDelegate. Uniform
cells, no widget per photo, so 10,000 photos cost what the visible cells cost.

The layout is done in a single pass: QListView's batched layout starts again from the first row whenever rows
are inserted and, while it catches up, clamps the scroll bar to the part laid out so far, which threw a user who
had scrolled far down back to row ~500 at every refresh while indexing. A single pass over 10,000 uniform cells
takes a few milliseconds. The grid also keeps its place when rows arrive or leave above the visible ones: the
first visible photo stays where it was on screen.

When no photo is shown, a message says why (no photos match: a "Clear filters" button; indexing: what is
happening) instead of an empty white area.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QPoint, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QLabel, QListView, QPushButton, QVBoxLayout, QWidget

from albumsorter._qt.delegate import PhotoDelegate
from albumsorter._qt.photo_model import PhotoModel

THUMB_SIZES = (96, 128, 160, 200, 256, 320)  # the steps of Larger / Smaller Thumbnails
ANCHOR_CANDIDATES = 12  # visible photos remembered: the first that survives a refresh keeps the place


class EmptyState(QWidget):
    """The message over an empty grid, with an optional "Clear filters" button."""

    clear_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("EmptyState")
        self.label = QLabel()
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.clear_button = QPushButton("Clear filters")
        self.clear_button.clicked.connect(self.clear_clicked.emit)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.label)
        layout.addWidget(self.clear_button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
        self.hide()

    def show_message(self, html: str, clear_button: bool) -> None:
        self.label.setText(html)
        self.clear_button.setVisible(clear_button)
        self.show()
        self.raise_()


class GridView(QListView):
    """Signals: clear_filters_requested() from the empty state's button."""

    clear_filters_requested = Signal()

    def __init__(self, model: PhotoModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PhotoGrid")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.SinglePass)
        self.setSpacing(4)
        self.setWrapping(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionRectVisible(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(24)
        self.setMouseTracking(True)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAccessibleName("Photos")
        self.delegate = PhotoDelegate(self, thumb_size=160)
        self.setItemDelegate(self.delegate)
        self.setModel(model)
        self.photos = model
        self._anchor: list[tuple[int, int]] | None = None  # (photo id, top on screen) of the visible photos
        model.rows_about_to_change.connect(self._remember_place)
        model.rows_changed.connect(self._restore_place)
        self.empty_state = EmptyState(self)
        self.empty_state.clear_clicked.connect(self.clear_filters_requested.emit)

    def selected_ids(self) -> list[int]:
        """The selected photos in grid order, else the current one."""
        rows = sorted(i.row() for i in self.selectionModel().selectedIndexes())
        if not rows and self.currentIndex().isValid():
            rows = [self.currentIndex().row()]
        return [self.photos.record(r).id for r in rows]

    def selected_count(self) -> int:
        return len(self.selectionModel().selectedIndexes())

    def make_current(self, photo_id: int, select: bool = False) -> bool:
        """Scroll to the photo and make it current (and the only selection, with `select`); False when the
        grid does not show it."""
        idx = self.photos.index_of(photo_id)
        if not idx.isValid():
            return False
        if select:
            self.selectionModel().setCurrentIndex(idx, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        else:
            self.setCurrentIndex(idx)
        self.scrollTo(idx)
        return True

    def zoom(self, step: int) -> None:
        """One step larger (+1) or smaller (-1) thumbnails."""
        cur = self.delegate.thumb_size
        i = min(range(len(THUMB_SIZES)), key=lambda k: abs(THUMB_SIZES[k] - cur))
        new = THUMB_SIZES[max(0, min(len(THUMB_SIZES) - 1, i + step))]
        if new != cur:
            self.delegate.set_thumb_size(new)
            self.doItemsLayout()
            self.viewport().update()

    # --- the empty grid ---

    def show_empty_state(self, html: str | None, clear_button: bool = False) -> None:
        """A message over the grid (None: hide it)."""
        if html is None:
            self.empty_state.hide()
        else:
            self.empty_state.show_message(html, clear_button)
            self._place_empty_state()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._place_empty_state()

    def _place_empty_state(self) -> None:
        self.empty_state.setGeometry(self.viewport().geometry())

    # --- keeping the place while rows change ---

    def first_visible_ids(self, n: int = ANCHOR_CANDIDATES) -> list[int]:
        """The photos at the top of the view, in order (for keeping the place)."""
        first = self._first_visible_row()
        if first is None:
            return []
        return [self.photos.record(r).id for r in range(first, min(first + n, self.photos.rowCount()))]

    def _first_visible_row(self) -> int | None:
        if self.photos.rowCount() == 0:
            return None
        step = max(4, self.spacing() * 2)
        width = self.viewport().width()
        for y in range(1, 4 * step + 1, step):  # the top row's cells may start below some spacing
            for x in range(1, max(2, width), max(8, width // 8)):
                idx = self.indexAt(QPoint(x, y))
                if idx.isValid():
                    return idx.row()
        return None

    def _remember_place(self) -> None:
        if self.verticalScrollBar().value() == 0:
            self._anchor = None  # at the top: stay at the top (new photos there are seen)
            return
        self._anchor = [(pid, self.visualRect(self.photos.index_of(pid)).top()) for pid in self.first_visible_ids()]

    def _restore_place(self) -> None:
        anchor, self._anchor = self._anchor, None
        if not anchor:
            return
        self.executeDelayedItemsLayout()  # the new rows laid out now, so their places are known
        for photo_id, top in anchor:
            idx = self.photos.index_of(photo_id)
            if idx.isValid():
                bar = self.verticalScrollBar()
                bar.setValue(bar.value() + self.visualRect(idx).top() - top)
                return
