"""The viewer: one photo upright, each face boxed with its label (photo_canvas.py), and a bar chart of its 8
probabilities (face_panel.py).

Left/Right (and Home/End) move through the filtered set (the grid's model); Esc goes back to the grid;
right-click a face (on the photo or in the side panel), or `[`/`]` then a digit, to set its expression; the
keys come from the shortcut table. Nothing here waits on the GUI thread: the photo's faces are read in the
catalog session's read lane, and the photo is decoded with core.decoding in the viewer's lane of the task
runner (the thumbnail shows meanwhile), exactly as indexing decoded it, so the stored boxes (upright
full-resolution pixels) line up. A correction is a catalog write; the viewer shows it when the session
reports the change, like every other listener.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QScrollArea, QSplitter, QToolButton, QVBoxLayout, QWidget

from albumsorter._qt.catalog_session import CatalogChange, CatalogSession
from albumsorter._qt.face_panel import ProbabilityPanel
from albumsorter._qt.photo_canvas import PhotoCanvas
from albumsorter._qt.photo_model import THUMBNAIL_ROLE, PhotoModel, display
from albumsorter._qt.shortcuts import VIEWER_COMMANDS, bind_keys
from albumsorter._qt.tasks import TaskRunner
from albumsorter._qt.thumbnails import ThumbnailCache, load_image
from albumsorter.core.catalog import PICK_PICKED, PICK_REJECTED, STATUS_ERROR, PhotoRecord
from albumsorter.core.classes import CLASSES_8

VIEW_MAX_SIDE = 2560
IMAGE_LANE = "viewer-image"
RECORD_QUERY = "viewer-record"  # the read key: stepping quickly through photos reads only the newest one


class Viewer(QWidget):
    """Shows model row `row`; `closed` asks the window to go back to the grid. `record_loaded(photo id)` fires
    when the photo's faces have been read (after opening it and after every change to it)."""

    closed = Signal()
    record_loaded = Signal(int)  # photo id

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
        self.record: PhotoRecord | None = None
        self.row = -1
        self._generation = 0  # of the photo shown; answers about an earlier one are ignored
        self.faces_loaded = False
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
        bind_keys(self, VIEWER_COMMANDS, self._key_handlers())

        model.modelReset.connect(self._model_changed)
        model.rowsRemoved.connect(self._model_changed)
        model.rowsInserted.connect(self._model_changed)
        model.dataChanged.connect(self._data_changed)
        session.catalog_changed.connect(self._catalog_changed)

    def _key_handlers(self) -> dict:
        handlers = {
            "next-photo": lambda: self.step(1),
            "previous-photo": lambda: self.step(-1),
            "first-photo": lambda: self.show_row(0),
            "last-photo": lambda: self.show_row(self.model.rowCount() - 1),
            "back-to-grid": self.closed.emit,
            "toggle-faces": self.toggle_faces,
            "next-face": lambda: self.step_face(1),
            "previous-face": lambda: self.step_face(-1),
            "expression-model": lambda: self.correct_selected(None),
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
        self.record = rec
        self.faces_loaded = False
        self.full_loaded = False
        thumb = self.thumbnails.pixmap(rec.path)
        message = "" if thumb is not None else "Loading…"
        if rec.status == STATUS_ERROR:
            message = f"This photo could not be read:\n{rec.error}"
        self.canvas.set_photo(thumb, rec.width or 0, [], message)
        self.panel.set_faces([], loading=True)
        self._update_header()
        self._read_record(rec.id)
        if rec.status != STATUS_ERROR:
            generation, path, side = self._generation, rec.path, self._wanted_side()
            self.runner.submit(
                IMAGE_LANE,
                lambda _context: load_image(path, side),
                key="photo",
                on_result=lambda image: self._loaded(generation, image),
                on_error=lambda exc: self._failed(generation, str(exc)),
            )

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
        if self.record is not None:
            self.session.set_correction(self.record.id, face_id, label)

    def reload_record(self) -> None:
        """Read the shown photo's record and faces again."""
        if self.record is not None:
            self._read_record(self.record.id)

    # --- internals ---

    def _read_record(self, photo_id: int) -> None:
        generation = self._generation
        self.session.read(RECORD_QUERY, lambda catalog: catalog.photo(photo_id), lambda full: self._record_read(generation, full))

    def _record_read(self, generation: int, full: PhotoRecord | None) -> None:
        if generation != self._generation or full is None:
            return  # another photo is shown now, or this one left the catalog
        self.record = full
        self.faces_loaded = True
        self.canvas.set_faces(full.faces)
        self.panel.set_faces(full.faces)
        self._update_header()
        self.record_loaded.emit(full.id)

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
        self.title.setText(
            f"<b>{html.escape(display(rec.name))}</b> &nbsp; {rec.face_count} face{'s' if rec.face_count != 1 else ''}, {rec.smile_count} smiling"
            + (f" &nbsp; · &nbsp; {rec.taken_at.replace('T', ' ')}" if rec.taken_at else "")
        )
        self.title.setToolTip(display(rec.path))
        self.position.setText(f"{self.row + 1} / {self.model.rowCount()}")
        self.pick_label.setText({PICK_PICKED: "✔ Picked", PICK_REJECTED: "✖ Rejected"}.get(rec.pick, "Unflagged"))

    def _select_face(self, i: int) -> None:
        self.canvas.selected = i
        self.panel.selected = i
        self.canvas.update()
        self.panel.update()

    def _loaded(self, generation: int, image: QImage) -> None:
        if generation != self._generation or self.record is None:
            return
        self.full_loaded = True
        self.canvas.set_photo(QPixmap.fromImage(image), self.record.width or image.width(), self.canvas.faces)

    def _failed(self, generation: int, reason: str) -> None:
        if generation == self._generation:
            self.full_loaded = True
            self.canvas.set_photo(
                self.canvas.pixmap, self.canvas.full_width, self.canvas.faces, f"Could not open this photo:\n{reason}"
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
                self.canvas.set_photo(thumb, self.record.width or 0, self.canvas.faces)
