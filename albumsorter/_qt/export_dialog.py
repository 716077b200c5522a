"""Export picks: copies the picked photos into a folder with a progress dialog; never overwrites.

The copying runs in an ExportWorker on its own thread; the dialog only shows progress and can cancel.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from albumsorter._qt.workers import ExportWorker, WorkerThread


class ExportJob(QObject):
    """One export: `finished(ExportResult)` or `failed(str)`, then `done`."""

    finished = Signal(object)
    failed = Signal(str)
    done = Signal()

    def __init__(self, paths: list[str], dest: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.paths = list(paths)
        self.dest = Path(dest)
        self.result = None
        self.dialog = QProgressDialog(f"Copying {len(paths)} photo{'s' if len(paths) != 1 else ''} to {dest}…", "Cancel", 0, max(1, len(paths)), parent)
        self.dialog.setWindowTitle("Export picks")
        self.dialog.setMinimumDuration(300)
        self.dialog.setAutoClose(False)
        self.dialog.setAutoReset(False)
        self.dialog.setValue(0)
        self.worker = ExportWorker(self.paths, self.dest)
        self.thread = WorkerThread(self.worker, "albumsorter-export")
        self.worker.progress.connect(self._progress)
        self.worker.finished.connect(self._finished)
        self.worker.failed.connect(self._failed)
        self.worker.done.connect(self._done)
        self.dialog.canceled.connect(self.worker.cancel)

    def start(self) -> None:
        self.thread.start()

    def cancel(self) -> None:
        self.worker.cancel()

    def wait(self, ms: int = 30000) -> bool:
        return self.thread.wait(ms)

    def _progress(self, i: int, n: int, path: str) -> None:
        self.dialog.setMaximum(max(1, n))
        self.dialog.setValue(i)
        self.dialog.setLabelText(f"Copying {i} of {n}: {Path(path).name}")

    def _finished(self, result) -> None:
        self.result = result
        self.finished.emit(result)

    def _failed(self, message: str) -> None:
        self.failed.emit(message)

    def _done(self) -> None:
        self.thread.wait(5000)
        self.dialog.close()
        self.dialog.deleteLater()
        self.done.emit()
