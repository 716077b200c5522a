"""The viewer: one photo upright with its faces boxed and numbered (photo_canvas.py), a compact list of the faces
(face_list.py) and the selected face in full (face_panel.py); Pick / Reject buttons and stars above the photo.

Left/Right (and Home/End) move through the filtered set (the grid's model); Esc goes back to the grid; the keys
come from the shortcut table: digits rate the photo, `[`/`]` select a face, Alt+digit sets its expression, I
ignores it, A adds one the detector missed (drag a box), Z / Shift+Z / + / - zoom. Nothing here waits on the GUI
thread: the photo's faces are read in the catalog session's read lane, the photo is decoded with core.decoding in
the viewer's lane of the task runner (the thumbnail shows meanwhile), exactly as indexing decoded it, so the
stored boxes (upright full-resolution pixels) line up; zooming past the decoded size loads the full photo. Edits
are catalog writes; the viewer shows them when the session reports the change, like every other listener.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QSizePolicy, QSplitter, QToolButton, QVBoxLayout, QWidget

from albumsorter._qt.catalog_session import CatalogChange, CatalogSession
from albumsorter._qt.face_list import FaceList, describe_faces
from albumsorter._qt.face_panel import FaceDetail
from albumsorter._qt.face_scoring import FaceAdder
from albumsorter._qt.photo_canvas import ZOOM_STEP, PhotoCanvas
from albumsorter._qt.photo_model import THUMBNAIL_ROLE, PhotoModel, display
from albumsorter._qt.shortcuts import VIEWER_COMMANDS, bind_keys
from albumsorter._qt.tasks import TaskRunner
from albumsorter._qt.thumbnails import ThumbnailCache, load_image
from albumsorter.core.catalog import PICK_NONE, PICK_PICKED, PICK_REJECTED, STATUS_ERROR, PhotoRecord
from albumsorter.core.classes import CLASSES_8
from albumsorter.core.subjects import Strictness

VIEW_MAX_SIDE = 2560
IMAGE_LANE = "viewer-image"
RECORD_QUERY = "viewer-record"  # the read key: stepping quickly through photos reads only the newest one
ADD_HINT = "Drag a box around the face the detector missed (Esc: stop)"


class Viewer(QWidget):
    """Shows model row `row`; `closed` asks the window to go back to the grid. `record_loaded(photo id)` fires
    when the photo's faces have been read (after opening it and after every change to it). `pick_requested(state)`
    and `rating_requested(stars)` come from the buttons; `message(str)` is for the status bar."""

    closed = Signal()
    record_loaded = Signal(int)  # photo id
    pick_requested = Signal(int)
    rating_requested = Signal(int)
    message = Signal(str)

    def __init__(
        self,
        model: PhotoModel,
        thumbnails: ThumbnailCache,
        session: CatalogSession,
        runner: TaskRunner,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("Viewer")
        self.model = model
        self.thumbnails = thumbnails
        self.session = session
        self.runner = runner
        runner.add_lane(IMAGE_LANE)
        self.adder = FaceAdder(runner, session, parent=self)
        self.adder.added.connect(self._face_added)
        self.adder.failed.connect(self._face_failed)
        self.record: PhotoRecord | None = None
        self.row = -1
        self.strictness = Strictness.NORMAL
        self._generation = 0  # of the photo shown; answers about an earlier one are ignored
        self._select_after_load: int | None = None  # face id to select once the faces are read again
        self._full_requested = False
        self.faces_loaded = False
        self.full_loaded = False
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self.canvas = PhotoCanvas()
        self.faces = FaceList()
        self.detail = FaceDetail()
        self._build_header()
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.faces, 1)
        side_layout.addWidget(self.detail)
        side.setMinimumWidth(240)
        self.splitter = QSplitter()
        self.splitter.addWidget(self.canvas)
        self.splitter.addWidget(side)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setSizes([800, 270])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(self.header)
        layout.addLayout(self.tools)
        layout.addWidget(self.splitter, 1)

        for source in (self.canvas, self.faces, self.detail):
            source.correction_requested.connect(self.set_correction)
            source.ignore_requested.connect(self.set_ignored)
            source.remove_requested.connect(self.remove_face)
        self.canvas.face_selected.connect(self._select_face)
        self.canvas.face_drawn.connect(self._face_drawn)
        self.canvas.view_changed.connect(self._view_changed)
        self.faces.face_selected.connect(self._select_face)
        self.faces.face_activated.connect(self._zoom_to_face)
        self.detail.zoom_requested.connect(lambda: self._zoom_to_face(self.canvas.selected))
        bind_keys(self, VIEWER_COMMANDS, self._key_handlers())

        model.modelReset.connect(self._model_changed)
        model.rowsRemoved.connect(self._model_changed)
        model.rowsInserted.connect(self._model_changed)
        model.dataChanged.connect(self._data_changed)
        session.catalog_changed.connect(self._catalog_changed)

    def _build_header(self) -> None:
        def button(text: str, tip: str, checkable: bool = False) -> QToolButton:
            b = QToolButton()
            b.setText(text)
            b.setToolTip(tip)
            b.setCheckable(checkable)
            b.setAutoRaise(True)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            return b

        self.back = button("◀ Grid", "Back to the grid (Esc)")
        self.back.clicked.connect(self.closed.emit)
        self.title = QLabel()
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # A long name and face summary never make the window wider: the title is cut (its tooltip has the path).
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.position = QLabel()
        self.header = QHBoxLayout()
        self.header.setContentsMargins(4, 2, 4, 0)
        self.header.addWidget(self.back)
        self.header.addWidget(self.title, 1)
        self.header.addWidget(self.position)

        self.pick_button = button("✔ Pick", "Pick this photo (P); again to unflag", checkable=True)
        self.reject_button = button("✖ Reject", "Reject this photo (X); again to unflag", checkable=True)
        self.pick_button.clicked.connect(lambda on: self.pick_requested.emit(PICK_PICKED if on else PICK_NONE))
        self.reject_button.clicked.connect(lambda on: self.pick_requested.emit(PICK_REJECTED if on else PICK_NONE))
        self.star_buttons = []
        for n in range(1, 6):
            b = button("☆", f"{n} star{'s' if n > 1 else ''} (key {n}; 0 clears)")
            b.clicked.connect(
                lambda _=False, n=n: self.rating_requested.emit(0 if self.record and self.record.rating == n else n)
            )
            self.star_buttons.append(b)
        self.add_button = button("+ Face", "Add a face the detector missed: drag a box around it (A)", checkable=True)
        self.add_button.toggled.connect(self.set_add_mode)
        # One zoom button: it shows the zoom and offers the zoom steps (keys, wheel and pinch do the same).
        self.zoom_button = button("Fit", "Zoom: the mouse wheel, a pinch, + and -, Z (fit / 100 %), Shift+Z (the selected face)")
        self.zoom_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        zoom_menu = QMenu(self.zoom_button)
        for text, key, do in (
            ("Fit the window", "Z", self.canvas.fit),
            ("100 %", "Z", self.canvas.actual_size),
            ("Zoom to the selected face", "Shift+Z", lambda: self._zoom_to_face(self.canvas.selected)),
            ("Zoom in", "+", lambda: self.canvas.zoom_by(ZOOM_STEP)),
            ("Zoom out", "-", lambda: self.canvas.zoom_by(1 / ZOOM_STEP)),
        ):
            act = zoom_menu.addAction(f"{text}\t{key}")
            act.triggered.connect(lambda _=False, do=do: do())
        self.zoom_button.setMenu(zoom_menu)
        self.zoom_button.setMinimumWidth(60)
        self.tools = QHBoxLayout()
        self.tools.setContentsMargins(4, 0, 4, 2)
        self.tools.setSpacing(2)
        for w in (self.pick_button, self.reject_button, None, *self.star_buttons, None, self.add_button):
            if w is None:
                self.tools.addSpacing(10)
            else:
                self.tools.addWidget(w)
        self.tools.addStretch(1)
        self.tools.addWidget(self.zoom_button)

    def _key_handlers(self) -> dict:
        handlers = {
            "next-photo": lambda: self.step(1),
            "previous-photo": lambda: self.step(-1),
            "first-photo": lambda: self.show_row(0),
            "last-photo": lambda: self.show_row(self.model.rowCount() - 1),
            "back-to-grid": self._escape,
            "toggle-faces": self.toggle_faces,
            "zoom-photo-in": lambda: self.canvas.zoom_by(ZOOM_STEP),
            "zoom-photo-out": lambda: self.canvas.zoom_by(1 / ZOOM_STEP),
            "zoom-fit": self.canvas.toggle_fit,
            "zoom-face": lambda: self._zoom_to_face(self.canvas.selected),
            "pan-left": lambda: self.canvas.pan_by(self.canvas.width() / 4, 0),
            "pan-right": lambda: self.canvas.pan_by(-self.canvas.width() / 4, 0),
            "pan-up": lambda: self.canvas.pan_by(0, self.canvas.height() / 4),
            "pan-down": lambda: self.canvas.pan_by(0, -self.canvas.height() / 4),
            "next-face": lambda: self.step_face(1),
            "previous-face": lambda: self.step_face(-1),
            "expression-model": lambda: self.correct_selected(None),
            "ignore-face": self.toggle_ignore_selected,
            "add-face": lambda: self.add_button.setChecked(not self.add_button.isChecked()),
            "remove-face": self.remove_selected,
        }
        for label in CLASSES_8:
            handlers[f"expression-{label}"] = lambda label=label: self.correct_selected(label)
        return handlers

    # --- navigation ---

    def show_photo(self, photo_id: int) -> None:
        row = self.model.row_of(photo_id)
        if row is not None:
            self.show_row(row)

    def show_row(self, row: int) -> None:
        """Show at once what the grid knows (its record and thumbnail); the faces and the full photo follow."""
        n = self.model.rowCount()
        self._generation += 1
        self.add_button.setChecked(False)
        self.canvas.reset_view()
        if n == 0:
            self.row, self.record = -1, None
            self.canvas.set_photo(None, 0, [], "No photos match the filters.")
            self._show_faces([], loading=False)
            self.title.setText("")
            self.position.setText("")
            return
        row = max(0, min(row, n - 1))
        rec = self.model.record(row)
        self.row = row
        self.record = rec
        self.faces_loaded = False
        self.full_loaded = False
        self._full_requested = False
        thumb = self.thumbnails.pixmap(rec.path)
        message = "" if thumb is not None else "Loading…"
        if rec.status == STATUS_ERROR:
            message = f"This photo could not be read:\n{rec.error}"
        self.canvas.set_photo(thumb, rec.width or 0, [], message, rec.height)
        self.faces.set_image(thumb, rec.width or 0)
        self._show_faces([], loading=True)
        self._update_header()
        self._read_record(rec.id)
        if rec.status != STATUS_ERROR:
            self._load_image(self._wanted_side(), "photo")

    def step(self, delta: int) -> None:
        if self.model.rowCount():
            self.show_row(max(0, min(self.row + delta, self.model.rowCount() - 1)))

    def toggle_faces(self) -> None:
        self.canvas.show_faces = not self.canvas.show_faces
        self.canvas.update()

    def current_id(self) -> int | None:
        return self.record.id if self.record else None

    def step_face(self, delta: int) -> None:
        order = self.faces.rows_in_order()  # the list's order: "not smiling first" walks the problems first
        if order:
            cur = self.canvas.selected
            pos = order.index(cur) if cur in order else (-1 if delta > 0 else 0)
            self._select_face(order[(pos + delta) % len(order)])

    def set_strictness(self, strictness: Strictness) -> None:
        """How strictly a smile is judged (the filter panel's choice): the smile count and "uncertain" follow."""
        self.strictness = strictness
        self.canvas.set_strictness(strictness)
        self._show_faces(self.canvas.faces)
        self._update_header()

    # --- edits ---

    def selected_face(self):
        faces = self.canvas.faces
        i = self.canvas.selected if self.canvas.selected >= 0 else (0 if len(faces) == 1 else -1)
        return faces[i] if 0 <= i < len(faces) else None

    def correct_selected(self, label: str | None) -> None:
        """Keyboard correction: the selected face (or the only face) gets `label` (None: the model's)."""
        face = self.selected_face()
        if face is not None:
            self.set_correction(face.id, label)

    def toggle_ignore_selected(self) -> None:
        face = self.selected_face()
        if face is not None:
            self.set_ignored(face.id, not face.ignored)

    def remove_selected(self) -> None:
        face = self.selected_face()
        if face is not None and face.manual:
            self.remove_face(face.id)

    def set_correction(self, face_id: int, label: str | None) -> None:
        if self.record is not None:
            self._select_after_load = face_id
            self.session.set_correction(self.record.id, face_id, label)

    def set_ignored(self, face_id: int, ignored: bool) -> None:
        if self.record is not None:
            self._select_after_load = face_id
            self.session.set_ignored(self.record.id, face_id, ignored)

    def remove_face(self, face_id: int) -> None:
        if self.record is not None:
            self.session.remove_face(self.record.id, face_id)

    def set_add_mode(self, on: bool) -> None:
        if self.add_button.isChecked() != on:
            self.add_button.setChecked(on)  # comes back here through toggled
            return
        can = on and self.record is not None and self.record.status != STATUS_ERROR
        self.canvas.set_add_mode(can, ADD_HINT)
        if on and not can:
            self.add_button.setChecked(False)

    def add_face(self, box: tuple[float, float, float, float]) -> None:
        """Score a face the user drew (photo pixels) and store it; shown dashed until it is."""
        if self.record is None:
            return
        self.canvas.pending.append(box)
        self.canvas.update()
        self.message.emit("Reading the face you drew…")
        self.adder.add(self.record.id, self.record.path, box)

    def reload_record(self) -> None:
        """Read the shown photo's record and faces again."""
        if self.record is not None:
            self._read_record(self.record.id)

    # --- internals ---

    def _escape(self) -> None:
        if self.add_button.isChecked():
            self.add_button.setChecked(False)
        else:
            self.closed.emit()

    def _face_drawn(self, box) -> None:
        self.add_button.setChecked(False)
        self.add_face(box)

    def _face_added(self, photo_id: int, face_id: int) -> None:
        if self.record is not None and photo_id == self.record.id:
            self._select_after_load = face_id
            self.canvas.pending = self.canvas.pending[1:]
        self.message.emit("Face added: it counts for the photo's smiles.")

    def _face_failed(self, photo_id: int, reason: str) -> None:
        if self.record is not None and photo_id == self.record.id:
            self.canvas.pending = self.canvas.pending[1:]
            self.canvas.update()
        self.message.emit(reason)

    def _load_image(self, side: int | None, key: str) -> None:
        assert self.record is not None
        generation, path = self._generation, self.record.path
        self.runner.submit(
            IMAGE_LANE,
            lambda _context: load_image(path, side),
            key=key,
            on_result=lambda image: self._loaded(generation, image),
            on_error=lambda exc: self._failed(generation, str(exc)),
        )

    def _read_record(self, photo_id: int) -> None:
        generation = self._generation
        self.session.read(RECORD_QUERY, lambda catalog: catalog.photo(photo_id), lambda full: self._record_read(generation, full))

    def _record_read(self, generation: int, full: PhotoRecord | None) -> None:
        if generation != self._generation or full is None:
            return  # another photo is shown now, or this one left the catalog
        keep = self._select_after_load
        if keep is None and 0 <= self.canvas.selected < len(self.canvas.faces):
            keep = self.canvas.faces[self.canvas.selected].id
        self._select_after_load = None
        self.record = full
        self.faces_loaded = True
        self.canvas.set_faces(full.faces)
        self._show_faces(full.faces)
        self._select_face(next((i for i, f in enumerate(full.faces) if f.id == keep), -1), centre=False)
        self._update_header()
        self.record_loaded.emit(full.id)

    def _show_faces(self, faces, loading: bool = False) -> None:
        self.faces.set_faces(faces, self.canvas.looks if faces else [])
        if loading:
            self.detail.show_face(None, None, "Reading the faces…")
        elif 0 <= self.canvas.selected < len(faces):
            self.detail.show_face(faces[self.canvas.selected], self.canvas.looks[self.canvas.selected])
        else:
            self.detail.show_face(None, None, "Click a face (or press ] ) to see it in full." if faces else "")

    def _catalog_changed(self, change: CatalogChange) -> None:
        if self.record is not None and self.isVisible() and change.touches(self.record.id):
            self.reload_record()

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
        faces = describe_faces(self.canvas.looks) if self.faces_loaded else "reading the faces…"
        self.title.setText(
            f"<b>{html.escape(display(rec.name))}</b> &nbsp; {html.escape(faces)}"
            + (f" &nbsp; · &nbsp; {rec.taken_at.replace('T', ' ')}" if rec.taken_at else "")
        )
        self.title.setToolTip(display(rec.path))
        self.position.setText(f"{self.row + 1} / {self.model.rowCount()}")
        self.pick_button.setChecked(rec.pick == PICK_PICKED)
        self.reject_button.setChecked(rec.pick == PICK_REJECTED)
        for n, b in enumerate(self.star_buttons, start=1):
            b.setText("★" if n <= rec.rating else "☆")
        self._view_changed()

    def _select_face(self, i: int, centre: bool = True) -> None:
        self.canvas.selected = i
        self.canvas.update()
        self.faces.set_selected(i)
        self._show_faces(self.canvas.faces)
        if centre and 0 <= i < len(self.canvas.faces) and not self.canvas.is_fitted():
            left, top, right, bottom = self.canvas.faces[i].box
            self.canvas.center_on(QPointF((left + right) / 2, (top + bottom) / 2))

    def _zoom_to_face(self, i: int) -> None:
        if 0 <= i < len(self.canvas.faces):
            self._select_face(i, centre=False)
            self.canvas.zoom_to_face(i)

    def _view_changed(self) -> None:
        fitted = self.canvas.is_fitted() or not self.canvas.has_image()
        self.zoom_button.setText("Fit" if fitted else f"{self.canvas.zoom_percent():.0f} %")
        # Zoomed past the decoded image's own pixels: decode the photo at full size, once.
        pix = self.canvas.pixmap
        if self.record is None or self._full_requested or pix is None or pix.isNull() or not self.canvas.full_width:
            return
        if (
            pix.width() < self.canvas.full_width
            and self.canvas.scale() * self.devicePixelRatioF() > 1.25 * pix.width() / self.canvas.full_width
        ):
            self._full_requested = True
            self._load_image(None, "photo-full")

    def _loaded(self, generation: int, image: QImage) -> None:
        if generation != self._generation or self.record is None:
            return
        current = self.canvas.pixmap
        if self.full_loaded and current is not None and current.width() >= image.width():
            return  # a sharper image is already shown
        self.full_loaded = True
        pixmap = QPixmap.fromImage(image)
        self.canvas.set_photo(pixmap, self.record.width or image.width(), self.canvas.faces, "", self.record.height)
        self.faces.set_image(pixmap, self.canvas.full_width)

    def _failed(self, generation: int, reason: str) -> None:
        if generation == self._generation:
            self.full_loaded = True
            self.canvas.set_photo(
                self.canvas.pixmap,
                self.canvas.full_width,
                self.canvas.faces,
                f"Could not open this photo:\n{reason}",
                self.canvas.full_height,
            )

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
        """The thumbnail arrived before the full photo: show it meanwhile. (Changes to the record itself come
        through the session's catalog_changed.)"""
        if self.record is None or not self.isVisible() or self.full_loaded:
            return
        row = self.model.row_of(self.record.id)
        if row is not None and top.row() <= row <= bottom.row() and roles and list(roles) == [THUMBNAIL_ROLE]:
            thumb = self.thumbnails.pixmap(self.record.path, request=False)
            if thumb is not None:
                self.canvas.set_photo(thumb, self.record.width or 0, self.canvas.faces, "", self.record.height)
                self.faces.set_image(thumb, self.canvas.full_width)
