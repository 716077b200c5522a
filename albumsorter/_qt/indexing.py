"""Indexing from the window: the run in the task runner's index lane, the bar above the grid (progress,
Pause/Resume, Cancel, or why it failed), and the batches of stored photos announced to the catalog session.

The indexer writes through a catalog connection of its own (opened in the task) and reports each stored
photo; the controller gathers those and announces them to the session in batches (one `catalog_changed`
per batch), so the grid grows while the run goes on without a query per photo. The batch interval grows
with the size of the catalog, as the grid's query does (about 0.5 s per 10,000 photos on a slow laptop).
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QToolButton, QWidget

from albumsorter._qt.catalog_session import CatalogChange, CatalogSession
from albumsorter._qt.tasks import Task, TaskContext, TaskRunner
from albumsorter.core.catalog import Catalog
from albumsorter.core.pipeline import Indexer, IndexOptions, IndexSummary, Progress, RunControl

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


def describe_progress(p: Progress) -> str:
    text = f"{p.done:,} / {p.total:,} photos · {p.faces:,} faces"
    if p.errors:
        text += f" · {p.errors} unreadable"
    if p.done:
        text += f" · {p.photos_per_second:.1f} photos/s · {format_duration(p.seconds_left)} left"
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


@dataclass(frozen=True)
class PhotoStored:
    """Reported by the index task after each stored photo."""

    photo_id: int
    path: str


def index_folder(
    context: TaskContext, folder: Path, catalog_path: Path, make_indexer: Callable[[Catalog], Indexer], control: RunControl
) -> IndexSummary:
    """The index task: opens its own catalog connection, runs the indexer, reports Progress snapshots and
    PhotoStored events. ModelError / DetectorError (missing models) come out of `make_indexer`."""
    if control.cancelled:
        raise IndexingCancelled("cancelled before it started")
    with Catalog(catalog_path) as catalog:
        indexer = make_indexer(catalog)

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

    def show_progress(self, p: Progress, paused: bool) -> None:
        if p.total:
            self.bar.setRange(0, p.total)
            self.bar.setValue(p.done)
        else:
            self.bar.setRange(0, 1)
            self.bar.setValue(1)
        text = describe_progress(p) if p.total else "Nothing new to index"
        self.label.setText(text + (" — paused" if paused else ""))

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
        self.bar = IndexBar()
        self.bar.hide()
        self.bar.pause.clicked.connect(self.toggle_pause)
        self.bar.cancel.clicked.connect(self.cancel)
        self.task: Task | None = None
        self.control: RunControl | None = None
        self.last_summary: IndexSummary | None = None
        self.last_error: str | None = None
        self._stored: set[int] = set()
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
        control = self.control = RunControl()
        make_indexer = self.indexer_factory
        self.task = self.runner.submit(
            LANE,
            lambda context: index_folder(context, folder, catalog_path, make_indexer, control),
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
        if self.is_running() and self.control is not None:
            self.control.pause()
            self.bar.pause.setText("&Resume")
            self.bar.label.setText(self.bar.label.text().split(" — ")[0] + " — paused")
            self.state_changed.emit()

    def resume(self) -> None:
        if self.is_running() and self.control is not None:
            self.control.resume()
            self.bar.pause.setText("&Pause")
            self.state_changed.emit()

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

    # --- reports from the run ---

    def _reported(self, report: Progress | PhotoStored) -> None:
        if isinstance(report, PhotoStored):
            self._stored.add(report.photo_id)
            self.photo_stored.emit(report.photo_id, report.path)
            if not self._batch_timer.isActive():
                self._batch_timer.start()
        else:
            self.bar.show_progress(report, self.is_paused())

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
