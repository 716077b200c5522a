"""Indexing from the window: the run in the task runner's index lane, the bar above the grid (progress,
Pause/Resume, Cancel, or why it failed), and the batches of stored photos announced to the catalog session.

Photos are analysed in worker processes (core/worker_processes.py), so indexing does not take the GIL from painting; the
indexer writes through a catalog connection of its own (opened in the task) and reports each stored
photo; the controller gathers those and announces them to the session in batches (one `catalog_changed`
per batch), so the grid grows while the run goes on without a query per photo. The batch interval grows
with the size of the catalog, as the grid's query does (about 0.5 s per 10,000 photos on a slow laptop).

Pausing means: finish the photos being analysed, store them, then hold. The core run loop waits for a pause
where it hands out the next photo, before storing what had finished; so for the core Indexer the pause is
moved into its workers (each holds before starting a photo, `PausingAnalyzer`) and the run loop goes on storing
what finished. The bar says "Pausing…" until every analysed photo is stored, then "Paused" (no time estimate
while paused; the photos-per-second rate leaves paused time out).
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QToolButton, QWidget

from albumsorter._qt.catalog_session import CatalogChange, CatalogSession
from albumsorter._qt.tasks import Task, TaskContext, TaskRunner
from albumsorter.core.analysis import Analyzer
from albumsorter.core.catalog import Catalog
from albumsorter.core.pipeline import Indexer, IndexOptions, IndexSummary, Progress, RunControl
from albumsorter.core.worker_processes import WINDOW_NICENESS, ProcessAnalyzer, WorkerProcesses, processes_wanted

LANE = "index"
BATCH_MS = 500  # the shortest interval between two announced batches
BATCH_MAX_MS = 5000


def default_workers() -> int:
    """Leave one core to the window (and thumbnails) on small machines."""
    n = os.cpu_count() or 1
    return max(1, n - 1) if n > 2 else n


def default_indexer_factory(catalog: Catalog) -> Indexer:
    return Indexer(catalog, IndexOptions(workers=default_workers()))


def batch_interval_ms(catalog_photos: int) -> int:
    """How long stored photos gather before the grid asks again: longer for bigger catalogs, whose query
    costs more, so the read lane stays mostly idle while indexing (10,000 photos: 5 s)."""
    return min(BATCH_MAX_MS, max(BATCH_MS, catalog_photos // 2))


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "…"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


PAUSING, PAUSED = "pausing", "paused"


def describe_progress(p: Progress, paused_seconds: float = 0.0, pause: str | None = None) -> str:
    """The bar's text. While paused there is no time estimate (nothing moves); the rate leaves paused time out."""
    text = f"{p.done:,} / {p.total:,} photos · {p.faces:,} faces"
    if p.errors:
        text += f" · {p.errors} unreadable"
    if pause == PAUSING:
        return "Pausing — storing the photos in progress · " + text
    if pause == PAUSED:
        return "Indexing paused · " + text + " stored"
    working = p.elapsed - paused_seconds
    if p.done and working > 0:
        rate = p.done / working
        text += f" · {rate:.1f} photos/s · {format_duration((p.total - p.done) / rate)} left"
    return text


def describe_summary(summary: IndexSummary) -> str:
    if summary.cancelled:
        return "Indexing cancelled — the next run continues where it stopped."
    msg = (
        f"Indexed {summary.indexed:,} new or changed photos ({summary.faces_found:,} faces) in {format_duration(summary.elapsed)}"
    )
    if summary.unchanged:
        msg += f"; {summary.unchanged:,} unchanged"
    if summary.errors:
        msg += f"; {len(summary.errors)} could not be read (see Errors)"
    return msg


def describe_failure(exc: Exception) -> str:
    name = type(exc).__name__
    if name in ("ModelError", "DetectorError"):
        return f"The models are missing or broken, so photos cannot be indexed.\n\n{exc}"
    if isinstance(exc, IndexingCancelled):
        return str(exc)
    return f"Indexing stopped: {name}: {exc}\n\n{''.join(traceback.format_exception(exc, limit=3))}"


class IndexingCancelled(Exception):
    """Cancelled before the run started."""


class WindowRunControl(RunControl):
    """RunControl with the window's pause: what is being analysed is finished and stored before the run holds.

    With `holds_in_workers` (set when a PausingAnalyzer is installed) the run loop never waits in a pause; the
    workers do (`hold`). `settled(stored)` tells when a pause has taken full effect."""

    def __init__(self) -> None:
        super().__init__()
        self.holds_in_workers = False
        self._lock = threading.Lock()
        self.running = 0  # analyses under way
        self.holding = 0  # workers waiting in the pause
        self.analysed: set[str] = set()  # photos whose analysis finished (stored a moment later)

    def wait_if_paused(self) -> None:
        if not self.holds_in_workers:
            super().wait_if_paused()

    def hold(self) -> None:
        """A worker, before it starts a photo: wait while paused."""
        if not self.paused:
            return
        with self._lock:
            self.holding += 1
        try:
            super().wait_if_paused()
        finally:
            with self._lock:
                self.holding -= 1

    def analysis_started(self) -> None:
        with self._lock:
            self.running += 1

    def analysis_finished(self, path: str | None) -> None:
        with self._lock:
            self.running -= 1
            if path is not None:
                self.analysed.add(path)

    def settled(self, stored: set[str]) -> bool:
        """Paused, no analysis under way, and every analysed photo stored (`stored`: the paths reported stored)."""
        if not self.paused:
            return False
        if not self.holds_in_workers:
            return True  # the run loop itself holds, between photos
        with self._lock:
            return self.running == 0 and self.analysed <= stored


class PausingAnalyzer:
    """Stands in for the core Indexer's Analyzer (same calls): each photo waits for a pause before it starts and
    reports when its analysis is done, so the run loop can go on storing finished photos during a pause."""

    def __init__(self, analyzer, control: WindowRunControl) -> None:
        self._analyzer = analyzer
        self._control = control

    def analyse(self, entry):
        self._control.hold()
        self._control.analysis_started()
        path = None
        try:
            result = self._analyzer.analyse(entry)
            path = str(entry.path)
            return result
        finally:
            self._control.analysis_finished(path)

    def refresh(self, *args, **kwargs):
        self._control.hold()
        return self._analyzer.refresh(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._analyzer, name)


@dataclass(frozen=True)
class PhotoStored:
    """Reported by the index task after each stored photo."""

    photo_id: int
    path: str


def index_folder(
    context: TaskContext,
    folder: Path,
    catalog_path: Path,
    make_indexer: Callable[[Catalog], Indexer],
    control: RunControl,
    processes: WorkerProcesses | None = None,
) -> IndexSummary:
    """The index task: opens its own catalog connection, runs the indexer, reports Progress snapshots and
    PhotoStored events. ModelError / DetectorError (missing models) come out of `make_indexer`. With `processes`,
    a core Indexer's photos are analysed in worker processes (core/worker_processes.py)."""
    if control.cancelled:
        raise IndexingCancelled("cancelled before it started")
    with Catalog(catalog_path) as catalog:
        indexer = make_indexer(catalog)
        if isinstance(getattr(indexer, "analyzer", None), Analyzer):
            if processes is not None:
                workers = max(1, int(indexer.options.workers))
                indexer.analyzer = ProcessAnalyzer(indexer.analyzer, processes, workers, indexer.options)  # type: ignore[assignment]
            if isinstance(control, WindowRunControl):
                indexer.analyzer = PausingAnalyzer(indexer.analyzer, control)  # type: ignore[assignment]
                control.holds_in_workers = True

        def on_progress(p: Progress) -> None:
            # A snapshot: the Progress object keeps changing in this thread.
            context.report(Progress(p.done, p.total, p.faces, p.errors, p.elapsed, p.path))

        return indexer.run(
            folder, on_progress=on_progress, on_photo=lambda pid, path: context.report(PhotoStored(pid, path)), control=control
        )


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

    def show_started(self, folder: Path) -> None:
        self.set_running(True)
        self.bar.setRange(0, 0)  # busy until the scan has counted the photos
        self.label.setText(f"Looking for photos in {folder}…")
        self.pause.setText("&Pause")
        self.pause.setEnabled(True)
        self.cancel.setEnabled(True)
        self.setStyleSheet("")
        self.show()

    def show_progress(self, p: Progress, paused_seconds: float = 0.0, pause: str | None = None) -> None:
        if p.total:
            self.bar.setRange(0, p.total)
            self.bar.setValue(p.done)
        else:
            self.bar.setRange(0, 1)
            self.bar.setValue(1)
        self.label.setText(describe_progress(p, paused_seconds, pause) if p.total else "Nothing new to index")

    def show_failure(self, message: str) -> None:
        self.set_running(False)
        self.label.setText("⚠ " + message.replace("\n\n", " — ").split("\n")[0])
        self.label.setToolTip(message)
        self.setStyleSheet("#IndexBar { border: 1px solid palette(highlight); }")
        self.show()


class IndexingController(QObject):
    """Starts, pauses, resumes, cancels and stops the index run of the window's folder.

    Signals: finished(IndexSummary or None when it failed), state_changed() (running / paused changed),
    photo_stored(photo id, path) for each stored photo, message(str) for the status bar."""

    finished = Signal(object)
    state_changed = Signal()
    photo_stored = Signal(int, object)  # path as object: keeps non-UTF-8 names intact
    message = Signal(str)

    def __init__(
        self,
        runner: TaskRunner,
        session: CatalogSession,
        indexer_factory: Callable[[Catalog], Indexer] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        runner.add_lane(LANE)
        self.session = session
        self.indexer_factory = indexer_factory or default_indexer_factory
        self.processes: WorkerProcesses | None = WorkerProcesses(WINDOW_NICENESS) if processes_wanted() else None
        self.bar = IndexBar()
        self.bar.hide()
        self.bar.pause.clicked.connect(self.toggle_pause)
        self.bar.cancel.clicked.connect(self.cancel)
        self.task: Task | None = None
        self.control: WindowRunControl | None = None
        self.last_summary: IndexSummary | None = None
        self.last_error: str | None = None
        self.progress: Progress | None = None  # the run's latest report
        self._stored: set[int] = set()
        self._stored_paths: set[str] = set()  # this run's, to tell when a pause has taken effect
        self._paused_at: float | None = None
        self._paused_seconds = 0.0
        self._batch_timer = QTimer(self)
        self._batch_timer.setSingleShot(True)
        self._batch_timer.setInterval(BATCH_MS)
        self._batch_timer.timeout.connect(self._announce_batch)

    def set_catalog_size(self, photos: int) -> None:
        self._batch_timer.setInterval(batch_interval_ms(photos))

    # --- control ---

    def start(self, folder: Path, catalog_path: Path) -> bool:
        if self.is_running():
            return False
        self.last_summary = None
        self.last_error = None
        self.progress = None
        self._stored_paths = set()
        self._paused_at, self._paused_seconds = None, 0.0
        control = self.control = WindowRunControl()
        make_indexer, processes = self.indexer_factory, self.processes
        self.task = self.runner.submit(
            LANE,
            lambda context: index_folder(context, folder, catalog_path, make_indexer, control, processes),
            on_progress=self._reported,
            on_result=self._finished,
            on_error=self._failed,
            on_done=self._done,
        )
        self.bar.show_started(folder)
        self.state_changed.emit()
        return True

    def is_running(self) -> bool:
        """From start until the run's last report has been handled (or it was stopped)."""
        return self.task is not None

    def is_paused(self) -> bool:
        return self.is_running() and self.control is not None and self.control.paused

    def pause(self) -> None:
        """Finish and store the photos in progress, then hold (the bar says when that has happened)."""
        if self.is_running() and self.control is not None:
            self.control.pause()
            if self._paused_at is None:
                self._paused_at = time.monotonic()
            self.bar.pause.setText("&Resume")
            self._show_progress()
            self.state_changed.emit()

    def resume(self) -> None:
        if self.is_running() and self.control is not None and self.control.paused:
            self.control.resume()
            if self._paused_at is not None:
                self._paused_seconds += time.monotonic() - self._paused_at
                self._paused_at = None
            self.bar.pause.setText("&Pause")
            self._show_progress()
            self.state_changed.emit()

    def pause_state(self) -> str | None:
        """None (running), PAUSING (finishing the photos in progress) or PAUSED (everything analysed is stored)."""
        if not self.is_paused() or self.control is None:
            return None
        return PAUSED if self.control.settled(self._stored_paths) else PAUSING

    def _show_progress(self) -> None:
        state = self.pause_state()
        if state == PAUSED:
            self._announce_batch()  # the grid shows every stored photo at once, not at the next batch
        if self.progress is not None:
            paused = self._paused_seconds + (time.monotonic() - self._paused_at if self._paused_at is not None else 0.0)
            self.bar.show_progress(self.progress, paused, state)
        elif state is not None:
            self.bar.label.setText("Indexing paused" if state == PAUSED else "Pausing…")

    def toggle_pause(self) -> None:
        if self.is_paused():
            self.resume()
        else:
            self.pause()

    def cancel(self) -> None:
        """Stop after the photos in progress; `finished` follows with a cancelled summary."""
        if self.is_running() and self.control is not None:
            self.control.cancel()
            self.bar.label.setText("Cancelling… (finishing the photos in progress)")
            self.bar.pause.setEnabled(False)
            self.bar.cancel.setEnabled(False)

    def stop(self, timeout_ms: int = 120000) -> None:
        """Cancel and wait for the run (before switching catalogs and when closing); no signal follows."""
        if self.task is None:
            return
        if self.control is not None:
            self.control.cancel()
        self.task.wait(timeout_ms)
        self.task.detach()
        self.task = None
        self._batch_timer.stop()
        self._stored.clear()
        self.bar.hide()
        self.state_changed.emit()

    def shutdown(self) -> None:
        """The window closes: stop the run and end the worker processes."""
        self.stop()
        if self.processes is not None:
            self.processes.shutdown()

    # --- reports from the run ---

    def _reported(self, report: Progress | PhotoStored) -> None:
        if isinstance(report, PhotoStored):
            self._stored.add(report.photo_id)
            self._stored_paths.add(report.path)
            self.photo_stored.emit(report.photo_id, report.path)
            if not self._batch_timer.isActive():
                self._batch_timer.start()
            if self.is_paused():
                self._show_progress()  # the pause may have taken effect with this photo
        else:
            self.progress = report
            self._show_progress()

    def _announce_batch(self) -> None:
        stored, self._stored = self._stored, set()
        if stored:
            self.session.announce(CatalogChange.of(stored))

    def _finished(self, summary: IndexSummary) -> None:
        self.last_summary = summary
        self._batch_timer.stop()
        self._stored.clear()
        self.session.announce(CatalogChange.everything())  # moves, removals and re-reads too
        self.message.emit(describe_summary(summary))
        self.finished.emit(summary)

    def _failed(self, exc: Exception) -> None:
        self.last_error = describe_failure(exc)
        self._batch_timer.stop()
        self._announce_batch()  # what was stored before the failure
        self.bar.show_failure(self.last_error)
        self.message.emit(self.last_error.split("\n")[0])
        self.finished.emit(None)

    def _done(self) -> None:
        self.task = None
        if self.last_error is None:
            self.bar.hide()
        self.state_changed.emit()
