"""Every keyboard shortcut of the window, in one table. The menus (actions.py) and the viewer bind their keys
from it and the help dialog (F1) is generated from it, so the three cannot disagree.

A command has a stable `name` that code refers to (the window and the viewer map names to what they do), the
text of its menu item, its keys, and the line the help dialog shows. The expression keys are generated from
core's class list, so the table itself says which digit is which expression (1 anger ... 8 surprise, 0 the
model's own label), the same order as the right-click menu.

Digits alone rate the photo (0-5 stars, as in Lightroom), in the grid and in the viewer alike; Alt + a digit sets
the selected face's expression (Alt+1 anger ... Alt+8 surprise, Alt+0 back to the model's). One rule everywhere,
no mode to remember: a digit is about the photo, Alt + a digit about the selected face.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from albumsorter.core.classes import CLASSES_8

KeySpec = str | QKeySequence.StandardKey
StandardKey = QKeySequence.StandardKey

WINDOW = "window"  # anywhere in the window (menu items)
VIEWER = "viewer"  # while the viewer shows a photo


@dataclass(frozen=True)
class Command:
    name: str
    text: str  # the menu item (with its & mnemonic), or what a viewer key does
    keys: tuple[KeySpec, ...] = ()
    help: str = ""  # the help dialog's line ("" = not listed)
    tip: str = ""  # the status-bar tip of a menu item
    scope: str = WINDOW
    bound: bool = True  # False: a widget handles the key itself (Enter on the grid); listed in the help only
    group: str = ""  # consecutive commands of one group share one line of the help
    checkable: bool = False  # a setting that is on or off (a check mark in the menu)


EXPRESSION_MODIFIER = "Alt+"


def expression_key(digit: int) -> str:
    return f"{EXPRESSION_MODIFIER}{digit}"


def expression_commands() -> tuple[Command, ...]:
    """Alt+1-8 set the selected face's expression in core's class order; Alt+0 gives it back to the model."""
    group = "Set the selected face's expression"
    digits = tuple(
        Command(f"expression-{label}", label, (expression_key(i + 1),), label, scope=VIEWER, group=group)
        for i, label in enumerate(CLASSES_8)
    )
    return (
        *digits,
        Command("expression-model", "the model's", (expression_key(0),), "the model's own", scope=VIEWER, group=group),
    )


def stars(n: int) -> str:
    return "★" * n if n else "no stars"


def rating_commands() -> tuple[Command, ...]:
    """0-5 rate the photos (the viewer's photo, or the grid's selection): 1-5 stars, 0 clears the rating."""
    group = "Rate the photos"
    return tuple(
        Command(f"rate-{n}", f"&{n}  {stars(n) if n else 'No Rating'}", (str(n),), stars(n), "Set the rating", group=group)
        for n in range(6)
    )


WINDOW_COMMANDS: tuple[Command, ...] = (
    Command("open-folder", "&Open Folder…", (StandardKey.Open,), "Open a folder", "Index a folder of photos"),
    Command("reindex", "Re-&index Folder", ("F5",), "Re-index the folder", "Look for new and changed photos"),
    Command("export", "&Export Picks…", ("Ctrl+E",), "Export the picks", "Copy the picked photos into a folder"),
    Command("quit", "&Quit", (StandardKey.Quit,)),
    Command("view", "&View", ("Return",), "View the photo", "Open the selected photo (Enter or double-click)", bound=False),
    Command("pick", "&Pick", ("P",), "pick", "Mark as a pick", group="Flag the selected photos"),
    Command("reject", "&Reject", ("X",), "reject", "Mark as rejected", group="Flag the selected photos"),
    Command("unflag", "&Unflag", ("U",), "unflag", "Clear pick / reject", group="Flag the selected photos"),
    *rating_commands(),
    Command("select-all", "Select &All", (StandardKey.SelectAll,)),
    Command("find", "Find by &Name", (StandardKey.Find,), "Find by name"),
    Command("clear-filters", "&Clear Filters", ("Ctrl+Shift+L",), "Clear the filters"),
    Command("zoom-in", "&Larger Thumbnails", (StandardKey.ZoomIn, "Ctrl+="), "larger", group="Thumbnail size"),
    Command("zoom-out", "&Smaller Thumbnails", (StandardKey.ZoomOut,), "smaller", group="Thumbnail size"),
    Command("pause", "&Pause"),
    Command("resume", "&Resume"),
    Command("cancel", "&Cancel", tip="Stop indexing; the next run continues"),
    Command(
        "sidecars",
        "Write XMP &Sidecars as I Work",
        tip="After each pick, reject, rating or correction, update the photo's XMP sidecar",
        checkable=True,
    ),
    Command("shortcuts", "&Keyboard Shortcuts", ("F1",), "This list"),
    Command("about", "&About AlbumSorter"),
)

VIEWER_COMMANDS: tuple[Command, ...] = (
    Command("next-photo", "Next photo", ("Right", "Down", "Space"), "Next photo", scope=VIEWER),
    Command("previous-photo", "Previous photo", ("Left", "Up"), "Previous photo", scope=VIEWER),
    Command("first-photo", "First photo", ("Home",), "first", scope=VIEWER, group="Jump to a photo"),
    Command("last-photo", "Last photo", ("End",), "last", scope=VIEWER, group="Jump to a photo"),
    Command("back-to-grid", "Back to the grid", ("Esc",), "Back to the grid (or stop adding a face)", scope=VIEWER),
    Command("toggle-faces", "Show / hide face boxes", ("F",), "Show / hide the face boxes", scope=VIEWER),
    Command("zoom-photo-in", "Zoom in", ("+", "="), "in", scope=VIEWER, group="Zoom (or the mouse wheel, or pinch)"),
    Command("zoom-photo-out", "Zoom out", ("-",), "out", scope=VIEWER, group="Zoom (or the mouse wheel, or pinch)"),
    Command("zoom-fit", "Fit / 100 %", ("Z",), "fit / 100 %", scope=VIEWER, group="Zoom (or the mouse wheel, or pinch)"),
    Command(
        "zoom-face",
        "Zoom to the face",
        ("Shift+Z",),
        "to the selected face",
        scope=VIEWER,
        group="Zoom (or the mouse wheel, or pinch)",
    ),
    Command("pan-left", "Move left", ("Shift+Left",), "left", scope=VIEWER, group="Move a zoomed photo"),
    Command("pan-right", "Move right", ("Shift+Right",), "right", scope=VIEWER, group="Move a zoomed photo"),
    Command("pan-up", "Move up", ("Shift+Up",), "up", scope=VIEWER, group="Move a zoomed photo"),
    Command("pan-down", "Move down", ("Shift+Down",), "down", scope=VIEWER, group="Move a zoomed photo"),
    Command("previous-face", "Previous face", ("[",), "previous", scope=VIEWER, group="Select a face"),
    Command("next-face", "Next face", ("]",), "next", scope=VIEWER, group="Select a face"),
    *expression_commands(),
    Command(
        "ignore-face",
        "Ignore / count the face",
        ("I",),
        "Ignore the selected face (not a person in this photo), or count it again",
        scope=VIEWER,
    ),
    Command("add-face", "Add a face", ("A",), "Add a face the detector missed: drag a box around it", scope=VIEWER),
    Command("remove-face", "Remove the face", ("Delete",), "Remove the selected face you added", scope=VIEWER),
)

ALL_COMMANDS = WINDOW_COMMANDS + VIEWER_COMMANDS
_SPELLING = {"Right": "→", "Left": "←", "Up": "↑", "Down": "↓", "Return": "Enter", "Del": "Delete"}


def command(name: str) -> Command:
    return next(c for c in ALL_COMMANDS if c.name == name)


def key_sequences(cmd: Command) -> list[QKeySequence]:
    return [QKeySequence(key) for key in cmd.keys]


def key_text(key: KeySpec) -> str:
    """How the help shows a key: the platform's spelling, arrows as arrows."""
    text = QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)
    return _SPELLING.get(text, text)


def _split_digit(key: str) -> tuple[str, int] | None:
    """("Alt+", 3) for "Alt+3", ("", 3) for "3"; None for a key that does not end in a digit."""
    prefix, digit = key[:-1], key[-1:]
    return (prefix, int(digit)) if digit.isdigit() and (not prefix or prefix.endswith("+")) else None


def _keys_column(keys: list[str]) -> str:
    """The help's key column; a run of three or more consecutive digits (with the same modifiers) reads 1–8."""
    parts: list[list[str]] = []
    for key in keys:
        run = parts[-1] if parts else None
        this, last = _split_digit(key), _split_digit(run[-1]) if run else None
        if run and this and last and this[0] == last[0] and this[1] == last[1] + 1:
            run.append(key)
        else:
            parts.append([key])
    return " / ".join(f"{run[0]}–{run[-1][-1]}" if len(run) > 2 else " / ".join(run) for run in parts)


def bind_keys(widget: QWidget, commands: Iterable[Command], handlers: Mapping[str, Callable[[], None]]) -> list[QAction]:
    """QActions on `widget` for the commands' keys, active while the focus is inside the widget."""
    actions = []
    for cmd in commands:
        if not cmd.bound or not cmd.keys:
            continue
        act = QAction(cmd.text, widget)
        act.setShortcuts(key_sequences(cmd))
        act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        handler = handlers[cmd.name]
        act.triggered.connect(lambda _=False, handler=handler: handler())
        widget.addAction(act)
        actions.append(act)
    return actions


KEY_RULE = (
    "<p><b>Digits</b> rate the photo: 1–5 stars, 0 clears (in the grid and in the viewer, as in Lightroom).<br>"
    "<b>Alt + a digit</b> sets the expression of the face selected in the viewer (click it, or <b>[</b> / <b>]</b>).</p>"
)
MOUSE_HELP = (
    "<p>In the viewer: the mouse wheel or a pinch zooms, dragging moves a zoomed photo, a double-click on a face zooms "
    "to it, a right-click on a face (or its line in the list) offers everything that can be done with it.</p>"
)


# The best-shot room (best_shot_room.py, compare_view.py) defines these keys with its own actions; listed here so that
# F1 tells every key in one place.
BEST_SHOT_HELP = (
    "<p><i>Bursts and the compare view</i><br>"
    "<b>S</b> open / close the stack of the current photo · <b>C</b> compare the selected photos (or the current "
    "photo's group) side by side · <b>Ctrl+G</b> merge the selection into one group · <b>Ctrl+Shift+G</b> split it "
    "from its group.<br>In the compare view: <b>←</b> / <b>→</b> (or Tab) the next photo, <b>P</b> / <b>X</b> / "
    "<b>U</b> and <b>0</b>–<b>5</b> act on the highlighted photo, <b>F</b> zoom every photo to the same face, "
    "<b>Z</b> fit, <b>+</b> / <b>−</b> zoom all, <b>Esc</b> back to the grid.</p>"
)


def shortcuts_html(commands: Iterable[Command] = ALL_COMMANDS) -> str:
    """The help dialog: the digit rule, then one line per listed command (a group's commands share one line)."""
    sections = {WINDOW: "In the window", VIEWER: "In the viewer"}
    rows: list[str] = []
    scope = None
    listed = [c for c in commands if c.keys and c.help]
    i = 0
    while i < len(listed):
        cmd = listed[i]
        if cmd.scope != scope:
            scope = cmd.scope
            rows.append(f"<tr><td colspan='2'><br><i>{html.escape(sections[scope])}</i></td></tr>")
        group = [cmd]
        while cmd.group and i + len(group) < len(listed) and listed[i + len(group)].group == cmd.group:
            group.append(listed[i + len(group)])
        i += len(group)
        keys = _keys_column([key_text(k) for c in group for k in c.keys if key_text(k)])
        if len(group) == 1 and not cmd.group:
            what = cmd.help
        else:
            what = f"{cmd.group}: " + ", ".join(f"{' / '.join(key_text(k) for k in c.keys)} {c.help}" for c in group)
        rows.append(
            f"<tr><td><b>{html.escape(keys, quote=False)}</b>&nbsp;&nbsp;</td><td>{html.escape(what, quote=False)}</td></tr>"
        )
    return KEY_RULE + "<table>" + "".join(rows) + "</table>" + BEST_SHOT_HELP + MOUSE_HELP
