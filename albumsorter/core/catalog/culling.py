"""Picking the best shot, in the catalog: each photo's measures, its keeper score and the flags the filters use
(derived from its faces' quality results), and its group of bursts / near-duplicates with each member's rank.

Grouping is incremental (core/grouping.py): photos already grouped stay where they are; new ones join a group or
start their own, in capture-time order. What the user split or merged is marked `group_by_user` and never moved.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence

from albumsorter.core.grouping import GroupIndex, PhotoSignature
from albumsorter.core.keeper import FaceQuality, everyone_eyes_open, is_sharp, keeper_score, rank_scored, someone_eyes_closed
from albumsorter.core.photo_measures import MEASURES_VERSION, PhotoMeasures

QUALITY = "quality"  # the face scorer kind whose results the keeper reads


def store_measures(conn: sqlite3.Connection, photo_id: int, measures: PhotoMeasures | None) -> None:
    """A photo's new measures; unless the user placed it, its group is found again (its content changed)."""
    if measures is None:
        return
    conn.execute(
        "UPDATE photos SET sharpness = ?, exposure = ?, signature = ?, measures_version = ?, "
        "group_id = CASE WHEN group_by_user THEN group_id ELSE NULL END WHERE id = ?",
        (measures.sharpness, measures.exposure, json.dumps(measures.signature), MEASURES_VERSION, photo_id),
    )


def photos_needing_measures(conn: sqlite3.Connection) -> dict[int, str]:
    rows = conn.execute(
        "SELECT id, path FROM photos WHERE status = 'ok' AND (measures_version IS NULL OR measures_version != ?)",
        (MEASURES_VERSION,),
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def refresh_keeper(conn: sqlite3.Connection, photo_id: int) -> None:
    """Keeper score and flags of one photo from its subjects' quality results and its measures; re-ranks its group."""
    row = conn.execute("SELECT sharpness, exposure, group_id FROM photos WHERE id = ?", (photo_id,)).fetchone()
    if row is None:
        return
    sharpness, exposure, group_id = row
    if sharpness is None:
        conn.execute(
            "UPDATE photos SET keeper_score = NULL, eyes_open_all = 0, eyes_closed_any = 0, sharp = 0 WHERE id = ?", (photo_id,)
        )
    else:
        faces = [
            FaceQuality.from_data(right - left, json.loads(data) if data else {})
            for left, right, data in conn.execute(
                "SELECT f.left, f.right, r.data FROM faces f LEFT JOIN face_results r ON r.face_id = f.id AND r.kind = ? "
                "WHERE f.photo_id = ? AND f.subject = 1",
                (QUALITY, photo_id),
            )
        ]
        conn.execute(
            "UPDATE photos SET keeper_score = ?, eyes_open_all = ?, eyes_closed_any = ?, sharp = ? WHERE id = ?",
            (
                keeper_score(faces, sharpness, exposure),
                int(everyone_eyes_open(faces)),
                int(someone_eyes_closed(faces)),
                int(is_sharp(faces, sharpness)),
                photo_id,
            ),
        )
    if group_id is not None:
        rank_groups(conn, [group_id])


def _taken_at(signature: str | None) -> float | None:
    return json.loads(signature).get("taken_at") if signature else None


def rank_groups(conn: sqlite3.Connection, group_ids: Iterable[int]) -> None:
    """Each group's size and its members' ranks (1 = the keeper); a photo alone has no rank."""
    for group_id in set(group_ids):
        members = conn.execute(
            "SELECT id, COALESCE(keeper_score, 0), COALESCE(sharpness, 0), signature FROM photos WHERE group_id = ? AND status = 'ok'",
            (group_id,),
        ).fetchall()
        ranks = rank_scored([(pid, score, sharp, _taken_at(sig)) for pid, score, sharp, sig in members])
        size = len(members)
        conn.executemany(
            "UPDATE photos SET group_size = ?, group_rank = ? WHERE id = ?",
            [(size, ranks[pid] if size > 1 else None, pid) for pid, *_ in members],
        )


def assign_groups(conn: sqlite3.Connection) -> int:
    """Place every measured photo without a group (new or changed), in capture-time order; returns how many."""
    stored, new = [], []
    for photo_id, signature, group_id in conn.execute(
        "SELECT id, signature, group_id FROM photos WHERE status = 'ok' AND signature IS NOT NULL"
    ).fetchall():
        sig = PhotoSignature.from_dict(photo_id, json.loads(signature))
        (stored.append((sig, group_id)) if group_id is not None else new.append(sig))
    if not new:
        return 0
    index = GroupIndex.from_stored(stored)
    touched: set[int] = set()
    for sig in sorted(new, key=lambda s: (s.taken_at is None, s.taken_at or 0.0, str(s.photo_id))):
        assignment = index.add(sig)
        conn.execute("UPDATE photos SET group_id = ? WHERE id = ?", (assignment.group_id, sig.photo_id))
        touched.add(int(assignment.group_id))  # type: ignore[call-overload]
    rank_groups(conn, touched)
    return len(new)


def _groups_of(conn: sqlite3.Connection, photo_ids: Sequence[int]) -> set[int]:
    marks = ",".join("?" * len(photo_ids))
    return {
        r[0]
        for r in conn.execute(f"SELECT DISTINCT group_id FROM photos WHERE id IN ({marks}) AND group_id IS NOT NULL", photo_ids)
    }


def _pin(conn: sqlite3.Connection, group_ids: Iterable[int]) -> None:
    """Mark every photo of these groups as placed by the user ("these are not together" is kept as well)."""
    for group_id in set(group_ids):
        conn.execute("UPDATE photos SET group_by_user = 1 WHERE group_id = ?", (group_id,))


def split_group(conn: sqlite3.Connection, photo_ids: Sequence[int]) -> int:
    """These photos leave their groups and form a group of their own (or stand alone, for one photo)."""
    ids = sorted(set(photo_ids))
    old = _groups_of(conn, ids)
    _pin(conn, old)
    new_group = ids[0]
    conn.executemany("UPDATE photos SET group_id = ?, group_by_user = 1 WHERE id = ?", [(new_group, i) for i in ids])
    # A group keeps the id of a photo still in it, so the split-off photos never share an id with the rest.
    for group_id in old:
        left = [r[0] for r in conn.execute("SELECT id FROM photos WHERE group_id = ? ORDER BY id", (group_id,))]
        if left and group_id in ids:
            conn.execute(f"UPDATE photos SET group_id = ? WHERE id IN ({','.join('?' * len(left))})", (left[0], *left))
            old = old | {left[0]}
    rank_groups(conn, old | {new_group})
    return new_group


def merge_group(conn: sqlite3.Connection, photo_ids: Sequence[int]) -> int:
    """These photos go together: into the group of the first one (or a new group)."""
    ids = list(dict.fromkeys(photo_ids))
    first = conn.execute("SELECT group_id FROM photos WHERE id = ?", (ids[0],)).fetchone()
    target = first[0] if first and first[0] is not None else ids[0]
    old = _groups_of(conn, ids)
    _pin(conn, old)
    conn.executemany("UPDATE photos SET group_id = ?, group_by_user = 1 WHERE id = ?", [(target, i) for i in ids])
    rank_groups(conn, old | {target})
    return target
