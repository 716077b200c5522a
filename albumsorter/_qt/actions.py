"""The window's menus, its toolbar and their actions, built from the shortcut table (shortcuts.py), and the help
dialog generated from the same table. The window supplies what each command does (a name -> callable mapping), so
this module knows nothing of the window's insides."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMainWindow, QMenu, QMessageBox, QStyle, QToolBar, QToolButton, QWidget

from albumsorter._qt.shortcuts import WINDOW_COMMANDS, key_sequences, shortcuts_html
from albumsorter._qt.theme import THEMES

# Menu layout: command names, None for a separator, and the places filled by the window's own items.
RECENT, DOCKS, THEME, RATING, SIDECAR_STYLE = "<recent folders>", "<dock toggles>", "<theme>", "<rating>", "<sidecar style>"
MENUS: tuple[tuple[str, tuple[str | None, ...]], ...] = (
    ("&File", ("open-folder", RECENT, "reindex", None, "export", None, "quit")),
    ("&Photo", ("view", None, "pick", "reject", "unflag", RATING, None, "select-all", None, "sidecars", SIDECAR_STYLE)),
    ("&View", (DOCKS, "find", "clear-filters", None, "zoom-in", "zoom-out", THEME)),
    ("&Index", ("pause", "resume", "cancel")),
    ("&Help", ("shortcuts", "about")),
)
# The toolbar: what a photographer looks for first (open, flag, rate, export), with words, not only icons.
TOOLBAR: tuple[str | None, ...] = ("open-folder", None, "pick", "reject", "unflag", RATING, None, "export")
TOOL_ICONS = {
    "open-folder": QStyle.StandardPixmap.SP_DirOpenIcon,
    "export": QStyle.StandardPixmap.SP_DialogSaveButton,
    "pick": QStyle.StandardPixmap.SP_DialogApplyButton,
    "reject": QStyle.StandardPixmap.SP_DialogCancelButton,
}
THEME_TEXT = {"system": "Follow &System", "light": "&Light", "dark": "&Dark"}
SIDECAR_STYLES = (("darktable", "photo.jpg.xmp (darktable, digiKam)"), ("adobe", "photo.xmp (Lightroom, Bridge)"))
RATING_COMMANDS = tuple(f"rate-{n}" for n in range(6))
NEEDS_CATALOG = ("export", "pick", "reject", "unflag", "view", *RATING_COMMANDS)


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
        set_sidecar_style: Callable[[str], None] = lambda _style: None,
    ) -> None:
        self.window = window
        self.recent_folders = recent_folders
        self.open_recent = open_recent
        self.actions: dict[str, QAction] = {}
        for cmd in WINDOW_COMMANDS:
            act = QAction(cmd.text, window)
            act.setCheckable(cmd.checkable)
            if cmd.bound and cmd.keys:
                act.setShortcuts(key_sequences(cmd))
                act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            if cmd.tip:
                act.setStatusTip(cmd.tip)
            handler = handlers[cmd.name]
            if cmd.checkable:  # a setting: its handler takes the new state
                act.toggled.connect(lambda on, handler=handler: handler(on))
            else:
                act.triggered.connect(lambda _=False, handler=handler: handler())
            window.addAction(act)
            self.actions[cmd.name] = act
        self.theme_actions: dict[str, QAction] = {}
        self.sidecar_style_actions: dict[str, QAction] = {}
        self.set_sidecar_style = set_sidecar_style
        self.recent_menu = QMenu("Open &Recent", window)
        self.recent_menu.aboutToShow.connect(self.fill_recent)
        self.fill_recent()
        self.rating_menu = QMenu("&Rating", window)
        for name in RATING_COMMANDS:
            self.rating_menu.addAction(self.actions[name])
        self._build_menus(dock_toggles, set_theme)
        self.toolbar = self._build_toolbar()

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
                elif item == RATING:
                    menu.addMenu(self.rating_menu)
                elif item == SIDECAR_STYLE:
                    self._add_sidecar_style_menu(menu.addMenu("Name New Sidecars"))
                else:
                    menu.addAction(self.actions[item])

    def _build_toolbar(self) -> QToolBar:
        bar = QToolBar("Toolbar", self.window)
        bar.setObjectName("MainToolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        bar.setIconSize(QSize(16, 16))
        style = self.window.style()
        for item in TOOLBAR:
            if item is None:
                bar.addSeparator()
            elif item == RATING:
                button = QToolButton(bar)
                button.setText("★ Rate")
                button.setToolTip("Rate the photos: keys 0–5")
                button.setMenu(self.rating_menu)
                button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
                button.setObjectName("RateButton")
                bar.addWidget(button)
            else:
                act = self.actions[item]
                if item in TOOL_ICONS:
                    act.setIcon(style.standardIcon(TOOL_ICONS[item]))
                act.setIconVisibleInMenu(False)
                bar.addAction(act)
                keys = act.shortcut().toString()
                tip = act.statusTip() or act.text().replace("&", "")
                act.setToolTip(f"{tip} ({keys})" if keys else tip)
        self.window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        return bar

    def _add_theme_menu(self, menu: QMenu, set_theme: Callable[[str], None]) -> None:
        group = QActionGroup(self.window)
        for theme in THEMES:
            act = QAction(THEME_TEXT[theme], self.window, checkable=True)
            act.setChecked(theme == "system")
            act.triggered.connect(lambda _=False, theme=theme: set_theme(theme))
            group.addAction(act)
            menu.addAction(act)
            self.theme_actions[theme] = act

    def _add_sidecar_style_menu(self, menu: QMenu) -> None:
        """Where a photo has no sidecar yet, which naming a new one gets (an existing one is always updated)."""
        group = QActionGroup(self.window)
        for style, text in SIDECAR_STYLES:
            act = QAction(text, self.window, checkable=True)
            act.setChecked(style == "darktable")
            act.triggered.connect(lambda _=False, style=style: self.set_sidecar_style(style))
            group.addAction(act)
            menu.addAction(act)
            self.sidecar_style_actions[style] = act

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
        self.rating_menu.setEnabled(has_catalog)
