"""The window's status bar: photo counts, unreadable photos (a button that shows the errors dock), the
expression model, the device, the catalog file; transient messages on the left as usual."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QStatusBar, QToolButton, QWidget


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


def elide_path(path: str, n: int = 60) -> str:
    return path if len(path) <= n else "…" + path[-(n - 1) :]


class StatusBar(QStatusBar):
    """Signals: errors_clicked() when the "⚠ N unreadable" button is pressed."""

    errors_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.count_label = QLabel()
        self.errors_button = QToolButton()
        self.errors_button.setAutoRaise(True)
        self.errors_button.setToolTip("Show the photos that could not be read")
        self.errors_button.clicked.connect(self.errors_clicked.emit)
        self.errors_button.hide()
        text, tip = model_description()
        self.model_label = QLabel(text)
        self.model_label.setToolTip(tip)
        self.device_label = QLabel("LiteRT · CPU")
        self.device_label.setToolTip("Inference runs on the CPU with LiteRT (XNNPACK); face detection with MediaPipe on the CPU.")
        self.catalog_label = QLabel("No catalog")
        self.catalog_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.catalog_label.setMaximumWidth(420)
        for w in (self.count_label, self.errors_button, self.model_label, self.device_label, self.catalog_label):
            self.addPermanentWidget(w)

    def show_counts(self, shown: int, total: int) -> None:
        self.count_label.setText(f"{shown:,} of {total:,} photos" if shown != total else f"{total:,} photos")

    def show_errors(self, n: int) -> None:
        self.errors_button.setText(f"⚠ {n} unreadable")
        self.errors_button.setVisible(n > 0)

    def show_catalog(self, path: Path | None) -> None:
        self.catalog_label.setText(f"Catalog: {elide_path(str(path))}" if path is not None else "No catalog")
        self.catalog_label.setToolTip(str(path) if path is not None else "")
