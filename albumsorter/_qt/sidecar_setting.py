"""The window's "Write XMP Sidecars as I Work" setting (off by default) and the naming of new sidecars: kept in
the settings file, and handed to the catalog session, which writes the sidecars after each edit (see
catalog_session). A photo that already has a sidecar in either naming always gets that one updated."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from PySide6.QtGui import QAction

from albumsorter._qt.catalog_session import CatalogSession
from albumsorter.core import settings

SETTING = "sidecars_as_i_work"  # {"on": bool, "style": "darktable" | "adobe"}
DEFAULT_STYLE = "darktable"


class SidecarSetting:
    def __init__(
        self, session: CatalogSession, toggle: QAction, style_actions: dict[str, QAction], tell: Callable[[str], None]
    ) -> None:
        self.session = session
        self.toggle = toggle
        self.style_actions = style_actions
        self.tell = tell

    def style(self) -> str:
        return next((name for name, act in self.style_actions.items() if act.isChecked()), DEFAULT_STYLE)

    def set_on(self, on: bool) -> None:
        self.session.sidecar_style = self.style() if on else None
        self._save()
        if on:
            self.tell(f"XMP sidecars are now written as you work (new ones in {self.style()} naming)")

    def set_style(self, style: str) -> None:
        self.style_actions[style].setChecked(True)
        if self.session.sidecar_style is not None:
            self.session.sidecar_style = style
        self._save()

    def restore(self) -> None:
        value = settings.get_value(SETTING)
        if not isinstance(value, dict):
            return  # off by default
        style = value.get("style") if value.get("style") in self.style_actions else DEFAULT_STYLE
        self.style_actions[style].setChecked(True)
        self.toggle.setChecked(bool(value.get("on")))  # calls set_on through the action's toggled signal

    def _save(self) -> None:
        with contextlib.suppress(OSError):  # an unwritable settings folder must not stop the edit
            settings.set_value(SETTING, {"on": self.session.sidecar_style is not None, "style": self.style()})
