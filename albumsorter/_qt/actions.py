"""The window's menus and their actions, built from the shortcut table (shortcuts.py), and the help dialog
generated from the same table. The window supplies what each command does (a name -> callable mapping), so
this module knows nothing of the window's insides."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMainWindow, QMenu, QMessageBox, QWidget

from albumsorter._qt.shortcuts import WINDOW_COMMANDS, key_sequences, shortcuts_html
from albumsorter._qt.theme import THEMES

# Menu layout: command names, None for a separator, and the places filled by the window's own items.
RECENT, DOCKS, THEME = "<recent folders>", "<dock toggles>", "<theme>"
MENUS: tuple[tuple[str, tuple[str | None, ...]], ...] = (
    ("&File", ("open-folder", RECENT, "reindex", None, "export", None, "quit")),
    ("&Photo", ("view", None, "pick", "reject", "unflag", None, "select-all")),
    ("&View", (DOCKS, "find", "clear-filters", None, "zoom-in", "zoom-out", THEME)),
    ("&Index", ("pause", "resume", "cancel")),
    ("&Help", ("shortcuts",)),
)
THEME_TEXT = {"system": "Follow &System", "light": "&Light", "dark": "&Dark"}
NEEDS_CATALOG = ("export", "pick", "reject", "unflag", "view")


def show_shortcuts(parent: QWidget) -> None:
    box = QMessageBox(QMessageBox.Icon.NoIcon, "Keyboard shortcuts", shortcuts_html(), QMessageBox.StandardButton.Ok, parent)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()


class WindowActions:
    """Creates a QAction per window command (keys from the table, active anywhere in the window) and the
    menu bar. `actions[name]` gives one; `update(...)` enables what makes sense now."""

    def __init__(
        self,
        window: QMainWindow,
        handlers: Mapping[str, Callable[[], None]],
        dock_toggles: Sequence[QAction],
        recent_folders: Callable[[], list[dict]],
        open_recent: Callable[[dict], None],
        set_theme: Callable[[str], None],
    ) -> None:
        self.window = window
        self.recent_folders = recent_folders
        self.open_recent = open_recent
        self.actions: dict[str, QAction] = {}
        for cmd in WINDOW_COMMANDS:
            act = QAction(cmd.text, window)
            if cmd.bound and cmd.keys:
                act.setShortcuts(key_sequences(cmd))
                act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            if cmd.tip:
                act.setStatusTip(cmd.tip)
            handler = handlers[cmd.name]
            act.triggered.connect(lambda _=False, handler=handler: handler())
            window.addAction(act)
            self.actions[cmd.name] = act
        self.theme_actions: dict[str, QAction] = {}
        self.recent_menu = QMenu("Open &Recent", window)
        self.recent_menu.aboutToShow.connect(self.fill_recent)
        self.fill_recent()
        self._build_menus(dock_toggles, set_theme)

    def __getitem__(self, name: str) -> QAction:
        return self.actions[name]

    def _build_menus(self, dock_toggles: Sequence[QAction], set_theme: Callable[[str], None]) -> None:
        bar = self.window.menuBar()
        for title, items in MENUS:
            menu = bar.addMenu(title)
            for item in items:
                if item is None:
                    menu.addSeparator()
                elif item == RECENT:
                    menu.addMenu(self.recent_menu)
                elif item == DOCKS:
                    for toggle in dock_toggles:
                        menu.addAction(toggle)
                elif item == THEME:
                    self._add_theme_menu(menu.addMenu("&Theme"), set_theme)
                else:
                    menu.addAction(self.actions[item])

    def _add_theme_menu(self, menu: QMenu, set_theme: Callable[[str], None]) -> None:
        group = QActionGroup(self.window)
        for theme in THEMES:
            act = QAction(THEME_TEXT[theme], self.window, checkable=True)
            act.setChecked(theme == "system")
            act.triggered.connect(lambda _=False, theme=theme: set_theme(theme))
            group.addAction(act)
            menu.addAction(act)
            self.theme_actions[theme] = act

    def fill_recent(self) -> None:
        self.recent_menu.clear()
        items = self.recent_folders()
        for i, item in enumerate(items):
            label = f"&{i + 1} {item['folder']}" if i < 9 else item["folder"]
            act = self.recent_menu.addAction(label)
            act.triggered.connect(lambda _=False, item=item: self.open_recent(item))
        if not items:
            self.recent_menu.addAction("No recent folders").setEnabled(False)

    def update(self, has_catalog: bool, has_folder: bool, indexing: bool, paused: bool) -> None:
        self.actions["reindex"].setEnabled(has_catalog and has_folder and not indexing)
        self.actions["pause"].setEnabled(indexing and not paused)
        self.actions["resume"].setEnabled(paused)
        self.actions["cancel"].setEnabled(indexing)
        for name in NEEDS_CATALOG:
            self.actions[name].setEnabled(has_catalog)
