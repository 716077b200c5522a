"""The `Catalog` facade: one SQLite file per indexed folder holding photos, faces, model results and the
user's picks and corrections. The app's own data lives here and never in the user's photo files.

Writes (operations) and reads (queries) are separate methods; every write is one transaction, so a run
killed at any moment leaves a consistent catalog that the next run continues. WAL mode and a busy
timeout let the GUI and a command-line run share a catalog, each waiting for the other's writes.
User data (picks, corrections) is never deleted by indexing: a vanished photo is marked gone, a moved one
keeps its row, and re-detected faces inherit the corrections of the faces they replace.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import sqlite_utils

import albumsorter.core.catalog.culling as culling
import albumsorter.core.catalog.db as db
import albumsorter.core.catalog.faces as face_store
from albumsorter.core.catalog.filters import PhotoFilter
from albumsorter.core.catalog.ops_culling import CullingOperations
from albumsorter.core.catalog.ops_people import PeopleOperations
from albumsorter.core.catalog.ops_sidecars import SidecarOperations
from albumsorter.core.catalog.records import (
    MAX_RATING,
    PHOTO_COLUMNS,
    FaceRecord,
    IndexedPhoto,
    PhotoRecord,
    PhotoStatus,
    PickState,
)
from albumsorter.core.catalog.schema import MIGRATIONS, SCHEMA_VERSION
from albumsorter.core.classes import CLASSES_8, canonical_class
from albumsorter.core.face import FaceResult, ScorerResult


class CatalogError(RuntimeError):
    """The catalog file cannot be opened or is from a newer AlbumSorter."""


class Catalog(CullingOperations, SidecarOperations, PeopleOperations):
    """A catalog file. Use one instance per thread (SQLite connections are not shared)."""

    def __init__(self, path: Path | str, readonly: bool = False) -> None:
        self.path = Path(path)
        if not readonly:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.exists():
            raise CatalogError(f"catalog not found: {self.path}")
        try:
            self.db = sqlite_utils.Database(db.connect(self.path, readonly))
            if readonly:
                self._check_version()
            else:
                self._migrate()
                self._rederive()
        except sqlite3.DatabaseError as exc:
            raise CatalogError(f"catalog {self.path} cannot be opened: {exc}") from None

    # --- lifecycle ---

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def _check_version(self) -> None:
        if self._version() > SCHEMA_VERSION:
            raise CatalogError(f"catalog {self.path} was written by a newer AlbumSorter (schema {self._version()})")

    def _migrate(self) -> None:
        self._check_version()
        if self._version() == SCHEMA_VERSION:
            return
        # Rebuilding a table must not fire ON DELETE actions on the user's corrections; the pragma only takes
        # effect outside a transaction, and every migration checks the keys before it commits.
        self.conn.execute("PRAGMA foreign_keys = OFF")
        try:
            while self._version() < SCHEMA_VERSION:
                version = self._version()
                with self.transaction():
                    if self._version() != version:
                        continue  # another process (GUI and CLI opening a new catalog at once) migrated meanwhile
                    MIGRATIONS[version](self.conn)
                    if self.conn.execute("PRAGMA foreign_key_check").fetchall():
                        raise sqlite3.IntegrityError(f"migration {version + 1} broke a foreign key")
                    self.conn.execute(f"PRAGMA user_version = {version + 1}")
        finally:
            self.conn.execute("PRAGMA foreign_keys = ON")

    def _rederive(self) -> None:
        """Derived per-face and per-photo values (face order, subjects, scores) follow the rules of this version:
        when the rules changed since the catalog was last written, recompute them once for every photo."""
        if self.get_meta("derived_rules") == face_store.DERIVED_RULES:
            return
        with self.transaction():
            if self.get_meta("derived_rules") == face_store.DERIVED_RULES:
                return  # another process did it meanwhile
            for (photo_id,) in self.conn.execute("SELECT id FROM photos WHERE status != 'error'").fetchall():
                face_store.renumber(self.conn, photo_id)
                face_store.refresh_scores(self.conn, [photo_id])
            self.set_meta("derived_rules", face_store.DERIVED_RULES)

    # --- meta ---

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            v = db.to_db(value)
            self.conn.execute(
                f"INSERT INTO meta(key, value) VALUES (?, {db.mark(v)}) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, v),
            )

    # --- reads used by indexing ---

    def file_states(self, under: Path | str | None = None) -> dict[str, tuple]:
        """path -> (id, size, mtime_ns, status, detector_id, content_hash) for every known photo."""
        rows = self.conn.execute("SELECT path, id, size, mtime_ns, status, detector_id, content_hash FROM photos").fetchall()
        prefix = str(Path(under)) if under else None
        return {r[0]: tuple(r[1:]) for r in rows if prefix is None or db.is_under(r[0], prefix)}

    def photos_by_hash(self, content_hash: str) -> list[tuple[int, str, str]]:
        """(id, path, status) of photos with this content."""
        return self.conn.execute("SELECT id, path, status FROM photos WHERE content_hash = ?", (content_hash,)).fetchall()

    def known_sizes(self) -> set[int]:
        """File sizes of photos with results: a new file of another size cannot be a moved or copied one."""
        return {r[0] for r in self.conn.execute("SELECT DISTINCT size FROM photos WHERE status != 'error'")}

    def faces_needing(self, kind: str, model_id: str, under: Path | str | None = None) -> dict[int, str]:
        """photo id -> path for indexed photos with a face lacking a result of `kind` from `model_id` (stale)."""
        prefix = str(Path(under)) if under else None
        stale = face_store.faces_needing(self.conn, kind, model_id)
        return {pid: path for pid, path in stale.items() if prefix is None or db.is_under(path, prefix)}

    # --- writes used by indexing ---

    def _photo_id(self, path: str) -> int | None:
        value = db.to_db(path)
        row = self.conn.execute(f"SELECT id FROM photos WHERE path = {db.mark(value)}", (value,)).fetchone()
        return row[0] if row else None

    def record_photo(self, photo: IndexedPhoto) -> int:
        """Store one indexed photo and its faces with their results. Existing faces are replaced; their
        corrections move to the new face they overlap most, or stay with the photo."""
        values = dict(
            path=photo.path, size=photo.size, mtime_ns=photo.mtime_ns, content_hash=photo.content_hash,
            status=PhotoStatus.OK.value, error=None, format=photo.format, width=photo.width, height=photo.height,
            taken_at=photo.taken_at, detector_id=photo.detector_id, indexed_at=time.time(),
        )  # fmt: skip
        with self.transaction():
            photo_id = self._photo_id(photo.path)
            if photo_id is not None:
                db.update(self.conn, "photos", photo_id, values)
            else:
                photo_id = db.insert(self.conn, "photos", values)
            culling.store_measures(self.conn, photo_id, photo.measures)
            face_store.replace_faces(self.conn, photo_id, photo.faces)
        return photo_id

    def record_error(self, path: str, size: int, mtime_ns: int, reason: str) -> int:
        values = dict(
            path=path, size=size, mtime_ns=mtime_ns, status=PhotoStatus.ERROR.value, error=reason, indexed_at=time.time()
        )
        with self.transaction():
            photo_id = self._photo_id(path)
            if photo_id is None:
                return db.insert(self.conn, "photos", values)
            db.update(self.conn, "photos", photo_id, values)
            # Detected faces of an earlier good version are dropped, corrections stay (unlinked) with the photo;
            # faces the user drew stay for when the photo reads again.
            self.conn.execute(
                "UPDATE corrections SET face_id = NULL WHERE photo_id = ? AND face_id IN (SELECT id FROM faces WHERE manual = 0)",
                (photo_id,),
            )
            self.conn.execute("DELETE FROM faces WHERE photo_id = ? AND manual = 0", (photo_id,))
            face_store.refresh_scores(self.conn, [photo_id])
            return photo_id

    def record_move(self, photo_id: int, new_path: str, size: int, mtime_ns: int) -> None:
        """A known photo's content found under a new path (moved or renamed): keep its results and picks."""
        new = db.to_db(new_path)
        with self.transaction():
            # Another stale row may hold the new path (a file replaced by a moved one): it is gone now.
            self.conn.execute(
                f"UPDATE photos SET path = path || ' (replaced ' || id || ')', status = 'gone' WHERE path = {db.mark(new)} AND id != ?",
                (new, photo_id),
            )
            self.conn.execute(
                f"UPDATE photos SET path = {db.mark(new)}, size = ?, mtime_ns = ?, "
                "status = CASE status WHEN 'gone' THEN 'ok' ELSE status END WHERE id = ?",
                (new, size, mtime_ns, photo_id),
            )

    def copy_photo(self, source_id: int, new_path: str, size: int, mtime_ns: int) -> int:
        """A duplicate of a known photo at a new path: copy its results without decoding again."""
        with self.transaction():
            cursor = self.conn.execute("SELECT * FROM photos WHERE id = ?", (source_id,))
            values: dict[str, Any] = dict(zip([d[0] for d in cursor.description], cursor.fetchone()))
            values.update(
                path=new_path,
                size=size,
                mtime_ns=mtime_ns,
                pick=int(PickState.UNFLAGGED),
                pick_changed_at=None,
                indexed_at=time.time(),
            )
            # The copy's own choices start blank (rating, and what its own sidecar says).
            values.update(rating=0, rating_changed_at=None, sidecar_rating=None, sidecar_pick=None, sidecar_mtime=None)
            values.pop("id")
            photo_id = self._photo_id(new_path)
            if photo_id is not None:
                db.update(self.conn, "photos", photo_id, values)
            else:
                photo_id = db.insert(self.conn, "photos", values)
            faces = face_store.read_faces(self.conn, [source_id]).get(source_id, [])
            face_store.replace_faces(self.conn, photo_id, [f.to_face_result() for f in faces])
        return photo_id

    def mark_gone(self, paths: Iterable[str]) -> int:
        with self.transaction():
            n = 0
            for path in paths:
                v = db.to_db(path)
                n += self.conn.execute(
                    f"UPDATE photos SET status = 'gone' WHERE path = {db.mark(v)} AND status != 'gone'", (v,)
                ).rowcount
        return n

    def store_results(self, results: Iterable[tuple[int, ScorerResult]]) -> None:
        """(face id, result) for stored faces re-scored without re-detection (a new model of one kind)."""
        with self.transaction():
            face_ids = []
            for face_id, result in results:
                face_store.store_results(self.conn, face_id, [result])
                face_ids.append(face_id)
            photo_ids = {r[0] for i in face_ids for r in self.conn.execute("SELECT photo_id FROM faces WHERE id = ?", (i,))}
            face_store.refresh_scores(self.conn, photo_ids)

    # --- user operations (picks, corrections) ---

    def set_pick(self, photo_ids: Iterable[int], state: int) -> int:
        state = PickState(state)  # ValueError for anything else
        with self.transaction():
            now = time.time()
            return sum(
                self.conn.execute("UPDATE photos SET pick = ?, pick_changed_at = ? WHERE id = ?", (int(state), now, pid)).rowcount
                for pid in list(photo_ids)
            )

    def set_pick_by_path(self, paths: Iterable[str], state: int) -> list[str]:
        """Pick/reject/unflag photos by path; returns the paths that are not in the catalog."""
        ids, missing = self.photo_ids_by_path(paths)
        self.set_pick(ids, state)
        return missing

    def set_correction(self, face_id: int, label: str | None) -> None:
        """The user's label for a face (None removes the correction). Never overwritten by a model."""
        self._edit_face(face_id, label=canonical_class(label) if label is not None else None)

    def set_ignored(self, face_id: int, ignored: bool) -> None:
        """ "Not a person in this photo": the face stays, marked, and leaves the photo's scores. Kept like a
        correction (follows the face through re-detection)."""
        self._edit_face(face_id, ignored=bool(ignored))

    _UNSET = object()

    def _edit_face(self, face_id: int, label: object = _UNSET, ignored: object = _UNSET) -> None:
        with self.transaction():
            face = self.conn.execute("SELECT photo_id, left, top, right, bottom FROM faces WHERE id = ?", (face_id,)).fetchone()
            if face is None:
                raise KeyError(f"no face with id {face_id}")
            row = self.conn.execute("SELECT label, ignored FROM corrections WHERE face_id = ?", (face_id,)).fetchone()
            new_label = (row[0] if row else None) if label is Catalog._UNSET else label
            new_ignored = (bool(row[1]) if row else False) if ignored is Catalog._UNSET else ignored
            if new_label is None and not new_ignored:
                self.conn.execute("DELETE FROM corrections WHERE face_id = ?", (face_id,))
            else:
                self.conn.execute(
                    "INSERT INTO corrections(photo_id, face_id, left, top, right, bottom, label, ignored, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(face_id) DO UPDATE SET label = excluded.label, "
                    "ignored = excluded.ignored, created_at = excluded.created_at",
                    (face[0], face_id, *face[1:], new_label, int(bool(new_ignored)), time.time()),
                )
            face_store.refresh_scores(self.conn, [face[0]])

    def add_face(self, photo_id: int, face: FaceResult) -> int:
        """A face the user drew (the detector missed it), already scored; kept across re-indexing."""
        with self.transaction():
            if self.conn.execute("SELECT 1 FROM photos WHERE id = ? AND status = 'ok'", (photo_id,)).fetchone() is None:
                raise KeyError(f"no indexed photo with id {photo_id}")
            face_id = face_store.insert_face(self.conn, photo_id, face, manual=True)
            face_store.renumber(self.conn, photo_id)
            face_store.refresh_scores(self.conn, [photo_id])
        return face_id

    def remove_face(self, face_id: int) -> None:
        """Delete a face the user drew (detected faces are ignored instead, so re-detection cannot bring them back)."""
        with self.transaction():
            row = self.conn.execute("SELECT photo_id, manual FROM faces WHERE id = ?", (face_id,)).fetchone()
            if row is None:
                raise KeyError(f"no face with id {face_id}")
            if not row[1]:
                raise ValueError("only a face the user added can be removed; ignore a detected face instead")
            self.conn.execute("DELETE FROM corrections WHERE face_id = ?", (face_id,))
            self.conn.execute("DELETE FROM faces WHERE id = ?", (face_id,))
            face_store.renumber(self.conn, row[0])
            face_store.refresh_scores(self.conn, [row[0]])

    def face(self, face_id: int) -> FaceRecord | None:
        row = self.conn.execute("SELECT photo_id FROM faces WHERE id = ?", (face_id,)).fetchone()
        if row is None:
            return None
        return next((f for f in self.faces_for([row[0]]).get(row[0], []) if f.id == face_id), None)

    def set_rating(self, photo_ids: Iterable[int], rating: int) -> int:
        """Stars, 0-5 (0: no rating)."""
        if not 0 <= int(rating) <= MAX_RATING or int(rating) != rating:
            raise ValueError(f"a rating is a whole number from 0 to {MAX_RATING}")
        with self.transaction():
            now = time.time()
            return sum(
                self.conn.execute(
                    "UPDATE photos SET rating = ?, rating_changed_at = ? WHERE id = ?", (int(rating), now, pid)
                ).rowcount
                for pid in list(photo_ids)
            )

    def photo_ids_by_path(self, paths: Iterable[str]) -> tuple[list[int], list[str]]:
        """(ids of the photos at these paths, the paths not in the catalog)."""
        ids, missing = [], []
        for path in paths:
            photo_id = self._photo_id(str(path))
            (ids.append(photo_id) if photo_id is not None else missing.append(str(path)))
        return ids, missing

    # --- queries ---

    def query(self, flt: PhotoFilter | None = None, with_faces: bool = False) -> list[PhotoRecord]:
        flt = flt or PhotoFilter()
        where, params = flt.where()
        sql = f"SELECT {PHOTO_COLUMNS} FROM photos p WHERE {where} ORDER BY {flt.order_by()}"
        if flt.limit:
            sql += f" LIMIT {int(flt.limit)}"
        photos = [PhotoRecord(*row) for row in self.conn.execute(sql, params).fetchall()]
        if with_faces and photos:
            by_id = self.faces_for([p.id for p in photos])
            photos = [dataclasses.replace(p, faces=by_id.get(p.id, [])) for p in photos]
        return photos

    def count(self, flt: PhotoFilter | None = None) -> int:
        where, params = (flt or PhotoFilter()).where()
        return int(self.conn.execute(f"SELECT COUNT(*) FROM photos p WHERE {where}", params).fetchone()[0])

    def photo(self, photo_id: int) -> PhotoRecord | None:
        row = self.conn.execute(f"SELECT {PHOTO_COLUMNS} FROM photos p WHERE p.id = ?", (photo_id,)).fetchone()
        if row is None:
            return None
        return dataclasses.replace(PhotoRecord(*row), faces=self.faces_for([photo_id]).get(photo_id, []))

    def faces_for(self, photo_ids: Sequence[int]) -> dict[int, list[FaceRecord]]:
        return face_store.read_faces(self.conn, photo_ids)

    def errors(self) -> list[tuple[str, str]]:
        return self.conn.execute("SELECT path, error FROM photos WHERE status = 'error' ORDER BY path").fetchall()

    def stats(self) -> dict:
        """Photo and face counts for summaries."""
        status = dict(self.conn.execute("SELECT status, COUNT(*) FROM photos GROUP BY status").fetchall())
        labels = dict(
            self.conn.execute(
                "SELECT fl.effective_label, COUNT(*) FROM face_labels fl JOIN photos p ON p.id = fl.photo_id "
                "WHERE p.status = 'ok' AND NOT fl.ignored GROUP BY fl.effective_label"
            ).fetchall()
        )
        picks = dict(self.conn.execute("SELECT pick, COUNT(*) FROM photos WHERE status != 'gone' GROUP BY pick").fetchall())
        groups = self.conn.execute(
            "SELECT COUNT(DISTINCT group_id), COUNT(*) FROM photos WHERE status = 'ok' AND group_size >= 2"
        ).fetchone()
        return {
            "photos": status.get(PhotoStatus.OK, 0),
            "errors": status.get(PhotoStatus.ERROR, 0),
            "gone": status.get(PhotoStatus.GONE, 0),
            "faces": sum(labels.values()),
            "labels": {c: labels.get(c, 0) for c in CLASSES_8},
            "groups": groups[0],
            "grouped_photos": groups[1] or 0,
            "picked": picks.get(PickState.PICKED, 0),
            "rejected": picks.get(PickState.REJECTED, 0),
        }

    def corrected_faces(self) -> list[dict]:
        """Faces the user labelled, for training: path, box, eyes (if the face is still detected), label."""
        return face_store.corrected_faces(self.conn)
