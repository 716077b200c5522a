"""The catalog's schema and its migrations. `MIGRATIONS[i]` brings a catalog from `user_version` i to i + 1;
each runs in one transaction with foreign-key actions off (so rebuilding a table never cascades into the
user's corrections). Old migrations are frozen: never edit one that has shipped, add the next instead."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import sqlite_utils

from albumsorter.core.classes import CLASSES_8

SCHEMA_VERSION = 6

# Recomputes the stored per-photo scores of the photos matched by an appended WHERE clause. Reads the
# `face_labels` view (every schema version's view has these columns).
REFRESH_SCORES = """
    UPDATE photos SET
        face_count = (SELECT COUNT(*) FROM face_labels fl WHERE fl.photo_id = photos.id),
        smile_count = (SELECT COUNT(*) FROM face_labels fl WHERE fl.photo_id = photos.id AND fl.effective_label = 'happy'),
        smile_score = COALESCE((SELECT AVG(CASE WHEN fl.corrected THEN (fl.effective_label = 'happy') * 1.0 ELSE fl.p_happy END)
                                FROM face_labels fl WHERE fl.photo_id = photos.id), 0.0)
"""

_V1_PROBS = ", ".join(f"p_{c} REAL" for c in CLASSES_8)

_V1 = f"""
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
    CREATE TABLE photos (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        content_hash TEXT,
        status TEXT NOT NULL,
        error TEXT,
        format TEXT,
        width INTEGER,
        height INTEGER,
        taken_at TEXT,
        detector_id TEXT,
        indexed_at REAL,
        pick INTEGER NOT NULL DEFAULT 0,
        pick_changed_at REAL
    );
    CREATE INDEX photos_hash ON photos(content_hash);
    CREATE INDEX photos_status ON photos(status);
    CREATE TABLE faces (
        id INTEGER PRIMARY KEY,
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        left REAL NOT NULL, top REAL NOT NULL, right REAL NOT NULL, bottom REAL NOT NULL,
        score REAL NOT NULL,
        keypoints TEXT NOT NULL,
        model_id TEXT,
        label TEXT,
        {_V1_PROBS},
        UNIQUE(photo_id, idx)
    );
    CREATE INDEX faces_photo ON faces(photo_id);
    CREATE INDEX faces_label ON faces(label);
    CREATE TABLE corrections (
        id INTEGER PRIMARY KEY,
        photo_id INTEGER NOT NULL REFERENCES photos(id),
        face_id INTEGER UNIQUE REFERENCES faces(id) ON DELETE SET NULL,
        left REAL NOT NULL, top REAL NOT NULL, right REAL NOT NULL, bottom REAL NOT NULL,
        label TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX corrections_photo ON corrections(photo_id);
    CREATE VIEW face_labels AS
        SELECT f.*, COALESCE(c.label, f.label) AS effective_label, c.label IS NOT NULL AS corrected
        FROM faces f LEFT JOIN corrections c ON c.face_id = f.id;
    CREATE VIEW photo_scores AS
        SELECT p.id AS photo_id,
               COUNT(fl.id) AS face_count,
               COALESCE(SUM(fl.effective_label = 'happy'), 0) AS smile_count,
               COALESCE(AVG(CASE WHEN fl.corrected THEN (fl.effective_label = 'happy') * 1.0 ELSE fl.p_happy END), 0.0)
                   AS smile_score
        FROM photos p LEFT JOIN face_labels fl ON fl.photo_id = p.id
        GROUP BY p.id;
"""

# 2: per-photo scores stored on the photo (kept current by every write), so filtering and sorting
# 10,000+ photos does not aggregate every face on every query.
_V2 = (
    """
    ALTER TABLE photos ADD COLUMN face_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE photos ADD COLUMN smile_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE photos ADD COLUMN smile_score REAL NOT NULL DEFAULT 0.0;
    DROP VIEW photo_scores;
    CREATE INDEX photos_smile ON photos(smile_score);
    CREATE INDEX faces_photo_label ON faces(photo_id, label);
    """
    + REFRESH_SCORES
)

FACE_LABELS_VIEW = """
    CREATE VIEW face_labels AS
        SELECT f.id, f.photo_id, f.idx, r.model_id, r.label AS label,
               COALESCE(c.label, r.label) AS effective_label, c.label IS NOT NULL AS corrected,
               CAST(json_extract(r.data, '$.probabilities.happy') AS REAL) AS p_happy
        FROM faces f
        LEFT JOIN face_results r ON r.face_id = f.id AND r.kind = 'expression'
        LEFT JOIN corrections c ON c.face_id = f.id
"""


def _v3(conn: sqlite3.Connection) -> None:
    """3: every model result in its own table, keyed by face, kind and model id (the expression classifier is one
    kind; eyes/sharpness and identity follow); faces keep geometry only, with named landmarks."""
    db = sqlite_utils.Database(conn)
    conn.execute("DROP VIEW face_labels")
    conn.execute(
        "CREATE TABLE face_results (face_id INTEGER NOT NULL REFERENCES faces(id) ON DELETE CASCADE, kind TEXT NOT NULL, "
        "model_id TEXT NOT NULL, label TEXT, data TEXT NOT NULL, PRIMARY KEY (face_id, kind, model_id))"
    )
    conn.execute("CREATE INDEX face_results_kind_label ON face_results(kind, label)")
    probabilities = ", ".join(f"'{c}', p_{c}" for c in CLASSES_8)
    conn.execute(
        "INSERT INTO face_results (face_id, kind, model_id, label, data) "
        f"SELECT id, 'expression', COALESCE(model_id, 'unknown'), label, json_object('probabilities', json_object({probabilities})) "
        "FROM faces WHERE model_id IS NOT NULL OR label IS NOT NULL OR p_happy IS NOT NULL"
    )
    names = ("right_eye", "left_eye", "nose_tip", "mouth", "right_ear", "left_ear")  # BlazeFace's order
    conn.execute("ALTER TABLE faces ADD COLUMN landmarks TEXT")
    points = ", ".join(f"'{n}', COALESCE(json_extract(keypoints, '$[{i}]'), json('[0, 0]'))" for i, n in enumerate(names))
    conn.execute(f"UPDATE faces SET landmarks = json_object({points})")
    conn.execute("DROP INDEX faces_label")
    conn.execute("DROP INDEX faces_photo_label")
    db.table("faces").transform(drop={"keypoints", "model_id", "label", *(f"p_{c}" for c in CLASSES_8)}, not_null={"landmarks"})
    conn.execute("CREATE INDEX IF NOT EXISTS faces_photo ON faces(photo_id)")
    conn.execute(FACE_LABELS_VIEW)


FACE_LABELS_VIEW_V4 = """
    CREATE VIEW face_labels AS
        SELECT f.id, f.photo_id, f.idx, f.manual, f.subject, COALESCE(c.ignored, 0) AS ignored, r.model_id, r.label AS label,
               COALESCE(c.label, r.label) AS effective_label, c.label IS NOT NULL AS corrected,
               CAST(json_extract(r.data, '$.probabilities.happy') AS REAL) AS p_happy
        FROM faces f
        LEFT JOIN face_results r ON r.face_id = f.id AND r.kind = 'expression'
        LEFT JOIN corrections c ON c.face_id = f.id
"""


def _v4(conn: sqlite3.Connection) -> None:
    """4: star ratings and what was last written to / read from XMP sidecars; faces the user added (manual) or
    ignored ("not a person in this photo"), and subjects versus bystanders. An ignore is kept like a label
    correction (it follows the face through re-detection), so a correction may now have no label."""
    db = sqlite_utils.Database(conn)
    conn.execute("DROP VIEW face_labels")
    for column in (
        "rating INTEGER NOT NULL DEFAULT 0",
        "rating_changed_at REAL",
        "sidecar_rating INTEGER",  # what AlbumSorter last wrote to or took from the photo's sidecar
        "sidecar_pick INTEGER",
        "sidecar_mtime REAL",
    ):
        conn.execute(f"ALTER TABLE photos ADD COLUMN {column}")
    conn.execute("CREATE INDEX photos_rating ON photos(rating)")
    conn.execute("ALTER TABLE faces ADD COLUMN manual INTEGER NOT NULL DEFAULT 0")
    conn.execute("ALTER TABLE faces ADD COLUMN subject INTEGER NOT NULL DEFAULT 1")
    conn.execute("ALTER TABLE corrections ADD COLUMN ignored INTEGER NOT NULL DEFAULT 0")
    db.table("corrections").transform(not_null={"label": False})
    conn.execute("CREATE INDEX IF NOT EXISTS corrections_photo ON corrections(photo_id)")
    conn.execute(FACE_LABELS_VIEW_V4)


def _script(sql: str) -> Callable[[sqlite3.Connection], None]:
    def run(conn: sqlite3.Connection) -> None:
        for statement in sql.split(";\n"):
            if statement.strip():
                conn.execute(statement)

    return run


def _v5(conn: sqlite3.Connection) -> None:
    """5: people. `persons` (a merge only sets merged_into, flattened to the surviving person, so it can be undone);
    `face_persons`, the current person of each face, automatic (recomputed by the people pass) or the user's;
    `person_decisions`, the user's word about a face ("is" this person / "not" this person) with the face's box, so
    that it follows the face through re-detection as corrections do; `person_distinct`, pairs the user said are two
    people. The embeddings themselves are face_results of kind 'identity'."""
    for statement in (
        "CREATE TABLE persons (id INTEGER PRIMARY KEY, name TEXT, merged_into INTEGER REFERENCES persons(id), "
        "created_at REAL NOT NULL)",
        "CREATE INDEX persons_merged ON persons(merged_into)",
        "CREATE TABLE face_persons (face_id INTEGER PRIMARY KEY REFERENCES faces(id) ON DELETE CASCADE, "
        "person_id INTEGER NOT NULL REFERENCES persons(id), source TEXT NOT NULL CHECK (source IN ('auto', 'user')), "
        "model_id TEXT)",
        "CREATE INDEX face_persons_person ON face_persons(person_id)",
        "CREATE TABLE person_decisions (id INTEGER PRIMARY KEY, photo_id INTEGER NOT NULL REFERENCES photos(id), "
        "face_id INTEGER REFERENCES faces(id) ON DELETE SET NULL, "
        "left REAL NOT NULL, top REAL NOT NULL, right REAL NOT NULL, bottom REAL NOT NULL, "
        "person_id INTEGER NOT NULL REFERENCES persons(id), decision TEXT NOT NULL CHECK (decision IN ('is', 'not')), "
        "created_at REAL NOT NULL)",
        "CREATE INDEX person_decisions_photo ON person_decisions(photo_id)",
        "CREATE INDEX person_decisions_face ON person_decisions(face_id)",
        "CREATE TABLE person_distinct (a INTEGER NOT NULL REFERENCES persons(id), b INTEGER NOT NULL REFERENCES persons(id), "
        "PRIMARY KEY (a, b), CHECK (a < b))",
    ):
        conn.execute(statement)


def _v6(conn: sqlite3.Connection) -> None:
    """6: picking the best shot. Per photo: what the pipeline measured (sharpness, exposure, the grouping
    signature, with the version of the measures), the derived keeper score and flags the filters use, and its
    group of bursts / near-duplicates (group id = a member photo's id; by_user: the user split or merged it, so
    automatic grouping never moves it; rank 1 = the keeper; size = the group's photo count)."""
    for column in (
        "sharpness REAL",
        "exposure REAL",
        "signature TEXT",
        "measures_version TEXT",
        "keeper_score REAL",
        "eyes_open_all INTEGER NOT NULL DEFAULT 0",
        "eyes_closed_any INTEGER NOT NULL DEFAULT 0",
        "sharp INTEGER NOT NULL DEFAULT 0",
        "group_id INTEGER",
        "group_by_user INTEGER NOT NULL DEFAULT 0",
        "group_rank INTEGER",
        "group_size INTEGER NOT NULL DEFAULT 1",
    ):
        conn.execute(f"ALTER TABLE photos ADD COLUMN {column}")
    conn.execute("CREATE INDEX photos_group ON photos(group_id)")
    conn.execute("CREATE INDEX photos_keeper ON photos(keeper_score)")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_script(_V1), _script(_V2), _v3, _v4, _v5, _v6]
assert len(MIGRATIONS) == SCHEMA_VERSION
