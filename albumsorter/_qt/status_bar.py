"""The window's status bar: what a user wants to know at a glance (photos shown, picks, the selection) and the
unreadable photos (a button that shows the errors dock); transient messages on the left as usual. The
developer's details (the model's id, the inference runtime, the catalog file) are in Help → About and in the
count's tooltip."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QStatusBar, QToolButton, QWidget


def describe_counts(shown: int, total: int, picked: int, selected: int) -> str:
    """ "12 of 54 photos · 3 picked · 2 selected" (parts that say nothing are left out)."""
    parts = [f"{shown:,} of {total:,} photos" if shown != total else f"{total:,} photo{'s' if total != 1 else ''}"]
    if picked:
        parts.append(f"{picked:,} picked")
    if selected > 1:
        parts.append(f"{selected:,} selected")
    return " · ".join(parts)


class StatusBar(QStatusBar):
    """Signals: errors_clicked() when the "⚠ N unreadable" button is pressed."""

    errors_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.count_label = QLabel()
        self.count_label.setObjectName("StatusCounts")
        self.errors_button = QToolButton()
        self.errors_button.setAutoRaise(True)
        self.errors_button.setToolTip("Show the photos that could not be read")
        self.errors_button.clicked.connect(self.errors_clicked.emit)
        self.errors_button.hide()
        self._counts = (0, 0, 0, 0)
        for w in (self.count_label, self.errors_button):
            self.addPermanentWidget(w)

    def show_counts(self, shown: int, total: int, picked: int | None = None, selected: int | None = None) -> None:
        old = self._counts
        self._counts = (shown, total, old[2] if picked is None else picked, old[3] if selected is None else selected)
        self.count_label.setText(describe_counts(*self._counts))

    def show_selection(self, selected: int) -> None:
        self.show_counts(self._counts[0], self._counts[1], selected=selected)

    def show_errors(self, n: int) -> None:
        self.errors_button.setText(f"⚠ {n} unreadable")
        self.errors_button.setVisible(n > 0)

    def show_catalog(self, path: Path | None) -> None:
        """The catalog file, for those who look for it (the count's tooltip; Help → About has the rest)."""
        self.count_label.setToolTip(f"Catalog: {path}" if path is not None else "")
