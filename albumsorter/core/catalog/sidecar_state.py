"""Where a photo's rating and pick stand against its XMP sidecar: the catalog's values, when the user last set them,
and what AlbumSorter last wrote to or took from the sidecar (functions on a connection; `Catalog` wraps them).

`sidecar_rating` / `sidecar_pick` are per field "the value both sides last agreed on" (NULL: never synced); they are
what `albumsorter.core.xmp.resolve` calls `last_written`. `sidecar_mtime` is the modification time of the XMP
source (the sidecar, or the photo for embedded XMP) when everything was last in agreement: a source with the same
time has nothing new to take, so reading it again can be skipped. It is NULL while a conflict is open, so the
conflict is reported again until the user settles it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from albumsorter.core.catalog.records import MAX_RATING, PickState

_COLUMNS = "id, rating, rating_changed_at, pick, pick_changed_at, sidecar_rating, sidecar_pick, sidecar_mtime"


@dataclass(frozen=True)
class SidecarSyncState:
    """One photo's rating and pick in the catalog, and what was last in agreement with its sidecar."""

    photo_id: int
    rating: int  # stars, 0-5
    rating_changed_at: float | None  # None: never set by the user nor taken from a sidecar
    pick: PickState
    pick_changed_at: float | None
    sidecar_rating: int | None  # the stars last written to / taken from the sidecar; None: never, or none stated
    sidecar_pick: PickState | None  # the pick last written to / taken from the sidecar; None: never
    sidecar_mtime: float | None  # the XMP source's mtime when last in agreement; None: never, or a conflict is open

    @property
    def rating_set(self) -> bool:
        """Whether the photo has a rating to say: 0 stars that nobody ever set is no rating at all."""
        return self.rating != 0 or self.rating_changed_at is not None


def _state(row: tuple) -> SidecarSyncState:
    photo_id, rating, rating_at, pick, pick_at, side_rating, side_pick, side_mtime = row
    return SidecarSyncState(
        photo_id,
        int(rating),
        rating_at,
        PickState(pick),
        pick_at,
        side_rating,
        None if side_pick is None else PickState(side_pick),
        side_mtime,
    )


def read_states(conn: sqlite3.Connection, photo_ids: Iterable[int] | None = None) -> dict[int, SidecarSyncState]:
    """photo id -> its sync state; every photo's when `photo_ids` is None."""
    if photo_ids is None:
        return {row[0]: _state(row) for row in conn.execute(f"SELECT {_COLUMNS} FROM photos")}
    ids = list(photo_ids)
    states: dict[int, SidecarSyncState] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = conn.execute(f"SELECT {_COLUMNS} FROM photos WHERE id IN ({','.join('?' * len(chunk))})", chunk)
        states.update((row[0], _state(row)) for row in rows)
    return states


def record_sync(
    conn: sqlite3.Connection, photo_id: int, rating: int | None, pick: PickState | int | None, mtime: float | None
) -> None:
    """Remember what the photo's sidecar and the catalog now agree on (after a write, or a read that took or
    matched), and the XMP source's mtime (None while a conflict is open)."""
    conn.execute(
        "UPDATE photos SET sidecar_rating = ?, sidecar_pick = ?, sidecar_mtime = ? WHERE id = ?",
        (_stars(rating), None if pick is None else int(PickState(pick)), mtime, photo_id),
    )


def take_rating(conn: sqlite3.Connection, photo_id: int, rating: int, sidecar_mtime: float) -> None:
    """Another tool's rating comes into the catalog: the value, changed when the sidecar was saved, and in sync."""
    stars = _stars(rating)
    conn.execute(
        "UPDATE photos SET rating = ?, rating_changed_at = ?, sidecar_rating = ? WHERE id = ?",
        (stars, sidecar_mtime, stars, photo_id),
    )


def take_pick(conn: sqlite3.Connection, photo_id: int, pick: PickState | int, sidecar_mtime: float) -> None:
    """Another tool's pick or reject comes into the catalog (as `take_rating`)."""
    state = int(PickState(pick))
    conn.execute(
        "UPDATE photos SET pick = ?, pick_changed_at = ?, sidecar_pick = ? WHERE id = ?", (state, sidecar_mtime, state, photo_id)
    )


def _stars(rating: int | None) -> int | None:
    if rating is not None and not (0 <= int(rating) <= MAX_RATING and int(rating) == rating):
        raise ValueError(f"a rating is a whole number from 0 to {MAX_RATING}, not {rating!r}")
    return None if rating is None else int(rating)
