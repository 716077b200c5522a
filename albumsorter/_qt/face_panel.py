"""The viewer's side panel: for each face its label and a bar per class (the 8 probabilities), plus what the
canvas shares with it: the colour of a face's group and the right-click menu that corrects an expression."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QMenu, QSizePolicy, QWidget

from albumsorter.core.catalog import FaceRecord
from albumsorter.core.classes import CLASSES_8, group_of

# Face boxes are drawn over the photo, not over the window, so they use fixed colours with a dark outline.
GROUP_COLOURS = {"positive": QColor(60, 200, 90), "neutral": QColor(240, 190, 40), "negative": QColor(235, 70, 60)}


def face_colour(label: str | None) -> QColor:
    return GROUP_COLOURS[group_of(label)] if label else QColor(160, 160, 160)


def correction_menu(parent: QWidget, face: FaceRecord, on_choice: Callable[[int, str | None], None]) -> QMenu:
    """Set expression -> 8 classes (current one checked, numbered as the 1-8 keys) + Clear correction."""
    menu = QMenu(parent)
    menu.setTitle("Set expression")
    header = menu.addAction(f"Face: {face.label or 'unknown'}" + (" (your correction)" if face.corrected else ""))
    header.setEnabled(False)
    menu.addSeparator()
    for i, c in enumerate(CLASSES_8):
        act = menu.addAction(f"&{i + 1}  {c.capitalize()}")
        act.setCheckable(True)
        act.setChecked(face.label == c)
        act.setData(c)
        act.triggered.connect(lambda _=False, c=c: on_choice(face.id, c))
    menu.addSeparator()
    clear = menu.addAction("Use the model's prediction" + (f" ({face.predicted_label})" if face.predicted_label else ""))
    clear.setEnabled(face.corrected)
    clear.triggered.connect(lambda _=False: on_choice(face.id, None))
    return menu


class ProbabilityPanel(QWidget):
    """For each face: its label and a bar per class (the 8 probabilities). Right-click to correct. While the
    photo's faces are being read, it says so (`loading`)."""

    correction_requested = Signal(int, object)
    face_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.faces: list[FaceRecord] = []
        self.selected = -1
        self.loading = False
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)

    def set_faces(self, faces: list[FaceRecord], loading: bool = False) -> None:
        self.faces = faces
        self.loading = loading
        self.updateGeometry()
        self.adjustSize()
        self.update()

    def _row_h(self) -> int:
        return QFontMetrics(self.font()).height() + 2

    def _block_h(self) -> int:
        return self._row_h() * (len(CLASSES_8) + 1) + 14

    def sizeHint(self) -> QSize:
        n = max(1, len(self.faces))
        return QSize(240, 8 + n * self._block_h())

    def minimumSizeHint(self) -> QSize:
        return QSize(200, self.sizeHint().height())

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.WindowText)
        fm = QFontMetrics(self.font())
        rh = self._row_h()
        label_w = max(fm.horizontalAdvance(c) for c in CLASSES_8) + 8
        pct_w = fm.horizontalAdvance("100%") + 6
        if not self.faces:
            p.setPen(text)
            message = "Reading the faces…" if self.loading else "No faces found in this photo."
            p.drawText(self.rect().adjusted(8, 8, -8, -8), Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap, message)
            p.end()
            return
        y = 4
        for i, face in enumerate(self.faces):
            block = QRectF(2, y, self.width() - 4, self._block_h() - 6)
            if i == self.selected:
                sel = QColor(pal.color(QPalette.ColorRole.Highlight))
                sel.setAlpha(40)
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(sel)
                p.drawRoundedRect(block, 4, 4)
            bold = QFont(self.font())
            bold.setBold(True)
            p.setFont(bold)
            p.setPen(text)
            title = f"Face {i + 1}: {face.label or '?'}"
            if face.corrected:
                title += f"  (corrected; model said {face.predicted_label or '?'})"
            # A swatch of the box colour, so the list and the photo are easy to match.
            p.setBrush(face_colour(face.label))
            p.setPen(Qt.PenStyle.NoPen)
            p.drawRect(QRectF(8, y + 4, 10, rh - 8))
            p.setPen(text)
            p.drawText(
                QRectF(24, y, self.width() - 30, rh),
                Qt.AlignmentFlag.AlignVCenter,
                fm.elidedText(title, Qt.TextElideMode.ElideRight, self.width() - 30),
            )
            p.setFont(self.font())
            y += rh
            bar_w = max(20.0, self.width() - 16 - label_w - pct_w)
            top = max(face.probabilities, key=face.probabilities.get) if face.probabilities else None
            for c in CLASSES_8:
                v = float(face.probabilities.get(c, 0.0))
                p.setPen(text)
                p.drawText(QRectF(8, y, label_w, rh), Qt.AlignmentFlag.AlignVCenter, c)
                track = QRectF(8 + label_w, y + 3, bar_w, rh - 6)
                mid = QColor(pal.color(QPalette.ColorRole.Mid))
                mid.setAlpha(70)
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(mid)
                p.drawRoundedRect(track, 2, 2)
                fill = (
                    QColor(pal.color(QPalette.ColorRole.Highlight))
                    if c == top
                    else QColor(pal.color(QPalette.ColorRole.WindowText))
                )
                if c != top:
                    fill.setAlpha(120)
                p.setBrush(fill)
                p.drawRoundedRect(QRectF(track.left(), track.top(), max(1.0, bar_w * v), track.height()), 2, 2)
                p.setPen(text)
                p.drawText(
                    QRectF(8 + label_w + bar_w + 4, y, pct_w, rh),
                    Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                    f"{v:.0%}",
                )
                y += rh
            y += 14 - 2
        p.end()

    def face_at(self, y: float) -> int:
        i = int((y - 4) // self._block_h())
        return i if 0 <= i < len(self.faces) else -1

    def mousePressEvent(self, event) -> None:
        i = self.face_at(event.position().y())
        if i >= 0:
            self.selected = i
            self.update()
            self.face_selected.emit(i)

    def contextMenuEvent(self, event) -> None:
        i = self.face_at(event.pos().y())
        if i < 0:
            return
        menu = correction_menu(self, self.faces[i], lambda fid, label: self.correction_requested.emit(fid, label))
        menu.exec(event.globalPos())
