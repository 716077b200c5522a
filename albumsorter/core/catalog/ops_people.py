"""The catalog's people operations: persons, who each face is, the user's word about faces (see catalog.people_store)."""

from __future__ import annotations

from collections.abc import Iterable

import albumsorter.core.catalog.db as db
import albumsorter.core.catalog.faces as face_store
from albumsorter.core.catalog import people_store as _people
from albumsorter.core.face import ScorerResult


class PeopleOperations(db.Connected):
    def people(self, samples: int = 6) -> list[_people.PersonSummary]:
        """Every person with a face that counts, with counts and `samples` faces: named first, then unnamed."""
        return _people.list_people(self.conn, samples)

    def person(self, person_id: int, samples: int = 6) -> _people.PersonSummary | None:
        """One person (after merges: the person `person_id` was merged into), or None when it has no face now."""
        try:
            root = _people.root_of(self.conn, person_id)
        except KeyError:
            return None
        return next((p for p in self.people(samples) if p.id == root), None)

    def person_photo_ids(self, person_id: int) -> list[int]:
        """The photos a person is in (to refresh or re-write their sidecars after a change of name)."""
        sql, params = _people.person_clause(int(person_id))
        return [r[0] for r in self.conn.execute(f"SELECT p.id FROM photos p WHERE {sql}", params)]

    def name_person(self, person_id: int, name: str | None) -> int:
        """Name a person (None or blank: unnamed); kept through merges, re-indexing and new embedding models."""
        with self.transaction():
            return _people.name_person(self.conn, person_id, name)

    def merge_people(self, keep: int, other: int) -> _people.MergeUndo | None:
        """`other` is the same person as `keep` (which keeps its id, and its name if it has one). ValueError when
        the two are in one photo together."""
        with self.transaction():
            return _people.merge_people(self.conn, keep, other)

    def undo_merge(self, undo: _people.MergeUndo) -> None:
        with self.transaction():
            _people.undo_merge(self.conn, undo)

    def mark_people_distinct(self, a: int, b: int) -> None:
        """ "Not the same person": a dismissed suggestion, never made again."""
        with self.transaction():
            _people.mark_distinct(self.conn, a, b)

    def move_face_to_person(self, face_id: int, person_id: int | None) -> int:
        """The user puts a face in a person (None: a new one); returns the person. Follows the face through re-detection."""
        with self.transaction():
            return _people.move_face(self.conn, face_id, person_id)

    def reject_face_person(self, face_id: int, person_id: int | None = None) -> int | None:
        """ "Not this person" (default: the face's person now): it leaves that person for good and never goes back;
        returns that person (None: the face had none)."""
        with self.transaction():
            return _people.reject_face(self.conn, face_id, person_id)

    def faces_needing_identity(self, kind: str, model_id: str) -> list[tuple]:
        """Faces (not ignored) of indexed photos without a result of `kind` from `model_id`: see people_store."""
        return _people.faces_needing_identity(self.conn, kind, model_id)

    def store_identities(self, results: Iterable[tuple[int, ScorerResult]]) -> int:
        """Embeddings of faces (a face deleted meanwhile, by re-indexing, is skipped); returns how many were stored."""
        stored = 0
        with self.transaction():
            for face_id, result in results:
                if self.conn.execute("SELECT 1 FROM faces WHERE id = ?", (face_id,)).fetchone() is not None:
                    face_store.store_results(self.conn, face_id, [result])
                    stored += 1
        return stored

    def people_rows(self, kind: str, model_id: str) -> _people.PeopleRows:
        """What the people pass clusters: embeddings, assignments and the user's decisions, as stored (a read)."""
        return _people.read_people_rows(self.conn, kind, model_id)

    def tidy_people(self) -> None:
        """Every face the user put in a person is there (again, after an ignore was undone); unused persons go."""
        with self.transaction():
            _people.sync_user_assignments(self.conn)
            _people.prune_people(self.conn)

    def people_share_photo(self, a: int, b: int) -> str | None:
        """A photo both people are in (so they cannot be merged), or None."""
        return _people.shared_photo(self.conn, _people.root_of(self.conn, a), _people.root_of(self.conn, b))

    def write_people(
        self, changes: dict[int, tuple[int, str] | None], new_people: Iterable[int], model_id: str
    ) -> dict[int, int]:
        """Store the people pass's changes (see people_store.write_assignments); returns new person ids."""
        with self.transaction():
            ids = _people.write_assignments(self.conn, changes, new_people, model_id)
            _people.sync_user_assignments(self.conn)
            _people.prune_people(self.conn)
        return ids
