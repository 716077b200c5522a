"""The viewer: one photo upright, each face boxed with its label, and a bar chart of its 8 probabilities.

Left/Right (and Home/End) move through the filtered set (the grid's model); Esc goes back to the grid;
right-click a face (on the photo or in the side panel) to set its expression. The photo is decoded with
core.decoding off the GUI thread (the thumbnail shows meanwhile), exactly as indexing decoded it, so the
stored boxes (upright full-resolution pixels) line up.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QObject, QPointF, QRectF, QRunnable, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QAction, QColor, QFont, QFontMetrics, QImage, QKeySequence, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QMenu, QScrollArea, QSizePolicy, QSplitter, QToolButton, QVBoxLayout, QWidget,
)

from albumsorter.core.catalog import Catalog, FaceRecord, PhotoRecord
from albumsorter.core.classes import CLASSES_8, group_of
from albumsorter._qt.photo_model import THUMBNAIL_ROLE, PhotoModel, display
from albumsorter._qt.thumbnails import ThumbnailCache, load_image

# Face boxes are drawn over the photo, not over the window, so they use fixed colours with a dark outline.
GROUP_COLOURS = {"positive": QColor(60, 200, 90), "neutral": QColor(240, 190, 40), "negative": QColor(235, 70, 60)}
VIEW_MAX_SIDE = 2560


def face_colour(label: str | None) -> QColor:
    return GROUP_COLOURS[group_of(label)] if label else QColor(160, 160, 160)


def correction_menu(parent: QWidget, face: FaceRecord, on_choice) -> QMenu:
    """Set expression -> 8 classes (current one checked) + Clear correction."""
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


class _LoadSignals(QObject):
    loaded = Signal(int, int, QImage)  # generation, photo id, image
    failed = Signal(int, int, str)


class _LoadTask(QRunnable):
    def __init__(self, generation: int, photo_id: int, path: str, max_side: int, signals: _LoadSignals) -> None:
        super().__init__()
        self.generation, self.photo_id, self.path, self.max_side, self.signals = generation, photo_id, path, max_side, signals

    def run(self) -> None:
        try:
            self.signals.loaded.emit(self.generation, self.photo_id, load_image(self.path, self.max_side))
        except Exception as exc:
            self.signals.failed.emit(self.generation, self.photo_id, str(exc))


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
        l, t, r, b = face.box
        return QRectF(img.left() + l * k, img.top() + t * k, (r - l) * k, (b - t) * k)

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
        p.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base).darker(115) if pal.color(QPalette.ColorRole.Base).lightness() > 128 else pal.color(QPalette.ColorRole.Base))
        if self.pixmap and not self.pixmap.isNull():
            p.drawPixmap(self.image_rect(), self.pixmap, QRectF(self.pixmap.rect()))
            if self.show_faces:
                order = [i for i in range(len(self.faces)) if i != self.selected] + ([self.selected] if 0 <= self.selected < len(self.faces) else [])
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


class ProbabilityPanel(QWidget):
    """For each face: its label and a bar per class (the 8 probabilities). Right-click to correct."""

    correction_requested = Signal(int, object)
    face_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.faces: list[FaceRecord] = []
        self.selected = -1
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)

    def set_faces(self, faces: list[FaceRecord]) -> None:
        self.faces = faces
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
            p.drawText(self.rect().adjusted(8, 8, -8, -8), Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap, "No faces found in this photo.")
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
            p.drawText(QRectF(24, y, self.width() - 30, rh), Qt.AlignmentFlag.AlignVCenter, fm.elidedText(title, Qt.TextElideMode.ElideRight, self.width() - 30))
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
                fill = QColor(pal.color(QPalette.ColorRole.Highlight)) if c == top else QColor(pal.color(QPalette.ColorRole.WindowText))
                if c != top:
                    fill.setAlpha(120)
                p.setBrush(fill)
                p.drawRoundedRect(QRectF(track.left(), track.top(), max(1.0, bar_w * v), track.height()), 2, 2)
                p.setPen(text)
                p.drawText(QRectF(8 + label_w + bar_w + 4, y, pct_w, rh), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, f"{v:.0%}")
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


class Viewer(QWidget):
    """Shows model row `row`; `closed` asks the window to go back to the grid. `corrected` fires after a
    correction was stored (the grid refreshes its badges)."""

    closed = Signal()
    current_changed = Signal(int)  # photo id
    corrected = Signal(int)  # photo id

    def __init__(self, model: PhotoModel, thumbnails: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Viewer")
        self.model = model
        self.thumbnails = thumbnails
        self.catalog: Catalog | None = None
        self.record: PhotoRecord | None = None
        self.row = -1
        self._generation = 0
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._signals = _LoadSignals()
        self._signals.loaded.connect(self._loaded)
        self._signals.failed.connect(self._failed)
        self.full_loaded = False
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self.back = QToolButton()
        self.back.setText("◀ Grid")
        self.back.setToolTip("Back to the grid (Esc)")
        self.back.setAutoRaise(True)
        self.back.clicked.connect(self.closed.emit)
        self.title = QLabel()
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.position = QLabel()
        self.pick_label = QLabel()
        header = QHBoxLayout()
        header.setContentsMargins(4, 2, 4, 2)
        header.addWidget(self.back)
        header.addWidget(self.title, 1)
        header.setSpacing(12)
        header.addWidget(self.pick_label)
        header.addWidget(self.position)

        self.canvas = PhotoCanvas()
        self.panel = ProbabilityPanel()
        scroll = QScrollArea()
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(230)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.splitter = QSplitter()
        self.splitter.addWidget(self.canvas)
        self.splitter.addWidget(scroll)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setSizes([800, 260])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(header)
        layout.addWidget(self.splitter, 1)

        for w in (self.canvas, self.panel):
            w.correction_requested.connect(self.set_correction)
        self.canvas.face_selected.connect(self._select_face)
        self.panel.face_selected.connect(self._select_face)

        for key, step in ((QKeySequence(Qt.Key.Key_Right), 1), (QKeySequence(Qt.Key.Key_Left), -1),
                          (QKeySequence(Qt.Key.Key_Down), 1), (QKeySequence(Qt.Key.Key_Up), -1),
                          (QKeySequence(Qt.Key.Key_Space), 1)):
            act = QAction(self)
            act.setShortcut(key)
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            act.triggered.connect(lambda _=False, s=step: self.step(s))
            self.addAction(act)
        for key, fn in ((Qt.Key.Key_Home, lambda: self.show_row(0)), (Qt.Key.Key_End, lambda: self.show_row(self.model.rowCount() - 1)),
                        (Qt.Key.Key_Escape, self.closed.emit), (Qt.Key.Key_F, self.toggle_faces)):
            act = QAction(self)
            act.setShortcut(QKeySequence(key))
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            act.triggered.connect(fn)
            self.addAction(act)
        for key, fn in ((Qt.Key.Key_BracketRight, lambda: self.step_face(1)), (Qt.Key.Key_BracketLeft, lambda: self.step_face(-1))):
            act = QAction(self)
            act.setShortcut(QKeySequence(key))
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            act.triggered.connect(fn)
            self.addAction(act)
        for i, c in enumerate([None, *CLASSES_8]):  # 0 clears, 1-8 set (CLASSES_8 order, as in the menu)
            act = QAction(self)
            act.setShortcut(QKeySequence(str(i)))
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            act.triggered.connect(lambda _=False, c=c: self.correct_selected(c))
            self.addAction(act)
        model.modelReset.connect(self._model_changed)
        model.rowsRemoved.connect(self._model_changed)
        model.rowsInserted.connect(self._model_changed)
        model.dataChanged.connect(self._data_changed)

    # --- navigation ---

    def show_photo(self, photo_id: int) -> None:
        row = self.model.row_of(photo_id)
        if row is not None:
            self.show_row(row)

    def show_row(self, row: int) -> None:
        n = self.model.rowCount()
        if n == 0:
            self.row, self.record = -1, None
            self.canvas.set_photo(None, 0, [], "No photos match the filters.")
            self.panel.set_faces([])
            self.title.setText("")
            self.position.setText("")
            return
        row = max(0, min(row, n - 1))
        rec = self.model.record(row)
        self.row = row
        full = self.catalog.photo(rec.id) if self.catalog is not None else None
        self.record = full or rec
        self._generation += 1
        self.full_loaded = False
        thumb = self.thumbnails.pixmap(rec.path)
        message = "" if thumb is not None else "Loading…"
        if self.record.status == "error":
            message = f"This photo could not be read:\n{self.record.error}"
        self.canvas.set_photo(thumb, self.record.width or 0, self.record.faces, message)
        self.panel.set_faces(self.record.faces)
        self._update_header()
        if self.record.status != "error":
            side = self._wanted_side()
            self.pool.start(_LoadTask(self._generation, rec.id, rec.path, side, self._signals))
        self.current_changed.emit(rec.id)

    def step(self, delta: int) -> None:
        if self.model.rowCount():
            self.show_row(max(0, min(self.row + delta, self.model.rowCount() - 1)))

    def toggle_faces(self) -> None:
        self.canvas.show_faces = not self.canvas.show_faces
        self.canvas.update()

    def current_id(self) -> int | None:
        return self.record.id if self.record else None

    def step_face(self, delta: int) -> None:
        n = len(self.canvas.faces)
        if n:
            cur = self.canvas.selected
            self._select_face((cur + delta) % n if cur >= 0 else (0 if delta > 0 else n - 1))

    # --- corrections ---

    def correct_selected(self, label: str | None) -> None:
        """Keyboard correction: the selected face (or the only face) gets `label` (None: the model's)."""
        faces = self.canvas.faces
        i = self.canvas.selected if self.canvas.selected >= 0 else (0 if len(faces) == 1 else -1)
        if 0 <= i < len(faces):
            self.set_correction(faces[i].id, label)

    def set_correction(self, face_id: int, label: str | None) -> None:
        if self.catalog is None or self.record is None:
            return
        self.catalog.set_correction(face_id, label)
        self.reload_record()
        self.corrected.emit(self.record.id)

    def reload_record(self) -> None:
        if self.catalog is None or self.record is None:
            return
        full = self.catalog.photo(self.record.id)
        if full is None:
            return
        self.record = full
        self.canvas.set_faces(full.faces)
        self.panel.set_faces(full.faces)
        self._update_header()

    # --- internals ---

    def _wanted_side(self) -> int:
        screen = self.screen()
        if screen is None:
            return VIEW_MAX_SIDE
        size = screen.size() * screen.devicePixelRatio()
        return int(min(VIEW_MAX_SIDE, max(size.width(), size.height())))

    def _update_header(self) -> None:
        rec = self.record
        if rec is None:
            return
        self.title.setText(f"<b>{html.escape(display(rec.name))}</b> &nbsp; {rec.face_count} face{'s' if rec.face_count != 1 else ''}, {rec.smile_count} smiling"
                           + (f" &nbsp; · &nbsp; {rec.taken_at.replace('T', ' ')}" if rec.taken_at else ""))
        self.title.setToolTip(display(rec.path))
        self.position.setText(f"{self.row + 1} / {self.model.rowCount()}")
        self.pick_label.setText({1: "✔ Picked", -1: "✖ Rejected"}.get(rec.pick, "Unflagged"))

    def _select_face(self, i: int) -> None:
        self.canvas.selected = i
        self.panel.selected = i
        self.canvas.update()
        self.panel.update()

    def _loaded(self, generation: int, photo_id: int, image: QImage) -> None:
        if generation != self._generation or self.record is None:
            return
        self.full_loaded = True
        self.canvas.set_photo(QPixmap.fromImage(image), self.record.width or image.width(), self.record.faces)

    def _failed(self, generation: int, photo_id: int, reason: str) -> None:
        if generation == self._generation:
            self.full_loaded = True
            self.canvas.set_photo(self.canvas.pixmap, self.canvas.full_width, self.canvas.faces, f"Could not open this photo:\n{reason}")

    def _model_changed(self, *args) -> None:
        if self.record is None or not self.isVisible():
            return
        row = self.model.row_of(self.record.id)
        if row is None:  # left the filtered set (e.g. rejected while only unflagged are shown): stay put
            self.row = min(self.row, self.model.rowCount() - 1)
        else:
            self.row = row
        self._update_header()

    def _data_changed(self, top, bottom, roles=()) -> None:
        if self.record is None or not self.isVisible():
            return
        row = self.model.row_of(self.record.id)
        if row is not None and top.row() <= row <= bottom.row():
            if roles and list(roles) == [THUMBNAIL_ROLE]:
                if not self.full_loaded:  # the thumbnail arrived before the full photo
                    thumb = self.thumbnails.pixmap(self.record.path, request=False)
                    if thumb is not None:
                        self.canvas.set_photo(thumb, self.record.width or 0, self.record.faces)
                return
            self.reload_record()

    def shutdown(self) -> None:
        self._generation += 1
        self.pool.clear()
        self.pool.waitForDone(10000)
