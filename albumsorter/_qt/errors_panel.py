"""The errors dock: photos that could not be read, with the reason (never one pop-up per file). It reads
the list in the catalog session's read lane whenever a catalog is opened or changes."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from albumsorter._qt.catalog_session import CatalogSession
from albumsorter._qt.photo_model import display

ERRORS_QUERY = "errors"  # the read key


class ErrorsPanel(QWidget):
    """Signals: count_changed(int) each time the list was read."""

    count_changed = Signal(int)

    def __init__(self, session: CatalogSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ErrorsPanel")
        self.session = session
        self._paths: list[str] = []
        self.summary = QLabel("No errors.")
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Photo", "Why it could not be read", "Folder"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.tree.setToolTip("Ctrl+C copies the selected paths")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(self.tree, 1)
        session.opened.connect(lambda _path: self.refresh())
        session.catalog_changed.connect(lambda _change: self.refresh())

    def refresh(self) -> None:
        """Read the list again (off the GUI thread); shown when it arrives."""
        if self.session.path is None:
            self.show_errors([])
        else:
            self.session.read(ERRORS_QUERY, lambda catalog: catalog.errors(), self.show_errors)

    def show_errors(self, errors: list[tuple[str, str]]) -> None:
        self.tree.clear()
        self._paths = [path for path, _ in errors]  # Python strs (exact, even for non-UTF-8 names)
        items = []
        for path, reason in errors:
            p = Path(path)
            item = QTreeWidgetItem([display(p.name), reason or "", display(str(p.parent))])
            item.setData(0, Qt.ItemDataRole.UserRole, len(items))
            item.setToolTip(0, display(path))
            item.setToolTip(1, reason or "")
            items.append(item)
        self.tree.addTopLevelItems(items)
        n = len(errors)
        self.summary.setText("No errors." if n == 0 else f"{n} photo{'s' if n != 1 else ''} could not be read:")
        self.count_changed.emit(n)

    def paths(self) -> list[str]:
        return list(self._paths)

    def keyPressEvent(self, event) -> None:
        if event.matches(QKeySequence.StandardKey.Copy):
            rows = sorted(self.tree.indexOfTopLevelItem(i) for i in self.tree.selectedItems())
            QGuiApplication.clipboard().setText("\n".join(display(self._paths[r]) for r in rows))
            return
        super().keyPressEvent(event)
