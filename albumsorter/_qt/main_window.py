"""The main window: a toolbar (open, pick, reject, rate, export), grid (or viewer) in the middle, filters on the
left, errors below, indexing progress on top, photos / picks / selection in the status bar (the developer's
details are in Help → About). This module only wires the rooms together:

  tasks.TaskRunner            every piece of background work, in lanes, callbacks on the GUI thread
  catalog_session             reads and writes of the catalog off the GUI thread; one catalog_changed signal
  photo_model / grid          the grid and its rows        viewer      one photo with its faces
  indexing                    the index run and its bar    actions     menus and keys (from shortcuts.py)
  status_bar / errors_panel   counts, errors               export_dialog  copying the picks

The window holds no catalog connection and runs no query itself: it asks the session and reacts to what
comes back.
"""

from __future__ import annotations

import contextlib
import html
from pathlib import Path

from PySide6.QtCore import QByteArray, QModelIndex, QSize, Qt, Signal
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox, QStackedWidget, QVBoxLayout, QWidget

from albumsorter._qt.about import show_about
from albumsorter._qt.actions import WindowActions, show_shortcuts
from albumsorter._qt.best_shot_room import BestShotRoom
from albumsorter._qt.catalog_session import CatalogChange, CatalogSession
from albumsorter._qt.errors_panel import ErrorsPanel
from albumsorter._qt.export_dialog import ExportJob, ExportNotice
from albumsorter._qt.filter_panel import FilterPanel
from albumsorter._qt.grid import GridView
from albumsorter._qt.improve_room import ImproveRoom
from albumsorter._qt.indexing import IndexingController
from albumsorter._qt.photo_model import ID_ROLE, PhotoModel
from albumsorter._qt.shortcuts import stars
from albumsorter._qt.sidecar_setting import SidecarSetting
from albumsorter._qt.status_bar import StatusBar
from albumsorter._qt.tasks import TaskRunner
from albumsorter._qt.theme import apply_theme, install_visible_indicators
from albumsorter._qt.thumbnails import ThumbnailCache
from albumsorter._qt.viewer import Viewer
from albumsorter.core import settings
from albumsorter.core.catalog import (
    PICK_NONE,
    PICK_PICKED,
    PICK_REJECTED,
    Catalog,
    CatalogError,
    PhotoFilter,
    default_catalog_path,
)
from albumsorter.core.settings import recent_folders, remember_folder
from albumsorter.core.subjects import Strictness

PICKED_PATHS = "picked-paths"  # the read key of the export's list
PICK_WORDS = {PICK_PICKED: "Picked", PICK_REJECTED: "Rejected", PICK_NONE: "Unflagged"}


def picked_paths(catalog: Catalog) -> list[str]:
    """What an export copies (runs in the read lane)."""
    return [p.path for p in catalog.query(PhotoFilter(picks=["picked"], sort="name"))]


class MainWindow(QMainWindow):
    indexing_finished = Signal(object)  # IndexSummary (or None when it failed)
    export_finished = Signal(object)  # ExportResult

    def __init__(self, indexer_factory=None, thumbnail_cache_dir: Path | None | bool = True) -> None:
        super().__init__()
        install_visible_indicators()
        self.setWindowTitle("AlbumSorter")
        self.setObjectName("MainWindow")
        self.folder: Path | None = None
        self.export_job: ExportJob | None = None
        self.theme = "system"
        self._current_to_keep: int | None = None  # the photo to keep current once a new filter's rows arrive
        self._closed = False

        self.runner = TaskRunner(self)
        self.session = CatalogSession(self.runner, self)
        self.session.write_failed.connect(lambda message: self._show_message(message, error=True))
        self.thumbnails = ThumbnailCache(self.runner, disk_dir=thumbnail_cache_dir, parent=self)
        self.model = PhotoModel(self.session, self.thumbnails, self)
        self.grid = GridView(self.model)
        self.grid.activated.connect(self._activated)
        self.viewer = Viewer(self.model, self.thumbnails, self.session, self.runner)
        self.viewer.closed.connect(self.show_grid)
        self.viewer.pick_requested.connect(self.set_pick)
        self.viewer.rating_requested.connect(self.set_rating)
        self.viewer.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.session.sidecar_failed.connect(lambda text: self.statusBar().showMessage(text, 15000))
        self.indexing = IndexingController(self.runner, self.session, indexer_factory, self)
        self.indexing.finished.connect(self.indexing_finished)
        self.indexing.state_changed.connect(self._update_actions)
        self.indexing.state_changed.connect(self._update_empty_state)
        self.indexing.photo_stored.connect(self._photo_stored)
        self.indexing.message.connect(lambda text: self.statusBar().showMessage(text, 15000))
        self.index_bar = self.indexing.bar

        self.welcome = QLabel(
            "<h2>AlbumSorter</h2><p>Open a folder of photos to find the ones worth keeping.</p><p><b>File → Open Folder…</b> (Ctrl+O)</p>"
        )
        self.welcome.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.welcome.setWordWrap(True)
        self.stack = QStackedWidget()
        for page in (self.welcome, self.grid, self.viewer):
            self.stack.addWidget(page)
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.index_bar)
        self.export_notice = ExportNotice()
        column.addWidget(self.export_notice)
        column.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.filter_panel = FilterPanel()
        self.filter_panel.filter_changed.connect(self._filter_changed)
        self.grid.clear_filters_requested.connect(self.filter_panel.reset)
        self.model.filter = self.filter_panel.photo_filter()  # the panel's defaults (smile sort) from the start
        self.filter_dock = self._dock("Filters", "FiltersDock", self.filter_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.filter_dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetClosable | QDockWidget.DockWidgetFeature.DockWidgetMovable
        )
        self.errors_panel = ErrorsPanel(self.session)
        self.errors_dock = self._dock("Errors", "ErrorsDock", self.errors_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.errors_dock.hide()
        self.errors_dock.visibilityChanged.connect(self._errors_dock_shown)

        self.status = StatusBar()
        self.setStatusBar(self.status)
        self.status.errors_clicked.connect(lambda: self.errors_dock.setVisible(not self.errors_dock.isVisible()))
        self.errors_panel.count_changed.connect(self.status.show_errors)
        self.model.count_changed.connect(self._count_changed)
        self.grid.selectionModel().selectionChanged.connect(lambda *_: self.status.show_selection(self.grid.selected_count()))

        self.window_actions = WindowActions(
            self,
            self._command_handlers(),
            self._dock_toggles(),
            recent_folders=recent_folders,
            open_recent=lambda item: self.open_folder(item["folder"], item["catalog"]),
            set_theme=self.set_theme,
            set_sidecar_style=lambda style: self.sidecar_setting.set_style(style),
        )
        self.recent_menu = self.window_actions.recent_menu
        self.sidecar_setting = SidecarSetting(
            self.session,
            self.window_actions["sidecars"],
            self.window_actions.sidecar_style_actions,
            lambda text: self.statusBar().showMessage(text, 8000),
        )
        self.sidecar_setting.restore()
        # People (#14): dock, menu, Find People in the background, the person filter (listens after this window does).
        from albumsorter._qt.people_room import PeopleRoom

        self.people = PeopleRoom(self, self.runner, self.session, self.filter_panel, self._filter_changed)
        self.grid.clear_filters_requested.connect(self.people.clear_person)
        self.best_shot = BestShotRoom(self)  # issue #11: stacks, the best-shot filters, the compare view (best_shot_room.py)
        self.improve = ImproveRoom(self, self.runner, self.session)  # issue #12: Model → Improve / Revert
        self._update_actions()
        self.resize(1280, 800)
        self._restore_layout()
        self.grid.setFocus()

    # --- construction ---

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _dock_toggles(self) -> list:
        toggles = []
        for dock, text in ((self.filter_dock, "&Filters"), (self.errors_dock, "&Errors")):
            toggle = dock.toggleViewAction()
            toggle.setText(text)
            toggles.append(toggle)
        return toggles

    def _command_handlers(self) -> dict:
        """What each command of the shortcut table does in this window."""
        return {
            "open-folder": self.choose_folder,
            "reindex": self.start_indexing,
            "export": self.choose_export,
            "quit": self.close,
            "view": self.open_viewer,
            "pick": lambda: self.set_pick(PICK_PICKED),
            "reject": lambda: self.set_pick(PICK_REJECTED),
            "unflag": lambda: self.set_pick(PICK_NONE),
            **{f"rate-{n}": lambda n=n: self.set_rating(n) for n in range(6)},
            "sidecars": lambda on: self.sidecar_setting.set_on(on),
            "about": lambda: show_about(self, self.session.path, self.folder),
            "select-all": self.grid.selectAll,
            "find": self._focus_search,
            "clear-filters": self.filter_panel.reset,
            "zoom-in": lambda: self.grid.zoom(1),
            "zoom-out": lambda: self.grid.zoom(-1),
            "pause": self.pause_indexing,
            "resume": self.resume_indexing,
            "cancel": self.cancel_indexing,
            "shortcuts": lambda: show_shortcuts(self),
        }

    def _fill_recent(self) -> None:
        self.window_actions.fill_recent()

    # --- opening ---

    def choose_folder(self) -> None:
        start = str(self.folder) if self.folder else str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of photos", start)
        if folder:
            self.open_folder(folder)

    def open_folder(self, folder: Path | str, catalog_path: Path | str | None = None, index: bool = True) -> bool:
        folder = Path(folder).expanduser().absolute()
        if not folder.is_dir():
            self._show_message(f"Folder not found: {folder}", error=True)
            return False
        catalog_path = Path(catalog_path) if catalog_path else default_catalog_path(folder)
        if not self.open_catalog(catalog_path, folder):
            return False
        remember_folder(folder, catalog_path)
        if index:
            self.start_indexing()
        return True

    def open_catalog(self, catalog_path: Path | str, folder: Path | None = None) -> bool:
        """Show a catalog (without indexing); `folder` defaults to the one it was indexed from. Its rows, counts
        and errors arrive from the read lane."""
        self.indexing.stop()
        try:
            root = self.session.open(catalog_path)
        except CatalogError as exc:
            self._show_message(str(exc), error=True)
            return False
        self.folder = Path(folder) if folder else (Path(root) if root else None)
        self.status.show_catalog(self.session.path)
        self.setWindowTitle(f"{self.folder.name if self.folder else Path(catalog_path).name} — AlbumSorter")
        self.show_grid()
        self._update_actions()
        return True

    # --- indexing ---

    def start_indexing(self) -> bool:
        if self.folder is None or self.session.path is None:
            return False
        return self.indexing.start(self.folder, self.session.path)

    def is_indexing(self) -> bool:
        return self.indexing.is_running()

    def pause_indexing(self) -> None:
        self.indexing.pause()

    def resume_indexing(self) -> None:
        self.indexing.resume()

    def cancel_indexing(self) -> None:
        self.indexing.cancel()

    @property
    def last_error(self) -> str | None:
        return self.indexing.last_error

    def _photo_stored(self, photo_id: int, path: str) -> None:
        if self.thumbnails.has(path):  # the file changed: its old thumbnail is stale
            self.thumbnails.invalidate(path)

    # --- refreshing ---

    def refresh(self) -> None:
        """Show the catalog as it is now (after changes made elsewhere): everything that shows it reads again,
        in the read lane."""
        self.session.announce(CatalogChange.everything())

    def _filter_changed(self, flt: PhotoFilter) -> None:
        ids = self.current_ids()
        self._current_to_keep = ids[0] if ids else None
        self.viewer.set_strictness(self.filter_panel.strictness_choice() if flt.everyone_smiling else Strictness.NORMAL)
        self.model.set_filter(flt)

    def _count_changed(self, n: int) -> None:
        self.filter_panel.set_count(n, self.model.total)
        self.status.show_counts(n, self.model.total, self.model.picked, self.grid.selected_count())
        self.indexing.set_catalog_size(self.model.total)
        self._update_empty_state()
        if self._current_to_keep is not None and not self.model.is_busy():
            self.grid.make_current(self._current_to_keep)  # the current photo stays current if it still matches
            self._current_to_keep = None
        if self.stack.currentWidget() in (self.welcome, self.grid):  # the viewer and compare pages stay
            self.stack.setCurrentWidget(self.grid if self.session.path is not None else self.welcome)

    def _update_empty_state(self) -> None:
        """Say why the grid is empty: no photo matches (with Clear filters), the folder is being indexed, or it has
        no photos."""
        if self.session.path is None or self.model.rowCount() > 0 or self.model.is_busy():
            self.grid.show_empty_state(None)
            return
        folder = html.escape(str(self.folder)) if self.folder else "this folder"
        if self.model.total == 0:
            if self.indexing.is_running():
                self.grid.show_empty_state(
                    f"<h3>Indexing {folder}</h3><p>Photos appear here as they are done; the bar above shows how far it is.</p>"
                )
            else:
                self.grid.show_empty_state(
                    f"<h3>No photos yet</h3><p>No photos were found in {folder}.<br>File → Open Folder… to choose another.</p>"
                )
            return
        text = f"<h3>No photos match the filters</h3><p>{self.model.total:,} photos are in the catalog; none of them matches.</p>"
        conflicts = self.filter_panel.conflicts()
        if conflicts:
            text += "<p>⚠ " + html.escape(" ".join(conflicts)) + "</p>"
        if self.indexing.is_running():
            text += "<p>Indexing goes on: photos that match will appear here.</p>"
        self.grid.show_empty_state(text, clear_button=True)

    def _errors_dock_shown(self, visible: bool) -> None:
        if visible and not getattr(self, "_errors_sized", False):
            self._errors_sized = True  # a modest height the first time; the user's size after that
            self.resizeDocks([self.errors_dock], [max(120, self.height() // 5)], Qt.Orientation.Vertical)

    # --- picks, viewer, corrections ---

    def current_ids(self) -> list[int]:
        """The photos an action applies to: the viewer's photo, else the grid selection (else the current)."""
        if self.stack.currentWidget() is self.viewer:
            pid = self.viewer.current_id()
            return [pid] if pid is not None else []
        return self.grid.selected_ids()

    def set_pick(self, state: int) -> int:
        """Pick, reject or unflag the current photos; stored off the GUI thread, then shown everywhere through
        the session's catalog_changed. Returns how many photos were asked for."""
        ids = self.current_ids()
        if not ids or self.session.path is None:
            return 0
        word = PICK_WORDS[state]
        self.session.set_pick(
            ids, state, lambda n: self.statusBar().showMessage(f"{word} {n} photo{'s' if n != 1 else ''}", 3000)
        )
        return len(ids)

    def set_rating(self, n: int) -> int:
        """0-5 stars for the current photos (stored off the GUI thread, like picks). Returns how many were asked for."""
        ids = self.current_ids()
        if not ids or self.session.path is None:
            return 0
        what = f"Rated {{}} photo{{}} {stars(n)}" if n else "Cleared the rating of {} photo{}"
        self.session.set_rating(ids, n, lambda k: self.statusBar().showMessage(what.format(k, "s" if k != 1 else ""), 3000))
        return len(ids)

    def _activated(self, index: QModelIndex) -> None:
        self.open_viewer(index.data(ID_ROLE))

    def open_viewer(self, photo_id: int | None = None) -> None:
        if photo_id is None:
            ids = self.current_ids()
            if not ids:
                return
            photo_id = ids[0]
        self.stack.setCurrentWidget(self.viewer)
        self.viewer.show_photo(photo_id)
        self.viewer.setFocus()
        self._update_actions()

    def show_grid(self) -> None:
        pid = self.viewer.current_id() if self.stack.currentWidget() is self.viewer else None
        self.stack.setCurrentWidget(self.grid if self.session.path is not None else self.welcome)
        if pid is not None:
            self.grid.make_current(pid, select=True)
        self.grid.setFocus()
        self._update_actions()

    def set_correction(self, face_id: int, label: str | None) -> None:
        """Programmatic twin of the right-click menu (keyboard users, tests): a face of the viewer's photo."""
        self.viewer.set_correction(face_id, label)

    # --- export ---

    def choose_export(self) -> None:
        self.session.read(PICKED_PATHS, picked_paths, self._export_chosen)

    def _export_chosen(self, paths: list[str]) -> None:
        if not paths:
            self._show_message("No picked photos yet: select photos and press P to pick them.")
            return
        dest = QFileDialog.getExistingDirectory(self, f"Copy {len(paths)} picked photos to…", str(Path.home()))
        if dest:
            self._start_export(paths, Path(dest))

    def export_picks(self, dest: Path | str) -> None:
        """Copy the picks into `dest` (as stored once the edits made so far are written); export_finished follows."""
        if self.export_job is None:
            self.session.read(PICKED_PATHS, picked_paths, lambda paths: self._start_export(paths, Path(dest)))

    def _start_export(self, paths: list[str], dest: Path) -> None:
        if self.export_job is not None:
            return
        job = ExportJob(self.runner, paths, dest, self)
        job.finished.connect(self._export_finished)
        job.failed.connect(lambda msg: self._show_message(msg, error=True))
        job.done.connect(self._export_done)
        self.export_job = job
        job.start()

    def _export_finished(self, result) -> None:
        dest = self.export_job.dest if self.export_job else ""
        msg = f"Copied {len(result.copied)} photo{'s' if len(result.copied) != 1 else ''} to {dest}"
        if result.failed:
            msg += f"; {len(result.failed)} failed"
        self.export_notice.show_result(result, Path(dest), msg)
        if result.failed:
            box = QMessageBox(QMessageBox.Icon.Warning, "Export picks", msg, QMessageBox.StandardButton.Ok, self)
            box.setDetailedText("\n".join(f"{s}: {why}" for s, why in result.failed))
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()
        self.statusBar().showMessage(msg, 15000)
        self.export_finished.emit(result)

    def _export_done(self) -> None:
        if self.export_job is not None:
            self.export_job.deleteLater()
        self.export_job = None

    # --- view ---

    def set_theme(self, theme: str) -> None:
        self.theme = theme
        apply_theme(theme)
        self.window_actions.theme_actions[theme].setChecked(True)

    def _focus_search(self) -> None:
        self.filter_dock.show()
        self.filter_panel.search.setFocus()
        self.filter_panel.search.selectAll()

    def _update_actions(self) -> None:
        self.window_actions.update(
            has_catalog=self.session.path is not None,
            has_folder=self.folder is not None,
            indexing=self.indexing.is_running(),
            paused=self.indexing.is_paused(),
        )

    def _show_message(self, text: str, error: bool = False) -> None:
        self.statusBar().showMessage(text, 15000)
        icon = QMessageBox.Icon.Warning if error else QMessageBox.Icon.Information
        box = QMessageBox(icon, "AlbumSorter", text, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    # --- closing ---

    def closeEvent(self, event) -> None:
        self._save_layout()
        self.shutdown()
        super().closeEvent(event)

    def _save_layout(self) -> None:
        """Window size and position, docks and their sizes: as the user left them (core settings file)."""
        with contextlib.suppress(OSError):  # an unwritable settings folder must not stop the window from closing
            settings.set_value(
                "main_window",
                {
                    "geometry": bytes(self.saveGeometry().toBase64()).decode(),
                    "state": bytes(self.saveState().toBase64()).decode(),
                },
            )

    def _restore_layout(self) -> None:
        layout = settings.get_value("main_window")
        if isinstance(layout, dict):
            self.restoreGeometry(QByteArray.fromBase64(str(layout.get("geometry", "")).encode()))
            self.restoreState(QByteArray.fromBase64(str(layout.get("state", "")).encode()))

    def shutdown(self) -> None:
        """Stop indexing (the next start resumes it), cancel an export, let the user's queued edits reach the
        catalog, wait for the background work to end and close the lanes' connections."""
        if self._closed:
            return
        self._closed = True
        self.indexing.shutdown()  # the run stops (the next start resumes it); the worker processes end
        if self.export_job is not None:
            self.export_job.cancel()
        self.thumbnails.shutdown()
        if self.runner.shutdown():
            self.session.shutdown()  # no task uses the lanes' connections any more
        else:
            self.session.close()  # a task outlived the wait: leave its connection to it

    def sizeHint(self) -> QSize:
        return QSize(1280, 800)
