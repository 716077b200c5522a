"""The viewer's face detail, under the face list: the selected face's 8 probabilities as bars, the whole story of
the face in words (a correction says in full what the model said; never cut off), and buttons for what can be
done with it (set the expression, ignore or count it again, remove a face the user added)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from albumsorter._qt.face_quality_words import quality_note
from albumsorter._qt.face_style import FaceLook, face_menu, face_note
from albumsorter.core.catalog import FaceRecord
from albumsorter.core.classes import CLASSES_8


class ProbabilityBars(QWidget):
    """One bar per class for one face; the model's first choice highlighted."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.probabilities: dict[str, float] = {}
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def set_probabilities(self, probabilities: dict[str, float]) -> None:
        self.probabilities = dict(probabilities)
        self.update()

    def _row_h(self) -> int:
        return QFontMetrics(self.font()).height() + 2

    def sizeHint(self) -> QSize:
        return QSize(220, self._row_h() * len(CLASSES_8) + 4)

    def minimumSizeHint(self) -> QSize:
        return QSize(160, self.sizeHint().height())

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.WindowText)
        fm = QFontMetrics(self.font())
        rh = self._row_h()
        label_w = max(fm.horizontalAdvance(c) for c in CLASSES_8) + 8
        pct_w = fm.horizontalAdvance("100%") + 6
        bar_w = max(20.0, self.width() - 8 - label_w - pct_w)
        probs = self.probabilities
        top = max(probs, key=probs.__getitem__) if probs and any(probs.values()) else None
        y = 2
        for c in CLASSES_8:
            v = float(probs.get(c, 0.0))
            p.setPen(text)
            p.drawText(QRectF(4, y, label_w, rh), Qt.AlignmentFlag.AlignVCenter, c)
            track = QRectF(4 + label_w, y + 3, bar_w, rh - 6)
            mid = QColor(pal.color(QPalette.ColorRole.Mid))
            mid.setAlpha(70)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(mid)
            p.drawRoundedRect(track, 2, 2)
            fill = QColor(pal.color(QPalette.ColorRole.Highlight) if c == top else pal.color(QPalette.ColorRole.WindowText))
            if c != top:
                fill.setAlpha(120)
            p.setBrush(fill)
            p.drawRoundedRect(QRectF(track.left(), track.top(), max(1.0, bar_w * v), track.height()), 2, 2)
            p.setPen(text)
            p.drawText(
                QRectF(4 + label_w + bar_w + 2, y, pct_w, rh),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                f"{v:.0%}",
            )
            y += rh
        p.end()


class FaceDetail(QWidget):
    """The selected face in full. Signals as the canvas's: correction_requested(face id, label | None),
    ignore_requested(face id, bool), remove_requested(face id), zoom_requested()."""

    correction_requested = Signal(int, object)
    ignore_requested = Signal(int, bool)
    remove_requested = Signal(int)
    zoom_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.face: FaceRecord | None = None
        self.look: FaceLook | None = None
        self.note = QLabel()
        self.note.setObjectName("FaceNote")
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.bars = ProbabilityBars()
        self.expression_button = QToolButton()
        self.expression_button.setText("Expression ▾")
        self.expression_button.setToolTip("Set this face's expression (Alt+1–8), or give it back to the model (Alt+0)")
        self.expression_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.expression_button.clicked.connect(self._show_menu)
        self.ignore_button = QToolButton()
        self.ignore_button.setToolTip("Not a person in this photo: it leaves the photo's smiles (I)")
        self.ignore_button.clicked.connect(self._toggle_ignored)
        self.remove_button = QToolButton()
        self.remove_button.setText("Remove")
        self.remove_button.setToolTip("Remove this face you added (Delete)")
        self.remove_button.clicked.connect(lambda: self.face and self.remove_requested.emit(self.face.id))
        self.zoom_button = QToolButton()
        self.zoom_button.setText("Zoom")
        self.zoom_button.setToolTip("Zoom to this face (Shift+Z)")
        self.zoom_button.clicked.connect(self.zoom_requested.emit)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        for b in (self.expression_button, self.ignore_button, self.remove_button, self.zoom_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.note)
        layout.addLayout(buttons)
        layout.addWidget(self.bars)
        self.show_face(None, None)

    def show_face(self, face: FaceRecord | None, look: FaceLook | None, hint: str = "") -> None:
        self.face, self.look = face, look
        has = face is not None and look is not None
        for w in (self.bars, self.expression_button, self.ignore_button, self.zoom_button):
            w.setVisible(has)
        self.remove_button.setVisible(has and bool(face and face.manual))
        if face is None or look is None:
            self.note.setText(hint)
            return
        self.note.setText("\n".join(t for t in (face_note(face, look), quality_note(face)) if t))  # eyes, smile, sharpness
        self.bars.set_probabilities(face.probabilities)
        self.ignore_button.setText("Count it again" if face.ignored else "Ignore")

    def _toggle_ignored(self) -> None:
        if self.face is not None:
            self.ignore_requested.emit(self.face.id, not self.face.ignored)

    def _show_menu(self) -> None:
        if self.face is None or self.look is None:
            return
        menu = face_menu(
            self,
            self.face,
            self.look,
            correct=lambda fid, label: self.correction_requested.emit(fid, label),
            ignore=lambda fid, on: self.ignore_requested.emit(fid, on),
            remove=lambda fid: self.remove_requested.emit(fid),
            zoom=self.zoom_requested.emit,
        )
        menu.exec(self.expression_button.mapToGlobal(self.expression_button.rect().bottomLeft()))
