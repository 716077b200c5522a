"""The thumbnail grid: one QListView in icon mode over the PhotoModel, painted by PhotoDelegate. Uniform
cells and batched layout, no widget per photo, so 10,000 photos cost what the visible cells cost."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel
from PySide6.QtWidgets import QAbstractItemView, QListView, QWidget

from albumsorter._qt.delegate import PhotoDelegate
from albumsorter._qt.photo_model import PhotoModel

THUMB_SIZES = (96, 128, 160, 200, 256, 320)  # the steps of Larger / Smaller Thumbnails


class GridView(QListView):
    def __init__(self, model: PhotoModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PhotoGrid")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(500)
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

    def selected_ids(self) -> list[int]:
        """The selected photos in grid order, else the current one."""
        rows = sorted(i.row() for i in self.selectionModel().selectedIndexes())
        if not rows and self.currentIndex().isValid():
            rows = [self.currentIndex().row()]
        return [self.photos.record(r).id for r in rows]

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
