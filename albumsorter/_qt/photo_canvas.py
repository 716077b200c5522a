"""The viewer's image view: the photo fitted to the widget, each face boxed and labelled over it."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from albumsorter._qt.face_panel import correction_menu, face_colour
from albumsorter.core.catalog import FaceRecord


class PhotoCanvas(QWidget):
    """Paints the photo fitted to the widget, with face boxes and labels."""

    correction_requested = Signal(int, object)  # face id, label or None
    face_selected = Signal(int)  # face index

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 150)
        self.setMouseTracking(True)
        self.pixmap: QPixmap | None = None
        self.full_width = 0  # upright full-resolution width of the photo (face boxes are in these pixels)
        self.faces: list[FaceRecord] = []
        self.selected = -1
        self.message = ""
        self.show_faces = True

    def set_photo(self, pixmap: QPixmap | None, full_width: int, faces: list[FaceRecord], message: str = "") -> None:
        self.pixmap = pixmap
        self.full_width = full_width or (pixmap.width() if pixmap else 0)
        self.faces = faces
        self.message = message
        if self.selected >= len(faces):
            self.selected = -1
        self.update()

    def set_faces(self, faces: list[FaceRecord]) -> None:
        self.faces = faces
        self.update()

    def image_rect(self) -> QRectF:
        if not self.pixmap or self.pixmap.isNull():
            return QRectF()
        dpr = self.pixmap.devicePixelRatio()
        w, h = self.pixmap.width() / dpr, self.pixmap.height() / dpr
        s = min(self.width() / w, self.height() / h)
        return QRectF((self.width() - w * s) / 2, (self.height() - h * s) / 2, w * s, h * s)

    def face_rect(self, face: FaceRecord) -> QRectF:
        img = self.image_rect()
        if img.isNull() or not self.full_width:
            return QRectF()
        k = img.width() / self.full_width  # widget px per full-resolution px
        left, top, right, bottom = face.box
        return QRectF(img.left() + left * k, img.top() + top * k, (right - left) * k, (bottom - top) * k)

    def face_at(self, pos: QPointF) -> int:
        best, best_area = -1, None
        for i, f in enumerate(self.faces):
            r = self.face_rect(f)
            if r.contains(pos):
                area = r.width() * r.height()
                if best_area is None or area < best_area:
                    best, best_area = i, area
        return best

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        pal = self.palette()
        p.fillRect(
            self.rect(),
            pal.color(QPalette.ColorRole.Base).darker(115)
            if pal.color(QPalette.ColorRole.Base).lightness() > 128
            else pal.color(QPalette.ColorRole.Base),
        )
        if self.pixmap and not self.pixmap.isNull():
            p.drawPixmap(self.image_rect(), self.pixmap, QRectF(self.pixmap.rect()))
            if self.show_faces:
                order = [i for i in range(len(self.faces)) if i != self.selected] + (
                    [self.selected] if 0 <= self.selected < len(self.faces) else []
                )
                for i in order:
                    self._paint_face(p, i, self.faces[i])
        if self.message:
            p.setPen(pal.color(QPalette.ColorRole.Text))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)
        p.end()

    def _paint_face(self, p: QPainter, i: int, face: FaceRecord) -> None:
        r = self.face_rect(face)
        colour = face_colour(face.label)
        width = 3.0 if i == self.selected else 2.0
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(QColor(0, 0, 0, 160), width + 2))
        p.drawRect(r)
        p.setPen(QPen(colour, width))
        p.drawRect(r)
        prob = face.probabilities.get(face.label or "", 0.0)
        font = QFont(self.font())
        font.setBold(True)
        p.setFont(font)
        fm = QFontMetrics(font)
        text = f"{i + 1}  {face.label or '?'}" + ("  ✎" if face.corrected else f"  {prob:.0%}")
        # Crowded photos: small faces get just their number (the side panel has the details), unless selected.
        if i != self.selected and fm.horizontalAdvance(text) > max(r.width() * 1.6, 90) and len(self.faces) > 3:
            text = f"{i + 1}" + (" ✎" if face.corrected else "")
        tw, th = fm.horizontalAdvance(text) + 10, fm.height() + 4
        ty = r.top() - th if r.top() - th >= 0 else r.bottom()
        tag = QRectF(r.left() - width / 2, ty, tw, th)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(colour)
        p.drawRect(tag)
        p.setPen(QColor(0, 0, 0))
        p.drawText(tag.adjusted(5, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)

    def mousePressEvent(self, event) -> None:
        i = self.face_at(event.position())
        if i != self.selected:
            self.selected = i
            self.update()
            if i >= 0:
                self.face_selected.emit(i)
        super().mousePressEvent(event)

    def contextMenuEvent(self, event) -> None:
        i = self.face_at(QPointF(event.pos()))
        if i < 0:
            return
        self.selected = i
        self.update()
        self.face_selected.emit(i)
        menu = correction_menu(self, self.faces[i], lambda fid, label: self.correction_requested.emit(fid, label))
        menu.exec(event.globalPos())
