"""People: dlib face embeddings on real photos, the people pass, and clustering under the user's decisions.

Identities come from scripts/people_identities.csv (public figures photographed on different occasions in
../shared/photos); the clustering tests run on the real vectors of those faces.
"""

from __future__ import annotations

import csv
import os
import shutil
from collections import defaultdict

import numpy as np
import pytest

from albumsorter.core.face import FaceResult, Landmarks
from albumsorter.core.people.background import PhotoJob, embed_photo, run_people_pass
from albumsorter.core.people.clustering import (
    AUTO,
    USER,
    Assignment,
    ClusterParams,
    FaceVector,
    UserDecisions,
    resolve_person,
    suggest,
    update_people,
)
from albumsorter.core.people.embedding import (
    MIN_FACE_PX,
    MODEL_SHA256,
    RECOGNITION_MODEL_FILE,
    SHAPE_PREDICTOR_FILE,
    EmbeddingModelError,
    FaceEmbedder,
    decode_side_for,
    embedding_model_dir,
    verify_model_files,
)
from albumsorter.core.people.scorer import LABEL_TOO_SMALL, IdentityScorer, vector_of
from tests.conftest import REPO, SHARED_PHOTOS, require_shared

LABELS = REPO / "scripts" / "people_identities.csv"
IDENTITIES = ("barack_obama", "joe_biden", "angelina_jolie", "scarlett_johansson", "jack_dorsey", "katy_perry", "mark_zuckerberg")
NO_LANDMARKS = Landmarks(*([(0.0, 0.0)] * 6))


def _rows() -> list[dict]:
    with LABELS.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    strangers = [r for r in rows if r["identity"] == "stranger" and r["file"].startswith("linzaer__imgs_19")]
    return [r for r in rows if r["identity"] in IDENTITIES and not r["copy_of"]] + strangers


def _job(key, file: str, rows: list[dict]) -> PhotoJob:
    faces = tuple(FaceResult(tuple(float(r[k]) for k in ("left", "top", "right", "bottom")), 1.0, NO_LANDMARKS) for r in rows)
    return PhotoJob(key, str(SHARED_PHOTOS / file), faces)


class RealFaces:
    """Real vectors of labelled faces: `faces` (FaceVector), `identity` and `file` by face id."""

    def __init__(self, scorer: IdentityScorer) -> None:
        by_file: dict[str, list[dict]] = defaultdict(list)
        for row in _rows():
            by_file[row["file"]].append(row)
        self.faces: list[FaceVector] = []
        self.identity: dict[int, str] = {}
        self.file: dict[int, str] = {}
        self.jobs: list[PhotoJob] = []
        for photo_id, (file, rows) in enumerate(sorted(by_file.items())):
            job = _job(photo_id, file, rows)
            self.jobs.append(job)
            result = embed_photo(job, scorer)
            assert result.error is None, (file, result.error)
            for row, scored in zip(rows, result.results):
                vector = vector_of(scored)
                assert vector is not None, (file, scored)
                face_id = len(self.faces)
                self.faces.append(FaceVector(face_id, photo_id, vector))
                self.identity[face_id] = row["identity"] if row["identity"] != "stranger" else f"stranger:{face_id}"
                self.file[face_id] = file

    def of(self, identity: str) -> list[int]:
        return [f.face_id for f in self.faces if self.identity[f.face_id] == identity]


@pytest.fixture(scope="module")
def scorer() -> IdentityScorer:
    return IdentityScorer()


@pytest.fixture(scope="module")
def real(scorer) -> RealFaces:
    require_shared(SHARED_PHOTOS)
    return RealFaces(scorer)


def people_of(assignments: dict[int, Assignment]) -> dict[int, set[int]]:
    people: dict[int, set[int]] = defaultdict(set)
    for face_id, a in assignments.items():
        people[a.person_id].add(face_id)
    return people


def with_real_ids(result, first_id: int = 1) -> dict[int, Assignment]:
    """What the catalog does with a result: a row (a positive id) for each new person."""
    ids = {temp: first_id + i for i, temp in enumerate(sorted(result.new_people, reverse=True))}
    return {f: Assignment(ids.get(a.person_id, a.person_id), a.source) for f, a in result.assignments.items()}


def person_of(assignments: dict[int, Assignment], face_ids: list[int]) -> int:
    persons = {assignments[f].person_id for f in face_ids}
    assert len(persons) == 1, persons
    return persons.pop()


# --- the model files ------------------------------------------------------------------------------------------------


def test_model_files_match_their_checksums():
    paths = verify_model_files()
    assert set(paths) == set(MODEL_SHA256)


def test_a_damaged_model_file_gives_a_clear_error(tmp_path):
    real = embedding_model_dir()
    os.symlink(real / RECOGNITION_MODEL_FILE, tmp_path / RECOGNITION_MODEL_FILE)
    damaged = bytearray((real / SHAPE_PREDICTOR_FILE).read_bytes()[:4096])
    damaged[100] ^= 0xFF
    (tmp_path / SHAPE_PREDICTOR_FILE).write_bytes(bytes(damaged))
    with pytest.raises(EmbeddingModelError) as info:
        FaceEmbedder(tmp_path)
    message = str(info.value)
    assert SHAPE_PREDICTOR_FILE in message and "SHA-256" in message and MODEL_SHA256[SHAPE_PREDICTOR_FILE] in message


def test_a_missing_model_file_gives_a_clear_error(tmp_path):
    shutil.copy(embedding_model_dir() / SHAPE_PREDICTOR_FILE, tmp_path / SHAPE_PREDICTOR_FILE)
    with pytest.raises(EmbeddingModelError, match=f"missing: .*{RECOGNITION_MODEL_FILE}"):
        verify_model_files(tmp_path)


# --- embeddings on real photos --------------------------------------------------------------------------------------


def test_same_person_is_closer_than_different_people(real):
    same, different = [], []
    for i, a in enumerate(real.faces):
        for b in real.faces[i + 1 :]:
            d = float(np.linalg.norm(a.vector - b.vector))
            (same if real.identity[a.face_id] == real.identity[b.face_id] else different).append(d)
    assert len(same) >= 20 and len(different) >= 200
    assert max(same) < min(different)
    assert max(same) < 0.6  # dlib's own "same person" distance


def test_scorer_marks_faces_too_small_to_recognise(scorer):
    require_shared(SHARED_PHOTOS)
    from albumsorter.core.decoding import decode_file

    photo = decode_file(SHARED_PHOTOS / "ageitgey__examples_two_people.jpg")
    big = FaceResult((221.0, 51.0, 367.0, 197.0), 0.9, NO_LANDMARKS)
    tiny = FaceResult((10.0, 10.0, 10.0 + MIN_FACE_PX - 6, 10.0 + MIN_FACE_PX - 6), 0.9, NO_LANDMARKS)
    results = scorer.score(photo.rgb, [big, tiny], None)
    assert [r.kind for r in results] == ["identity", "identity"]
    assert results[0].label is None and vector_of(results[0]).shape == (128,)
    assert results[1].label == LABEL_TOO_SMALL and vector_of(results[1]) is None
    # the stored vector is exactly what the network gave
    assert np.array_equal(vector_of(results[0]), FaceEmbedder().embed(photo.rgb, [big.box])[0])


def test_decode_size_for_the_people_pass():
    assert decode_side_for(4000, [1000.0]) == 1024  # big faces: the cheap detection-size decode is enough
    assert decode_side_for(4000, [200.0]) == 2400  # a 200 px face reaches 120 px
    assert decode_side_for(4000, [60.0]) is None  # small faces: full resolution
    assert decode_side_for(800, [30.0]) is None
    assert decode_side_for(4000, []) == 1024


def test_a_photo_changed_since_indexing_is_an_error(scorer):
    require_shared(SHARED_PHOTOS)
    rows = [r for r in _rows() if r["file"] == "ageitgey__examples_two_people.jpg"]
    job = _job(1, rows[0]["file"], rows)
    changed = PhotoJob(job.key, job.path, job.faces, content_hash="not the photo's hash")
    result = embed_photo(changed, scorer)
    assert result.error is not None and "changed" in result.error and result.results == []


@pytest.mark.slow
def test_people_pass_runs_in_worker_processes(real):
    jobs = real.jobs[:3]
    results = {r.key: r for r in run_people_pass(jobs, workers=1)}
    assert set(results) == {job.key for job in jobs}
    for job in jobs:
        mine = [f.vector for f in real.faces if f.photo_id == job.key]
        theirs = [vector_of(r) for r in results[job.key].results]
        assert len(mine) == len(theirs) and all(np.allclose(a, b, atol=1e-5) for a, b in zip(mine, theirs))


# --- clustering -----------------------------------------------------------------------------------------------------


def test_clustering_puts_each_person_in_one_pure_cluster(real):
    result = update_people(real.faces, {})
    people = people_of(result.assignments)
    for identity in IDENTITIES:
        faces = real.of(identity)
        assert len(faces) >= 2
        assert {result.assignments[f].person_id for f in faces if f in result.assignments} == {
            person_of(result.assignments, faces)
        }
    for members in people.values():
        assert len({real.identity[f] for f in members}) == 1
    strangers = [f.face_id for f in real.faces if real.identity[f.face_id].startswith("stranger")]
    assert strangers and all(f in result.unassigned for f in strangers)  # seen once: no person yet
    assert all(a.source == AUTO for a in result.assignments.values())
    assert sorted(result.new_people) == sorted(people) and all(p < 0 for p in people)


def test_new_faces_join_existing_people_incrementally(real):
    first_photos = {f.photo_id for f in real.faces if f.photo_id % 2 == 0}
    first = with_real_ids(update_people([f for f in real.faces if f.photo_id in first_photos], {}), first_id=100)
    result = update_people(real.faces, first)
    assert all(result.assignments[f] == a for f, a in first.items())  # nothing already placed moves
    assert set(result.changes(first)) == set(result.assignments) - set(first)  # only the new faces to store
    later = with_real_ids(result, first_id=200)
    for identity in IDENTITIES:
        faces = real.of(identity)
        known = [f for f in faces if f in first]
        person = person_of(later, faces)
        if known:
            assert person == first[known[0]].person_id  # joined the existing person
        else:
            assert person >= 200  # a person not seen before starts a new one


def test_a_moved_face_stays_moved(real):
    base = with_real_ids(update_people(real.faces, {}))
    jolie, scarlett = person_of(base, real.of("angelina_jolie")), person_of(base, real.of("scarlett_johansson"))
    moved = real.of("angelina_jolie")[0]
    previous = dict(base) | {moved: Assignment(scarlett, USER)}
    decisions = UserDecisions(rejected=frozenset({(moved, jolie)}))
    for recluster in (False, True):
        result = update_people(real.faces, previous, decisions, recluster=recluster)
        assert result.assignments[moved] == Assignment(scarlett, USER)
        assert all(result.assignments[f].person_id == jolie for f in real.of("angelina_jolie") if f != moved)


def test_not_this_person_is_respected(real):
    base = with_real_ids(update_people(real.faces, {}))
    obama = person_of(base, real.of("barack_obama"))
    removed = real.of("barack_obama")[1]
    previous = {f: a for f, a in base.items() if f != removed}
    decisions = UserDecisions(rejected=frozenset({(removed, obama)}))
    for recluster in (False, True):
        result = update_people(real.faces, previous, decisions, recluster=recluster)
        assert result.assignments.get(removed, Assignment(-999)).person_id != obama
        # and it does not follow the person into a merge either
        merged = update_people(real.faces, previous, UserDecisions(decisions.rejected, merged={obama: 777}), recluster=recluster)
        assert merged.assignments.get(removed, Assignment(-999)).person_id not in (obama, 777)


def test_a_merge_survives_reclustering(real):
    # An earlier, stricter run split Obama in two; the user merged the second into the first.
    strict = ClusterParams(join_distance=0.3, member_distance=0.3, link_distance=0.3, group_distance=0.3)
    obama_faces = real.of("barack_obama")
    split = {f: Assignment(1 if i < 2 else 2) for i, f in enumerate(obama_faces)}
    assert len(people_of(split)) == 2
    decisions = UserDecisions(merged={2: 1})
    for params in (strict, ClusterParams()):
        for recluster in (False, True):
            result = update_people(real.faces, split, decisions, params, recluster=recluster)
            assert {resolve_person(result.assignments[f].person_id, decisions.merged) for f in obama_faces} == {1}
            assert not any(set(group) & set(obama_faces) for group in result.new_people.values())
    # The user's word beats the model's: two people the model tells apart stay merged once the user merged them
    # (two who share a photo could not be one person, so the test takes two who never do).
    base = with_real_ids(update_people(real.faces, {}))
    katy, scarlett = person_of(base, real.of("katy_perry")), person_of(base, real.of("scarlett_johansson"))
    decisions = UserDecisions(merged={katy: scarlett})
    both = real.of("katy_perry") + real.of("scarlett_johansson")
    for recluster in (False, True):
        merged = update_people(real.faces, base, decisions, recluster=recluster)
        assert {resolve_person(merged.assignments[f].person_id, decisions.merged) for f in both} == {scarlett}


def test_a_new_embedding_model_keeps_the_people(real, scorer):
    """Re-embedding from the detection-size decode stands in for a new model: other vectors, same faces."""
    from albumsorter.core.decoding import decode_file

    base = with_real_ids(update_people(real.faces, {}))
    renewed = []
    for job in real.jobs[::2]:
        photo = decode_file(job.path, 512)
        results = scorer.score(photo.rgb, [f.scaled(1 / photo.scale) for f in job.faces], None)
        ids = [f.face_id for f in real.faces if f.photo_id == job.key]
        renewed += [FaceVector(i, job.key, vector_of(r)) for i, r in zip(ids, results) if vector_of(r) is not None]
    moved_on = [f for f in renewed if not np.allclose(f.vector, real.faces[f.face_id].vector)]
    assert len(moved_on) > len(renewed) // 2
    result = update_people(renewed, base, recluster=True)
    assert not result.new_people
    assert all(result.assignments[f].person_id == a.person_id for f, a in base.items() if f in result.assignments)


def test_two_faces_of_one_photo_are_never_one_person(real):
    jolie = real.of("angelina_jolie")
    same_photo = real.faces[jolie[0]].photo_id
    faces = [FaceVector(f.face_id, same_photo if f.face_id in jolie[:2] else f.photo_id, f.vector) for f in real.faces]
    result = update_people(faces, {})
    assert result.assignments[jolie[0]].person_id != result.assignments.get(jolie[1], Assignment(-1)).person_id


def test_ignored_faces_are_never_placed(real):
    ignored = frozenset(real.of("katy_perry"))
    result = update_people(real.faces, {}, UserDecisions(ignored=ignored))
    assert not ignored & set(result.assignments) and not ignored & set(result.unassigned)


def test_suggestions_respect_what_the_user_said(real):
    obama_faces = real.of("barack_obama")
    split = {f: Assignment(1 if i < 2 else 2) for i, f in enumerate(obama_faces)}
    assert [(s.kind, {s.a, s.b}) for s in suggest(real.faces, split)] == [("people", {1, 2})]
    assert suggest(real.faces, split, UserDecisions(distinct=frozenset({frozenset({1, 2})}))) == []
    assert suggest(real.faces, split, names={1: "Barack", 2: "Joe"}) == []
    assert suggest(real.faces, split, names={1: "Barack"})  # one name only: still a suggestion
    # a face near a person, outside the join distance, is suggested for it
    loose = {f: a for f, a in split.items() if f != obama_faces[-1]} | {f: Assignment(1) for f in obama_faces[:-1]}
    hints = suggest(real.faces, loose, params=ClusterParams(suggest_distance=0.6))
    assert ("face", obama_faces[-1], 1) in [(s.kind, s.a, s.b) for s in hints]
