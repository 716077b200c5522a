"""Help → About: the version, and the details a developer or a bug report needs (the expression model, how it
runs, the catalog file and the folder) that used to crowd the status bar."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget


def runtime_description() -> str:
    """What runs the expression model here (LiteRT on the CPU, or ONNX Runtime on a GPU: core/runtime.py)."""
    try:
        from albumsorter.core.runtime import describe_runtime

        expressions = describe_runtime()
    except Exception as exc:  # the About box must open whatever the runtime says
        expressions = f"unknown ({exc})"
    return f"Expressions: {expressions} · face detection and landmarks: MediaPipe on the CPU"


def model_description() -> tuple[str, str]:
    """(short text, details) for the expression model in use."""
    from albumsorter.core.classify import ModelCard, ModelError
    from albumsorter.core.resources import expression_model_card_path

    try:
        card = ModelCard.load(expression_model_card_path())
    except ModelError as exc:
        return "not installed", str(exc)
    metrics = card.extra.get("metrics") or {}
    details = f"{card.model_path}, input {card.input_size}×{card.input_size}×{card.input_channels}"
    if metrics:
        details += "; " + ", ".join(f"{k}: {v}" for k, v in list(metrics.items())[:4] if not isinstance(v, (dict, list)))
    return card.id, details


def about_html(catalog: Path | None, folder: Path | None) -> str:
    from albumsorter import __version__

    model, details = model_description()
    rows = [
        ("Expression model", f"{model}<br><small>{html.escape(details)}</small>"),
        ("Runs on", html.escape(runtime_description())),
        ("Folder", html.escape(str(folder)) if folder else "none open"),
        ("Catalog", html.escape(str(catalog)) if catalog else "none open"),
    ]
    table = "".join(f"<tr><td valign='top'><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in rows)
    return (
        f"<h3>AlbumSorter {html.escape(__version__)}</h3>"
        "<p>Finds the photos worth keeping by reading the faces in them. Everything runs on this computer; "
        "AlbumSorter never writes into your photos.</p>"
        f"<table>{table}</table>"
    )


def show_about(parent: QWidget, catalog: Path | None, folder: Path | None) -> QMessageBox:
    box = QMessageBox(
        QMessageBox.Icon.NoIcon, "About AlbumSorter", about_html(catalog, folder), QMessageBox.StandardButton.Ok, parent
    )
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
