"""Picking the best shot in the window (issue #11): groups of bursts and near-duplicates as stacks in the grid, the
filter panel's "Best shot" section, the compare view, "Pick the keeper of every group", and splitting or merging
groups. The main window only creates this room; everything else is wired here:

  stacks.py              which rows the grid shows with stacks on (the grid model's row source, in the read lane)
  best_shot_badges.py    the stack, closed-eyes and blurred badges (painted by the grid's delegate)
  best_shot_filters.py   the filter panel's section     compare_view.py / compare_pane.py   the compare view

Stacks are a setting (Best Shot → Show Groups as Stacks, or Stacks in the toolbar; remembered, off at first so
that a new user sees every photo the folder has): a collapsed stack shows its keeper with the group's size; S, or a
click on the size badge, opens or closes it. Every catalog read and write goes through the catalog session (read
lane, write lane), never on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFrame, QMainWindow, QMenu, QMessageBox, QScrollArea

from albumsorter._qt.best_shot_badges import stack_badge_at
from albumsorter._qt.best_shot_filters import BestShotFilters
from albumsorter._qt.catalog_session import CatalogChange
from albumsorter._qt.compare_view import MAX_PHOTOS, CompareView
from albumsorter._qt.photo_model import query_rows
from albumsorter._qt.stacks import StackRows, in_group, stacks_of
from albumsorter.core import settings
from albumsorter.core.catalog import PICK_PICKED, Catalog, PhotoFilter, PhotoRecord
from albumsorter.core.keeper import describe_weights

STACKS_SETTING = "grid_stacks"
STACKS_AT_FIRST = False  # until the user turns stacks on: every photo shows, as the folder has it
KEEPERS_QUERY, GROUP_QUERY, MERGE_QUERY = "best-shot-keepers", "best-shot-group", "best-shot-merge"


def keepers_to_pick(catalog: Catalog) -> tuple[list[int], int]:
    """The keeper (rank 1) of every group of two or more photos, and how many of them are picked already (read lane)."""
    keepers = [p for p in catalog.query(PhotoFilter(keepers=True, sort="path")) if in_group(p)]
    return [p.id for p in keepers], sum(p.pick == PICK_PICKED for p in keepers)


def with_whole_groups(catalog: Catalog, photos: list[PhotoRecord], collapsed: set[int]) -> list[int]:
    """The photos' ids, each collapsed stack among them standing for its whole group (read lane)."""
    ids = [p.id for p in photos]
    for group in dict.fromkeys(p.group_id for p in photos if p.group_id in collapsed):
        ids += [m.id for m in catalog.group_members(group)]  # type: ignore[arg-type]
    return list(dict.fromkeys(ids))


class BestShotRoom(QObject):
    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.session, self.model, self.grid = window.session, window.model, window.grid
        self.confirmation: QMessageBox | None = None  # the open "pick the keeper of every group?" question

        self.filters = BestShotFilters()
        window.filter_panel.add_section(self.filters)
        self._let_filters_scroll()
        self.compare = CompareView(self.session, window.runner, window.thumbnails)
        window.stack.addWidget(self.compare)
        self.compare.closed.connect(self.close_compare)
        self.compare.message.connect(lambda text: window.statusBar().showMessage(text, 4000))
        self.compare.active_changed.connect(self._follow_active)

        self.actions = self._build_actions()
        self.menu = self._build_menu()
        self._build_toolbar()
        self.grid.viewport().installEventFilter(self)
        self.session.opened.connect(self._catalog_opened)
        self.set_stacks(bool(settings.get_value(STACKS_SETTING, STACKS_AT_FIRST)), remember=False)
        self._catalog_opened(self.session.path)

    def _let_filters_scroll(self) -> None:
        """With the Best shot section the filter panel is ~100 px taller: in a scroll area, it never makes the window
        taller than a small screen (the dock keeps the panel's width, so nothing scrolls sideways)."""
        dock = getattr(self.window, "filter_dock", None)
        if dock is None or dock.widget() is not self.window.filter_panel:
            return
        scroll = QScrollArea()
        scroll.setObjectName("FilterScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        panel = self.window.filter_panel
        scroll.setWidget(panel)
        scroll.setMinimumWidth(panel.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width())
        dock.setWidget(scroll)

    # --- actions, menu, toolbar ---

    def _build_actions(self) -> dict[str, QAction]:
        specs: list[tuple[str, str, str, Callable, str]] = [
            ("stacks", "Show Groups as &Stacks", "", self.set_stacks, "Bursts and near-duplicates as one stack: the keeper on top"),
            ("toggle-stack", "&Open / Close Stack", "S", self.toggle_current_stack, "Show every photo of the stack, or only its keeper"),
            ("open-all", "Open &All Stacks", "", lambda: self.set_expanded(self._groups_shown()), ""),
            ("close-all", "&Close All Stacks", "", lambda: self.set_expanded(frozenset()), ""),
            ("compare", "&Compare…", "C", self.open_compare, "The photos selected, or the group of the current one, side by side"),
            ("pick-keepers", "&Pick the Keeper of Every Group…", "", self.pick_keepers, "Pick the best photo of each group"),
            ("merge", "&Merge into One Group", "Ctrl+G", self.merge_selected, "The selected photos (and stacks) become one group"),
            ("split", "Sp&lit from Group", "Ctrl+Shift+G", self.split_selected, "The selected photos leave their group"),
        ]  # fmt: skip
        actions = {}
        for name, text, key, slot, tip in specs:
            act = QAction(text, self.window)
            if key:
                act.setShortcut(QKeySequence(key))
                act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            if tip:
                act.setStatusTip(tip)
                act.setToolTip(f"{tip} ({key})" if key else tip)
            if name == "stacks":
                act.setCheckable(True)
                act.toggled.connect(lambda on: self.set_stacks(on))
            else:
                act.triggered.connect(lambda _checked=False, slot=slot: slot())
            self.window.addAction(act)
            actions[name] = act
        return actions

    def _build_menu(self) -> QMenu:
        menu = QMenu("&Best Shot", self.window)
        for name in (
            "stacks",
            "toggle-stack",
            "open-all",
            "close-all",
            None,
            "compare",
            None,
            "pick-keepers",
            None,
            "merge",
            "split",
        ):
            menu.addSeparator() if name is None else menu.addAction(self.actions[name])
        bar = self.window.menuBar()
        help_menu = next((a for a in bar.actions() if a.text().replace("&", "") == "Help"), None)
        if help_menu is not None:
            bar.insertMenu(help_menu, menu)
        else:
            bar.addMenu(menu)
        return menu

    def _build_toolbar(self) -> None:
        toolbar = getattr(getattr(self.window, "window_actions", None), "toolbar", None)
        if toolbar is None:
            return
        toolbar.addSeparator()
        for name, text in (("stacks", "Stacks"), ("compare", "Compare"), ("pick-keepers", "Pick Keepers")):
            button_action = self.actions[name]
            button_action.setIconText(text)
            toolbar.addAction(button_action)

    def _catalog_opened(self, path) -> None:
        for name, act in self.actions.items():
            act.setEnabled(path is not None or name == "stacks")
        stacks = stacks_of(self.model)
        if stacks is not None and stacks.expanded:  # stacks of another catalog start closed
            self.model.row_source = StackRows(stacks.base)
            self.model.refresh()
        if self.window.stack.currentWidget() is self.compare:
            self.close_compare()

    # --- stacks ---

    def stacks_on(self) -> bool:
        return stacks_of(self.model) is not None

    def set_stacks(self, on: bool, remember: bool = True) -> None:
        """Show groups as stacks (or every photo on its own)."""
        self.actions["stacks"].blockSignals(True)
        self.actions["stacks"].setChecked(on)
        self.actions["stacks"].blockSignals(False)
        for name in ("toggle-stack", "open-all", "close-all"):
            self.actions[name].setVisible(on)
        if on != self.stacks_on():
            self.model.row_source = StackRows(query_rows) if on else query_rows
            self.model.refresh()
        if remember:
            settings.set_value(STACKS_SETTING, on)

    def expanded(self) -> frozenset[int]:
        stacks = stacks_of(self.model)
        return stacks.expanded if stacks is not None else frozenset()

    def set_expanded(self, groups: frozenset[int]) -> None:
        stacks = stacks_of(self.model)
        if stacks is not None and stacks.expanded != groups:
            self.model.row_source = StackRows(stacks.base, frozenset(groups))
            self.model.refresh()

    def toggle_stack(self, group_id: int) -> None:
        """Open a closed stack, close an open one (the grid keeps its top current)."""
        self.set_expanded(self.expanded() ^ {group_id})

    def toggle_current_stack(self) -> None:
        if self.window.stack.currentWidget() is not self.grid:
            return
        rec = self._current_record()
        if rec is None or not in_group(rec):
            self.window.statusBar().showMessage("This photo is in no group of bursts or near-duplicates.", 4000)
            return
        self.toggle_stack(rec.group_id)  # type: ignore[arg-type]

    def _groups_shown(self) -> frozenset[int]:
        return frozenset(r.group_id for r in self.model.records() if in_group(r))  # type: ignore[misc]

    def _current_record(self) -> PhotoRecord | None:
        idx = self.grid.currentIndex()
        return self.model.record(idx.row()) if idx.isValid() else None

    def eventFilter(self, watched, event) -> bool:
        """A click on a stack's size badge opens or closes the stack."""
        if event.type() == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton and self.stacks_on():
            idx = self.grid.indexAt(event.position().toPoint())
            if idx.isValid():
                rec = self.model.record(idx.row())
                badge = stack_badge_at(self.model, rec.id)
                if badge is not None and badge.contains(event.position()):
                    self.grid.setCurrentIndex(idx)
                    self.toggle_stack(rec.group_id)  # type: ignore[arg-type]
                    return True
        return super().eventFilter(watched, event)

    # --- compare ---

    def open_compare(self) -> None:
        """Compare the selected photos (2 to 4), or the group of the current photo (its best four)."""
        if self.window.stack.currentWidget() is self.compare:
            return
        photo_id = self.window.viewer.current_id() if self.window.stack.currentWidget() is self.window.viewer else None
        ids = [photo_id] if photo_id is not None else self.grid.selected_ids()
        if len(ids) >= 2:
            more = f" (the first {MAX_PHOTOS} of the {len(ids)} selected)" if len(ids) > MAX_PHOTOS else ""
            self.show_compare(ids, f"Comparing {min(len(ids), MAX_PHOTOS)} selected photos{more}")
            return
        row = self.model.row_of(ids[0]) if ids else None
        rec = self.model.record(row) if row is not None else None
        if rec is None or not in_group(rec):
            self.window.statusBar().showMessage("Select 2 to 4 photos, or a photo of a group, to compare them.", 6000)
            return
        group, size = rec.group_id, rec.group_size

        def members(catalog: Catalog) -> list[int]:
            return [m.id for m in catalog.group_members(group)]  # type: ignore[arg-type]

        more = f": the best {MAX_PHOTOS} of {size}" if size > MAX_PHOTOS else f" of {size} photos"
        self.session.read(GROUP_QUERY, members, lambda ids: self.show_compare(ids, f"Comparing a group{more} (keeper first)"))

    def show_compare(self, photo_ids: list[int], title: str = "") -> None:
        if len(photo_ids) < 2:
            return
        self.compare.show_photos(photo_ids, title)
        self.window.stack.setCurrentWidget(self.compare)
        self.compare.setFocus()
        self._follow_active(photo_ids[0])

    def close_compare(self) -> None:
        active = self.compare.current_id()
        self.compare.clear()
        if self.window.stack.currentWidget() is self.compare:
            self.window.show_grid()
        if active is not None:
            self.grid.make_current(active, select=True)

    def _follow_active(self, photo_id: int) -> None:
        """The grid's selection is the compare view's active photo, so the toolbar's Pick / Reject / Rate act on it."""
        if not self.grid.make_current(photo_id, select=True):
            self.grid.selectionModel().clear()
            self.grid.setCurrentIndex(QModelIndex())

    # --- pick the keepers, split, merge ---

    def pick_keepers(self, confirm: bool = True) -> None:
        """Pick the keeper of every group, after saying how many photos that picks."""
        self.session.read(KEEPERS_QUERY, keepers_to_pick, lambda answer: self._keepers_read(*answer, confirm=confirm))

    def _keepers_read(self, ids: list[int], already: int, confirm: bool) -> None:
        if not ids:
            self._tell("There is no group of bursts or near-duplicates yet: nothing to pick.")
            return
        n = len(ids)
        if not confirm:
            self._pick(ids)
            return
        text = f"Pick the keeper of every group? This picks {n} photo{'s' if n != 1 else ''}: the best of each of the {n} groups of bursts and near-duplicates."
        if already:
            text += f" {already} of them {'is' if already == 1 else 'are'} picked already."
        box = QMessageBox(
            QMessageBox.Icon.Question, "Pick the keeper of every group", text, QMessageBox.StandardButton.NoButton, self.window
        )
        box.setInformativeText(
            f"Nothing else is flagged or changed. The keeper has the highest keeper score ({describe_weights()})."
        )
        pick = box.addButton(f"Pick {n} Photo{'s' if n != 1 else ''}", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(pick)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.buttonClicked.connect(lambda button: self._pick(ids) if button is pick else None)
        box.finished.connect(lambda _result: setattr(self, "confirmation", None))
        self.confirmation = box
        box.open()

    def _pick(self, ids: list[int]) -> None:
        n = len(ids)
        self.session.set_pick(
            ids, PICK_PICKED, lambda _k: self._tell(f"Picked the keeper of {n} group{'s' if n != 1 else ''}", box=False)
        )

    def split_selected(self) -> None:
        ids = self._selection()
        if not ids:
            return
        self.session.write(
            lambda catalog: catalog.split_group(ids), CatalogChange.everything(), lambda _g: self._tell(
                f"{len(ids)} photo{'s' if len(ids) != 1 else ''} split from {'their group' if len(ids) != 1 else 'its group'}", box=False
            ), user_edit=False,
        )  # fmt: skip

    def merge_selected(self) -> None:
        photos = [self.model.record(r) for r in sorted({i.row() for i in self.grid.selectionModel().selectedIndexes()})]
        if len(photos) < 2 or self.window.stack.currentWidget() is not self.grid:
            self._tell("Select two or more photos to merge them into one group.", box=False)
            return
        collapsed = (
            {p.group_id for p in photos if in_group(p) and p.group_id not in self.expanded()} if self.stacks_on() else set()
        )

        def merge(ids: list[int]) -> None:
            self.session.write(lambda catalog: catalog.merge_group(ids), CatalogChange.everything(),
                               lambda _g: self._tell(f"{len(ids)} photos are one group now", box=False), user_edit=False)  # fmt: skip

        self.session.read(MERGE_QUERY, lambda catalog: with_whole_groups(catalog, photos, collapsed), merge)  # type: ignore[arg-type]

    def _selection(self) -> list[int]:
        if self.window.stack.currentWidget() is self.compare:
            pid = self.compare.current_id()
            return [pid] if pid is not None else []
        return self.grid.selected_ids() if self.window.stack.currentWidget() is self.grid else []

    def _tell(self, text: str, box: bool = True) -> None:
        self.window.statusBar().showMessage(text, 8000)
        if box:
            message = QMessageBox(QMessageBox.Icon.Information, "AlbumSorter", text, QMessageBox.StandardButton.Ok, self.window)
            message.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            message.open()
