"""The errors dock: photos that could not be read, with the reason (never one pop-up per file)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from albumsorter.core.catalog import Catalog
from albumsorter._qt.photo_model import display


class ErrorsPanel(QWidget):
    count_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ErrorsPanel")
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

    def refresh(self, catalog: Catalog | None) -> int:
        errors = catalog.errors() if catalog is not None else []
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
        return n

    def paths(self) -> list[str]:
        return list(getattr(self, "_paths", []))

    def keyPressEvent(self, event) -> None:
        if event.matches(QKeySequence.StandardKey.Copy):
            rows = sorted(self.tree.indexOfTopLevelItem(i) for i in self.tree.selectedItems())
            QGuiApplication.clipboard().setText("\n".join(display(self._paths[r]) for r in rows))
            return
        super().keyPressEvent(event)
