"""Storing and reading faces and their scorer results; the user's corrections follow re-detected faces."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence

from albumsorter.core.catalog.records import EXPRESSION, FaceRecord
from albumsorter.core.catalog.schema import REFRESH_SCORES
from albumsorter.core.face import FaceResult, Landmarks, ScorerResult
from albumsorter.core.geometry import iou

RELINK_IOU = 0.3  # a correction moves to the new face it overlaps at least this much


def refresh_scores(conn: sqlite3.Connection, photo_ids: Iterable[int]) -> None:
    for photo_id in photo_ids:
        conn.execute(REFRESH_SCORES + " WHERE id = ?", (photo_id,))


def store_results(conn: sqlite3.Connection, face_id: int, results: Iterable[ScorerResult]) -> None:
    """One current result per face and kind: a new model's result replaces the older model's."""
    for r in results:
        conn.execute("DELETE FROM face_results WHERE face_id = ? AND kind = ? AND model_id != ?", (face_id, r.kind, r.model_id))
        conn.execute(
            "INSERT INTO face_results (face_id, kind, model_id, label, data) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(face_id, kind, model_id) DO UPDATE SET label = excluded.label, data = excluded.data",
            (face_id, r.kind, r.model_id, r.label, json.dumps(r.data, separators=(",", ":"))),
        )


def replace_faces(conn: sqlite3.Connection, photo_id: int, faces: Sequence[FaceResult]) -> list[int]:
    """Store a photo's faces instead of the old ones; each correction moves to the new face it overlaps most
    (IoU >= RELINK_IOU) or stays with the photo, unlinked. Returns the new face ids in `faces` order."""
    old_corrections = conn.execute("SELECT id, left, top, right, bottom FROM corrections WHERE photo_id = ?", (photo_id,)).fetchall()
    conn.execute("UPDATE corrections SET face_id = NULL WHERE photo_id = ?", (photo_id,))
    conn.execute("DELETE FROM faces WHERE photo_id = ?", (photo_id,))  # their results go with them (ON DELETE CASCADE)
    new_ids = []
    for idx, face in enumerate(faces):
        box = tuple(float(v) for v in face.box)
        face_id = conn.execute(
            "INSERT INTO faces (photo_id, idx, left, top, right, bottom, score, landmarks) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (photo_id, idx, *box, float(face.score), json.dumps(face.landmarks.to_dict(), separators=(",", ":"))),
        ).lastrowid
        assert face_id is not None
        store_results(conn, face_id, face.results.values())
        new_ids.append((face_id, box))
    taken: set[int] = set()
    for corr_id, *corr_box in old_corrections:
        best, best_iou = None, RELINK_IOU
        for face_id, box in new_ids:
            overlap = iou(tuple(corr_box), box)
            if face_id not in taken and overlap >= best_iou:
                best, best_iou = face_id, overlap
        if best is not None:
            taken.add(best)
            conn.execute("UPDATE corrections SET face_id = ? WHERE id = ?", (best, corr_id))
    refresh_scores(conn, [photo_id])
    return [face_id for face_id, _ in new_ids]


def read_faces(conn: sqlite3.Connection, photo_ids: Sequence[int]) -> dict[int, list[FaceRecord]]:
    """photo id -> its faces in stored order, with every result and correction."""
    out: dict[int, list[FaceRecord]] = {}
    for start in range(0, len(photo_ids), 500):
        chunk = list(photo_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        faces = conn.execute(
            f"SELECT f.id, f.photo_id, f.left, f.top, f.right, f.bottom, f.score, f.landmarks, c.label FROM faces f "
            f"LEFT JOIN corrections c ON c.face_id = f.id WHERE f.photo_id IN ({marks}) ORDER BY f.photo_id, f.idx",
            chunk,
        ).fetchall()
        results: dict[int, dict[str, ScorerResult]] = {}
        for face_id, kind, model_id, label, data in conn.execute(
            f"SELECT r.face_id, r.kind, r.model_id, r.label, r.data FROM face_results r JOIN faces f ON f.id = r.face_id "
            f"WHERE f.photo_id IN ({marks})",
            chunk,
        ):
            results.setdefault(face_id, {})[kind] = ScorerResult(kind, model_id, label, json.loads(data))
        for face_id, photo_id, left, top, right, bottom, score, landmarks, correction in faces:
            out.setdefault(photo_id, []).append(
                FaceRecord(
                    face_id, photo_id, (left, top, right, bottom), score, Landmarks.from_dict(json.loads(landmarks)),
                    results.get(face_id, {}), correction,
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
        "JOIN photos p ON p.id = c.photo_id LEFT JOIN faces f ON f.id = c.face_id WHERE p.status = 'ok' ORDER BY c.id"
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


__all__ = ["EXPRESSION", "corrected_faces", "faces_needing", "read_faces", "refresh_scores", "replace_faces", "store_results"]
