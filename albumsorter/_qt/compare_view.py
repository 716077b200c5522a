"""The compare view (issue #11), like Lightroom's Survey: two to four photos side by side, usually the frames of one
burst, to choose the one to keep.

Every pane shows its photo with the faces boxed by their eyes (compare_pane.py), the group's keeper marked, and
Pick / Reject buttons. Zoom and pan are shared: zoom or move one photo and the others follow, each kept on its own
faces (a burst's frames are a little shifted), so the same eyes can be compared at any zoom. A double-click on a face,
F or the "Next Face" button zooms every photo to that face (F again: the next one, Shift+F the one before); Z fits
the photos again (or, when they fit, zooms to all their faces).

One pane is active (highlighted; click one, or ← / →): P, X and U flag it, 0-5 rate it, as in the grid. These keys
are taken here, before the window's own shortcuts, so they always act on the active photo. Esc goes back.

Nothing waits on the GUI thread: the photos' faces are read in the catalog session's read lane, the images decoded
in the compare lane of the task runner (the grid's thumbnail shows meanwhile); flags are the session's writes, and
the panes show them when the session reports the change.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeySequence, QPixmap
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from albumsorter._qt.catalog_session import CatalogChange, CatalogSession
from albumsorter._qt.compare_pane import ZOOM_STEP, ComparePane, SharedView
from albumsorter._qt.tasks import TaskRunner
from albumsorter._qt.thumbnails import ThumbnailCache, load_image
from albumsorter.core.catalog import PICK_NONE, PICK_PICKED, PICK_REJECTED, PhotoRecord

LANE = "compare-images"
RECORDS_QUERY = "compare-records"
MAX_PHOTOS = 4
IMAGE_SIDE = 2560  # decoded long side; a photo zoomed past it is decoded in full
FLAG_KEYS = {Qt.Key.Key_P: PICK_PICKED, Qt.Key.Key_X: PICK_REJECTED, Qt.Key.Key_U: PICK_NONE}
FLAG_WORDS = {PICK_PICKED: "Picked", PICK_REJECTED: "Rejected", PICK_NONE: "Unflagged"}


def read_records(ids: list[int]):
    """The photos with their faces, in the order asked (runs in the read lane); photos gone meanwhile are left out."""

    def read(catalog) -> list[PhotoRecord]:
        return [rec for rec in (catalog.photo(pid) for pid in ids) if rec is not None]

    return read


class CompareView(QWidget):
    """Signals: closed() (back to the grid), active_changed(photo id), loaded() once every photo's faces and image
    are shown, message(str) for the status bar."""

    closed = Signal()
    active_changed = Signal(int)
    loaded = Signal()
    message = Signal(str)

    def __init__(
        self, session: CatalogSession, runner: TaskRunner, thumbnails: ThumbnailCache, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("CompareView")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.session, self.runner, self.thumbnails = session, runner, thumbnails
        runner.add_lane(LANE)
        self.ids: list[int] = []
        self.records: dict[int, PhotoRecord] = {}
        self.panes: list[ComparePane] = []
        self.view = SharedView()
        self.active = 0
        self._generation = 0
        self._images: dict[int, int] = {}  # photo id -> long side of the image shown (0: the full photo)

        back = self._tool("◀ Grid", "Back to the grid (Esc)", self.closed.emit)
        self.title = QLabel()
        fit = self._tool("Fit", "Show the whole photos (Z)", lambda: self.set_view(SharedView()))
        faces = self._tool("Next Face", "Zoom every photo to the same face, one after another (F; or double-click a face)",
                           self.zoom_to_face)  # fmt: skip
        hint = QLabel("P / X / U flag the highlighted photo · ← → another · F a face · wheel or drag: all photos follow")
        hint.setObjectName("CompareHint")
        hint.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        for label in (self.title, hint):  # cut when the window is narrow, never making it wider
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        top = QHBoxLayout()
        top.setContentsMargins(4, 2, 4, 0)
        top.addWidget(back)
        top.addWidget(self.title, 2)
        top.addWidget(hint, 3)
        top.addWidget(fit)
        top.addWidget(faces)
        self.grid = QGridLayout()
        self.grid.setContentsMargins(4, 4, 4, 4)
        self.grid.setSpacing(6)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addLayout(self.grid, 1)
        session.catalog_changed.connect(self._catalog_changed)
        session.opened.connect(lambda _path: self.clear())

    def _tool(self, text: str, tip: str, slot) -> QToolButton:
        b = QToolButton()
        b.setText(text)
        b.setToolTip(tip)
        b.setAutoRaise(True)
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        b.clicked.connect(lambda _checked=False: slot())
        return b

    # --- what is compared ---

    def show_photos(self, photo_ids: list[int], title: str = "") -> None:
        """Compare these photos (the first MAX_PHOTOS; the first one active)."""
        self.clear()
        self.ids = list(dict.fromkeys(photo_ids))[:MAX_PHOTOS]
        self.title.setText(title or f"Comparing {len(self.ids)} photos")
        self.view, self.active = SharedView(), 0
        columns = 2 if len(self.ids) == 4 else max(1, len(self.ids))
        for i, _pid in enumerate(self.ids):
            pane = ComparePane(self)
            pane.activated.connect(lambda i=i: self.set_active(i))
            pane.pick_clicked.connect(self.set_pick)
            pane.view_wanted.connect(self.set_view)
            self.grid.addWidget(pane, i // columns, i % columns)
            self.panes.append(pane)
        self._read()

    def clear(self) -> None:
        self._generation += 1
        for pane in self.panes:
            self.grid.removeWidget(pane)
            pane.deleteLater()
        self.panes, self.ids, self.records, self._images = [], [], {}, {}

    def current_id(self) -> int | None:
        """The active photo."""
        return self.ids[self.active] if 0 <= self.active < len(self.ids) else None

    def is_loaded(self) -> bool:
        return bool(self.ids) and all(pid in self.records and pid in self._images for pid in self.ids)

    def _read(self) -> None:
        generation, ids = self._generation, list(self.ids)
        self.session.read(RECORDS_QUERY, read_records(ids), lambda recs: self._records_read(generation, recs))

    def _records_read(self, generation: int, records: list[PhotoRecord]) -> None:
        if generation != self._generation:
            return
        self.records = {rec.id: rec for rec in records}
        for pid, pane in zip(self.ids, self.panes):
            rec = self.records.get(pid)
            if rec is None:
                pane.photo.message = "This photo is no longer in the catalog."
                pane.photo.update()
                continue
            pane.set_record(rec)
            if pid not in self._images:
                self._show_thumbnail(pane, rec)
                self._load(pid, rec.path, IMAGE_SIDE)
        self.set_active(min(self.active, len(self.ids) - 1), announce=False)
        self.set_view(self.view)
        self._check_loaded()

    def _show_thumbnail(self, pane: ComparePane, rec: PhotoRecord) -> None:
        pixmap = self.thumbnails.pixmap(rec.path) if self.thumbnails is not None else None
        if pixmap is not None and not pixmap.isNull() and pane.photo.pixmap is None:
            pane.photo.pixmap = pixmap
            pane.photo.update()

    def _load(self, photo_id: int, path: str, side: int | None) -> None:
        generation = self._generation
        self.runner.submit(
            LANE,
            lambda _context: load_image(path, side),
            key=f"compare-{photo_id}-{side}",
            on_result=lambda image: self._image_loaded(generation, photo_id, side, image),
            on_error=lambda exc: self._image_failed(generation, photo_id, str(exc)),
        )

    def _image_loaded(self, generation: int, photo_id: int, side: int | None, image) -> None:
        if generation != self._generation or photo_id not in self.ids:
            return
        pane = self.panes[self.ids.index(photo_id)]
        pane.photo.pixmap = QPixmap.fromImage(image)
        pane.photo.message = ""
        pane.photo.update()
        self._images[photo_id] = side or 0
        self._check_loaded()

    def _image_failed(self, generation: int, photo_id: int, reason: str) -> None:
        if generation != self._generation or photo_id not in self.ids:
            return
        pane = self.panes[self.ids.index(photo_id)]
        pane.photo.message = f"Could not show this photo: {reason}"
        pane.photo.update()
        self._images[photo_id] = -1
        self._check_loaded()

    def _check_loaded(self) -> None:
        if self.is_loaded():
            self.loaded.emit()

    def _catalog_changed(self, change: CatalogChange) -> None:
        if self.ids and any(change.touches(pid) for pid in self.ids):
            self._read()

    # --- zoom, shared by every pane ---

    def set_view(self, view: SharedView) -> None:
        self.view = view
        for pane in self.panes:
            pane.photo.set_view(view)
        if view.zoom > 1.0001:
            self._load_sharper()

    def zoom_to_face(self, step: int = 1) -> None:
        """Every photo zoomed to the same face: the next one (left to right) of the highlighted photo."""
        if self.panes:
            self.set_view(self.panes[max(0, self.active)].photo.next_face_view(step))

    def zoom_to_faces(self) -> None:
        if self.panes:
            self.set_view(self.panes[max(0, self.active)].photo.faces_view())

    def zoom_by(self, factor: float) -> None:
        if self.panes:
            self.set_view(self.panes[max(0, self.active)].photo.zoomed(factor))

    def _load_sharper(self) -> None:
        """Zoomed past the decoded image: decode the full photo (once)."""
        for pid, pane in zip(self.ids, self.panes):
            side = self._images.get(pid)
            pix, rec = pane.photo.pixmap, self.records.get(pid)
            if side and rec is not None and pix is not None and rec.width and pane.photo.scale() > pix.width() / rec.width:
                self._images[pid] = 0
                self._load(pid, rec.path, None)

    # --- the active photo and its flags ---

    def set_active(self, i: int, announce: bool = True) -> None:
        if not self.panes:
            return
        self.active = max(0, min(i, len(self.panes) - 1))
        for k, pane in enumerate(self.panes):
            pane.set_active(k == self.active)
        pid = self.current_id()
        if announce and pid is not None:
            self.active_changed.emit(pid)

    def set_pick(self, photo_id: int, state: int) -> None:
        word = FLAG_WORDS.get(state, "Flagged")
        name = self.records[photo_id].name if photo_id in self.records else "the photo"
        self.session.set_pick([photo_id], state, lambda _n: self.message.emit(f"{word} {name}"))

    def set_rating(self, photo_id: int, stars: int) -> None:
        self.session.set_rating(
            [photo_id], stars, lambda _n: self.message.emit(f"Rated {stars} ★" if stars else "Rating cleared")
        )

    # --- keys ---

    def event(self, event) -> bool:
        """Take P / X / U and the digits before the window's shortcuts see them: here they act on the active photo."""
        if event.type() == QEvent.Type.ShortcutOverride and self._own_key(event):
            event.accept()
            return True
        return super().event(event)

    def _own_key(self, event) -> bool:
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        return mods == Qt.KeyboardModifier.NoModifier and (
            event.key() in FLAG_KEYS or Qt.Key.Key_0 <= event.key() <= Qt.Key.Key_5
        )

    def keyPressEvent(self, event) -> None:
        key, pid = event.key(), self.current_id()
        if key in FLAG_KEYS and self._own_key(event) and pid is not None:
            self.set_pick(pid, FLAG_KEYS[key])
        elif Qt.Key.Key_0 <= key <= Qt.Key.Key_5 and self._own_key(event) and pid is not None:
            self.set_rating(pid, key - Qt.Key.Key_0)
        elif key in (Qt.Key.Key_Right, Qt.Key.Key_Tab):
            self.set_active((self.active + 1) % max(1, len(self.panes)))
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Backtab):
            self.set_active((self.active - 1) % max(1, len(self.panes)))
        elif key == Qt.Key.Key_Escape:
            self.closed.emit()
        elif key == Qt.Key.Key_Z and self.panes:
            self.set_view(SharedView()) if self.view.zoom > 1.0001 else self.zoom_to_faces()
        elif key == Qt.Key.Key_F and self.panes:
            self.zoom_to_face(-1 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1)
        elif event.matches(QKeySequence.StandardKey.ZoomIn) or key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_by(ZOOM_STEP)
        elif event.matches(QKeySequence.StandardKey.ZoomOut) or key == Qt.Key.Key_Minus:
            self.zoom_by(1 / ZOOM_STEP)
        else:
            super().keyPressEvent(event)

    def focusNextPrevChild(self, next_: bool) -> bool:
        return False  # Tab moves between the photos, not the buttons
