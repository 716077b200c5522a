"""People in a catalog, brought up to date: embeddings for the faces that lack one, then clustering.

`update_people_in_catalog` is what `albumsorter people update` and the window's "Find people" run. It opens
its own catalog connection, so the caller may run it on any thread but the GUI's; the embeddings are computed
in worker processes (`background.run_people_pass`: dlib holds the GIL), the catalog writes happen here, a few
photos at a time, so a cancelled or killed run keeps what it finished and the next run goes on from there.

Clustering is incremental (`clustering.update_people`): stored assignments stay, new faces join people or start
new ones. When the stored assignments came from another embedding model (its id changed), every automatic
assignment is checked against the new vectors instead (`recluster`); people keep their ids, so names, merges
and the user's choices survive a new model.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from albumsorter.core.catalog import Catalog
from albumsorter.core.face import FaceResult, Landmarks, ScorerResult
from albumsorter.core.people.background import PhotoEmbeddings, PhotoJob, run_people_pass
from albumsorter.core.people.clustering import (
    AUTO,
    Assignment,
    ClusterParams,
    FaceVector,
    Suggestion,
    UserDecisions,
    suggest,
    update_people,
)
from albumsorter.core.people.embedding import MIN_FACE_PX, MODEL_ID
from albumsorter.core.people.scorer import KIND, LABEL_TOO_SMALL, decode_vector

DEFAULT_PARAMS = ClusterParams()  # frozen: safe as a default
MODEL_META = "people_model_id"  # the embedding model the stored automatic assignments were made with
WRITE_EVERY_S = 2.0  # embeddings reach the catalog at least this often (a killed run loses at most this much)


@dataclass
class PeopleProgress:
    stage: str  # "embedding" or "clustering"
    photos_done: int
    photos_total: int
    faces_embedded: int


@dataclass
class PeopleSummary:
    faces_embedded: int = 0  # vectors computed in this run
    faces_too_small: int = 0  # faces looked at in this run that are too small to recognise
    photos_decoded: int = 0  # photos decoded for their faces in this run
    photos_failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): unreadable or changed
    people: int = 0  # people with at least one face, after this run
    named: int = 0
    faces_assigned: int = 0  # faces in a person, after this run
    faces_unassigned: int = 0  # faces with a vector and no person (seen once, or unsure)
    new_people: int = 0
    changed: int = 0  # faces whose person changed in this run
    suggestions: int = 0  # "maybe the same person"
    reclustered: bool = False  # a new embedding model: every automatic assignment was checked again
    cancelled: bool = False
    seconds: float = 0.0
    embed_seconds: float = 0.0  # work time in the worker processes (decode + embed), summed


def _jobs(catalog: Catalog) -> tuple[list[PhotoJob], dict[int, list[int]], list[tuple[int, ScorerResult]]]:
    """The photos to decode (with their face ids), and "too small" results for faces no decode can help."""
    jobs: list[PhotoJob] = []
    face_ids: dict[int, list[int]] = defaultdict(list)
    small: list[tuple[int, ScorerResult]] = []
    by_photo: dict[int, list[tuple]] = defaultdict(list)
    for row in catalog.faces_needing_identity(KIND, MODEL_ID):
        by_photo[row[1]].append(row)
    for photo_id, rows in by_photo.items():
        faces = []
        for face_id, _, _, _, left, top, right, bottom, score, landmarks in rows:
            size = min(right - left, bottom - top)
            if size < MIN_FACE_PX:  # too small even at full resolution: no need to decode the photo for it
                small.append((face_id, ScorerResult(KIND, MODEL_ID, LABEL_TOO_SMALL, {"face_px": int(round(size))})))
                continue
            face_ids[photo_id].append(face_id)
            faces.append(FaceResult((left, top, right, bottom), score, Landmarks.from_dict(json.loads(landmarks))))
        if faces:
            jobs.append(PhotoJob(photo_id, rows[0][2], tuple(faces), rows[0][3]))
    return jobs, face_ids, small


def _embed(
    catalog: Catalog,
    summary: PeopleSummary,
    workers: int | None,
    cancelled: Callable[[], bool],
    report: Callable[[PeopleProgress], None],
) -> None:
    jobs, face_ids, small = _jobs(catalog)
    catalog.store_identities(small)
    summary.faces_too_small += len(small)
    pending: list[tuple[int, ScorerResult]] = []
    last_write = time.monotonic()
    done = 0
    report(PeopleProgress("embedding", 0, len(jobs), 0))

    def take(result: PhotoEmbeddings, path: str) -> None:
        summary.embed_seconds += result.seconds
        if result.error is not None:
            summary.photos_failed.append((path, result.error))
            return
        for face_id, scored in zip(face_ids[result.key], result.results):
            if scored is None:
                continue
            pending.append((face_id, scored))
            if scored.label == LABEL_TOO_SMALL:
                summary.faces_too_small += 1
            else:
                summary.faces_embedded += 1

    paths = {job.key: job.path for job in jobs}
    if jobs:
        for result in run_people_pass(jobs, workers, cancelled):
            take(result, paths[result.key])
            done += 1
            if time.monotonic() - last_write >= WRITE_EVERY_S:
                catalog.store_identities(pending)
                pending.clear()
                last_write = time.monotonic()
            report(PeopleProgress("embedding", done, len(jobs), summary.faces_embedded))
    catalog.store_identities(pending)
    summary.photos_decoded = done
    summary.cancelled = done < len(jobs)


def _vectors(rows) -> list[FaceVector]:
    return [FaceVector(r.face_id, r.photo_id, decode_vector(json.loads(r.data)["vector"])) for r in rows.identities]


def _decisions(rows) -> UserDecisions:
    return UserDecisions(frozenset(rows.rejected), dict(rows.merged), frozenset(rows.distinct), frozenset(rows.ignored))


def cluster_catalog(catalog: Catalog, summary: PeopleSummary, params: ClusterParams = DEFAULT_PARAMS) -> None:
    """Place the faces that have vectors of the current model in people and store what changed."""
    catalog.tidy_people()
    rows = catalog.people_rows(KIND, MODEL_ID)
    faces = _vectors(rows)
    previous = {face: Assignment(person, source) for face, (person, source, _) in rows.assignments.items()}
    automatic_models = {model for _, source, model in rows.assignments.values() if source == AUTO}
    stored_model = catalog.get_meta(MODEL_META)
    summary.reclustered = bool(automatic_models - {MODEL_ID}) or (stored_model not in (None, MODEL_ID))
    result = update_people(faces, previous, _decisions(rows), params, recluster=summary.reclustered)
    changes = result.changes(previous)
    summary.changed = len(changes)
    if summary.reclustered:  # the automatic assignments that held are now the new model's
        for face_id, assignment in result.assignments.items():
            if assignment.source == AUTO:
                changes.setdefault(face_id, assignment)
    ids = catalog.write_people(
        {f: (a.person_id, a.source) if a is not None else None for f, a in changes.items()}, result.new_people, MODEL_ID
    )
    catalog.set_meta(MODEL_META, MODEL_ID)
    summary.new_people = len(ids)
    summary.faces_unassigned = len(result.unassigned)
    people = catalog.people(samples=0)
    summary.people = len(people)
    summary.named = sum(1 for p in people if p.name)
    summary.faces_assigned = sum(p.faces for p in people)
    summary.suggestions = len(suggestions(catalog, params))


def suggestions(catalog: Catalog, params: ClusterParams = DEFAULT_PARAMS) -> list[Suggestion]:
    """ "Maybe the same person" for the catalog as stored now: people (ids after merges) and faces, closest first."""
    rows = catalog.people_rows(KIND, MODEL_ID)
    assignments = {face: Assignment(person, source) for face, (person, source, _) in rows.assignments.items()}
    return suggest(_vectors(rows), assignments, _decisions(rows), params, rows.names)


def update_people_in_catalog(
    catalog_path: Path | str,
    workers: int | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    on_progress: Callable[[PeopleProgress], None] | None = None,
    params: ClusterParams = DEFAULT_PARAMS,
) -> PeopleSummary:
    """Compute the missing embeddings (in `workers` processes) and place faces in people; see the module docstring.

    Raises EmbeddingModelError (a ModelError) when the model files or dlib are missing, before any work.
    Cancelled: the embeddings finished so far are stored, clustering is left for the next run."""
    start = time.perf_counter()
    summary = PeopleSummary()
    report = on_progress or (lambda _progress: None)
    with Catalog(catalog_path) as catalog:
        _embed(catalog, summary, workers, cancelled, report)
        if not summary.cancelled and not cancelled():
            report(PeopleProgress("clustering", 0, 0, summary.faces_embedded))
            cluster_catalog(catalog, summary, params)
        else:
            summary.cancelled = True
    summary.seconds = time.perf_counter() - start
    return summary
