"""The main window: grid (or viewer) in the middle, filters on the left, errors below, indexing progress
on top, model / device / catalog in the status bar. It wires the pieces together and owns the GUI
thread's Catalog connection (read-only queries and the tiny pick/correction writes); indexing and export
run in workers on their own threads."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QDockWidget, QFileDialog, QFrame, QHBoxLayout, QLabel, QListView, QMainWindow, QMessageBox,
    QProgressBar, QPushButton, QStackedWidget, QToolButton, QVBoxLayout, QWidget,
)

from albumsorter.core.catalog import PICK_NONE, PICK_PICKED, PICK_REJECTED, Catalog, CatalogError, PhotoFilter, default_catalog_path
from albumsorter.core.settings import recent_folders, remember_folder
from albumsorter._qt.delegate import PhotoDelegate
from albumsorter._qt.errors_panel import ErrorsPanel
from albumsorter._qt.export_dialog import ExportJob
from albumsorter._qt.filter_panel import FilterPanel
from albumsorter._qt.photo_model import ID_ROLE, PhotoModel
from albumsorter._qt.theme import THEMES, apply_theme
from albumsorter._qt.thumbnails import ThumbnailCache
from albumsorter._qt.viewer import Viewer
from albumsorter._qt.workers import IndexWorker, WorkerThread

REFRESH_MS = 500  # while indexing, the grid refreshes at most this often (one diffed query per batch)
THUMB_SIZES = (96, 128, 160, 200, 256, 320)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "…"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def describe_progress(p) -> str:
    text = f"{p.done:,} / {p.total:,} photos · {p.faces:,} faces"
    if p.errors:
        text += f" · {p.errors} unreadable"
    if p.done:
        text += f" · {p.photos_per_second:.1f} photos/s · {format_duration(p.seconds_left)} left"
    return text


def model_description() -> tuple[str, str]:
    """(short text, tooltip) for the expression model in use."""
    from albumsorter.core.classify import ModelCard, ModelError
    from albumsorter.core.resources import expression_model_card_path

    try:
        card = ModelCard.load(expression_model_card_path())
    except ModelError as exc:
        return "Model: not installed", str(exc)
    metrics = card.extra.get("metrics") or {}
    tip = f"Expression model {card.id}\n{card.model_path}\ninput {card.input_size}×{card.input_size}×{card.input_channels}"
    if metrics:
        tip += "\n" + ", ".join(f"{k}: {v}" for k, v in list(metrics.items())[:4] if not isinstance(v, (dict, list)))
    return f"Model: {card.id}", tip


class GridView(QListView):
    """The thumbnail grid: one QListView in icon mode, uniform cells, batched layout, no widget per photo."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PhotoGrid")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(500)
        self.setSpacing(4)
        self.setWrapping(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionRectVisible(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(24)
        self.setMouseTracking(True)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAccessibleName("Photos")


class IndexBar(QFrame):
    """Progress of the running index: bar, numbers, Pause/Resume, Cancel; or a message when it failed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("IndexBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = QLabel()
        self.label.setObjectName("IndexLabel")
        self.bar = QProgressBar()
        self.bar.setTextVisible(True)
        self.bar.setMaximumWidth(320)
        self.pause = QPushButton("&Pause")
        self.cancel = QPushButton("Cancel")
        self.dismiss = QToolButton()
        self.dismiss.setText("✕")
        self.dismiss.setAutoRaise(True)
        self.dismiss.setToolTip("Hide")
        self.dismiss.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.bar)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.pause)
        layout.addWidget(self.cancel)
        layout.addWidget(self.dismiss)
        self.set_running(False)

    def set_running(self, running: bool) -> None:
        self.bar.setVisible(running)
        self.pause.setVisible(running)
        self.cancel.setVisible(running)
        self.dismiss.setVisible(not running)
        self.label.setWordWrap(not running)


class MainWindow(QMainWindow):
    indexing_finished = Signal(object)  # IndexSummary (or None when it failed)
    export_finished = Signal(object)  # ExportResult

    def __init__(self, indexer_factory=None, thumbnail_cache_dir: Path | None | bool = True) -> None:
        super().__init__()
        self.setWindowTitle("AlbumSorter")
        self.setObjectName("MainWindow")
        self.indexer_factory = indexer_factory
        self.folder: Path | None = None
        self.catalog_path: Path | None = None
        self.catalog: Catalog | None = None
        self.index_job: WorkerThread | None = None
        self.index_worker: IndexWorker | None = None
        self.last_summary = None
        self.last_error: str | None = None
        self.export_job: ExportJob | None = None
        self.theme = "system"

        self.thumbnails = ThumbnailCache(self, disk_dir=thumbnail_cache_dir)
        self.model = PhotoModel(self.thumbnails, self)
        self.grid = GridView()
        self.delegate = PhotoDelegate(self.grid, thumb_size=160)
        self.grid.setItemDelegate(self.delegate)
        self.grid.setModel(self.model)
        self.grid.activated.connect(self._activated)
        self.viewer = Viewer(self.model, self.thumbnails)
        self.viewer.closed.connect(self.show_grid)
        self.viewer.corrected.connect(self._corrected)

        self.welcome = QLabel("<h2>AlbumSorter</h2><p>Open a folder of photos to find the ones worth keeping.</p>"
                              "<p><b>File → Open Folder…</b> (Ctrl+O)</p>")
        self.welcome.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.welcome.setWordWrap(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.grid)
        self.stack.addWidget(self.viewer)

        self.index_bar = IndexBar()
        self.index_bar.hide()
        self.index_bar.pause.clicked.connect(self.toggle_pause)
        self.index_bar.cancel.clicked.connect(self.cancel_indexing)
        central = QWidget()
        v = QVBoxLayout(central)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(0)
        v.addWidget(self.index_bar)
        v.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.filter_panel = FilterPanel()
        self.filter_panel.filter_changed.connect(self._filter_changed)
        self.model.filter = self.filter_panel.photo_filter()  # the panel's defaults (smile sort) from the start
        self.filter_dock = QDockWidget("Filters", self)
        self.filter_dock.setObjectName("FiltersDock")
        self.filter_dock.setWidget(self.filter_panel)
        self.filter_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable | QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.filter_dock)
        self.errors_panel = ErrorsPanel()
        self.errors_dock = QDockWidget("Errors", self)
        self.errors_dock.setObjectName("ErrorsDock")
        self.errors_dock.setWidget(self.errors_panel)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.errors_dock)
        self.errors_dock.hide()
        self.errors_dock.visibilityChanged.connect(self._errors_dock_shown)

        self.model.count_changed.connect(self._count_changed)
        self.refresh_timer = QTimer(self)
        self.refresh_timer.setSingleShot(True)
        self.refresh_timer.setInterval(REFRESH_MS)
        self.refresh_timer.timeout.connect(self.refresh)

        self._build_status_bar()
        self._build_actions()
        self._update_actions()
        self.resize(1280, 800)
        self._restore_layout()
        self.grid.setFocus()

    # --- construction ---

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.count_status = QLabel()
        self.errors_button = QToolButton()
        self.errors_button.setAutoRaise(True)
        self.errors_button.clicked.connect(lambda: self.errors_dock.setVisible(not self.errors_dock.isVisible()))
        self.errors_button.hide()
        text, tip = model_description()
        self.model_status = QLabel(text)
        self.model_status.setToolTip(tip)
        self.device_status = QLabel("LiteRT · CPU")
        self.device_status.setToolTip("Inference runs on the CPU with LiteRT (XNNPACK); face detection with MediaPipe on the CPU.")
        self.catalog_status = QLabel("No catalog")
        self.catalog_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.catalog_status.setMaximumWidth(420)
        for w in (self.count_status, self.errors_button, self.model_status, self.device_status, self.catalog_status):
            sb.addPermanentWidget(w)

    def _action(self, text: str, slot, shortcut=None, tip: str | None = None, context=Qt.ShortcutContext.WindowShortcut) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcuts(shortcut if isinstance(shortcut, list) else [QKeySequence(shortcut)])
            act.setShortcutContext(context)
        if tip:
            act.setStatusTip(tip)
        act.triggered.connect(lambda _=False: slot())
        self.addAction(act)
        return act

    def _build_actions(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        self.open_action = self._action("&Open Folder…", self.choose_folder, QKeySequence.StandardKey.Open, "Index a folder of photos")
        m.addAction(self.open_action)
        self.recent_menu = m.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self._fill_recent()
        self.reindex_action = self._action("Re-&index Folder", self.start_indexing, "F5", "Look for new and changed photos")
        m.addAction(self.reindex_action)
        m.addSeparator()
        self.export_action = self._action("&Export Picks…", self.choose_export, "Ctrl+E", "Copy the picked photos into a folder")
        m.addAction(self.export_action)
        m.addSeparator()
        m.addAction(self._action("&Quit", self.close, QKeySequence.StandardKey.Quit))

        m = mb.addMenu("&Photo")
        self.view_action = self._action("&View", self.open_viewer, None, "Open the selected photo (Enter or double-click)")
        m.addAction(self.view_action)
        m.addSeparator()
        self.pick_action = self._action("&Pick", lambda: self.set_pick(PICK_PICKED), "P", "Mark as a pick")
        self.reject_action = self._action("&Reject", lambda: self.set_pick(PICK_REJECTED), "X", "Mark as rejected")
        self.unflag_action = self._action("&Unflag", lambda: self.set_pick(PICK_NONE), "U", "Clear pick / reject")
        for a in (self.pick_action, self.reject_action, self.unflag_action):
            m.addAction(a)
        m.addSeparator()
        self.select_all_action = self._action("Select &All", self.grid.selectAll, QKeySequence.StandardKey.SelectAll)
        m.addAction(self.select_all_action)

        m = mb.addMenu("&View")
        fa = self.filter_dock.toggleViewAction()
        fa.setText("&Filters")
        m.addAction(fa)
        ea = self.errors_dock.toggleViewAction()
        ea.setText("&Errors")
        m.addAction(ea)
        self.find_action = self._action("Find by &Name", self._focus_search, QKeySequence.StandardKey.Find)
        m.addAction(self.find_action)
        self.clear_filters_action = self._action("&Clear Filters", self.filter_panel.reset, "Ctrl+Shift+L")
        m.addAction(self.clear_filters_action)
        m.addSeparator()
        m.addAction(self._action("&Larger Thumbnails", lambda: self.zoom(1), [QKeySequence(QKeySequence.StandardKey.ZoomIn), QKeySequence("Ctrl+=")]))
        m.addAction(self._action("&Smaller Thumbnails", lambda: self.zoom(-1), QKeySequence.StandardKey.ZoomOut))
        tm = m.addMenu("&Theme")
        group = QActionGroup(self)
        self.theme_actions = {}
        for t in THEMES:
            a = QAction({"system": "Follow &System", "light": "&Light", "dark": "&Dark"}[t], self, checkable=True)
            a.setChecked(t == "system")
            a.triggered.connect(lambda _=False, t=t: self.set_theme(t))
            group.addAction(a)
            tm.addAction(a)
            self.theme_actions[t] = a

        m = mb.addMenu("&Index")
        self.pause_action = self._action("&Pause", self.pause_indexing, None)
        self.resume_action = self._action("&Resume", self.resume_indexing, None)
        self.cancel_action = self._action("&Cancel", self.cancel_indexing, None, "Stop indexing; the next run continues")
        for a in (self.pause_action, self.resume_action, self.cancel_action):
            m.addAction(a)

        m = mb.addMenu("&Help")
        m.addAction(self._action("&Keyboard Shortcuts", self.show_shortcuts, "F1"))

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        items = recent_folders()
        for i, item in enumerate(items):
            label = f"&{i + 1} {item['folder']}" if i < 9 else item["folder"]
            act = self.recent_menu.addAction(label)
            act.triggered.connect(lambda _=False, it=item: self.open_folder(it["folder"], it["catalog"]))
        if not items:
            self.recent_menu.addAction("No recent folders").setEnabled(False)

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
        """Show a catalog (without indexing); `folder` defaults to the one it was indexed from."""
        self.stop_indexing()
        try:
            catalog = Catalog(catalog_path)
        except CatalogError as exc:
            self._show_message(str(exc), error=True)
            return False
        if self.catalog is not None:
            self.catalog.close()
        self.catalog = catalog
        self.catalog_path = Path(catalog_path)
        root = catalog.get_meta("root")
        self.folder = Path(folder) if folder else (Path(root) if root else None)
        self.viewer.catalog = catalog
        self.model.set_catalog(catalog)
        self.errors_panel.refresh(catalog)
        self._update_errors_button()
        self.catalog_status.setText(f"Catalog: {self._elide_path(str(self.catalog_path))}")
        self.catalog_status.setToolTip(str(self.catalog_path))
        self.setWindowTitle(f"{self.folder.name if self.folder else self.catalog_path.name} — AlbumSorter")
        self.show_grid()
        self._update_actions()
        return True

    # --- indexing ---

    def start_indexing(self) -> bool:
        if self.folder is None or self.catalog_path is None or self.is_indexing():
            return False
        self.last_summary = None
        self.last_error = None
        worker = IndexWorker(self.folder, self.catalog_path, self.indexer_factory)
        worker.progress.connect(self._progress)
        worker.photo_indexed.connect(self._photo_indexed)
        worker.finished.connect(self._index_finished)
        worker.failed.connect(self._index_failed)
        worker.done.connect(self._index_done)
        self.index_worker = worker
        self.index_job = WorkerThread(worker, "albumsorter-index")
        self.index_bar.set_running(True)
        self.index_bar.bar.setRange(0, 0)  # busy until the scan has counted the photos
        self.index_bar.label.setText(f"Looking for photos in {self.folder}…")
        self.index_bar.pause.setText("&Pause")
        self.index_bar.setStyleSheet("")
        self.index_bar.show()
        self.index_job.start()
        self._update_actions()
        return True

    def is_indexing(self) -> bool:
        return self.index_job is not None and self.index_job.is_running()

    def pause_indexing(self) -> None:
        if self.index_worker is not None and self.is_indexing():
            self.index_worker.control.pause()
            self.index_bar.pause.setText("&Resume")
            self.index_bar.label.setText(self.index_bar.label.text().split(" — ")[0] + " — paused")
            self._update_actions()

    def resume_indexing(self) -> None:
        if self.index_worker is not None and self.is_indexing():
            self.index_worker.control.resume()
            self.index_bar.pause.setText("&Pause")
            self._update_actions()

    def toggle_pause(self) -> None:
        if self.index_worker is not None and self.index_worker.control.paused:
            self.resume_indexing()
        else:
            self.pause_indexing()

    def cancel_indexing(self) -> None:
        if self.index_worker is not None and self.is_indexing():
            self.index_worker.control.cancel()
            self.index_bar.label.setText("Cancelling… (finishing the photos in progress)")
            self.index_bar.pause.setEnabled(False)
            self.index_bar.cancel.setEnabled(False)

    def stop_indexing(self, timeout_ms: int = 120000) -> None:
        """Cancel and wait for the worker (used before switching catalogs and when closing)."""
        if self.index_job is None:
            return
        if self.index_worker is not None:
            self.index_worker.control.cancel()
        self.index_job.wait(timeout_ms)
        self._disconnect_worker()

    def _disconnect_worker(self) -> None:
        worker = self.index_worker
        if worker is not None:
            for sig in (worker.progress, worker.photo_indexed, worker.finished, worker.failed, worker.done):
                try:
                    sig.disconnect()
                except (RuntimeError, TypeError):
                    pass
        self.index_job = None
        self.index_worker = None
        self.index_bar.hide()
        self._update_actions()

    def _progress(self, p) -> None:
        bar = self.index_bar.bar
        if p.total:
            bar.setRange(0, p.total)
            bar.setValue(p.done)
        else:
            bar.setRange(0, 1)
            bar.setValue(1)
        text = describe_progress(p) if p.total else "Nothing new to index"
        if self.index_worker is not None and self.index_worker.control.paused:
            text += " — paused"
        self.index_bar.label.setText(text)

    def _photo_indexed(self, photo_id: int, path: str) -> None:
        if self.thumbnails.has(path):  # the file changed: its old thumbnail is stale
            self.thumbnails.invalidate(path)
        if not self.refresh_timer.isActive():
            self.refresh_timer.start()

    def _index_finished(self, summary) -> None:
        self.last_summary = summary
        self.refresh()
        if summary.cancelled:
            msg = "Indexing cancelled — the next run continues where it stopped."
        else:
            msg = f"Indexed {summary.indexed:,} new or changed photos ({summary.faces_found:,} faces) in {format_duration(summary.elapsed)}"
            if summary.unchanged:
                msg += f"; {summary.unchanged:,} unchanged"
            if summary.errors:
                msg += f"; {len(summary.errors)} could not be read (see Errors)"
        self.statusBar().showMessage(msg, 15000)
        self.indexing_finished.emit(summary)

    def _index_failed(self, message: str) -> None:
        self.last_error = message
        self.index_bar.set_running(False)
        self.index_bar.label.setText("⚠ " + message.replace("\n\n", " — ").split("\n")[0])
        self.index_bar.label.setToolTip(message)
        self.index_bar.setStyleSheet("#IndexBar { border: 1px solid palette(highlight); }")
        self.index_bar.show()
        self.statusBar().showMessage(message.split("\n")[0], 15000)
        self.indexing_finished.emit(None)

    def _index_done(self) -> None:
        job = self.index_job
        failed = self.last_error is not None
        if job is not None:
            job.wait(5000)
        self.index_job = None
        self.index_worker = None
        self.index_bar.pause.setEnabled(True)
        self.index_bar.cancel.setEnabled(True)
        if not failed:
            self.index_bar.hide()
        self._update_actions()

    # --- refreshing ---

    def refresh(self) -> None:
        if self.catalog is None:
            return
        self.model.refresh()
        # Big catalogs: refresh less often while indexing (a query of 10,000 photos takes ~0.5 s here).
        spent_ms = self.model.last_query_s * 1000
        self.refresh_timer.setInterval(int(min(5000, max(REFRESH_MS, 10 * spent_ms))))
        self.errors_panel.refresh(self.catalog)
        self._update_errors_button()
        if self.viewer.isVisible():
            self.viewer.reload_record()

    def _filter_changed(self, flt: PhotoFilter) -> None:
        current = self.current_ids()
        self.model.set_filter(flt)
        # Keep the current photo selected if it still matches.
        for pid in current[:1]:
            idx = self.model.index_of(pid)
            if idx.isValid():
                self.grid.setCurrentIndex(idx)
                self.grid.scrollTo(idx)

    def _count_changed(self, n: int) -> None:
        total = self.model.total
        self.filter_panel.set_count(n, total)
        self.count_status.setText(f"{n:,} of {total:,} photos" if n != total else f"{total:,} photos")
        if self.stack.currentWidget() is not self.viewer:
            self.stack.setCurrentWidget(self.grid if self.catalog is not None else self.welcome)

    def _errors_dock_shown(self, visible: bool) -> None:
        if visible and not getattr(self, "_errors_sized", False):
            self._errors_sized = True  # a modest height the first time; the user's size after that
            self.resizeDocks([self.errors_dock], [max(120, self.height() // 5)], Qt.Orientation.Vertical)

    def _update_errors_button(self) -> None:
        n = self.errors_panel.tree.topLevelItemCount()
        self.errors_button.setText(f"⚠ {n} unreadable")
        self.errors_button.setToolTip("Show the photos that could not be read")
        self.errors_button.setVisible(n > 0)

    # --- picks, viewer, corrections ---

    def current_ids(self) -> list[int]:
        """The photos an action applies to: the viewer's photo, else the grid selection (else the current)."""
        if self.stack.currentWidget() is self.viewer:
            pid = self.viewer.current_id()
            return [pid] if pid is not None else []
        rows = sorted(i.row() for i in self.grid.selectionModel().selectedIndexes())
        if not rows and self.grid.currentIndex().isValid():
            rows = [self.grid.currentIndex().row()]
        return [self.model.record(r).id for r in rows]

    def set_pick(self, state: int) -> int:
        ids = self.current_ids()
        if not ids or self.catalog is None:
            return 0
        n = self.catalog.set_pick(ids, state)
        self.model.refresh()
        if self.stack.currentWidget() is self.viewer:
            self.viewer.reload_record()
        word = {PICK_PICKED: "Picked", PICK_REJECTED: "Rejected", PICK_NONE: "Unflagged"}[state]
        self.statusBar().showMessage(f"{word} {n} photo{'s' if n != 1 else ''}", 3000)
        return n

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
        self.stack.setCurrentWidget(self.grid if self.catalog is not None else self.welcome)
        if pid is not None:
            idx = self.model.index_of(pid)
            if idx.isValid():
                self.grid.selectionModel().setCurrentIndex(idx, QItemSelectionModel.SelectionFlag.ClearAndSelect)
                self.grid.scrollTo(idx)
        self.grid.setFocus()
        self._update_actions()

    def _corrected(self, photo_id: int) -> None:
        self.model.refresh()

    def set_correction(self, face_id: int, label: str | None) -> None:
        """Programmatic twin of the right-click menu (keyboard users, tests)."""
        if self.catalog is not None:
            self.catalog.set_correction(face_id, label)
            self.model.refresh()
            self.viewer.reload_record()

    # --- export ---

    def picked_paths(self) -> list[str]:
        if self.catalog is None:
            return []
        return [p.path for p in self.catalog.query(PhotoFilter(picks=["picked"], sort="name"))]

    def choose_export(self) -> None:
        paths = self.picked_paths()
        if not paths:
            self._show_message("No picked photos yet: select photos and press P to pick them.")
            return
        dest = QFileDialog.getExistingDirectory(self, f"Copy {len(paths)} picked photos to…", str(Path.home()))
        if dest:
            self.export_picks(dest)

    def export_picks(self, dest: Path | str) -> ExportJob | None:
        if self.export_job is not None:
            return None
        paths = self.picked_paths()
        job = ExportJob(paths, Path(dest), self)
        job.finished.connect(self._export_finished)
        job.failed.connect(lambda msg: self._show_message(msg, error=True))
        job.done.connect(self._export_done)
        self.export_job = job
        job.start()
        return job

    def _export_finished(self, result) -> None:
        dest = self.export_job.dest if self.export_job else ""
        msg = f"Copied {len(result.copied)} photo{'s' if len(result.copied) != 1 else ''} to {dest}"
        if result.failed:
            msg += f"; {len(result.failed)} failed"
            box = QMessageBox(QMessageBox.Icon.Warning, "Export picks", msg, QMessageBox.StandardButton.Ok, self)
            box.setDetailedText("\n".join(f"{s}: {why}" for s, why in result.failed))
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()  # not modal to the event loop: nothing blocks
        self.statusBar().showMessage(msg, 15000)
        self.export_finished.emit(result)

    def _export_done(self) -> None:
        if self.export_job is not None:
            self.export_job.deleteLater()
        self.export_job = None

    # --- view ---

    def zoom(self, step: int) -> None:
        sizes = THUMB_SIZES
        cur = self.delegate.thumb_size
        i = min(range(len(sizes)), key=lambda k: abs(sizes[k] - cur))
        new = sizes[max(0, min(len(sizes) - 1, i + step))]
        if new != cur:
            self.delegate.set_thumb_size(new)
            self.grid.doItemsLayout()
            self.grid.viewport().update()

    def set_theme(self, theme: str) -> None:
        self.theme = theme
        apply_theme(theme)
        self.theme_actions[theme].setChecked(True)

    def _focus_search(self) -> None:
        self.filter_dock.show()
        self.filter_panel.search.setFocus()
        self.filter_panel.search.selectAll()

    def show_shortcuts(self) -> None:
        text = (
            "<table>"
            "<tr><td><b>Ctrl+O</b></td><td>Open a folder</td></tr>"
            "<tr><td><b>Enter</b></td><td>View the photo</td></tr>"
            "<tr><td><b>← →</b></td><td>Previous / next photo (viewer)</td></tr>"
            "<tr><td><b>Esc</b></td><td>Back to the grid</td></tr>"
            "<tr><td><b>P / X / U</b></td><td>Pick / reject / unflag</td></tr>"
            "<tr><td><b>[ ]</b></td><td>Previous / next face (viewer)</td></tr>"
            "<tr><td><b>1–8</b></td><td>Set the selected face's expression (viewer); 0 clears it</td></tr>"
            "<tr><td><b>F</b></td><td>Show / hide face boxes (viewer)</td></tr>"
            "<tr><td><b>Ctrl+F</b></td><td>Find by name</td></tr>"
            "<tr><td><b>Ctrl+E</b></td><td>Export picks</td></tr>"
            "<tr><td><b>Ctrl++ / Ctrl+-</b></td><td>Thumbnail size</td></tr>"
            "<tr><td><b>F5</b></td><td>Re-index the folder</td></tr>"
            "</table>"
        )
        box = QMessageBox(QMessageBox.Icon.NoIcon, "Keyboard shortcuts", text, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _update_actions(self) -> None:
        has = self.catalog is not None
        running = self.is_indexing()
        paused = running and self.index_worker is not None and self.index_worker.control.paused
        self.reindex_action.setEnabled(has and not running and self.folder is not None)
        self.export_action.setEnabled(has)
        self.pause_action.setEnabled(running and not paused)
        self.resume_action.setEnabled(paused)
        self.cancel_action.setEnabled(running)
        for a in (self.pick_action, self.reject_action, self.unflag_action, self.view_action):
            a.setEnabled(has)

    def _show_message(self, text: str, error: bool = False) -> None:
        self.statusBar().showMessage(text, 15000)
        box = QMessageBox(QMessageBox.Icon.Warning if error else QMessageBox.Icon.Information, "AlbumSorter", text, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    @staticmethod
    def _elide_path(path: str, n: int = 60) -> str:
        return path if len(path) <= n else "…" + path[-(n - 1):]

    # --- closing ---

    def closeEvent(self, event) -> None:
        self._save_layout()
        self.shutdown()
        super().closeEvent(event)

    def _save_layout(self) -> None:
        """Window size and position, docks and their sizes: as the user left them (core settings file)."""
        from albumsorter.core import settings

        try:
            settings.set_value(
                "main_window",
                {"geometry": bytes(self.saveGeometry().toBase64()).decode(), "state": bytes(self.saveState().toBase64()).decode()},
            )
        except OSError:
            pass  # an unwritable settings folder must not stop the window from closing

    def _restore_layout(self) -> None:
        from PySide6.QtCore import QByteArray

        from albumsorter.core import settings

        layout = settings.get_value("main_window")
        if isinstance(layout, dict):
            self.restoreGeometry(QByteArray.fromBase64(str(layout.get("geometry", "")).encode()))
            self.restoreState(QByteArray.fromBase64(str(layout.get("state", "")).encode()))

    def shutdown(self) -> None:
        """Stop the workers cleanly (the next start resumes indexing) and close the catalog."""
        self.refresh_timer.stop()
        if self.export_job is not None:
            self.export_job.cancel()
            self.export_job.wait(60000)
        self.stop_indexing()
        self.model.shutdown()
        self.thumbnails.shutdown()
        self.viewer.shutdown()
        if self.catalog is not None:
            self.viewer.catalog = None
            self.model.set_catalog(None)
            self.catalog.close()
            self.catalog = None

    def sizeHint(self) -> QSize:
        return QSize(1280, 800)
