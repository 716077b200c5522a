"""The viewer's face list: one compact line per face (a small crop of it, its number, its expression and how
sure, and whether it counts), so a 74-face class photo fits in a scrollable column instead of 11,700 pixels.
Sortable (reading order, not smiling first, least sure first); clicking a line selects the face and zooms to
it. The crops are cut from the image the viewer shows (thumbnail first, then the sharp photo)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from albumsorter._qt.face_quality_words import short_words
from albumsorter._qt.face_style import (
    FACE_ORDERS,
    READING,
    FaceLook,
    expression_words,
    face_colour,
    face_menu,
    sort_key,
    status_words,
)
from albumsorter.core.catalog import FaceRecord

CROP = 36  # px, the crop's side in the list
INDEX_ROLE = Qt.ItemDataRole.UserRole + 1


def face_crop(pixmap: QPixmap | None, full_width: int, face: FaceRecord, colour: QColor, dpr: float = 1.0) -> QPixmap:
    """A square crop around the face (a little margin), framed in its colour."""
    side = round(CROP * dpr)
    out = QPixmap(side, side)
    out.fill(QColor(128, 128, 128))
    if pixmap is not None and not pixmap.isNull() and full_width:
        k = pixmap.width() / full_width
        left, top, right, bottom = face.box
        cx, cy, half = (left + right) / 2 * k, (top + bottom) / 2 * k, max(right - left, bottom - top) * k * 0.65
        p = QPainter(out)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.drawPixmap(QRectF(0, 0, side, side), pixmap, QRectF(cx - half, cy - half, 2 * half, 2 * half))
        p.setPen(QPen(colour, max(2.0, 3 * dpr)))
        p.drawRect(QRectF(1, 1, side - 2, side - 2))
        p.end()
    out.setDevicePixelRatio(dpr)
    return out


class FaceList(QWidget):
    """Signals: face_selected(index) when a line becomes current, face_activated(index) when one is clicked
    (zoom to it), and the face menu's correction_requested / ignore_requested / remove_requested."""

    face_selected = Signal(int)
    face_activated = Signal(int)
    correction_requested = Signal(int, object)
    ignore_requested = Signal(int, bool)
    remove_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.faces: list[FaceRecord] = []
        self.looks: list[FaceLook] = []
        self.pixmap: QPixmap | None = None
        self.full_width = 0
        self.order = QComboBox()
        for key, text in FACE_ORDERS:
            self.order.addItem(text, key)
        self.order.setToolTip("The order of the face list")
        self.order.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.order.currentIndexChanged.connect(lambda _i: self._fill())
        self.list = QListWidget()
        self.list.setObjectName("FaceList")
        self.list.setIconSize(QSize(CROP, CROP))
        self.list.setUniformItemSizes(True)
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the viewer's keys keep working after a click
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.list.currentItemChanged.connect(self._current_changed)
        self.list.itemClicked.connect(lambda item: self.face_activated.emit(item.data(INDEX_ROLE)))
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(QLabel("Faces:"))
        top.addWidget(self.order, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.addLayout(top)
        layout.addWidget(self.list, 1)

    def set_faces(self, faces: list[FaceRecord], looks: list[FaceLook]) -> None:
        self.faces, self.looks = faces, looks
        self._fill()

    def set_image(self, pixmap: QPixmap | None, full_width: int) -> None:
        """The image the crops come from (a sharper one replaces the thumbnail's crops)."""
        self.pixmap, self.full_width = pixmap, full_width
        dpr = self.devicePixelRatioF()
        for row in range(self.list.count()):
            item = self.list.item(row)
            i = item.data(INDEX_ROLE)
            item.setIcon(QIcon(face_crop(pixmap, full_width, self.faces[i], face_colour(self.looks[i]), dpr)))

    def set_selected(self, i: int) -> None:
        """Show face `i` as current (without signalling it back)."""
        self.list.blockSignals(True)
        try:
            row = self._row_of(i)
            self.list.setCurrentRow(row if row is not None else -1)
            if row is not None:
                self.list.scrollToItem(self.list.item(row))
        finally:
            self.list.blockSignals(False)

    def rows_in_order(self) -> list[int]:
        """The face indices as the list shows them."""
        return [self.list.item(r).data(INDEX_ROLE) for r in range(self.list.count())]

    def _row_of(self, i: int) -> int | None:
        return next((r for r in range(self.list.count()) if self.list.item(r).data(INDEX_ROLE) == i), None)

    def _fill(self) -> None:
        current = self.list.currentItem().data(INDEX_ROLE) if self.list.currentItem() is not None else -1
        self.list.blockSignals(True)
        try:
            self.list.clear()
            order = sorted(range(len(self.looks)), key=lambda i: sort_key(self.order.currentData() or READING)(self.looks[i]))
            dpr = self.devicePixelRatioF()
            muted = self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
            for i in order:
                look = self.looks[i]
                status = status_words(look)
                item = QListWidgetItem(
                    f"{look.number}   {expression_words(look) if not look.ignored else '—'}"
                    + (f"   · {short_words(self.faces[i])}" if short_words(self.faces[i]) else "")  # eyes, blur (#11)
                    + (f"   · {status}" if status else "")
                )
                item.setData(INDEX_ROLE, i)
                item.setIcon(QIcon(face_crop(self.pixmap, self.full_width, self.faces[i], face_colour(look), dpr)))
                if not look.counts:
                    item.setForeground(muted)
                self.list.addItem(item)
            row = self._row_of(current)
            if row is not None:
                self.list.setCurrentRow(row)
        finally:
            self.list.blockSignals(False)

    def _current_changed(self, item: QListWidgetItem | None, _previous) -> None:
        if item is not None:
            self.face_selected.emit(item.data(INDEX_ROLE))

    def _context_menu(self, pos) -> None:
        item = self.list.itemAt(pos)
        if item is None:
            return
        i = item.data(INDEX_ROLE)
        self.list.setCurrentItem(item)
        menu = face_menu(
            self,
            self.faces[i],
            self.looks[i],
            correct=self.correction_requested.emit,
            ignore=self.ignore_requested.emit,
            remove=self.remove_requested.emit,
            zoom=lambda: self.face_activated.emit(i),
        )
        menu.exec(self.list.viewport().mapToGlobal(pos))


def describe_faces(looks: list[FaceLook]) -> str:
    """ "5 faces found · 3 count, 2 smiling · 1 in the background · 1 ignored" (the parts that apply)."""
    if not looks:
        return "No faces found. Missing someone? Press A and drag a box around the face."
    n = len(looks)
    counted = [lk for lk in looks if lk.counts]
    text = f"{n} face{'s' if n != 1 else ''} found"
    if len(counted) == n:
        text += f" · {sum(lk.smiling for lk in counted)} smiling"
    else:
        text += f" · {len(counted)} count, {sum(lk.smiling for lk in counted)} smiling"
    background = sum(lk.bystander for lk in looks)
    ignored = sum(lk.ignored for lk in looks)
    if background:
        text += f" · {background} in the background"
    if ignored:
        text += f" · {ignored} ignored"
    uncertain = sum(lk.uncertain and lk.counts for lk in looks)
    if uncertain:
        text += f" · {uncertain} unsure"
    return text
