"""The catalog: one SQLite file per indexed folder (`Catalog` in `facade` is what callers use).

Rooms: `db` (SQLite plumbing: connection, WAL, transactions), `schema` (tables and migrations), `records`
(what goes in and comes out, pick states and statuses), `filters` (the user's filters and sorts as SQL), `faces`
(faces, scorer results and corrections), `facade` (the `Catalog` callers use).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from albumsorter.core.catalog.facade import Catalog, CatalogError
from albumsorter.core.catalog.filters import SORTS, PhotoFilter
from albumsorter.core.catalog.records import EXPRESSION, FaceRecord, IndexedPhoto, PhotoRecord, PhotoStatus, PickState
from albumsorter.core.catalog.schema import MIGRATIONS, SCHEMA_VERSION

# Short names used across the app (an IntEnum compares equal to the stored integers).
PICK_NONE, PICK_PICKED, PICK_REJECTED = PickState.UNFLAGGED, PickState.PICKED, PickState.REJECTED
PICK_STATES = {s.name.lower(): s for s in PickState}
STATUS_OK, STATUS_ERROR, STATUS_GONE = PhotoStatus.OK, PhotoStatus.ERROR, PhotoStatus.GONE


def default_catalog_path(root: Path | str) -> Path:
    """One catalog per indexed folder, in the user's data directory (never inside the photo folder)."""
    import platformdirs

    root = Path(os.path.abspath(Path(root).expanduser()))
    digest = hashlib.sha1(str(root).encode("utf-8", "surrogateescape")).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", root.name or "root")[:40]
    return Path(platformdirs.user_data_dir("AlbumSorter", appauthor=False)) / "catalogs" / f"{name}-{digest}.sqlite"


__all__ = [
    "EXPRESSION", "MIGRATIONS", "PICK_NONE", "PICK_PICKED", "PICK_REJECTED", "PICK_STATES", "SCHEMA_VERSION", "SORTS",
    "STATUS_ERROR", "STATUS_GONE", "STATUS_OK", "Catalog", "CatalogError", "FaceRecord", "IndexedPhoto", "PhotoFilter",
    "PhotoRecord", "PhotoStatus", "PickState", "default_catalog_path",
]  # fmt: skip
