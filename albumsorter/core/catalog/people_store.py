"""People in the catalog (tables of schema 5): persons, who each face is, and the user's word about faces.

* `persons`: a merge only sets `merged_into` of the merged person (and of those merged into it before: chains
  stay one step long), so the person a face stands for is `COALESCE(merged_into, id)`, its "root", and a merge
  can be undone. Faces keep the person id they were stored with.
* `face_persons`: the current person of each face, automatic (the people pass recomputes it) or the user's.
* `person_decisions`: what the user said about a face ("is" / "not" this person) with the face's box, so the
  decision follows the face when re-detection replaces it (`relink_decisions`, called by `replace_faces`), as
  corrections do. A user's "is" is copied into `face_persons` (`sync_user_assignments`).
* `person_distinct`: two people the user said are not the same ("maybe the same person" dismissed).

Functions take the connection and expect to run inside the caller's transaction.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from albumsorter.core.face import Box
from albumsorter.core.geometry import iou

AUTO, USER = "auto", "user"
IS, NOT = "is", "not"

# A face's person as shown: its stored person resolved through a merge, and the face counts (not ignored).
FACE_PERSON_JOIN = (
    "JOIN face_persons fp ON fp.face_id = f.id JOIN persons pe ON pe.id = fp.person_id "
    "LEFT JOIN corrections pc ON pc.face_id = f.id"
)
ROOT = "COALESCE(pe.merged_into, pe.id)"


@dataclass(frozen=True)
class SampleFace:
    """A face shown for a person (thumbnail): its photo and box in full-resolution upright pixels."""

    face_id: int
    photo_id: int
    path: str
    box: Box
    source: str  # AUTO or USER


@dataclass(frozen=True)
class PersonSummary:
    id: int
    name: str | None
    faces: int
    photos: int
    samples: tuple[SampleFace, ...] = ()


@dataclass(frozen=True)
class MergeUndo:
    """What `merge_people` changed, so that `undo_merge` can put it back."""

    kept: int
    merged: int
    members: tuple[int, ...]  # persons that were merged into `merged` before
    kept_name: str | None  # the kept person's name before (it takes the other's name when it had none)
    distinct: bool  # the two had been called different


@dataclass(frozen=True)
class IdentityRow:
    face_id: int
    photo_id: int
    data: str  # the identity result's JSON


@dataclass(frozen=True)
class PeopleRows:
    """What clustering needs from the catalog, as stored (the caller turns it into clustering's types)."""

    identities: list[IdentityRow]  # faces (of ok photos, not ignored) with a result of the model
    assignments: dict[int, tuple[int, str, str | None]]  # face -> (stored person id, source, model id)
    rejected: set[tuple[int, int]]  # (face, person) the user said "not this person" about
    merged: dict[int, int]  # person -> the person it was merged into
    distinct: set[frozenset[int]]
    ignored: set[int]  # faces the user ignored (not a person in this photo)
    names: dict[int, str]  # person (not merged away) -> name


# --- persons -------------------------------------------------------------------------------------------------------


def create_person(conn: sqlite3.Connection, name: str | None = None) -> int:
    person_id = conn.execute("INSERT INTO persons (name, created_at) VALUES (?, ?)", (clean_name(name), time.time())).lastrowid
    assert person_id is not None
    return person_id


def clean_name(name: str | None) -> str | None:
    name = " ".join((name or "").split())
    return name or None


def root_of(conn: sqlite3.Connection, person_id: int) -> int:
    """The person `person_id` stands for now (itself, or the person it was merged into). KeyError if unknown."""
    row = conn.execute("SELECT COALESCE(merged_into, id) FROM persons WHERE id = ?", (int(person_id),)).fetchone()
    if row is None:
        raise KeyError(f"no person with id {person_id}")
    return int(row[0])


def name_person(conn: sqlite3.Connection, person_id: int, name: str | None) -> int:
    """Name a person (None or blank: no name). Returns the person named (after merges)."""
    root = root_of(conn, person_id)
    conn.execute("UPDATE persons SET name = ? WHERE id = ?", (clean_name(name), root))
    return root


def merge_people(conn: sqlite3.Connection, keep: int, other: int) -> MergeUndo | None:
    """`other` is the same person as `keep`: merged into it (None when they already are one person). `keep`
    keeps its id and name; it takes the other's name when it had none."""
    kept, merged = root_of(conn, keep), root_of(conn, other)
    if kept == merged:
        return None
    together = shared_photo(conn, kept, merged)
    if together is not None:  # clustering would split them again at once (one face per person and photo)
        raise ValueError(f"people {kept} and {merged} are both in {together}: they are two people")
    kept_name, merged_name = (conn.execute("SELECT name FROM persons WHERE id = ?", (p,)).fetchone()[0] for p in (kept, merged))
    members = tuple(r[0] for r in conn.execute("SELECT id FROM persons WHERE merged_into = ?", (merged,)))
    conn.execute("UPDATE persons SET merged_into = ? WHERE id = ? OR merged_into = ?", (kept, merged, merged))
    if kept_name is None and merged_name is not None:
        conn.execute("UPDATE persons SET name = ? WHERE id = ?", (merged_name, kept))
    pair = sorted((kept, merged))
    distinct = conn.execute("DELETE FROM person_distinct WHERE a = ? AND b = ?", pair).rowcount > 0
    return MergeUndo(kept, merged, members, kept_name, distinct)


def shared_photo(conn: sqlite3.Connection, a: int, b: int) -> str | None:
    """A photo in which both people (roots) have a face that counts, or None."""
    faces_of = f"SELECT f.photo_id FROM faces f {FACE_PERSON_JOIN} WHERE {ROOT} = ? AND NOT COALESCE(pc.ignored, 0)"
    row = conn.execute(
        f"SELECT path FROM photos WHERE id IN ({faces_of}) AND id IN ({faces_of}) AND status = 'ok' LIMIT 1", (a, b)
    ).fetchone()
    return row[0] if row else None


def undo_merge(conn: sqlite3.Connection, undo: MergeUndo) -> None:
    """Split the merged person off again, as it was before `merge_people`."""
    conn.execute("UPDATE persons SET merged_into = NULL WHERE id = ?", (undo.merged,))
    conn.executemany("UPDATE persons SET merged_into = ? WHERE id = ?", [(undo.merged, m) for m in undo.members])
    conn.execute("UPDATE persons SET name = ? WHERE id = ?", (undo.kept_name, undo.kept))
    if undo.distinct:
        mark_distinct(conn, undo.kept, undo.merged)


def mark_distinct(conn: sqlite3.Connection, a: int, b: int) -> None:
    """Two people the user says are different: never suggested as one again."""
    a, b = sorted((root_of(conn, a), root_of(conn, b)))
    if a != b:
        conn.execute("INSERT OR IGNORE INTO person_distinct (a, b) VALUES (?, ?)", (a, b))


def prune_people(conn: sqlite3.Connection) -> int:
    """Delete unnamed persons nothing refers to any more (left over when the people pass moved their faces)."""
    return conn.execute(
        "DELETE FROM persons WHERE name IS NULL "
        "AND id NOT IN (SELECT person_id FROM face_persons) AND id NOT IN (SELECT person_id FROM person_decisions) "
        "AND id NOT IN (SELECT merged_into FROM persons WHERE merged_into IS NOT NULL) "
        "AND id NOT IN (SELECT a FROM person_distinct) AND id NOT IN (SELECT b FROM person_distinct)"
    ).rowcount


# --- the user's word about a face ----------------------------------------------------------------------------------


def _face(conn: sqlite3.Connection, face_id: int) -> tuple[int, Box]:
    row = conn.execute("SELECT photo_id, left, top, right, bottom FROM faces WHERE id = ?", (int(face_id),)).fetchone()
    if row is None:
        raise KeyError(f"no face with id {face_id}")
    return row[0], tuple(row[1:])


def _decide(conn: sqlite3.Connection, face_id: int, person_id: int, decision: str) -> None:
    photo_id, box = _face(conn, face_id)
    conn.execute(
        "INSERT INTO person_decisions (photo_id, face_id, left, top, right, bottom, person_id, decision, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (photo_id, face_id, *box, person_id, decision, time.time()),
    )


def person_of_face(conn: sqlite3.Connection, face_id: int) -> int | None:
    """The person a face is now (after merges), or None."""
    row = conn.execute(
        f"SELECT {ROOT} FROM face_persons fp JOIN persons pe ON pe.id = fp.person_id WHERE fp.face_id = ?", (int(face_id),)
    ).fetchone()
    return int(row[0]) if row else None


def move_face(conn: sqlite3.Connection, face_id: int, person_id: int | None) -> int:
    """The user puts a face in a person (None: a new person). Final: the people pass never moves it. Its former
    person is remembered as "not this person", so the face never goes back there. Returns the person."""
    _face(conn, face_id)
    target = create_person(conn) if person_id is None else root_of(conn, person_id)
    before = person_of_face(conn, face_id)
    conn.execute("DELETE FROM person_decisions WHERE face_id = ? AND decision = ?", (face_id, IS))
    conn.execute(  # the user changed their mind about this person
        "DELETE FROM person_decisions WHERE face_id = ? AND decision = ? AND person_id IN "
        "(SELECT id FROM persons WHERE COALESCE(merged_into, id) = ?)",
        (face_id, NOT, target),
    )
    if before is not None and before != target:
        _decide(conn, face_id, before, NOT)
    _decide(conn, face_id, target, IS)
    conn.execute(
        "INSERT OR REPLACE INTO face_persons (face_id, person_id, source, model_id) VALUES (?, ?, ?, NULL)",
        (face_id, target, USER),
    )
    return target


def reject_face(conn: sqlite3.Connection, face_id: int, person_id: int | None = None) -> int | None:
    """ "Not this person": the face is never `person_id` (default: the person it is now), and leaves it if it is
    (the people pass may place it elsewhere). Returns that person, or None when the face had none."""
    _face(conn, face_id)
    before = person_of_face(conn, face_id)
    person = before if person_id is None else root_of(conn, person_id)
    if person is None:
        return None
    _decide(conn, face_id, person, NOT)
    if before == person:
        conn.execute("DELETE FROM person_decisions WHERE face_id = ? AND decision = ?", (face_id, IS))
        conn.execute("DELETE FROM face_persons WHERE face_id = ?", (face_id,))
    return person


def automatic_assignments(conn: sqlite3.Connection, photo_id: int) -> list[tuple[Box, int, str | None]]:
    """(box, person, model) of a photo's automatic assignments: taken before re-detection replaces its faces."""
    return [
        ((r[0], r[1], r[2], r[3]), r[4], r[5])
        for r in conn.execute(
            "SELECT f.left, f.top, f.right, f.bottom, fp.person_id, fp.model_id FROM faces f "
            f"JOIN face_persons fp ON fp.face_id = f.id WHERE f.photo_id = ? AND fp.source = '{AUTO}'",
            (photo_id,),
        )
    ]


def relink_decisions(
    conn: sqlite3.Connection,
    photo_id: int,
    candidates: Sequence[tuple[int, Sequence[float]]],
    min_iou: float,
    automatic: Sequence[tuple[Box, int, str | None]] = (),
) -> None:
    """After re-detection replaced a photo's faces: each decision that lost its face (face_id NULL) moves to the new
    face its box overlaps most (IoU >= `min_iou`); one "is" per face. Then the user's persons are set again, and
    the `automatic` assignments of the old faces go to the new faces they overlap, so that a person (and its name)
    keeps its faces until the people pass looks at them again."""
    rows = conn.execute(
        "SELECT id, decision, left, top, right, bottom FROM person_decisions WHERE photo_id = ? AND face_id IS NULL "
        "ORDER BY created_at DESC",  # the latest word first: it wins a face two old ones overlap
        (photo_id,),
    ).fetchall()
    holds_is = {
        r[0]
        for r in conn.execute(
            "SELECT face_id FROM person_decisions WHERE photo_id = ? AND face_id IS NOT NULL AND decision = ?", (photo_id, IS)
        )
    }
    for decision_id, decision, *box in rows:
        best = _best_overlap(box, candidates, min_iou, holds_is if decision == IS else set())
        if best is not None:
            conn.execute("UPDATE person_decisions SET face_id = ? WHERE id = ?", (best, decision_id))
            if decision == IS:
                holds_is.add(best)
    sync_user_assignments(conn, [photo_id])
    taken = {
        r[0]
        for r in conn.execute(
            "SELECT fp.face_id FROM face_persons fp JOIN faces f ON f.id = fp.face_id WHERE f.photo_id = ?", (photo_id,)
        )
    }
    for box, person_id, model_id in automatic:
        best = _best_overlap(box, candidates, min_iou, taken)
        if best is not None:
            taken.add(best)
            conn.execute(
                "INSERT INTO face_persons (face_id, person_id, source, model_id) VALUES (?, ?, ?, ?)",
                (best, person_id, AUTO, model_id),
            )


def _best_overlap(
    box: Sequence[float], candidates: Sequence[tuple[int, Sequence[float]]], min_iou: float, taken: set[int]
) -> int | None:
    best, best_iou = None, min_iou
    for face_id, face_box in candidates:
        overlap = iou(tuple(box), tuple(face_box))
        if overlap >= best_iou and face_id not in taken:
            best, best_iou = face_id, overlap
    return best


def sync_user_assignments(conn: sqlite3.Connection, photo_ids: Iterable[int] | None = None) -> None:
    """Every face the user put in a person has that person in face_persons (ignored faces aside)."""
    where, params = "", []
    if photo_ids is not None:
        ids = [int(p) for p in photo_ids]
        where, params = f" AND d.photo_id IN ({','.join('?' * len(ids))})", ids
    conn.execute(
        "INSERT OR REPLACE INTO face_persons (face_id, person_id, source, model_id) "
        f"SELECT d.face_id, d.person_id, '{USER}', NULL FROM person_decisions d "
        f"WHERE d.decision = '{IS}' AND d.face_id IS NOT NULL{where} "
        "AND NOT EXISTS (SELECT 1 FROM corrections c WHERE c.face_id = d.face_id AND c.ignored) "
        "AND d.id = (SELECT MAX(d2.id) FROM person_decisions d2 WHERE d2.face_id = d.face_id AND d2.decision = d.decision)",
        params,
    )


# --- the people pass -----------------------------------------------------------------------------------------------


def faces_needing_identity(conn: sqlite3.Connection, kind: str, model_id: str) -> list[tuple]:
    """(face id, photo id, path, content hash, left, top, right, bottom, score, landmarks JSON) of the faces of
    indexed photos, not ignored, with no result of `kind` from `model_id`; by photo."""
    return conn.execute(
        "SELECT f.id, f.photo_id, p.path, p.content_hash, f.left, f.top, f.right, f.bottom, f.score, f.landmarks "
        "FROM faces f JOIN photos p ON p.id = f.photo_id LEFT JOIN corrections c ON c.face_id = f.id "
        "WHERE p.status = 'ok' AND NOT COALESCE(c.ignored, 0) AND NOT EXISTS "
        "(SELECT 1 FROM face_results r WHERE r.face_id = f.id AND r.kind = ? AND r.model_id = ?) ORDER BY f.photo_id, f.idx",
        (kind, model_id),
    ).fetchall()


def read_people_rows(conn: sqlite3.Connection, kind: str, model_id: str) -> PeopleRows:
    identities = [
        IdentityRow(*r)
        for r in conn.execute(
            "SELECT f.id, f.photo_id, r.data FROM faces f JOIN photos p ON p.id = f.photo_id "
            "JOIN face_results r ON r.face_id = f.id AND r.kind = ? AND r.model_id = ? "
            "LEFT JOIN corrections c ON c.face_id = f.id WHERE p.status = 'ok' AND NOT COALESCE(c.ignored, 0) AND r.label IS NULL",
            (kind, model_id),
        )
    ]
    assignments = {
        r[0]: (r[1], r[2], r[3]) for r in conn.execute("SELECT face_id, person_id, source, model_id FROM face_persons")
    }
    rejected = {
        (r[0], r[1])
        for r in conn.execute(f"SELECT face_id, person_id FROM person_decisions WHERE decision = '{NOT}' AND face_id IS NOT NULL")
    }
    merged = {r[0]: r[1] for r in conn.execute("SELECT id, merged_into FROM persons WHERE merged_into IS NOT NULL")}
    distinct = {frozenset(r) for r in conn.execute("SELECT a, b FROM person_distinct")}
    ignored = {r[0] for r in conn.execute("SELECT face_id FROM corrections WHERE ignored AND face_id IS NOT NULL")}
    names = {r[0]: r[1] for r in conn.execute("SELECT id, name FROM persons WHERE merged_into IS NULL AND name IS NOT NULL")}
    return PeopleRows(identities, assignments, rejected, merged, distinct, ignored, names)


def write_assignments(
    conn: sqlite3.Connection, changes: Mapping[int, tuple[int, str] | None], new_people: Iterable[int], model_id: str
) -> dict[int, int]:
    """Store the people pass's changes: face -> (person, source), or None (the face has no person now). Person ids
    in `new_people` (negative, temporary) become new persons; returns temporary id -> new id. Faces deleted
    meanwhile (re-indexed while the pass ran) are skipped."""
    wanted = {change[0] for change in changes.values() if change is not None}
    ids = {temporary: create_person(conn) for temporary in sorted(new_people, reverse=True) if temporary in wanted}
    for face_id, change in changes.items():
        if change is None:
            conn.execute("DELETE FROM face_persons WHERE face_id = ?", (face_id,))
            continue
        person_id, source = ids.get(change[0], change[0]), change[1]
        conn.execute(
            "INSERT OR REPLACE INTO face_persons (face_id, person_id, source, model_id) "
            "SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM faces WHERE id = ?)",
            (face_id, person_id, source, model_id if source == AUTO else None, face_id),
        )
    return ids


# --- reading -------------------------------------------------------------------------------------------------------


def list_people(conn: sqlite3.Connection, samples: int = 6) -> list[PersonSummary]:
    """Every person with at least one face that counts: named people first (by name), then unnamed ones (most
    faces first). `samples` faces each, the user's choices and the largest first."""
    counts = conn.execute(
        f"SELECT {ROOT} AS root, COUNT(*), COUNT(DISTINCT f.photo_id) FROM faces f {FACE_PERSON_JOIN} "
        "JOIN photos p ON p.id = f.photo_id WHERE p.status = 'ok' AND NOT COALESCE(pc.ignored, 0) GROUP BY root"
    ).fetchall()
    if not counts:
        return []
    names = dict(conn.execute("SELECT id, name FROM persons WHERE merged_into IS NULL").fetchall())
    shown: dict[int, list[SampleFace]] = {}
    if samples > 0:
        for root, face_id, photo_id, path, left, top, right, bottom, source in conn.execute(
            "SELECT root, id, photo_id, path, left, top, right, bottom, source FROM ("
            f"SELECT {ROOT} AS root, f.id, f.photo_id, p.path, f.left, f.top, f.right, f.bottom, fp.source, "
            f"ROW_NUMBER() OVER (PARTITION BY {ROOT} ORDER BY fp.source = '{USER}' DESC, (f.right - f.left) DESC, f.id) AS n "
            f"FROM faces f {FACE_PERSON_JOIN} JOIN photos p ON p.id = f.photo_id "
            "WHERE p.status = 'ok' AND NOT COALESCE(pc.ignored, 0)) WHERE n <= ? ORDER BY root, n",
            (int(samples),),
        ):
            shown.setdefault(root, []).append(SampleFace(face_id, photo_id, path, (left, top, right, bottom), source))
    people = [PersonSummary(root, names.get(root), n, photos, tuple(shown.get(root, ()))) for root, n, photos in counts]
    named = sorted((p for p in people if p.name), key=lambda p: (p.name.casefold(), p.id))  # type: ignore[union-attr]
    unnamed = sorted((p for p in people if not p.name), key=lambda p: (-p.faces, p.id))
    return named + unnamed


def person_clause(person: int | str) -> tuple[str, list]:
    """SQL (over photos `p`) for "this person is in the photo": an id, or a name (case-insensitive, any person
    of that name); a text of digits that names nobody is taken as an id."""
    by_id: int | None
    by_name: str | None
    if isinstance(person, int):
        by_id, by_name = person, None
    else:
        text = clean_name(person) or ""
        by_id, by_name = (int(text) if text.isdigit() else None), text
    sql = (
        f"EXISTS (SELECT 1 FROM faces f {FACE_PERSON_JOIN} LEFT JOIN persons root ON root.id = {ROOT} "
        "WHERE f.photo_id = p.id AND NOT COALESCE(pc.ignored, 0) AND "
        "(root.name = ? COLLATE NOCASE OR (root.id = ? AND NOT EXISTS (SELECT 1 FROM persons n WHERE n.name = ? COLLATE NOCASE))))"
    )
    return sql, [by_name, by_id, by_name]
