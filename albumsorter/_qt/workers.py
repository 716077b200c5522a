"""Long operations off the GUI thread: indexing and export.

Each worker is a QObject moved to its own QThread; it opens its *own* Catalog (SQLite connections belong
to one thread) and talks to the window only through signals (queued across threads). Read-only queries
and tiny writes (picks, corrections) stay on the GUI thread's catalog connection.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from albumsorter.core.catalog import Catalog
from albumsorter.core.pipeline import IndexOptions, Indexer, Progress, RunControl


def default_workers() -> int:
    """Leave one core to the window (and thumbnails) on small machines."""
    n = os.cpu_count() or 1
    return max(1, n - 1) if n > 2 else n


def default_indexer_factory(catalog: Catalog) -> Indexer:
    return Indexer(catalog, IndexOptions(workers=default_workers()))


class IndexWorker(QObject):
    """Indexes one folder into one catalog. Construct, move to a QThread, then invoke `run`.

    Signals: started_run(), progress(Progress), photo_indexed(int, str), finished(IndexSummary),
    failed(str) -- a clear message (missing model, unreadable folder, ...). Exactly one of finished/failed
    fires, then `done`.
    """

    started_run = Signal()
    progress = Signal(object)
    photo_indexed = Signal(int, object)  # id, path (object: keeps non-UTF-8 names intact)
    finished = Signal(object)
    failed = Signal(str)
    done = Signal()

    def __init__(self, folder: Path, catalog_path: Path, indexer_factory: Callable[[Catalog], Indexer] | None = None) -> None:
        super().__init__()
        self.folder = Path(folder)
        self.catalog_path = Path(catalog_path)
        self.control = RunControl()
        self.indexer_factory = indexer_factory or default_indexer_factory

    @Slot()
    def run(self) -> None:
        catalog = None
        try:
            if self.control.cancelled:
                self.failed.emit("cancelled before it started")
                return
            catalog = Catalog(self.catalog_path)
            indexer = self.indexer_factory(catalog)  # ModelError / DetectorError when models are missing
            self.started_run.emit()

            def on_progress(p: Progress) -> None:
                # A snapshot: the Progress object keeps changing in this thread.
                self.progress.emit(Progress(p.done, p.total, p.faces, p.errors, p.elapsed, p.path))

            summary = indexer.run(self.folder, on_progress=on_progress, on_photo=self.photo_indexed.emit, control=self.control)
            self.finished.emit(summary)
        except Exception as exc:  # shown in the window, never a crash
            name = type(exc).__name__
            if name in ("ModelError", "DetectorError"):
                self.failed.emit(f"The models are missing or broken, so photos cannot be indexed.\n\n{exc}")
            else:
                self.failed.emit(f"Indexing stopped: {name}: {exc}\n\n{traceback.format_exc(limit=3)}")
        finally:
            if catalog is not None:
                catalog.close()
            self.done.emit()


class ExportWorker(QObject):
    """Copies photos into a folder (core.export: never overwrites). Signals: progress(i, n, path),
    finished(ExportResult), failed(str), done()."""

    progress = Signal(int, int, object)
    finished = Signal(object)
    failed = Signal(str)
    done = Signal()

    def __init__(self, paths: list[str], dest: Path) -> None:
        super().__init__()
        self.paths = list(paths)
        self.dest = Path(dest)
        self._stop = False

    def cancel(self) -> None:
        self._stop = True  # read by the worker thread between files

    @Slot()
    def run(self) -> None:
        from albumsorter.core.export import export_photos

        try:
            result = export_photos(self.paths, self.dest, on_progress=self.progress.emit, should_stop=lambda: self._stop)
            self.finished.emit(result)
        except Exception as exc:
            self.failed.emit(f"Export failed: {exc}")
        finally:
            self.done.emit()


class WorkerThread:
    """A worker QObject running in its own QThread; `start()` invokes worker.run there; the thread quits
    when the worker emits `done`."""

    def __init__(self, worker: QObject, name: str) -> None:
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName(name)
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)
        # Direct: the GUI thread may be blocked in wait() while the worker finishes (closing the window).
        worker.done.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)

    def start(self) -> None:
        self.thread.start()

    def is_running(self) -> bool:
        return self.thread.isRunning()

    def wait(self, ms: int = -1) -> bool:
        if ms < 0:
            return self.thread.wait()
        return self.thread.wait(ms)
