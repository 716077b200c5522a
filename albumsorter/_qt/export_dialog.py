"""Export picks: copies the picked photos into a folder with a progress dialog; never overwrites. Afterwards a bar
says what was copied where, with "Open Folder".

The copying (core.export) runs in the task runner's export lane; the dialog only shows progress and can cancel.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressDialog, QPushButton, QToolButton, QWidget

from albumsorter._qt.tasks import TaskContext, TaskRunner

LANE = "export"


def copy_photos(context: TaskContext, paths: list[str], dest: Path):
    """The export task: copies, reports (i, n, path) after each photo, stops between photos when cancelled."""
    from albumsorter.core.export import export_photos

    return export_photos(
        paths, dest, on_progress=lambda i, n, path: context.report((i, n, path)), should_stop=lambda: context.cancelled
    )


class ExportNotice(QFrame):
    """The bar that says what an export did, with "Open Folder" (it stays until dismissed or the next export;
    a pop-up would take the keyboard from the grid)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ExportNotice")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.dest: Path | None = None
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.open_button = QPushButton("Open Folder")
        self.open_button.clicked.connect(self.open_folder)
        self.dismiss = QToolButton()
        self.dismiss.setText("✕")
        self.dismiss.setAutoRaise(True)
        self.dismiss.setToolTip("Hide")
        self.dismiss.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.open_button)
        layout.addWidget(self.dismiss)
        self.hide()

    def show_result(self, result, dest: Path, text: str) -> None:
        self.dest = Path(dest)
        self.label.setText(("⚠ " if result.failed else "✔ ") + text)
        self.label.setToolTip("\n".join(f"{s}: {why}" for s, why in result.failed))
        self.show()

    def open_folder(self) -> None:
        if self.dest is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.dest)))


class ExportJob(QObject):
    """One export: `finished(ExportResult)` or `failed(str)`, then `done`."""

    finished = Signal(object)
    failed = Signal(str)
    done = Signal()

    def __init__(self, runner: TaskRunner, paths: list[str], dest: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        runner.add_lane(LANE)
        self.paths = list(paths)
        self.dest = Path(dest)
        self.result = None
        self.task = None
        n = len(self.paths)
        self.dialog = QProgressDialog(f"Copying {n} photo{'s' if n != 1 else ''} to {dest}…", "Cancel", 0, max(1, n), parent)
        self.dialog.setWindowTitle("Export picks")
        self.dialog.setMinimumDuration(300)
        self.dialog.setAutoClose(False)
        self.dialog.setAutoReset(False)
        self.dialog.setValue(0)
        self.dialog.canceled.connect(self.cancel)

    def start(self) -> None:
        paths, dest = self.paths, self.dest
        self.task = self.runner.submit(
            LANE,
            lambda context: copy_photos(context, paths, dest),
            on_progress=self._progress,
            on_result=self._finished,
            on_error=lambda exc: self.failed.emit(f"Export failed: {exc}"),
            on_done=self._done,
        )

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _progress(self, report: tuple[int, int, str]) -> None:
        i, n, path = report
        self.dialog.setMaximum(max(1, n))
        self.dialog.setValue(i)
        self.dialog.setLabelText(f"Copying {i} of {n}: {Path(path).name}")

    def _finished(self, result) -> None:
        self.result = result
        self.finished.emit(result)

    def _done(self) -> None:
        self.dialog.close()
        self.dialog.deleteLater()
        self.done.emit()
