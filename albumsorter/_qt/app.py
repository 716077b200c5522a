"""Entry point of the window: `albumsorter`, `albumsorter gui [FOLDER] [--catalog PATH]`."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def create_application(argv: list[str] | None = None):
    """The QApplication (or the existing one), set up for high-DPI screens and the system theme."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        # Qt 6 scales for high-DPI screens by default; keep fractional factors (1.25, 1.5) exact.
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("AlbumSorter")
    app.setOrganizationName("AlbumSorter")
    app.setApplicationDisplayName("AlbumSorter")
    from albumsorter import __version__

    app.setApplicationVersion(__version__)
    from PySide6.QtGui import QIcon

    from albumsorter.core.resources import resources_dir

    app.setWindowIcon(QIcon(str(resources_dir() / "icons" / "albumsorter.png")))
    QGuiApplication.setDesktopFileName("albumsorter")  # Wayland matches the window to albumsorter.desktop
    return app


def open_initial(window, folder: str | os.PathLike | None, catalog: str | os.PathLike | None) -> None:
    """What the window shows first: the folder given (indexed in the background), else the catalog given,
    else the most recent folder (its indexing resumes), else the welcome page."""
    from albumsorter.core.settings import recent_folders

    if folder:
        window.open_folder(folder, catalog)
    elif catalog:
        if window.open_catalog(catalog) and window.folder is not None and window.folder.is_dir():
            window.start_indexing()
    else:
        for item in recent_folders():
            if Path(item["folder"]).is_dir():
                window.open_folder(item["folder"], item["catalog"])
                break


def run_app(folder: str | os.PathLike | None = None, catalog: str | os.PathLike | None = None) -> int:
    from PySide6.QtCore import QTimer

    from albumsorter._qt.main_window import MainWindow

    app = create_application()
    window = MainWindow()
    window.show()
    # After the window is up, so the first paint is not delayed by opening the catalog.
    QTimer.singleShot(0, lambda: open_initial(window, folder, catalog))
    return int(app.exec())
