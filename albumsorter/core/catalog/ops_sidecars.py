"""The catalog's side of XMP sidecars: what the catalog and each photo's sidecar last agreed on (see
catalog.sidecar_state)."""

from __future__ import annotations

from collections.abc import Iterable

import albumsorter.core.catalog.db as db
import albumsorter.core.catalog.sidecar_state as sidecar_state


class SidecarOperations(db.Connected):
    def sidecar_states(self, photo_ids: Iterable[int] | None = None) -> dict[int, sidecar_state.SidecarSyncState]:
        """photo id -> rating, pick, when each was set, and what was last written to / taken from its sidecar."""
        return sidecar_state.read_states(self.conn, photo_ids)

    def record_sidecar_sync(self, photo_id: int, rating: int | None, pick: int | None, mtime: float | None) -> None:
        """What the photo's sidecar and the catalog now agree on; `mtime` the XMP source's (None: a conflict is open)."""
        with self.transaction():
            sidecar_state.record_sync(self.conn, photo_id, rating, pick, mtime)

    def take_sidecar_rating(self, photo_id: int, rating: int, sidecar_mtime: float) -> None:
        """Another tool's later rating: set it, as changed when the sidecar was saved, and in sync with it."""
        with self.transaction():
            sidecar_state.take_rating(self.conn, photo_id, rating, sidecar_mtime)

    def take_sidecar_pick(self, photo_id: int, pick: int, sidecar_mtime: float) -> None:
        """Another tool's later pick or reject (as `take_sidecar_rating`)."""
        with self.transaction():
            sidecar_state.take_pick(self.conn, photo_id, pick, sidecar_mtime)
