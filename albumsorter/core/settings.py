"""Small per-user state shared by the command line and the GUI: recently indexed folders."""

from __future__ import annotations

import json
import os
from pathlib import Path

MAX_RECENT = 10


def state_file() -> Path:
    override = os.environ.get("ALBUMSORTER_STATE")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir("AlbumSorter", appauthor=False)) / "state.json"


def _load() -> dict:
    try:
        data = json.loads(state_file().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _save(data: dict) -> None:
    path = state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, path)  # atomic: a crash never leaves half a file


def recent_folders() -> list[dict]:
    """[{"folder": str, "catalog": str}], most recent first."""
    items = _load().get("recent", [])
    return [i for i in items if isinstance(i, dict) and "folder" in i and "catalog" in i]


def remember_folder(folder: Path | str, catalog: Path | str) -> None:
    folder, catalog = str(Path(folder).absolute()), str(Path(catalog).absolute())
    data = _load()
    items = [i for i in recent_folders() if i["folder"] != folder]
    data["recent"] = [{"folder": folder, "catalog": catalog}] + items[: MAX_RECENT - 1]
    _save(data)


def get_value(key: str, default=None):
    """A small JSON value the app keeps between runs (e.g. the window layout)."""
    return _load().get("values", {}).get(key, default)


def set_value(key: str, value) -> None:
    data = _load()
    stored = data.get("values")
    values: dict = stored if isinstance(stored, dict) else {}
    values[key] = value
    data["values"] = values
    _save(data)
