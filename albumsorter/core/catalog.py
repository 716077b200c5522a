"""The catalog: one SQLite file per indexed folder holding photos, faces, predictions and the user's
picks and corrections. The app's own data lives here and never in the user's photo files.

Writes (operations) and reads (queries) are separate methods; every write is one transaction, so a run
killed at any moment leaves a consistent catalog that the next run continues. WAL mode and a busy
timeout let the GUI and a command-line run share a catalog, each waiting for the other's writes.
User data (picks, corrections) is never deleted by indexing: a vanished photo is marked gone, a moved one
keeps its row, and re-detected faces inherit the corrections of the faces they replace.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from albumsorter.core.classes import CLASSES_8, GROUPS_3, canonical_class
from albumsorter.core.geometry import iou

SCHEMA_VERSION = 2
BUSY_TIMEOUT_S = 60.0
PROB_COLUMNS = tuple(f"p_{c}" for c in CLASSES_8)

PICK_NONE, PICK_PICKED, PICK_REJECTED = 0, 1, -1
PICK_STATES = {"unflagged": PICK_NONE, "picked": PICK_PICKED, "rejected": PICK_REJECTED}

STATUS_OK, STATUS_ERROR, STATUS_GONE = "ok", "error", "gone"


class CatalogError(RuntimeError):
    """The catalog file cannot be opened or is from a newer AlbumSorter."""


# File names are bytes on Linux; one that is not valid UTF-8 (old Latin-1 archives, Samba shares) reaches
# Python with lone surrogates (surrogateescape), which sqlite3 refuses to bind: a single such name used to
# abort the whole indexing run. Such a str is bound as its original bytes and stored as TEXT (`_TEXT_MARK`
# casts it), and `_text_from_db` gives back the identical str, so the path still opens, matches and exports.
_TEXT_MARK = "CAST(? AS TEXT)"


def _to_db(value):
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogateescape")
    return value


def _text_from_db(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL. On a new file that takes a moment of exclusive access, and SQLite answers "database is
    locked" at once (no busy handler) while another process does the same: retry within the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def default_catalog_path(root: Path | str) -> Path:
    """One catalog per indexed folder, in the user's data directory (never inside the photo folder)."""
    import platformdirs

    root = Path(os.path.abspath(Path(root).expanduser()))
    digest = hashlib.sha1(str(root).encode("utf-8", "surrogateescape")).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", root.name or "root")[:40]
    return Path(platformdirs.user_data_dir("AlbumSorter", appauthor=False)) / "catalogs" / f"{name}-{digest}.sqlite"


# --- migrations: index i brings user_version i -> i + 1 ----------------------------------------------

# Recomputes the stored scores of the photos matched by the appended WHERE clause.
_REFRESH_SCORES = """
    UPDATE photos SET
        face_count = (SELECT COUNT(*) FROM face_labels fl WHERE fl.photo_id = photos.id),
        smile_count = (SELECT COUNT(*) FROM face_labels fl WHERE fl.photo_id = photos.id AND fl.effective_label = 'happy'),
        smile_score = COALESCE((SELECT AVG(CASE WHEN fl.corrected THEN (fl.effective_label = 'happy') * 1.0 ELSE fl.p_happy END)
                                FROM face_labels fl WHERE fl.photo_id = photos.id), 0.0)
"""

_PROB_SQL = ", ".join(f"{c} REAL" for c in PROB_COLUMNS)
MIGRATIONS: list[str] = [
    f"""
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
        {_PROB_SQL},
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
    """,
    # 2: per-photo scores stored on the photo (kept current by every write), so filtering and sorting
    # 10,000+ photos does not aggregate every face on every query.
    """
    ALTER TABLE photos ADD COLUMN face_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE photos ADD COLUMN smile_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE photos ADD COLUMN smile_score REAL NOT NULL DEFAULT 0.0;
    DROP VIEW photo_scores;
    CREATE INDEX photos_smile ON photos(smile_score);
    CREATE INDEX faces_photo_label ON faces(photo_id, label);
    """
    + _REFRESH_SCORES,
]


# --- rows handed to callers -------------------------------------------------------------------------


@dataclass(frozen=True)
class FaceRecord:
    id: int
    photo_id: int
    box: tuple[float, float, float, float]
    score: float
    keypoints: list[list[float]]
    model_id: str | None
    predicted_label: str | None
    label: str | None  # the correction if any, else the prediction
    corrected: bool
    probabilities: dict[str, float]


@dataclass(frozen=True)
class PhotoRecord:
    id: int
    path: str
    status: str
    error: str | None
    width: int | None
    height: int | None
    taken_at: str | None
    pick: int
    face_count: int
    smile_count: int
    smile_score: float
    faces: list[FaceRecord] = field(default_factory=list)

    @property
    def all_smile(self) -> bool:
        return self.face_count > 0 and self.smile_count == self.face_count

    @property
    def name(self) -> str:
        return Path(self.path).name


@dataclass
class PhotoFilter:
    """What the user asks to see. Empty filter = every indexed photo (gone ones excluded)."""

    emotions: Sequence[str] = ()  # any face (or every face, with all_faces) has one of these labels
    groups: Sequence[str] = ()  # positive / neutral / negative, same semantics
    all_faces: bool = False
    min_faces: int | None = None
    max_faces: int | None = None
    min_smiles: int | None = None
    picks: Sequence[str] = ()  # picked / rejected / unflagged
    errors: bool = False  # only photos that failed
    include_gone: bool = False
    name_contains: str | None = None
    sort: str = "name"  # name | smile | date | faces | path
    descending: bool | None = None  # default: smile and faces descend, others ascend
    limit: int | None = None

    def labels(self) -> list[str]:
        labels = {canonical_class(e) for e in self.emotions}
        for g in self.groups:
            if g not in GROUPS_3:
                raise ValueError(f"unknown group {g!r}; expected one of {', '.join(GROUPS_3)}")
            labels.update(GROUPS_3[g])
        return sorted(labels)


SORTS = {
    "name": "p.path COLLATE NOCASE",
    "path": "p.path",
    "smile": "p.smile_score",
    "date": "COALESCE(p.taken_at, '')",
    "faces": "p.face_count",
}


class Catalog:
    """A catalog file. Use one instance per thread (SQLite connections are not shared)."""

    def __init__(self, path: Path | str, readonly: bool = False) -> None:
        self.path = Path(path)
        if not readonly:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.exists():
            raise CatalogError(f"catalog not found: {self.path}")
        try:
            uri = f"file:{self.path}?mode=ro" if readonly else str(self.path)
            conn = sqlite3.connect(uri, uri=readonly, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None)
            conn.text_factory = _text_from_db
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            self.db = sqlite_utils.Database(conn)
            if not readonly:
                _enable_wal(conn)
                conn.execute("PRAGMA synchronous = NORMAL")
                self._migrate()
            else:
                self._check_version()
        except sqlite3.DatabaseError as exc:
            raise CatalogError(f"catalog {self.path} cannot be opened: {exc}") from None

    # --- lifecycle ---

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def _check_version(self) -> None:
        if self._version() > SCHEMA_VERSION:
            raise CatalogError(f"catalog {self.path} was written by a newer AlbumSorter (schema {self._version()})")

    def _migrate(self) -> None:
        self._check_version()
        while self._version() < SCHEMA_VERSION:
            version = self._version()
            with self.transaction():
                if self._version() != version:
                    continue  # another process (GUI and CLI opening a new catalog at once) migrated meanwhile
                for statement in MIGRATIONS[version].split(";\n"):
                    if statement.strip():
                        self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {version + 1}")

    def transaction(self) -> "_Transaction":
        return _Transaction(self.conn)

    # --- meta ---

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self.conn.execute(f"INSERT INTO meta(key, value) VALUES (?, {_TEXT_MARK}) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, _to_db(value)))

    # --- reads used by indexing ---

    def file_states(self, under: Path | str | None = None) -> dict[str, tuple]:
        """path -> (id, size, mtime_ns, status, detector_id, content_hash) for every known photo."""
        sql = "SELECT path, id, size, mtime_ns, status, detector_id, content_hash FROM photos"
        rows = self.conn.execute(sql).fetchall()
        prefix = str(Path(under)) if under else None
        return {r[0]: tuple(r[1:]) for r in rows if prefix is None or _is_under(r[0], prefix)}

    def photos_by_hash(self, content_hash: str) -> list[tuple[int, str, str]]:
        """(id, path, status) of photos with this content."""
        return self.conn.execute("SELECT id, path, status FROM photos WHERE content_hash = ?", (content_hash,)).fetchall()

    def known_sizes(self) -> set[int]:
        """File sizes of photos with results: a new file of another size cannot be a moved or copied one."""
        return {r[0] for r in self.conn.execute("SELECT DISTINCT size FROM photos WHERE status != 'error'")}

    def faces_needing_model(self, model_id: str, under: Path | str | None = None) -> dict[int, str]:
        """photo id -> path for indexed photos with a face not yet classified by `model_id`."""
        rows = self.conn.execute(
            "SELECT DISTINCT p.id, p.path FROM faces f JOIN photos p ON p.id = f.photo_id "
            "WHERE p.status = 'ok' AND (f.model_id IS NULL OR f.model_id != ?)",
            (model_id,),
        ).fetchall()
        prefix = str(Path(under)) if under else None
        return {r[0]: r[1] for r in rows if prefix is None or _is_under(r[1], prefix)}

    # --- writes used by indexing ---

    def record_photo(
        self,
        path: str,
        size: int,
        mtime_ns: int,
        content_hash: str,
        fmt: str,
        width: int,
        height: int,
        taken_at: str | None,
        detector_id: str,
        faces: Sequence[dict],
    ) -> int:
        """Store one indexed photo and its faces (each: box, score, keypoints, and optionally model_id,
        probabilities (8, CLASSES_8 order), label). Existing faces are replaced; their corrections move to the
        new face they overlap most (IoU >= 0.3), or stay with the photo."""
        with self.transaction():
            row = self.conn.execute(f"SELECT id FROM photos WHERE path = {_TEXT_MARK}", (_to_db(path),)).fetchone()
            values = dict(
                path=path, size=size, mtime_ns=mtime_ns, content_hash=content_hash, status=STATUS_OK, error=None,
                format=fmt, width=width, height=height, taken_at=taken_at, detector_id=detector_id, indexed_at=time.time(),
            )
            if row:
                photo_id = row[0]
                self._update("photos", photo_id, values)
            else:
                photo_id = self._insert("photos", values)
            self._replace_faces(photo_id, faces)
        return photo_id

    def record_error(self, path: str, size: int, mtime_ns: int, reason: str) -> int:
        with self.transaction():
            row = self.conn.execute(f"SELECT id FROM photos WHERE path = {_TEXT_MARK}", (_to_db(path),)).fetchone()
            values = dict(path=path, size=size, mtime_ns=mtime_ns, status=STATUS_ERROR, error=reason, indexed_at=time.time())
            if row:
                self._update("photos", row[0], values)
                # Faces of an earlier good version are dropped, corrections stay (unlinked) with the photo.
                self.conn.execute("DELETE FROM faces WHERE photo_id = ?", (row[0],))
                self._refresh_scores([row[0]])
                return row[0]
            return self._insert("photos", values)

    def record_move(self, photo_id: int, new_path: str, size: int, mtime_ns: int) -> None:
        """A known photo's content found under a new path (moved or renamed): keep its results and picks."""
        with self.transaction():
            # Another stale row may hold the new path (a file replaced by a moved one): it is gone now.
            self.conn.execute(
                f"UPDATE photos SET path = path || ' (replaced ' || id || ')', status = 'gone' WHERE path = {_TEXT_MARK} AND id != ?",
                (_to_db(new_path), photo_id),
            )
            self.conn.execute(
                f"UPDATE photos SET path = {_TEXT_MARK}, size = ?, mtime_ns = ?, status = CASE status WHEN 'gone' THEN 'ok' ELSE status END WHERE id = ?",
                (_to_db(new_path), size, mtime_ns, photo_id),
            )

    def copy_photo(self, source_id: int, new_path: str, size: int, mtime_ns: int) -> int:
        """A duplicate of a known photo at a new path: copy its results without decoding again."""
        with self.transaction():
            src = self.conn.execute("SELECT * FROM photos WHERE id = ?", (source_id,)).fetchone()
            cols = [d[0] for d in self.conn.execute("SELECT * FROM photos LIMIT 0").description]
            values = dict(zip(cols, src))
            values.update(path=new_path, size=size, mtime_ns=mtime_ns, pick=PICK_NONE, pick_changed_at=None, indexed_at=time.time())
            values.pop("id")
            existing = self.conn.execute(f"SELECT id FROM photos WHERE path = {_TEXT_MARK}", (_to_db(new_path),)).fetchone()
            if existing:
                photo_id = existing[0]
                self._update("photos", photo_id, values)
            else:
                photo_id = self._insert("photos", values)
            faces = [self._face_dict(r) for r in self._face_rows(source_id)]
            self._replace_faces(photo_id, faces)
        return photo_id

    def mark_gone(self, paths: Iterable[str]) -> int:
        with self.transaction():
            n = 0
            for path in paths:
                n += self.conn.execute(f"UPDATE photos SET status = 'gone' WHERE path = {_TEXT_MARK} AND status != 'gone'", (_to_db(path),)).rowcount
        return n

    def store_predictions(self, predictions: Iterable[tuple[int, str, Sequence[float], str]]) -> None:
        """(face id, model id, 8 probabilities, label) for faces reclassified without re-detection."""
        sets = ", ".join(f"{c} = ?" for c in PROB_COLUMNS)
        with self.transaction():
            face_ids = []
            for face_id, model_id, probs, label in predictions:
                self.conn.execute(f"UPDATE faces SET model_id = ?, label = ?, {sets} WHERE id = ?", (model_id, label, *map(float, probs), face_id))
                face_ids.append(face_id)
            photo_ids = {r[0] for i in face_ids for r in self.conn.execute("SELECT photo_id FROM faces WHERE id = ?", (i,))}
            self._refresh_scores(photo_ids)

    # --- user operations (picks, corrections) ---

    def set_pick(self, photo_ids: Iterable[int], state: int) -> int:
        if state not in PICK_STATES.values():
            raise ValueError(f"pick state must be one of {sorted(PICK_STATES.values())}")
        ids = list(photo_ids)
        with self.transaction():
            now = time.time()
            n = 0
            for pid in ids:
                n += self.conn.execute("UPDATE photos SET pick = ?, pick_changed_at = ? WHERE id = ?", (state, now, pid)).rowcount
        return n

    def set_pick_by_path(self, paths: Iterable[str], state: int) -> list[str]:
        """Pick/reject/unflag photos by path; returns the paths that are not in the catalog."""
        missing, ids = [], []
        for path in paths:
            row = self.conn.execute(f"SELECT id FROM photos WHERE path = {_TEXT_MARK}", (_to_db(str(path)),)).fetchone()
            (ids.append(row[0]) if row else missing.append(str(path)))
        self.set_pick(ids, state)
        return missing

    def set_correction(self, face_id: int, label: str | None) -> None:
        """The user's label for a face (None removes the correction). Never overwritten by a model."""
        with self.transaction():
            face = self.conn.execute("SELECT photo_id, left, top, right, bottom FROM faces WHERE id = ?", (face_id,)).fetchone()
            if face is None:
                raise KeyError(f"no face with id {face_id}")
            if label is None:
                self.conn.execute("DELETE FROM corrections WHERE face_id = ?", (face_id,))
            else:
                self.conn.execute(
                    "INSERT INTO corrections(photo_id, face_id, left, top, right, bottom, label, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT(face_id) DO UPDATE SET label = excluded.label, created_at = excluded.created_at",
                    (face[0], face_id, *face[1:], canonical_class(label), time.time()),
                )
            self._refresh_scores([face[0]])

    # --- queries ---

    def query(self, flt: PhotoFilter | None = None, with_faces: bool = False) -> list[PhotoRecord]:
        flt = flt or PhotoFilter()
        where, params = self._where(flt)
        sort = SORTS.get(flt.sort)
        if sort is None:
            raise ValueError(f"unknown sort {flt.sort!r}; expected one of {', '.join(SORTS)}")
        desc = flt.descending if flt.descending is not None else flt.sort in ("smile", "faces")
        order = f"{sort} {'DESC' if desc else 'ASC'}, p.path"
        sql = (
            "SELECT p.id, p.path, p.status, p.error, p.width, p.height, p.taken_at, p.pick, p.face_count, p.smile_count, p.smile_score "
            f"FROM photos p WHERE {where} ORDER BY {order}"
        )
        if flt.limit:
            sql += f" LIMIT {int(flt.limit)}"
        photos = [PhotoRecord(*row) for row in self.conn.execute(sql, params).fetchall()]
        if with_faces and photos:
            by_id = self.faces_for([p.id for p in photos])
            photos = [PhotoRecord(**{**p.__dict__, "faces": by_id.get(p.id, [])}) for p in photos]
        return photos

    def count(self, flt: PhotoFilter | None = None) -> int:
        where, params = self._where(flt or PhotoFilter())
        sql = f"SELECT COUNT(*) FROM photos p WHERE {where}"
        return int(self.conn.execute(sql, params).fetchone()[0])

    def photo(self, photo_id: int) -> PhotoRecord | None:
        rows = self.conn.execute(
            "SELECT p.id, p.path, p.status, p.error, p.width, p.height, p.taken_at, p.pick, p.face_count, p.smile_count, p.smile_score "
            "FROM photos p WHERE p.id = ?",
            (photo_id,),
        ).fetchall()
        if not rows:
            return None
        return PhotoRecord(*rows[0], faces=self.faces_for([photo_id]).get(photo_id, []))

    def faces_for(self, photo_ids: Sequence[int]) -> dict[int, list[FaceRecord]]:
        out: dict[int, list[FaceRecord]] = {}
        for start in range(0, len(photo_ids), 500):
            chunk = list(photo_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT id, photo_id, left, top, right, bottom, score, keypoints, model_id, label, effective_label, corrected, "
                f"{', '.join(PROB_COLUMNS)} FROM face_labels WHERE photo_id IN ({marks}) ORDER BY photo_id, idx",
                chunk,
            ).fetchall()
            for r in rows:
                probs = {c: (r[12 + i] if r[12 + i] is not None else 0.0) for i, c in enumerate(CLASSES_8)}
                out.setdefault(r[1], []).append(
                    FaceRecord(r[0], r[1], (r[2], r[3], r[4], r[5]), r[6], json.loads(r[7]), r[8], r[9], r[10], bool(r[11]), probs)
                )
        return out

    def errors(self) -> list[tuple[str, str]]:
        return self.conn.execute("SELECT path, error FROM photos WHERE status = 'error' ORDER BY path").fetchall()

    def stats(self) -> dict:
        """Photo and face counts for summaries."""
        status = dict(self.conn.execute("SELECT status, COUNT(*) FROM photos GROUP BY status").fetchall())
        labels = dict(
            self.conn.execute(
                "SELECT fl.effective_label, COUNT(*) FROM face_labels fl JOIN photos p ON p.id = fl.photo_id "
                "WHERE p.status = 'ok' GROUP BY fl.effective_label"
            ).fetchall()
        )
        faces = sum(labels.values())
        picks = dict(self.conn.execute("SELECT pick, COUNT(*) FROM photos WHERE status != 'gone' GROUP BY pick").fetchall())
        return {
            "photos": status.get(STATUS_OK, 0),
            "errors": status.get(STATUS_ERROR, 0),
            "gone": status.get(STATUS_GONE, 0),
            "faces": faces,
            "labels": {c: labels.get(c, 0) for c in CLASSES_8},
            "picked": picks.get(PICK_PICKED, 0),
            "rejected": picks.get(PICK_REJECTED, 0),
        }

    def corrected_faces(self) -> Iterator[dict]:
        """Faces the user labelled, for training: path, box, eyes (if the face is still detected), label."""
        rows = self.conn.execute(
            "SELECT p.path, c.left, c.top, c.right, c.bottom, c.label, f.keypoints FROM corrections c "
            "JOIN photos p ON p.id = c.photo_id LEFT JOIN faces f ON f.id = c.face_id WHERE p.status = 'ok' ORDER BY c.id"
        ).fetchall()
        for path, left, top, right, bottom, label, kps in rows:
            points = json.loads(kps) if kps else None
            yield {
                "path": path,
                "box": (left, top, right, bottom),
                "right_eye": tuple(points[0]) if points else None,
                "left_eye": tuple(points[1]) if points else None,
                "label": label,
            }

    # --- internals ---

    def _where(self, flt: PhotoFilter) -> tuple[str, list]:
        clauses, params = [], []
        if flt.errors:
            clauses.append("p.status = 'error'")
        elif flt.include_gone:
            clauses.append("p.status IN ('ok', 'gone')")
        else:
            clauses.append("p.status = 'ok'")
        labels = flt.labels()
        if labels:
            marks = ",".join("?" * len(labels))
            if flt.all_faces:
                clauses.append(
                    f"p.face_count > 0 AND NOT EXISTS (SELECT 1 FROM face_labels fl WHERE fl.photo_id = p.id "
                    f"AND (fl.effective_label IS NULL OR fl.effective_label NOT IN ({marks})))"
                )
            else:
                clauses.append(f"EXISTS (SELECT 1 FROM face_labels fl WHERE fl.photo_id = p.id AND fl.effective_label IN ({marks}))")
            params.extend(labels)
        if flt.min_faces is not None:
            clauses.append("p.face_count >= ?")
            params.append(int(flt.min_faces))
        if flt.max_faces is not None:
            clauses.append("p.face_count <= ?")
            params.append(int(flt.max_faces))
        if flt.min_smiles is not None:
            clauses.append("p.smile_count >= ?")
            params.append(int(flt.min_smiles))
        if flt.picks:
            states = []
            for name in flt.picks:
                if name not in PICK_STATES:
                    raise ValueError(f"unknown pick state {name!r}; expected one of {', '.join(PICK_STATES)}")
                states.append(PICK_STATES[name])
            clauses.append(f"p.pick IN ({','.join('?' * len(states))})")
            params.extend(states)
        if flt.name_contains:
            clauses.append("p.path LIKE ? ESCAPE '\\'")
            escaped = flt.name_contains.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params.append(f"%{escaped}%")
        return " AND ".join(clauses), params

    def _insert(self, table: str, values: dict) -> int:
        cols = ", ".join(values)
        params = [_to_db(v) for v in values.values()]  # undecodable file names: see _to_db
        marks = ", ".join(_TEXT_MARK if isinstance(v, bytes) else "?" for v in params)
        return int(self.conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", params).lastrowid)

    def _update(self, table: str, row_id: int, values: dict) -> None:
        params = [_to_db(v) for v in values.values()]
        sets = ", ".join(f"{c} = {_TEXT_MARK if isinstance(v, bytes) else '?'}" for c, v in zip(values, params))
        self.conn.execute(f"UPDATE {table} SET {sets} WHERE id = ?", (*params, row_id))

    def _face_rows(self, photo_id: int) -> list[tuple]:
        return self.conn.execute(
            f"SELECT left, top, right, bottom, score, keypoints, model_id, label, {', '.join(PROB_COLUMNS)} FROM faces WHERE photo_id = ? ORDER BY idx",
            (photo_id,),
        ).fetchall()

    @staticmethod
    def _face_dict(row: tuple) -> dict:
        probs = row[8:]
        return {
            "box": tuple(row[0:4]),
            "score": row[4],
            "keypoints": json.loads(row[5]),
            "model_id": row[6],
            "label": row[7],
            "probabilities": None if probs[0] is None else list(probs),
        }

    def _refresh_scores(self, photo_ids: Iterable[int]) -> None:
        for photo_id in photo_ids:
            self.conn.execute(_REFRESH_SCORES + " WHERE id = ?", (photo_id,))

    def _replace_faces(self, photo_id: int, faces: Sequence[dict]) -> None:
        old_corrections = self.conn.execute(
            "SELECT id, left, top, right, bottom FROM corrections WHERE photo_id = ?", (photo_id,)
        ).fetchall()
        self.conn.execute("UPDATE corrections SET face_id = NULL WHERE photo_id = ?", (photo_id,))
        self.conn.execute("DELETE FROM faces WHERE photo_id = ?", (photo_id,))
        new_ids = []
        for idx, face in enumerate(faces):
            probs = face.get("probabilities")
            values = {
                "photo_id": photo_id,
                "idx": idx,
                "left": float(face["box"][0]),
                "top": float(face["box"][1]),
                "right": float(face["box"][2]),
                "bottom": float(face["box"][3]),
                "score": float(face["score"]),
                "keypoints": json.dumps([[round(float(x), 2), round(float(y), 2)] for x, y in face["keypoints"]]),
                "model_id": face.get("model_id"),
                "label": face.get("label"),
            }
            for col, p in zip(PROB_COLUMNS, probs if probs is not None else [None] * len(PROB_COLUMNS)):
                values[col] = None if p is None else float(p)
            new_ids.append((self._insert("faces", values), values))
        # Re-link each correction to the new face it overlaps most, so a user's label survives re-detection.
        taken: set[int] = set()
        for corr_id, *box in old_corrections:
            best, best_iou = None, 0.3
            for face_id, v in new_ids:
                if face_id in taken:
                    continue
                overlap = iou(box, (v["left"], v["top"], v["right"], v["bottom"]))
                if overlap >= best_iou:
                    best, best_iou = face_id, overlap
            if best is not None:
                taken.add(best)
                self.conn.execute("UPDATE corrections SET face_id = ? WHERE id = ?", (best, corr_id))
        self._refresh_scores([photo_id])


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error); nested use joins the outer transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.outer = False

    def __enter__(self) -> sqlite3.Connection:
        self.outer = not self.conn.in_transaction
        if self.outer:
            self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self.outer:
            return
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")


def _is_under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix.rstrip("/\\") + "/") or path.startswith(prefix.rstrip("/\\") + "\\")
