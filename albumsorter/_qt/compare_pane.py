"""One photo of the compare view (compare_view.py): the photo with its faces boxed by what matters for picking a
frame (eyes open green, eyes closed amber, can't tell grey; a dashed box is a blurred face), a header with its name,
whether it is the group's keeper, its rank and keeper score, and Pick / Reject buttons, and a line of words under it.

Zoom and pan are shared by every pane (`SharedView`): a zoom relative to each photo's fit, and the centre's offset
from the photo's anchor as a share of the photo's size. The anchor is the middle of the photo's main faces, or, once
a face is zoomed to (double-click it, or F), that face: in each photo the face nearest to where it is in the photo
it was chosen in. A burst's frames are a little shifted from one another, so anchoring each pane on its own faces
keeps the same faces in view in all of them when one is zoomed or moved. A pane never changes the shared view
itself: it asks for a new one (`view_wanted`), and the compare view hands it to every pane.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from albumsorter._qt.face_quality_words import eyes_state, is_blurred
from albumsorter._qt.photo_canvas import photo_painter
from albumsorter._qt.photo_model import display
from albumsorter.core.catalog import PICK_PICKED, PICK_REJECTED, FaceRecord, PhotoRecord
from albumsorter.core.keeper import MAIN_FACE_SHARE

MAX_ZOOM = 16.0  # times the fit
ZOOM_STEP = 1.25
FACES_SHARE = 0.8  # zoom to the faces: the main faces fill this share of the pane
FACE_SHARE = 0.45  # zoom to one face: it fills this share of the pane's smaller side
SAME_FACE_WITHIN = 0.15  # a face this near (in shares of the photo) to the chosen one is the same person
EYE_COLOURS = {"open": QColor(60, 200, 90), "closed": QColor(235, 150, 20), "unknown": QColor(170, 170, 170)}
REJECT_RED = QColor(200, 40, 40)


@dataclass(frozen=True)
class SharedView:
    zoom: float = 1.0  # times each photo's fit (1: the whole photo)
    u: float = 0.0  # the view's centre minus the photo's anchor, in photo widths
    v: float = 0.0  # ... and heights
    focus: tuple[float, float] | None = None  # the face zoomed to (its centre in shares of its photo); None: all faces


def main_faces(faces: list[FaceRecord]) -> list[FaceRecord]:
    """The faces that decide a frame: counted, and at least a third as wide as the largest (core.keeper's rule)."""
    counted = [f for f in faces if f.subject] or [f for f in faces if not f.ignored]
    if not counted:
        return []
    largest = max(f.box[2] - f.box[0] for f in counted)
    return [f for f in counted if f.box[2] - f.box[0] >= MAIN_FACE_SHARE * largest]


def reading_order(faces: list[FaceRecord]) -> list[FaceRecord]:
    """The main faces left to right (the order F steps through them)."""
    return sorted(main_faces(faces), key=lambda f: (f.box[0] + f.box[2], f.box[1]))


def faces_box(faces: list[FaceRecord]) -> QRectF | None:
    """The smallest rectangle around the main faces (photo pixels)."""
    main = main_faces(faces)
    if not main:
        return None
    return QRectF(
        QPointF(min(f.box[0] for f in main), min(f.box[1] for f in main)),
        QPointF(max(f.box[2] for f in main), max(f.box[3] for f in main)),
    )


class ComparePhoto(QWidget):
    """The photo of a pane, drawn as the shared view says. Signals: view_wanted(SharedView), clicked()."""

    view_wanted = Signal(object)
    clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 120)
        self.pixmap: QPixmap | None = None
        self.record: PhotoRecord | None = None
        self.view = SharedView()
        self.dimmed = False
        self.message = ""
        self._press: QPointF | None = None
        self._moved = False

    # --- geometry (photo pixels: upright full resolution, as face boxes are stored) ---

    def photo_size(self) -> tuple[float, float]:
        rec = self.record
        if rec is not None and rec.width and rec.height:
            return float(rec.width), float(rec.height)
        if self.pixmap is not None and not self.pixmap.isNull():
            return float(self.pixmap.width()), float(self.pixmap.height())
        return 0.0, 0.0

    def has_image(self) -> bool:
        return self.pixmap is not None and not self.pixmap.isNull() and min(self.photo_size()) > 0

    def anchor(self) -> QPointF:
        """The face zoomed to (the nearest to the shared focus), else the middle of the main faces, else the centre."""
        w, h = self.photo_size()
        focus = self.view.focus
        if focus is not None:
            face = self.face_near(focus)
            return face_centre(face) if face is not None else QPointF(focus[0] * w, focus[1] * h)
        box = faces_box(self.record.faces) if self.record is not None else None
        return box.center() if box is not None else QPointF(w / 2, h / 2)

    def face_near(self, focus: tuple[float, float]) -> FaceRecord | None:
        """This photo's main face nearest to `focus` (shares of the photo), if it is near enough to be the same one."""
        w, h = self.photo_size()
        if self.record is None or not w:
            return None
        best, best_d = None, SAME_FACE_WITHIN
        for face in main_faces(self.record.faces):
            c = face_centre(face)
            d = ((c.x() / w - focus[0]) ** 2 + (c.y() / h - focus[1]) ** 2) ** 0.5
            if d <= best_d:
                best, best_d = face, d
        return best

    def face_at(self, pos: QPointF) -> FaceRecord | None:
        if self.record is None or not self.has_image():
            return None
        img, s = self.image_rect(), self.scale()
        x, y = (pos.x() - img.left()) / s, (pos.y() - img.top()) / s
        inside = [f for f in main_faces(self.record.faces) if f.box[0] <= x <= f.box[2] and f.box[1] <= y <= f.box[3]]
        return min(inside, key=lambda f: f.box[2] - f.box[0]) if inside else None

    def fit_scale(self) -> float:
        w, h = self.photo_size()
        return min(self.width() / w, self.height() / h) if w and h else 1.0

    def scale(self) -> float:
        return self.fit_scale() * self.view.zoom

    def center(self) -> QPointF:
        """The photo point in the middle of the pane: the shared offset from this photo's anchor, kept in the photo."""
        w, h = self.photo_size()
        if self.view.zoom <= 1.0001 or not w:
            return QPointF(w / 2, h / 2)
        a, s = self.anchor(), self.scale()
        return self._clamped(QPointF(a.x() + self.view.u * w, a.y() + self.view.v * h), s)

    def _clamped(self, c: QPointF, s: float) -> QPointF:
        w, h = self.photo_size()
        half_w, half_h = self.width() / 2 / s, self.height() / 2 / s
        x = w / 2 if w <= 2 * half_w else min(max(c.x(), half_w), w - half_w)
        y = h / 2 if h <= 2 * half_h else min(max(c.y(), half_h), h - half_h)
        return QPointF(x, y)

    def image_rect(self) -> QRectF:
        w, h = self.photo_size()
        s, c = self.scale(), self.center()
        return QRectF(self.width() / 2 - c.x() * s, self.height() / 2 - c.y() * s, w * s, h * s)

    def visible_share(self) -> QRectF:
        """The part of the photo in view, in shares of its width and height (0-1)."""
        w, h = self.photo_size()
        img = self.image_rect()
        if not w or img.isEmpty():
            return QRectF()
        seen = img.intersected(QRectF(self.rect()))
        return QRectF((seen.left() - img.left()) / img.width(), (seen.top() - img.top()) / img.height(),
                      seen.width() / img.width(), seen.height() / img.height())  # fmt: skip

    # --- views this pane asks for ---

    def _view_centred(self, zoom: float, c: QPointF) -> SharedView:
        w, h = self.photo_size()
        if zoom <= 1.0001 or not w:
            return SharedView()
        c = self._clamped(c, self.fit_scale() * zoom)
        a = self.anchor()
        return SharedView(zoom, (c.x() - a.x()) / w, (c.y() - a.y()) / h, self.view.focus)

    def zoomed(self, factor: float, at: QPointF | None = None) -> SharedView:
        """The view zoomed by `factor`, keeping the photo point under `at` (default: the middle) where it is."""
        at = at if at is not None else QPointF(self.width() / 2, self.height() / 2)
        zoom = min(MAX_ZOOM, max(1.0, self.view.zoom * factor))
        s0, s1, c = self.scale(), self.fit_scale() * zoom, self.center()
        offset = QPointF(at.x() - self.width() / 2, at.y() - self.height() / 2)
        fixed = QPointF(c.x() + offset.x() / s0, c.y() + offset.y() / s0)
        return self._view_centred(zoom, QPointF(fixed.x() - offset.x() / s1, fixed.y() - offset.y() / s1))

    def panned(self, dx: float, dy: float) -> SharedView:
        """The view moved with the photo dragged by (dx, dy) screen pixels."""
        s, c = self.scale(), self.center()
        return self._view_centred(self.view.zoom, QPointF(c.x() - dx / s, c.y() - dy / s))

    def face_view(self, face: FaceRecord) -> SharedView:
        """Zoomed to this face, centred on it (in every pane, each on its own face at that place)."""
        w, h = self.photo_size()
        if not self.has_image():
            return SharedView()
        side = max(face.box[2] - face.box[0], face.box[3] - face.box[1], 1.0)
        zoom = FACE_SHARE * min(self.width(), self.height()) / side / self.fit_scale()
        c = face_centre(face)
        return SharedView(min(MAX_ZOOM, max(1.0, zoom)), 0.0, 0.0, (c.x() / w, c.y() / h))

    def next_face_view(self, step: int = 1) -> SharedView:
        """Zoomed to the next face (left to right) after the one zoomed to now, or the first."""
        faces = reading_order(self.record.faces) if self.record is not None else []
        if not faces:
            return SharedView()
        current = self.face_near(self.view.focus) if self.view.focus is not None else None
        i = faces.index(current) + step if current in faces else (0 if step > 0 else -1)
        return self.face_view(faces[i % len(faces)])

    def faces_view(self) -> SharedView:
        """Zoomed so that the main faces fill the pane, centred on them (in every pane, each on its own faces)."""
        box = faces_box(self.record.faces) if self.record is not None else None
        if box is None or not self.has_image():
            return SharedView()
        side = FACES_SHARE * min(self.width() / max(box.width(), 1.0), self.height() / max(box.height(), 1.0))
        return SharedView(min(MAX_ZOOM, max(1.0, side / self.fit_scale())), 0.0, 0.0)

    # --- showing ---

    def set_view(self, view: SharedView) -> None:
        self.view = view
        self.update()

    def paintEvent(self, event) -> None:
        p = photo_painter(self)
        pal = self.palette()
        if self.has_image():
            assert self.pixmap is not None
            img = self.image_rect()
            seen = img.intersected(QRectF(self.rect()))
            k = self.pixmap.width() / img.width()
            if self.dimmed:
                p.setOpacity(0.4)
            p.drawPixmap(seen, self.pixmap, QRectF((seen.left() - img.left()) * k, (seen.top() - img.top()) * k,
                                                    seen.width() * k, seen.height() * k))  # fmt: skip
            p.setOpacity(1.0)
            if self.record is not None:
                self._paint_faces(p, img)
        if self.message or not self.has_image():
            p.setPen(pal.color(QPalette.ColorRole.Text))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message or "Loading…")
        p.end()

    def _paint_faces(self, p: QPainter, img: QRectF) -> None:
        assert self.record is not None
        s = self.scale()
        for face in main_faces(self.record.faces):
            state = eyes_state(face) or "unknown"
            left, top, right, bottom = face.box
            r = QRectF(img.left() + left * s, img.top() + top * s, (right - left) * s, (bottom - top) * s)
            for colour, width in ((QColor(0, 0, 0, 150), 4.0), (EYE_COLOURS[state], 2.0)):
                pen = QPen(colour, width)
                if is_blurred(face):
                    pen.setStyle(Qt.PenStyle.DashLine)
                p.setPen(pen)
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRoundedRect(r, 3, 3)
            if state == "closed" and r.width() >= 28:
                tag = "eyes closed"
                fm = p.fontMetrics()
                band = QRectF(r.left(), r.bottom() + 2, fm.horizontalAdvance(tag) + 8, fm.height() + 2)
                p.fillRect(band, EYE_COLOURS["closed"])
                p.setPen(QColor("black"))
                p.drawText(band, Qt.AlignmentFlag.AlignCenter, tag)

    # --- mouse: wheel zooms about the pointer, drag pans, a click makes the pane active ---

    def wheelEvent(self, event) -> None:
        pixels = event.pixelDelta()
        if not pixels.isNull() and not (event.modifiers() & Qt.KeyboardModifier.ControlModifier):
            self.view_wanted.emit(self.panned(pixels.x(), pixels.y()))
        else:
            steps = event.angleDelta().y() / 120 or pixels.y() / 50
            if steps:
                self.view_wanted.emit(self.zoomed(ZOOM_STEP**steps, event.position()))
        event.accept()

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._press, self._moved = event.position(), False
            self.clicked.emit()

    def mouseMoveEvent(self, event) -> None:
        if self._press is not None and self.view.zoom > 1.0001:
            d = event.position() - self._press
            self._press, self._moved = event.position(), True
            self.view_wanted.emit(self.panned(d.x(), d.y()))

    def mouseReleaseEvent(self, event) -> None:
        self._press = None

    def mouseDoubleClickEvent(self, event) -> None:
        """On a face: zoom to it (in every photo); elsewhere: fit <-> all the faces."""
        face = self.face_at(event.position())
        if face is not None and (self.view.focus is None or self.face_near(self.view.focus) is not face):
            self.view_wanted.emit(self.face_view(face))
        else:
            self.view_wanted.emit(SharedView() if self.view.zoom > 1.0001 else self.faces_view())


def face_centre(face: FaceRecord) -> QPointF:
    return QPointF((face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2)


class ComparePane(QFrame):
    """A photo with its header and words. Signals: pick_clicked(photo id, state), activated(), view_wanted(view)."""

    pick_clicked = Signal(int, int)
    activated = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ComparePane")
        self.active = False
        self.record: PhotoRecord | None = None
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.pick_button = self._button("✓ Pick", "Pick this photo (P)", lambda: self._flag(PICK_PICKED))
        self.reject_button = self._button("✕ Reject", "Reject this photo (X)", lambda: self._flag(PICK_REJECTED))
        header = QHBoxLayout()
        header.setContentsMargins(6, 4, 6, 0)
        header.addWidget(self.title, 1)
        header.addWidget(self.pick_button)
        header.addWidget(self.reject_button)
        self.photo = ComparePhoto()
        self.photo.clicked.connect(self.activated.emit)
        self.view_wanted = self.photo.view_wanted
        self.words = QLabel()
        self.words.setObjectName("CompareWords")
        self.words.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(3)
        layout.addLayout(header)
        layout.addWidget(self.photo, 1)
        layout.addWidget(self.words)

    def _button(self, text: str, tip: str, slot) -> QToolButton:
        b = QToolButton()
        b.setText(text)
        b.setToolTip(tip)
        b.setCheckable(True)
        b.setAutoRaise(True)
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the compare view's keys keep working after a click
        b.clicked.connect(lambda _checked=False: slot())
        return b

    def _flag(self, state: int) -> None:
        if self.record is not None:
            self.activated.emit()
            same = self.record.pick == state
            self.pick_clicked.emit(self.record.id, 0 if same else state)  # a second click unflags

    def set_record(self, rec: PhotoRecord) -> None:
        self.record = rec
        self.photo.record = rec
        self.photo.dimmed = rec.pick == PICK_REJECTED
        self.pick_button.setChecked(rec.pick == PICK_PICKED)
        self.pick_button.setText("✓ Picked" if rec.pick == PICK_PICKED else "✓ Pick")
        self.reject_button.setChecked(rec.pick == PICK_REJECTED)
        self.reject_button.setText("✕ Rejected" if rec.pick == PICK_REJECTED else "✕ Reject")
        parts = [f"<b>{html.escape(display(rec.name))}</b>"]
        if rec.group_size >= 2 and rec.group_rank == 1:
            pal = self.palette()
            bg, fg = pal.color(QPalette.ColorRole.Highlight).name(), pal.color(QPalette.ColorRole.HighlightedText).name()
            parts.append(f"<span style='background:{bg}; color:{fg}'>&nbsp;★ Keeper&nbsp;</span>")
        elif rec.group_size >= 2 and rec.group_rank:
            parts.append(f"No. {rec.group_rank} of {rec.group_size}")
        if rec.keeper_score is not None:
            parts.append(f"score {rec.keeper_score:.2f}")
        self.title.setText(" · ".join(parts))
        self.title.setToolTip(rec.path)
        self.words.setText(summary_words(rec))
        self.photo.update()
        self.update()

    def set_active(self, on: bool) -> None:
        self.active = on
        self.update()

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self.record is None:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        colour = pal.color(QPalette.ColorRole.Highlight) if self.active else pal.color(QPalette.ColorRole.Mid)
        if self.record.pick == PICK_REJECTED:
            colour = REJECT_RED
        width = 3.0 if self.active else (2.0 if self.record.pick else 1.0)
        if self.record.pick == PICK_PICKED and not self.active:
            colour = pal.color(QPalette.ColorRole.Highlight).lighter(130)
        p.setPen(QPen(colour, width))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRoundedRect(QRectF(self.rect()).adjusted(width / 2, width / 2, -width / 2, -width / 2), 5, 5)
        p.end()


def summary_words(rec: PhotoRecord) -> str:
    """ "3 faces · eyes: 2 open, 1 closed · 1 blurred" for the line under a photo."""
    faces = main_faces(rec.faces)
    if not faces:
        return "No faces" + ("" if rec.sharp or rec.keeper_score is None else " · blurred")
    states = [eyes_state(f) or "unknown" for f in faces]
    eyes = ", ".join(
        f"{states.count(s)} {s if s != 'unknown' else 'can’t tell'}" for s in ("open", "closed", "unknown") if s in states
    )
    blurred = sum(is_blurred(f) for f in faces)
    text = f"{len(faces)} face{'s' if len(faces) != 1 else ''} · eyes: {eyes}"
    return text + (f" · {blurred} blurred" if blurred else " · sharp")
