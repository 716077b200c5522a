"""Storing and reading faces and their scorer results; the user's corrections follow re-detected faces."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence

from albumsorter.core.catalog import people_store
from albumsorter.core.catalog.culling import refresh_keeper
from albumsorter.core.catalog.records import EXPRESSION, FaceRecord
from albumsorter.core.face import FaceResult, Landmarks, ScorerResult
from albumsorter.core.geometry import iou
from albumsorter.core.subjects import FaceFacts, reading_order, subject_flags

# Names the rules behind derived values (reading order, subjects, stored scores); change it when they change and
# every catalog recomputes them once on opening.
DERIVED_RULES = "reading-order+subjects:1"
RELINK_IOU = 0.3  # a correction moves to the new face it overlaps at least this much
MANUAL_WINS_IOU = 0.5  # a detected face overlapping a face the user drew this much is the same face: the user's stays


def refresh_scores(conn: sqlite3.Connection, photo_ids: Iterable[int]) -> None:
    """Re-derive who is a subject and the photo's stored scores (face count, smiles, smile score) from its faces.
    Only subjects count: ignored faces and bystanders stay stored and visible but leave the scores."""
    for photo_id in photo_ids:
        size = conn.execute("SELECT width, height FROM photos WHERE id = ?", (photo_id,)).fetchone()
        rows = conn.execute(
            "SELECT fl.id, f.left, f.top, f.right, f.bottom, fl.ignored, fl.manual, fl.effective_label, fl.corrected, fl.p_happy "
            "FROM face_labels fl JOIN faces f ON f.id = fl.id WHERE fl.photo_id = ? ORDER BY fl.idx",
            (photo_id,),
        ).fetchall()
        facts = [FaceFacts((r[1], r[2], r[3], r[4]), bool(r[5]), bool(r[6])) for r in rows]
        flags = subject_flags(facts, *(size or (None, None)))
        conn.executemany("UPDATE faces SET subject = ? WHERE id = ?", [(int(flag), r[0]) for flag, r in zip(flags, rows)])
        subjects = [r for flag, r in zip(flags, rows) if flag]
        smiles = sum(r[7] == "happy" for r in subjects)
        terms = [(1.0 if r[7] == "happy" else 0.0) if r[8] else r[9] for r in subjects]
        terms = [t for t in terms if t is not None]
        score = sum(terms) / len(terms) if terms else 0.0
        conn.execute(
            "UPDATE photos SET face_count = ?, smile_count = ?, smile_score = ? WHERE id = ?",
            (len(subjects), smiles, score, photo_id),
        )
        refresh_keeper(conn, photo_id)


def store_results(conn: sqlite3.Connection, face_id: int, results: Iterable[ScorerResult]) -> None:
    """One current result per face and kind: a new model's result replaces the older model's."""
    for r in results:
        conn.execute("DELETE FROM face_results WHERE face_id = ? AND kind = ? AND model_id != ?", (face_id, r.kind, r.model_id))
        conn.execute(
            "INSERT INTO face_results (face_id, kind, model_id, label, data) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(face_id, kind, model_id) DO UPDATE SET label = excluded.label, data = excluded.data",
            (face_id, r.kind, r.model_id, r.label, json.dumps(r.data, separators=(",", ":"))),
        )


def insert_face(conn: sqlite3.Connection, photo_id: int, face: FaceResult, manual: bool = False) -> int:
    """A new face at the end of the photo's faces (`renumber` puts it in reading order)."""
    idx = conn.execute("SELECT COALESCE(MAX(idx), -1) + 1 FROM faces WHERE photo_id = ?", (photo_id,)).fetchone()[0]
    face_id = conn.execute(
        "INSERT INTO faces (photo_id, idx, left, top, right, bottom, score, landmarks, manual) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            photo_id,
            idx,
            *(float(v) for v in face.box),
            float(face.score),
            json.dumps(face.landmarks.to_dict(), separators=(",", ":")),
            int(manual),
        ),
    ).lastrowid
    assert face_id is not None
    store_results(conn, face_id, face.results.values())
    return face_id


def renumber(conn: sqlite3.Connection, photo_id: int) -> None:
    """Faces numbered in reading order (rows top to bottom, left to right), as the user counts them."""
    rows = conn.execute("SELECT id, left, top, right, bottom FROM faces WHERE photo_id = ?", (photo_id,)).fetchall()
    order = reading_order([tuple(r[1:]) for r in rows])
    conn.execute("UPDATE faces SET idx = -1 - idx WHERE photo_id = ?", (photo_id,))  # out of the way of UNIQUE(photo_id, idx)
    conn.executemany("UPDATE faces SET idx = ? WHERE id = ?", [(n, rows[i][0]) for n, i in enumerate(order)])


def replace_faces(conn: sqlite3.Connection, photo_id: int, faces: Sequence[FaceResult]) -> list[int]:
    """Store a photo's detected faces instead of the old ones. Faces the user added stay (a detection on top of
    one is dropped: the user's box wins); each correction or ignore moves to the face it overlaps most
    (IoU >= RELINK_IOU) or stays with the photo, unlinked. Returns the new face ids in `faces` order (None for a
    detection dropped for a face the user added)."""
    old_corrections = conn.execute(
        "SELECT id, left, top, right, bottom FROM corrections WHERE photo_id = ?", (photo_id,)
    ).fetchall()
    manual = conn.execute(
        "SELECT id, left, top, right, bottom FROM faces WHERE photo_id = ? AND manual = 1", (photo_id,)
    ).fetchall()
    conn.execute(
        "UPDATE corrections SET face_id = NULL WHERE photo_id = ? AND face_id NOT IN (SELECT id FROM faces WHERE manual = 1)",
        (photo_id,),
    )
    automatic_people = people_store.automatic_assignments(conn, photo_id)  # they follow the boxes, as below
    conn.execute(
        "DELETE FROM faces WHERE photo_id = ? AND manual = 0", (photo_id,)
    )  # their results go with them (ON DELETE CASCADE)
    new_ids: list[int | None] = []
    for face in faces:
        if any(iou(face.box, m[1:]) >= MANUAL_WINS_IOU for m in manual):
            new_ids.append(None)
            continue
        new_ids.append(insert_face(conn, photo_id, face))
    linked = {
        r[0] for r in conn.execute("SELECT face_id FROM corrections WHERE photo_id = ? AND face_id IS NOT NULL", (photo_id,))
    }
    candidates = [(fid, tuple(float(v) for v in f.box)) for fid, f in zip(new_ids, faces) if fid is not None]
    for corr_id, *corr_box in old_corrections:
        if conn.execute("SELECT face_id FROM corrections WHERE id = ?", (corr_id,)).fetchone()[0] is not None:
            continue  # still on a face the user added
        best, best_iou = None, RELINK_IOU
        for face_id, box in candidates:
            overlap = iou(tuple(corr_box), box)
            if face_id not in linked and overlap >= best_iou:
                best, best_iou = face_id, overlap
        if best is not None:
            linked.add(best)
            conn.execute("UPDATE corrections SET face_id = ? WHERE id = ?", (best, corr_id))
    people_store.relink_decisions(conn, photo_id, candidates, RELINK_IOU, automatic_people)  # persons follow too
    renumber(conn, photo_id)
    refresh_scores(conn, [photo_id])
    return [fid for fid in new_ids if fid is not None]


def read_faces(conn: sqlite3.Connection, photo_ids: Sequence[int]) -> dict[int, list[FaceRecord]]:
    """photo id -> its faces in stored order, with every result and correction."""
    out: dict[int, list[FaceRecord]] = {}
    for start in range(0, len(photo_ids), 500):
        chunk = list(photo_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        faces = conn.execute(
            f"SELECT f.id, f.photo_id, f.left, f.top, f.right, f.bottom, f.score, f.landmarks, c.label, "
            f"COALESCE(c.ignored, 0), f.manual, f.subject, who.id, who.name FROM faces f "
            f"LEFT JOIN corrections c ON c.face_id = f.id LEFT JOIN face_persons fp ON fp.face_id = f.id "
            f"LEFT JOIN persons pe ON pe.id = fp.person_id LEFT JOIN persons who ON who.id = COALESCE(pe.merged_into, pe.id) "
            f"AND NOT COALESCE(c.ignored, 0) WHERE f.photo_id IN ({marks}) ORDER BY f.photo_id, f.idx",
            chunk,
        ).fetchall()
        results: dict[int, dict[str, ScorerResult]] = {}
        for face_id, kind, model_id, label, data in conn.execute(
            f"SELECT r.face_id, r.kind, r.model_id, r.label, r.data FROM face_results r JOIN faces f ON f.id = r.face_id "
            f"WHERE f.photo_id IN ({marks})",
            chunk,
        ):
            results.setdefault(face_id, {})[kind] = ScorerResult(kind, model_id, label, json.loads(data))
        for face_id, photo_id, left, top, right, bottom, score, landmarks, correction, ignored, manual, subject, *who in faces:
            out.setdefault(photo_id, []).append(
                FaceRecord(
                    face_id,
                    photo_id,
                    (left, top, right, bottom),
                    score,
                    Landmarks.from_dict(json.loads(landmarks)),
                    results.get(face_id, {}),
                    correction,
                    bool(ignored),
                    bool(manual),
                    bool(subject),
                    *who,  # person id and name (None: not recognised, or ignored)
                )
            )
    return out


def faces_needing(conn: sqlite3.Connection, kind: str, model_id: str) -> dict[int, str]:
    """photo id -> path for indexed photos with a face that has no result of `kind` from `model_id`."""
    rows = conn.execute(
        "SELECT DISTINCT p.id, p.path FROM faces f JOIN photos p ON p.id = f.photo_id WHERE p.status = 'ok' AND NOT EXISTS "
        "(SELECT 1 FROM face_results r WHERE r.face_id = f.id AND r.kind = ? AND r.model_id = ?)",
        (kind, model_id),
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def corrected_faces(conn: sqlite3.Connection) -> list[dict]:
    """Faces the user labelled, for training: path, box, eyes (if the face is still detected), label."""
    rows = conn.execute(
        "SELECT p.path, c.left, c.top, c.right, c.bottom, c.label, f.landmarks FROM corrections c "
        "JOIN photos p ON p.id = c.photo_id LEFT JOIN faces f ON f.id = c.face_id WHERE p.status = 'ok' AND c.label IS NOT NULL ORDER BY c.id"
    ).fetchall()
    out = []
    for path, left, top, right, bottom, label, landmarks in rows:
        marks = Landmarks.from_dict(json.loads(landmarks)) if landmarks else None
        out.append(
            {
                "path": path,
                "box": (left, top, right, bottom),
                "right_eye": marks.right_eye if marks else None,
                "left_eye": marks.left_eye if marks else None,
                "label": label,
            }
        )
    return out


__all__ = [
    "EXPRESSION",
    "corrected_faces",
    "faces_needing",
    "insert_face",
    "read_faces",
    "refresh_scores",
    "renumber",
    "replace_faces",
    "store_results",
]
