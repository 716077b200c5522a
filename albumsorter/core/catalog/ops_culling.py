"""The catalog's best-shot operations: photo measures, groups of bursts and near-duplicates (see catalog.culling)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import albumsorter.core.catalog.culling as culling
import albumsorter.core.catalog.db as db
from albumsorter.core.catalog.records import PHOTO_COLUMNS, PhotoRecord
from albumsorter.core.photo_measures import PhotoMeasures


class CullingOperations(db.Connected):
    def photos_needing_measures(self, under: Path | str | None = None) -> dict[int, str]:
        """photo id -> path for indexed photos measured by an older version (or never): one decode each, no detection."""
        prefix = str(Path(under)) if under else None
        return {
            pid: p for pid, p in culling.photos_needing_measures(self.conn).items() if prefix is None or db.is_under(p, prefix)
        }

    def store_measures(self, photo_id: int, measures: PhotoMeasures) -> None:
        with self.transaction():
            culling.store_measures(self.conn, photo_id, measures)
            culling.refresh_keeper(self.conn, photo_id)

    def assign_groups(self) -> int:
        """Place new and changed photos into groups of bursts / near-duplicates (incremental); returns how many."""
        with self.transaction():
            return culling.assign_groups(self.conn)

    def split_group(self, photo_ids: Sequence[int]) -> int:
        """The user says: these photos are not part of their group (they form their own). Returns the new group id."""
        with self.transaction():
            return culling.split_group(self.conn, list(photo_ids))

    def merge_group(self, photo_ids: Sequence[int]) -> int:
        """The user says: these photos belong together. Returns the group id."""
        with self.transaction():
            return culling.merge_group(self.conn, list(photo_ids))

    def group_members(self, group_id: int) -> list[PhotoRecord]:
        """A group's photos, the keeper first."""
        rows = self.conn.execute(
            f"SELECT {PHOTO_COLUMNS} FROM photos p WHERE p.group_id = ? AND p.status = 'ok' ORDER BY COALESCE(p.group_rank, 1e9), p.path",
            (group_id,),
        ).fetchall()
        return [PhotoRecord(*row) for row in rows]
