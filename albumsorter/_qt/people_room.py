"""People in the window (issue #14): the People dock, the People menu (Find People), and the person filter.

* Find People runs `core.people.update.update_people_in_catalog` in the task runner's "people" lane: the lane's
  thread only waits for worker processes (dlib holds the GIL, so the embeddings never run in this process) and
  writes the results on a connection of its own, so the window never waits. Progress shows in the dock.
* The dock's rows and their "maybe the same person" question are read in the session's read lane; naming,
  merging and answering questions are the session's writes (so "write sidecars as I work" also writes the
  person's name into the face regions of their photos).
* Selecting a person adds `PhotoFilter.person` to whatever the filter panel says: `apply_filter` (the window's own
  handler for a new filter) is called with the panel's filter plus the person, also after every change of the
  panel's filters (this room listens to `filter_changed` after the window does).
"""

from __future__ import annotations

import dataclasses
import html
import io
import itertools
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QImage
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QMessageBox

from albumsorter._qt.catalog_session import CatalogChange, CatalogSession
from albumsorter._qt.people_panel import FACE_SIDE, PeoplePanel, person_title
from albumsorter._qt.tasks import Task, TaskContext, TaskRunner
from albumsorter.core.catalog import Catalog, PhotoFilter
from albumsorter.core.catalog.people_store import PersonSummary, SampleFace

LANE = "people"  # the Find People run (one at a time)
FACES_LANE = "people-faces"  # face thumbnails of the dock
PEOPLE_QUERY, QUESTION_QUERY = "people-list", "people-question"
MAX_FACE_IMAGES = 3000


def read_people(catalog: Catalog) -> list[PersonSummary]:
    return catalog.people(samples=5)


@dataclass(frozen=True)
class Question:
    """A "maybe the same person" to ask: the suggestion, the question in words, and faces to show with it."""

    hint: Any  # clustering.Suggestion
    text: str
    faces: tuple[SampleFace, ...]


def read_question(catalog: Catalog) -> Question | None:
    """The closest "maybe the same person", put as a question (runs in the read lane)."""
    from albumsorter.core.people.update import suggestions

    hints = suggestions(catalog)
    if not hints:
        return None
    people = {p.id: p for p in catalog.people(samples=2)}
    for hint in hints:
        if hint.kind == "people" and hint.a in people and hint.b in people:
            a, b = people[hint.a], people[hint.b]
            text = f"Maybe the same person: <b>{html.escape(person_title(a))}</b> and <b>{html.escape(person_title(b))}</b>?"
            return Question(hint, text, (*a.samples[:2], *b.samples[:2]))
        face = catalog.face(hint.a) if hint.kind == "face" else None
        photo = catalog.photo(face.photo_id) if face is not None else None
        if face is not None and photo is not None and hint.b in people:
            person = people[hint.b]
            sample = SampleFace(face.id, face.photo_id, photo.path, face.box, "auto")
            text = f"Is the first face <b>{html.escape(person_title(person))}</b>, like the others?"
            return Question(hint, text, (sample, *person.samples[:2]))
    return None


def load_faces(path: str, samples: list[SampleFace]) -> dict[int, QImage]:
    """Square face crops of one photo, decoded once at a size that shows its smallest face sharp enough."""
    from PIL import Image

    from albumsorter.core.decoding import decode, read_file

    data = read_file(path)
    with Image.open(io.BytesIO(data)) as probe:
        long_side = max(probe.size)
    narrowest = min(max(1.0, s.box[2] - s.box[0]) for s in samples)
    side = min(long_side, max(512, int(long_side * FACE_SIDE * 2.5 / narrowest)))
    photo = decode(data, side if side < long_side else None)
    image = Image.fromarray(photo.rgb)
    out = {}
    for s in samples:
        left, top, right, bottom = (v / photo.scale for v in s.box)
        cx, cy, half = (left + right) / 2, (top + bottom) / 2, max(right - left, bottom - top) * 0.65
        crop = image.crop((int(cx - half), int(cy - half), int(cx + half), int(cy + half)))
        crop = crop.resize((FACE_SIDE * 2, FACE_SIDE * 2), Image.Resampling.BILINEAR)
        rgb = crop.tobytes()
        out[s.face_id] = QImage(rgb, crop.width, crop.height, 3 * crop.width, QImage.Format.Format_RGB888).copy()
    return out


class PeopleRoom(QObject):
    """The People dock, menu and person filter of `window`. Signals: finished(summary or None when it failed)."""

    finished = Signal(object)

    def __init__(
        self,
        window: QMainWindow,
        runner: TaskRunner,
        session: CatalogSession,
        filter_panel: Any,  # FilterPanel: filter_changed(PhotoFilter) and photo_filter()
        apply_filter: Callable[[PhotoFilter], None],
        workers: int | None = None,
    ) -> None:
        super().__init__(window)
        self.window, self.runner, self.session = window, runner, session
        self.filter_panel, self.apply_filter = filter_panel, apply_filter
        self.workers = workers
        runner.add_lane(LANE)
        runner.add_lane(FACES_LANE)
        self.task: Task | None = None
        self._task_path = None
        self.person: int | None = None
        self.last_summary = None
        self._undo = None
        self._images: OrderedDict[int, QImage] = OrderedDict()
        self._asked: set[int] = set()  # face ids whose image was asked for
        self._reads = itertools.count()  # keys of reads that must not replace each other

        self.panel = PeoplePanel()
        self.dock = QDockWidget("People", window)
        self.dock.setObjectName("PeopleDock")
        self.dock.setWidget(self.panel)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        # Hidden until asked for (People menu, Find People): a first window at 1366 px keeps its grid wide; a returning
        # user's layout (restored after the rooms are built) shows it again.
        self.dock.hide()
        self.dock.visibilityChanged.connect(lambda visible: self.refresh() if visible else None)
        self.menu, self.find_action = self._build_menu(window)
        self.find_action.setEnabled(False)  # until a catalog is open

        self.panel.find_requested.connect(self.find_people)
        self.panel.cancel_requested.connect(self.cancel)
        self.panel.person_selected.connect(self.set_person)
        self.panel.rename_requested.connect(self.rename)
        self.panel.merge_requested.connect(self.merge)
        self.panel.suggestion_answered.connect(self.answer)
        self.panel.undo_requested.connect(self.undo_merge)
        filter_panel.filter_changed.connect(self._panel_filter_changed)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(400)  # a burst of edits (indexing batches, P pressed quickly) reads once
        self._refresh_timer.timeout.connect(self.refresh)
        session.opened.connect(self._catalog_opened)
        session.catalog_changed.connect(lambda _change: self._refresh_timer.start())

    def _build_menu(self, window: QMainWindow) -> tuple[QMenu, QAction]:
        menu = QMenu("&People", window)
        find = menu.addAction("&Find People")
        find.setStatusTip("Recognise the same person across photos, in the background")
        find.triggered.connect(self.find_people)
        toggle = self.dock.toggleViewAction()
        toggle.setText("People &Panel")
        menu.addAction(toggle)
        bar = window.menuBar()
        help_menu = next((a for a in bar.actions() if a.text().replace("&", "") == "Help"), None)
        if help_menu is not None:
            bar.insertMenu(help_menu, menu)
        else:
            bar.addMenu(menu)
        return menu, find

    # --- Find People ---

    def is_running(self) -> bool:
        return self.task is not None

    def find_people(self) -> bool:
        """Start the people pass on the open catalog (returns False when none is open or one is running)."""
        path = self.session.path
        if path is None or self.task is not None:
            return False
        from albumsorter.core.people.update import update_people_in_catalog

        workers = self.workers

        def run(context: TaskContext):
            return update_people_in_catalog(path, workers, lambda: context.cancelled, context.report)

        self.dock.show()
        self.panel.show_progress(0, 0, "Starting…")
        self._task_path = path
        self.find_action.setEnabled(False)
        self.dock.show()
        self.task = self.runner.submit(
            LANE, run, on_progress=self._progress, on_result=self._finished, on_error=self._failed, on_done=self._done
        )
        return True

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.panel.show_progress(0, 0, "Stopping…")

    def _progress(self, progress) -> None:
        if progress.stage == "clustering":
            self.panel.show_progress(0, 0, "Grouping faces into people…")
        else:
            self.panel.show_progress(
                progress.photos_done, progress.photos_total, f"%v of %m photos · {progress.faces_embedded} faces"
            )

    def _finished(self, summary) -> None:
        self.last_summary = summary
        words = f"{summary.people} people, {summary.faces_assigned} faces recognised"
        if summary.cancelled:
            words = f"Stopped: {summary.faces_embedded} faces done, the rest next time"
        self.window.statusBar().showMessage(words, 10000)
        self.session.announce(CatalogChange.everything())  # names on faces, the person filter's photos
        self.refresh(suggestion=True)
        self.finished.emit(summary)

    def _failed(self, exc: Exception) -> None:
        self.last_summary = None
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Find People",
            f"People could not be found: {exc}",
            QMessageBox.StandardButton.Ok,
            self.window,
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.finished.emit(None)

    def _done(self) -> None:
        self.task = None
        self.find_action.setEnabled(self.session.path is not None)
        self.panel.show_progress(None, None)

    # --- showing ---

    def _catalog_opened(self, path) -> None:
        if self.task is not None and path != self._task_path:
            self.cancel()  # its results belong to the catalog no longer shown (kept there for the next run)
        self.find_action.setEnabled(path is not None and self.task is None)
        self._undo = None
        self.panel.show_undo(None)
        self.panel.set_suggestion(None, "")
        if self.person is not None:
            self.panel.clear_selection()
        self.refresh(suggestion=True)

    def refresh(self, suggestion: bool = False) -> None:
        """Read the people again (and the suggestion, if asked); shown when the answers arrive."""
        if self.session.path is None:
            self.panel.set_people([])
            return
        if not self.dock.isVisible() and not suggestion:
            return  # read when it is shown
        self.session.read(PEOPLE_QUERY, read_people, self._show_people)
        if suggestion:
            self.session.read(QUESTION_QUERY, read_question, self._show_question)

    def _show_people(self, people: list[PersonSummary]) -> None:
        self.panel.set_people(people)
        self._want_faces([sample for person in people for sample in person.samples])

    def _want_faces(self, samples: list[SampleFace]) -> None:
        """Face thumbnails: from memory, or cut from their photos in the faces lane (each photo decoded once)."""
        wanted: dict[str, list[SampleFace]] = defaultdict(list)
        for sample in samples:
            if sample.face_id in self._images:
                self.panel.set_face_image(sample.face_id, self._images[sample.face_id])
            elif sample.face_id not in self._asked:
                wanted[sample.path].append(sample)
        for path, group in wanted.items():
            self._asked.update(s.face_id for s in group)
            self.runner.submit(
                FACES_LANE, lambda _c, p=path, g=group: load_faces(p, g), on_result=self._faces_loaded, on_error=lambda _exc: None
            )

    def _faces_loaded(self, images: dict[int, QImage]) -> None:
        for face_id, image in images.items():
            self._images[face_id] = image
            self.panel.set_face_image(face_id, image)
        while len(self._images) > MAX_FACE_IMAGES:
            face_id = self._images.popitem(last=False)[0]
            self._asked.discard(face_id)
            self.panel.faces.pop(face_id, None)

    def _show_question(self, question: Question | None) -> None:
        if question is None:
            self.panel.set_suggestion(None, "")
            return
        self.panel.set_suggestion(question.hint, question.text, [s.face_id for s in question.faces])
        self._want_faces(list(question.faces))

    # --- the person filter ---

    def set_person(self, person_id: int | None) -> None:
        """Show only the photos of this person (None: everyone), with the filter panel's filters."""
        self.person = person_id
        self.apply_filter(self.combined(self.filter_panel.photo_filter()))

    def clear_person(self) -> None:
        self.panel.clear_selection()

    def combined(self, flt: PhotoFilter) -> PhotoFilter:
        return dataclasses.replace(flt, person=self.person)

    def _panel_filter_changed(self, flt: PhotoFilter) -> None:
        if self.person is not None:  # the window applied the panel's filter alone; add the person
            self.apply_filter(self.combined(flt))

    # --- what the user says ---

    def _write_for_people(
        self, person_ids: list[int], fn: Callable[[Catalog], Any], on_result: Callable[[Any], None] | None = None
    ) -> None:
        """A write that changes what these people's photos say (names in sidecars): their photos are read first,
        so the change (and the sidecars, with that setting on) covers them."""

        def photos(catalog: Catalog) -> list[int]:
            return sorted({pid for person in person_ids for pid in catalog.person_photo_ids(person)})

        def write(photo_ids: list[int]) -> None:
            self.session.write(fn, CatalogChange.of(photo_ids), on_result)

        self.session.read(f"people-photos-{next(self._reads)}", photos, write)

    def rename(self, person_id: int, name: str) -> None:
        self._write_for_people(
            [person_id], lambda catalog: catalog.name_person(person_id, name), lambda _p: self.refresh(suggestion=True)
        )

    def merge(self, kept: int, merged: int) -> None:
        """`merged` is the same person as `kept` (dropped on it, or a confirmed suggestion); two people seen in one
        photo together are not merged (the people pass would split them again), the user is told why."""
        names = {p.id: person_title(p) for p in self.panel.people}
        a, b = html.escape(names.get(merged, str(merged))), html.escape(names.get(kept, str(kept)))

        def done(undo) -> None:
            self._undo = undo
            if undo is not None:
                self.panel.show_undo(f"Merged {a} into {b}.")
            self.refresh(suggestion=True)

        def checked(together: str | None) -> None:
            if together is not None:
                self.panel.show_undo(None)
                self.window.statusBar().showMessage(
                    f"Not merged: both are in {Path(together).name}, so they are two people.", 15000
                )
                return
            self._write_for_people([kept, merged], lambda catalog: catalog.merge_people(kept, merged), done)

        self.session.read(f"people-check-{next(self._reads)}", lambda catalog: catalog.people_share_photo(kept, merged), checked)

    def undo_merge(self) -> None:
        undo, self._undo = self._undo, None
        if undo is not None:
            self._write_for_people(
                [undo.kept], lambda catalog: catalog.undo_merge(undo), lambda _r: self.refresh(suggestion=True)
            )

    def answer(self, hint, same: bool) -> None:
        """The user's answer to "maybe the same person"."""
        if hint.kind == "people":
            if same:
                self.merge(hint.a, hint.b)
            else:
                self.session.write(
                    lambda c: c.mark_people_distinct(hint.a, hint.b), CatalogChange(), lambda _r: self.refresh(suggestion=True)
                )
            return
        face_id, person = hint.a, hint.b
        if same:
            self._write_for_people(
                [person], lambda c: c.move_face_to_person(face_id, person), lambda _r: self.refresh(suggestion=True)
            )
        else:  # "not this person" for a face without one: remembered, so it is not asked again
            self.session.write(
                lambda c: c.reject_face_person(face_id, person), CatalogChange(), lambda _r: self.refresh(suggestion=True)
            )
