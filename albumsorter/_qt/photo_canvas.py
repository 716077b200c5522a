"""The viewer's image view: the photo with each face boxed and numbered over it; zoom, pan, and drawing a box
around a face the detector missed.

The view is kept in the photo's own coordinates (upright full-resolution pixels, as face boxes are stored): a
scale (screen pixels per photo pixel; None = fit the window) and the photo point at the centre. So a sharper
image of the same photo arriving later keeps the view, and zoom and pan never move a box off its face.

Zoom: the mouse wheel (about the pointer), a trackpad pinch, + / -, Z (fit / 100 %), Shift+Z or a double-click
on a face (zoom to the face). Pan: drag (when zoomed), or scroll with two fingers on a trackpad.
Labels follow one rule for every face: the number always, the expression too unless the tag would cover another
face or tag (the selected face always has its whole tag; it is drawn last, with a white ring, so it stands out).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from albumsorter._qt.face_style import FaceLook, face_colour, face_menu, looks_of, tag_text
from albumsorter.core.catalog import FaceRecord
from albumsorter.core.subjects import Strictness

MAX_ZOOM = 8.0  # times 100 %
ZOOM_STEP = 1.25
FACE_SHARE = 0.45  # zoom to a face: it fills this share of the view's smaller side
MIN_DRAWN_BOX = 8  # screen pixels: a smaller drag is a click, not a box


def photo_painter(widget: QWidget) -> QPainter:
    """A smooth painter on `widget` with its backdrop laid: the viewer's canvas and the compare view's panes."""
    p = QPainter(widget)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    base = widget.palette().color(QPalette.ColorRole.Base)
    p.fillRect(widget.rect(), base.darker(115) if base.lightness() > 128 else base)
    return p


class PhotoCanvas(QWidget):
    """Signals: correction_requested(face id, label | None), ignore_requested(face id, bool), remove_requested(face
    id), face_selected(index), face_drawn((left, top, right, bottom) in photo pixels), view_changed()."""

    correction_requested = Signal(int, object)
    ignore_requested = Signal(int, bool)
    remove_requested = Signal(int)
    face_selected = Signal(int)
    face_drawn = Signal(object)
    view_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 150)
        self.setMouseTracking(True)
        self.grabGesture(Qt.GestureType.PinchGesture)
        self.pixmap: QPixmap | None = None
        self.full_width = 0  # upright full-resolution size of the photo (face boxes are in these pixels)
        self.full_height = 0
        self.faces: list[FaceRecord] = []
        self.looks: list[FaceLook] = []
        self.strictness = Strictness.NORMAL
        self.selected = -1
        self.message = ""
        self.show_faces = True
        self.pending: list[tuple[float, float, float, float]] = []  # boxes the user drew, being scored
        self.add_mode = False
        self.add_hint = ""
        self._scale: float | None = None  # screen px per photo px; None: fit
        self._center = QPointF()
        self._press: QPointF | None = None
        self._press_center = QPointF()
        self._drag_to: QPointF | None = None
        self._panning = False

    # --- content ---

    def set_photo(
        self, pixmap: QPixmap | None, full_width: int, faces: list[FaceRecord], message: str = "", full_height: int | None = None
    ) -> None:
        """The image to show (a thumbnail first, a sharper one later: the view stays)."""
        self.pixmap = pixmap
        self.full_width = full_width or (pixmap.width() if pixmap else 0)
        if full_height:
            self.full_height = full_height
        elif pixmap is not None and not pixmap.isNull() and pixmap.width():
            self.full_height = round(self.full_width * pixmap.height() / pixmap.width())
        else:
            self.full_height = 0
        self.message = message
        self.set_faces(faces)
        self._clamp()

    def set_faces(self, faces: list[FaceRecord]) -> None:
        self.faces = faces
        self.looks = looks_of(faces, self.strictness)
        if self.selected >= len(faces):
            self.selected = -1
        self.update()

    def set_strictness(self, strictness: Strictness) -> None:
        self.strictness = strictness
        self.set_faces(self.faces)

    def reset_view(self) -> None:
        """A new photo: fit it, nothing selected, nothing pending."""
        self._scale = None
        self.selected = -1
        self.pending = []
        self.update()
        self.view_changed.emit()

    def set_add_mode(self, on: bool, hint: str = "") -> None:
        """Drawing a box adds a face (the hint is shown at the top meanwhile)."""
        self.add_mode = on
        self.add_hint = hint
        self._drag_to = None
        self.setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor)
        self.update()

    # --- geometry ---

    def has_image(self) -> bool:
        return self.pixmap is not None and not self.pixmap.isNull() and self.full_width > 0 and self.full_height > 0

    def fit_scale(self) -> float:
        if not self.has_image():
            return 1.0
        return min(self.width() / self.full_width, self.height() / self.full_height)

    def scale(self) -> float:
        return self._scale if self._scale is not None else self.fit_scale()

    def is_fitted(self) -> bool:
        return self._scale is None

    def actual_scale(self) -> float:
        """100 %: one photo pixel per screen (device) pixel."""
        return 1.0 / self.devicePixelRatioF()

    def zoom_percent(self) -> float:
        return self.scale() / self.actual_scale() * 100

    def center(self) -> QPointF:
        return QPointF(self.full_width / 2, self.full_height / 2) if self._scale is None else QPointF(self._center)

    def image_rect(self) -> QRectF:
        if not self.has_image():
            return QRectF()
        s, c = self.scale(), self.center()
        return QRectF(self.width() / 2 - c.x() * s, self.height() / 2 - c.y() * s, self.full_width * s, self.full_height * s)

    def to_photo(self, pos: QPointF) -> QPointF:
        img, s = self.image_rect(), self.scale()
        return QPointF((pos.x() - img.left()) / s, (pos.y() - img.top()) / s)

    def face_rect(self, face: FaceRecord) -> QRectF:
        img = self.image_rect()
        if img.isNull():
            return QRectF()
        s = self.scale()
        left, top, right, bottom = face.box
        return QRectF(img.left() + left * s, img.top() + top * s, (right - left) * s, (bottom - top) * s)

    def face_at(self, pos: QPointF) -> int:
        best, best_area = -1, None
        for i, f in enumerate(self.faces):
            r = self.face_rect(f)
            if r.contains(pos):
                area = r.width() * r.height()
                if best_area is None or area < best_area:
                    best, best_area = i, area
        return best

    # --- zoom and pan ---

    def set_zoom(self, scale: float, anchor: QPointF | None = None) -> None:
        """Zoom to `scale` (clamped between fit and MAX_ZOOM x 100 %), keeping the photo point under `anchor`
        (default: the centre of the view) where it is."""
        if not self.has_image():
            return
        fit = self.fit_scale()
        scale = max(fit, min(scale, MAX_ZOOM * self.actual_scale()))
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        fixed = self.to_photo(anchor)
        if scale <= fit * 1.0001:
            self._scale = None
        else:
            self._scale = scale
            self._center = QPointF(
                fixed.x() - (anchor.x() - self.width() / 2) / scale, fixed.y() - (anchor.y() - self.height() / 2) / scale
            )
        self._clamp()
        self.update()
        self.view_changed.emit()

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        self.set_zoom(self.scale() * factor, anchor)

    def fit(self) -> None:
        self._scale = None
        self.update()
        self.view_changed.emit()

    def actual_size(self) -> None:
        self.set_zoom(self.actual_scale())

    def toggle_fit(self) -> None:
        """Z: fit <-> 100 % (or twice the fit, for a photo smaller than the window)."""
        if not self.is_fitted():
            self.fit()
        else:
            self.set_zoom(max(self.actual_scale(), self.fit_scale() * 2))

    def zoom_to_face(self, i: int) -> None:
        if not 0 <= i < len(self.faces) or not self.has_image():
            return
        left, top, right, bottom = self.faces[i].box
        side = max(right - left, bottom - top, 1.0)
        target = FACE_SHARE * min(self.width(), self.height()) / side
        self.set_zoom(max(target, self.scale() if not self.is_fitted() else 0.0))
        self.center_on(QPointF((left + right) / 2, (top + bottom) / 2))

    def center_on(self, point: QPointF) -> None:
        """Scroll (when zoomed) so that this photo point is in the middle."""
        if self.is_fitted():
            return
        self._center = QPointF(point)
        self._clamp()
        self.update()
        self.view_changed.emit()

    def pan_by(self, dx: float, dy: float) -> None:
        """Move the view by screen pixels (dragging the photo by dx, dy)."""
        if self.is_fitted():
            return
        s = self.scale()
        self._center = QPointF(self._center.x() - dx / s, self._center.y() - dy / s)
        self._clamp()
        self.update()
        self.view_changed.emit()

    def _clamp(self) -> None:
        """Keep the photo in view: centred along a side that fits, never scrolled past its edge otherwise."""
        if self._scale is None or not self.has_image():
            return
        s = self._scale
        if self._scale <= self.fit_scale():
            self._scale = None
            return
        half_w, half_h = self.width() / 2 / s, self.height() / 2 / s
        cx = (
            self.full_width / 2 if self.full_width <= 2 * half_w else min(max(self._center.x(), half_w), self.full_width - half_w)
        )
        cy = (
            self.full_height / 2
            if self.full_height <= 2 * half_h
            else min(max(self._center.y(), half_h), self.full_height - half_h)
        )
        self._center = QPointF(cx, cy)

    # --- painting ---

    def paintEvent(self, event) -> None:
        p = photo_painter(self)
        if self.has_image():
            self._paint_photo(p)
            if self.show_faces:
                tags = self.tag_layout()
                order = [i for i in range(len(self.faces)) if i != self.selected]
                order += [self.selected] if 0 <= self.selected < len(self.faces) else []
                for i in order:
                    self._paint_face(p, i, *tags[i])
            self._paint_pending(p)
        if self.message:
            p.setPen(self.palette().color(QPalette.ColorRole.Text))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)
        if self.add_mode and self.add_hint:
            fm = QFontMetrics(self.font())
            band = QRectF(0, 0, self.width(), fm.height() + 10)
            p.fillRect(band, QColor(0, 0, 0, 160))
            p.setPen(QColor(255, 255, 255))
            p.drawText(band, Qt.AlignmentFlag.AlignCenter, self.add_hint)
        p.end()

    def _paint_photo(self, p: QPainter) -> None:
        """Only the visible part of the image is drawn (a face zoomed to 800 % is a small piece of it)."""
        assert self.pixmap is not None
        img = self.image_rect()
        visible = img.intersected(QRectF(self.rect()))
        if visible.isEmpty():
            return
        k = self.pixmap.width() / img.width()  # image px per screen px
        source = QRectF(
            (visible.left() - img.left()) * k, (visible.top() - img.top()) * k, visible.width() * k, visible.height() * k
        )
        p.drawPixmap(visible, self.pixmap, source)

    def _tag_font(self) -> QFont:
        font = QFont(self.font())
        font.setBold(True)
        return font

    def tag_layout(self) -> list[tuple[str, QRectF]]:
        """Each face's tag text and place, by one rule for every face: the longest tag that covers no other face and
        no other face's tag — the number and the expression, else the number alone, else none until zoomed in (the
        face list has them all). Numbers are placed first (in reading order), so a long tag never takes the place of
        a neighbour's number. The selected face always gets its whole tag (it is drawn last, on top)."""
        fm = QFontMetrics(self._tag_font())
        boxes = [self.face_rect(f) for f in self.faces]

        def place(i: int, full: bool) -> tuple[str, QRectF]:
            r, text = boxes[i], tag_text(self.looks[i], full)
            th = fm.height() + 4
            ty = r.top() - th if r.top() - th >= 0 else r.bottom()
            return text, QRectF(r.left() - (3.5 if i == self.selected else 2.0) / 2, ty, fm.horizontalAdvance(text) + 10, th)

        def free(i: int, tag: QRectF, tags: list[tuple[str, QRectF]]) -> bool:
            return not any(tag.intersects(b) for j, b in enumerate(boxes) if j != i) and not any(
                text and tag.intersects(t) for j, (text, t) in enumerate(tags) if j != i
            )

        tags: list[tuple[str, QRectF]] = [("", QRectF())] * len(boxes)
        for i in range(len(boxes)):  # the numbers
            short = place(i, full=False)
            if i == self.selected or free(i, short[1], tags):
                tags[i] = short
        for i in range(len(boxes)):  # then the expressions, where they fit
            if tags[i][0]:
                full = place(i, full=True)
                if i == self.selected or free(i, full[1], tags):
                    tags[i] = full
        return tags

    def _paint_face(self, p: QPainter, i: int, text: str, tag: QRectF) -> None:
        face, look = self.faces[i], self.looks[i]
        r = self.face_rect(face)
        selected = i == self.selected
        colour = face_colour(look)
        width = 3.5 if selected else 2.0
        p.setBrush(Qt.BrushStyle.NoBrush)
        if selected:  # a white ring around a thick box: the one face the keys act on
            p.setPen(QPen(QColor(255, 255, 255), width + 5))
            p.drawRect(r)
        if look.ignored:
            p.setPen(QPen(QColor(0, 0, 0, 120), 1.5))
            p.drawRect(r)
            p.setPen(QPen(colour, 1.5, Qt.PenStyle.DashLine))
        elif look.bystander:
            colour.setAlpha(150)
            p.setPen(QPen(QColor(0, 0, 0, 90), 1.0 if not selected else width + 2))
            p.drawRect(r)
            p.setPen(QPen(colour, 1.0 if not selected else width))
        else:
            p.setPen(QPen(QColor(0, 0, 0, 160), width + 2))
            p.drawRect(r)
            p.setPen(QPen(colour, width, Qt.PenStyle.DashLine if look.uncertain else Qt.PenStyle.SolidLine))
        p.drawRect(r)
        if not text:
            return  # no room for a tag without covering a neighbour: zoom in
        p.setFont(self._tag_font())
        p.setPen(QPen(QColor(255, 255, 255), 2) if selected else Qt.PenStyle.NoPen)
        p.setBrush(colour)
        p.drawRect(tag)
        p.setPen(QColor(0, 0, 0))
        p.drawText(tag.adjusted(5, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)

    def _paint_pending(self, p: QPainter) -> None:
        """Boxes being drawn or scored: white, dashed."""
        boxes = [QRectF(self._rect_from_photo(b)) for b in self.pending]
        if self.add_mode and self._press is not None and self._drag_to is not None:
            boxes.append(QRectF(self._press, self._drag_to).normalized())
        for r in boxes:
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(QColor(0, 0, 0, 160), 3))
            p.drawRect(r)
            p.setPen(QPen(QColor(255, 255, 255), 2, Qt.PenStyle.DashLine))
            p.drawRect(r)

    def _rect_from_photo(self, box: tuple[float, float, float, float]) -> QRectF:
        img, s = self.image_rect(), self.scale()
        left, top, right, bottom = box
        return QRectF(img.left() + left * s, img.top() + top * s, (right - left) * s, (bottom - top) * s)

    # --- mouse, wheel, gestures ---

    def mousePressEvent(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        self._press = event.position()
        self._press_center = self.center()
        self._panning = False
        if self.add_mode:
            self._drag_to = event.position()

    def mouseMoveEvent(self, event) -> None:
        if self._press is None:
            return super().mouseMoveEvent(event)
        if self.add_mode:
            self._drag_to = event.position()
            self.update()
        elif not self.is_fitted():
            delta = event.position() - self._press
            if self._panning or abs(delta.x()) + abs(delta.y()) > 3:
                self._panning = True
                self.setCursor(Qt.CursorShape.ClosedHandCursor)
                s = self.scale()
                self._center = QPointF(self._press_center.x() - delta.x() / s, self._press_center.y() - delta.y() / s)
                self._clamp()
                self.update()
                self.view_changed.emit()

    def mouseReleaseEvent(self, event) -> None:
        press, self._press = self._press, None
        if self.add_mode and press is not None:
            end = event.position()
            self._drag_to = None
            r = QRectF(press, end).normalized().intersected(self.image_rect())
            if r.width() >= MIN_DRAWN_BOX and r.height() >= MIN_DRAWN_BOX:
                a, b = self.to_photo(r.topLeft()), self.to_photo(r.bottomRight())
                self.face_drawn.emit((a.x(), a.y(), b.x(), b.y()))
            self.update()
            return
        if self._panning:
            self._panning = False
            self.setCursor(Qt.CursorShape.ArrowCursor)
        elif press is not None:  # a click (not a drag): select the face under it, or none
            self.select(self.face_at(event.position()))
        super().mouseReleaseEvent(event)

    def select(self, i: int) -> None:
        if i != self.selected:
            self.selected = i
            self.update()
            self.face_selected.emit(i)

    def mouseDoubleClickEvent(self, event) -> None:
        if self.add_mode:
            return
        i = self.face_at(event.position())
        if i >= 0:
            self.zoom_to_face(i)
        elif self.is_fitted():
            self.set_zoom(max(self.actual_scale(), self.fit_scale() * 2), event.position())
        else:
            self.fit()

    def wheelEvent(self, event) -> None:
        """A mouse wheel zooms about the pointer; a trackpad's two-finger scroll pans (with Ctrl: zooms)."""
        pixels = event.pixelDelta()
        ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        if not pixels.isNull() and not ctrl:
            self.pan_by(pixels.x(), pixels.y())
        else:
            steps = event.angleDelta().y() / 120 or pixels.y() / 50
            if steps:
                self.zoom_by(ZOOM_STEP**steps, event.position())
        event.accept()

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.NativeGesture and event.gestureType() == Qt.NativeGestureType.ZoomNativeGesture:
            self.zoom_by(1.0 + event.value(), event.position())  # a trackpad pinch (macOS, Wayland)
            return True
        if event.type() == QEvent.Type.Gesture:
            pinch = event.gesture(Qt.GestureType.PinchGesture)
            if pinch is not None:  # a touch screen pinch
                self.zoom_by(pinch.scaleFactor(), self.mapFromGlobal(pinch.centerPoint().toPoint()).toPointF())
                return True
        return super().event(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._clamp()

    def contextMenuEvent(self, event) -> None:
        i = self.face_at(QPointF(event.pos()))
        if i < 0:
            return
        self.select(i)
        menu = face_menu(
            self,
            self.faces[i],
            self.looks[i],
            correct=self.correction_requested.emit,
            ignore=self.ignore_requested.emit,
            remove=self.remove_requested.emit,
            zoom=lambda: self.zoom_to_face(i),
        )
        menu.exec(event.globalPos())
