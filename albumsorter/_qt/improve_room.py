"""Model → Improve the Model from My Corrections, and Revert to the Shipped Model (issue #12).

The work is core.improve's: fine-tune the real-photo head on the user's corrections, check it on corrections it did
not see, refuse a worse one, install it as the user's personal model and re-label the catalog without re-detecting.
Here it runs in its own lane of the window's task runner (seconds to a few minutes), with progress in the status
bar and the verdict in a message; the grid and viewer follow through the session's `catalog_changed`.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMainWindow, QMenu, QMessageBox

from albumsorter._qt.catalog_session import CatalogChange, CatalogSession
from albumsorter._qt.tasks import Task, TaskContext, TaskRunner

LANE = "improve"


def describe_report(report) -> str:
    """The verdict of one improve run, in words."""
    if report.installed:
        text = (
            f"Your personal model is installed: {report.new_accuracy:.0%} right on {report.held_out_faces} corrections it did "
            f"not learn from (the model before: {report.current_accuracy:.0%})."
        )
        if report.relabelled_photos:
            text += f" {report.relabelled_photos} photos were re-labelled."
        return text + " Model → Revert to the Shipped Model undoes it."
    return f"The model was not changed: {report.reason or 'the new one was not better'}."


class ImproveRoom(QObject):
    """The Model menu of `window`; `session` gives the open catalog and announces the re-labelled photos."""

    def __init__(self, window: QMainWindow, runner: TaskRunner, session: CatalogSession) -> None:
        super().__init__(window)
        self.window, self.runner, self.session = window, runner, session
        runner.add_lane(LANE)
        self.task: Task | None = None
        self.last_report = None
        self.message: QMessageBox | None = None
        self.menu = QMenu("&Model", window)
        self.improve_action = self.menu.addAction("&Improve the Model from My Corrections…")
        self.improve_action.setStatusTip(
            "Learn from the expressions you corrected (in the background), keep it only if it is better"
        )
        self.improve_action.triggered.connect(self.improve)
        self.revert_action = self.menu.addAction("&Revert to the Shipped Model")
        self.revert_action.triggered.connect(self.revert)
        bar = window.menuBar()
        help_menu = next((a for a in bar.actions() if a.text().replace("&", "") == "Help"), None)
        bar.insertMenu(help_menu, self.menu) if help_menu is not None else bar.addMenu(self.menu)

    def _status(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 15000)

    def improve(self) -> bool:
        path = self.session.path
        if path is None or self.task is not None:
            return False

        def run(context: TaskContext):
            from albumsorter.core.catalog import Catalog
            from albumsorter.core.improve import improve_from_corrections

            with Catalog(path) as catalog:
                return improve_from_corrections(
                    catalog,
                    progress=lambda what, done, total: context.report((what, done, total)),
                    cancelled=lambda: context.cancelled,
                )

        self.improve_action.setEnabled(False)
        self._status("Improving the model from your corrections…")
        self.task = self.runner.submit(
            LANE, run, on_progress=self._progress, on_result=self._finished, on_error=self._failed, on_done=self._done
        )
        return True

    def _progress(self, progress) -> None:
        what, done, total = progress
        self._status(f"Improving the model: {what} {done} / {total}" if total else f"Improving the model: {what}")

    def _finished(self, report) -> None:
        self.last_report = report
        if report.relabelled_photos:
            self.session.announce(CatalogChange.everything())
        self._tell(describe_report(report), QMessageBox.Icon.Information)

    def _failed(self, exc: Exception) -> None:
        self.last_report = None
        self._tell(f"The model could not be improved: {exc}", QMessageBox.Icon.Warning)

    def _tell(self, text: str, icon: QMessageBox.Icon) -> None:
        """In the status bar and a window-modal box that does not hold up the event loop (open(), not exec())."""
        self._status(text)
        self.message = QMessageBox(icon, "Improve the model", text, QMessageBox.StandardButton.Ok, self.window)
        self.message.open()

    def _done(self) -> None:
        self.task = None
        self.improve_action.setEnabled(True)

    def revert(self) -> bool:
        path = self.session.path
        if self.task is not None:
            return False

        def run(context: TaskContext) -> int:
            from albumsorter.core.catalog import Catalog
            from albumsorter.core.improve import relabel_catalog, revert_personal_head

            if not revert_personal_head():
                return -1
            if path is None:
                return 0
            with Catalog(path) as catalog:
                return relabel_catalog(catalog, cancelled=lambda: context.cancelled)

        def reverted(count: int) -> None:
            if count < 0:
                self._status("You have no personal model: the shipped model is in use.")
                return
            self.session.announce(CatalogChange.everything())
            self._status(f"Back to the shipped model; {count} photos re-labelled.")

        self.task = self.runner.submit(LANE, run, on_result=reverted, on_error=self._failed, on_done=self._done)
        return True
