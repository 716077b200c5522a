"""Loading a batch output into a catalog, so the window can browse, filter and pick photos analysed elsewhere.

Merging: a photo the catalog already has with the same content, detector and scorer results is left alone
(no duplicate, nothing rewritten); a new or changed one is stored with `record_photo`, which keeps its pick
and moves each correction to the new face it overlaps. A batch error never replaces a good result the
catalog has (the cluster may simply not have been able to read the file). Paths can be mapped from the
cluster's view to this machine's (`--map-prefix /data/photos=/home/me/Pictures`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from albumsorter.batch.rows import IMPORT_COLUMNS, indexed_photo, latest_rows
from albumsorter.core.catalog import STATUS_OK, Catalog
from albumsorter.core.locking import RunLock

TRANSACTION_ROWS = 200


@dataclass
class ImportSummary:
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0  # error rows stored (or kept) as errors
    kept: int = 0  # error rows not stored because the catalog has a good result for the photo
    faces: int = 0
    paths: list[str] = field(default_factory=list)


def map_path(path: str, prefixes: Sequence[tuple[str, str]]) -> str:
    for old, new in prefixes:
        if path == old or path.startswith(old.rstrip("/\\") + "/"):
            return new.rstrip("/\\") + path[len(old.rstrip("/\\")) :]
    return path


def _scorer_ids(text: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in text.split(";") if "=" in item)


def _same_results(catalog: Catalog, photo_id: int, row: dict[str, Any]) -> bool:
    faces = catalog.faces_for([photo_id]).get(photo_id, [])
    wanted = _scorer_ids(row["scorer_ids"])
    if len(faces) != row["face_count"]:
        return False
    return all(kind in f.results and f.results[kind].model_id == model_id for f in faces for kind, model_id in wanted.items())


def import_batch(
    output: str, catalog: Catalog, prefixes: Sequence[tuple[str, str]] = (), on_wait: Callable[[], None] | None = None
) -> ImportSummary:
    """Store the latest row of every photo in `output` into `catalog`; waits for an index run on the same catalog."""
    summary = ImportSummary()
    rows = latest_rows(output, IMPORT_COLUMNS).to_pylist()
    with RunLock(catalog.path, on_wait=on_wait):
        known = catalog.file_states()
        for start in range(0, len(rows), TRANSACTION_ROWS):
            with catalog.transaction():
                for row in rows[start : start + TRANSACTION_ROWS]:
                    _import_row(catalog, row, map_path(row["path"], prefixes), known, summary)
        catalog.assign_groups()  # bursts and near-duplicates among the imported photos and those already there
        _remember_root(catalog, summary.paths)
    return summary


def _import_row(catalog: Catalog, row: dict[str, Any], path: str, known: dict[str, tuple], summary: ImportSummary) -> None:
    summary.rows += 1
    state = known.get(path)  # (id, size, mtime_ns, status, detector_id, content_hash)
    if row["status"] == "error":
        if state is not None and state[3] == STATUS_OK:
            summary.kept += 1
            return
        summary.errors += 1
        catalog.record_error(path, row["size"], 0 if row["retry"] else row["mtime_ns"], row["error"] or "")
        return
    summary.faces += int(row["face_count"])
    summary.paths.append(path)
    current = state is not None and state[3] == STATUS_OK and (state[4], state[5]) == (row["detector_id"], row["content_hash"])
    if current and state is not None and _same_results(catalog, state[0], row):
        summary.unchanged += 1
        return
    catalog.record_photo(indexed_photo(row, path))
    if state is None:
        summary.added += 1
    else:
        summary.updated += 1


def _remember_root(catalog: Catalog, paths: list[str]) -> None:
    """A catalog filled only by imports gets the photos' common folder as its root, as `index` would set it."""
    local = [p for p in paths if os.path.isabs(p)]
    if not local or catalog.get_meta("root") is not None:
        return
    try:
        root = os.path.commonpath([os.path.dirname(p) for p in local])
    except ValueError:  # different drives
        return
    catalog.set_meta("root", root)
