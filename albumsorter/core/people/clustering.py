"""Faces to people: pure functions from face vectors + what the user decided to person assignments.

Nothing here touches the catalog. The caller loads the vectors of one embedding model, the stored assignments
and the user's decisions, calls `update_people`, and stores what it returns:

* Pure first: a wrong merge is worse than a split. A face joins a person only when it is close to the person's
  centre *and* to one of its faces, and clearly closer to that person than to any other; new people form from
  faces that are all pairwise close (complete linkage), then such tight groups join when they are close on
  average. A lone face waits, unassigned. Two faces of one photo are never one person.
* The user's word is final: a face the user put in a person stays there (source "user"); a face the user took
  out of a person ("not this person") never goes back to it; merged people stay merged; ignored faces are left
  out; two people the user called different are never suggested again.
* Incremental: existing automatic assignments are kept; only new or unassigned faces are placed.
  `recluster=True` (new vectors from a new embedding model, new thresholds) checks every automatic assignment
  against the new vectors: a face stays with its person while it is near the person's centre, the others are
  placed again. People keep their ids, so names and merges survive.

Distances are Euclidean between dlib vectors, whose network was trained to put each person inside a ball of
radius 0.6. The defaults were measured with `scripts/eval_people.py --sweep`: every person stayed pure with
all four distances up to 0.52, two people mixed identities at 0.55; 0.48 keeps a margin and still put every
recurring face in a person (one person split in two, when small copies of the photos were added).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

AUTO = "auto"
USER = "user"


@dataclass(frozen=True)
class FaceVector:
    face_id: int
    photo_id: int
    vector: np.ndarray  # (128,) float32


@dataclass(frozen=True)
class Assignment:
    person_id: int
    source: str = AUTO  # AUTO (clustering) or USER (the user put the face there: never undone here)


@dataclass(frozen=True)
class UserDecisions:
    """What the user said, besides user assignments (those are `Assignment(..., USER)` in `previous`)."""

    rejected: frozenset[tuple[int, int]] = frozenset()  # (face_id, person_id): "not this person"
    merged: Mapping[int, int] = field(default_factory=dict)  # person_id -> the person it was merged into
    distinct: frozenset[frozenset[int]] = frozenset()  # pairs of people the user said are not the same
    ignored: frozenset[int] = frozenset()  # faces never to place (not a face, a stranger)


@dataclass(frozen=True)
class ClusterParams:
    join_distance: float = 0.48  # face to a person's centre (mean vector) ...
    member_distance: float = 0.48  # ... and to its nearest face of that person
    ambiguity_margin: float = 0.04  # a second person this much further away or closer: leave the face alone
    link_distance: float = 0.48  # a new person: every pair of its faces at most this far apart ...
    group_distance: float = 0.48  # ... or tight groups of faces on average at most this far apart
    min_faces: int = 2  # a new person needs this many faces; a lone face waits unassigned
    suggest_distance: float = 0.60  # "maybe the same person" between two people's centres or a face and one
    keep_distance: float = 0.60  # on a recluster, an automatic face stays with its person within this of its centre


@dataclass
class ClusterResult:
    """Face -> person. Ids of new people are negative (-1, -2, ...): the caller creates them and maps the ids.

    A face that kept its assignment keeps the person id it was stored with, which may be a person merged into
    another (resolve it with `resolve_person` to show it); so a merge stays an alias and the faces of each
    merged person stay recognisable as theirs (a recluster checks them against their own faces).
    """

    assignments: dict[int, Assignment]
    new_people: dict[int, list[int]]  # temporary id -> its faces
    unassigned: list[int]  # faces with a vector and no person
    ignored: list[int] = field(default_factory=list)  # faces given but left out by the user's decision

    def changes(self, previous: Mapping[int, Assignment]) -> dict[int, Assignment | None]:
        """What to write back: faces whose assignment is new or different, None where a face lost its person.

        Faces that were not given to `update_people` (no vector of this model yet) are not mentioned."""
        out: dict[int, Assignment | None] = {f: a for f, a in self.assignments.items() if previous.get(f) != a}
        out.update({f: None for f in (*self.unassigned, *self.ignored) if f in previous})
        return out


@dataclass(frozen=True)
class Suggestion:
    """Maybe the same person: `a` and `b` are people, or `a` is a face (kind "face") and `b` a person."""

    kind: str  # "people" or "face"
    a: int
    b: int
    distance: float


def resolve_person(person_id: int, merged: Mapping[int, int]) -> int:
    """The person a (possibly merged-away) person id stands for now."""
    seen = {person_id}
    while person_id in merged:
        person_id = merged[person_id]
        if person_id in seen:  # a cycle in the caller's data: stop where it closes
            break
        seen.add(person_id)
    return person_id


def update_people(
    faces: Sequence[FaceVector],
    previous: Mapping[int, Assignment],
    decisions: UserDecisions = UserDecisions(),
    params: ClusterParams = ClusterParams(),
    recluster: bool = False,
) -> ClusterResult:
    """Assign every face to a person or leave it unassigned, respecting `decisions` and user assignments."""
    by_id = {f.face_id: f for f in faces if f.face_id not in decisions.ignored}
    rejected = {(face, resolve_person(person, decisions.merged)) for face, person in decisions.rejected}
    members: dict[int, list[int]] = defaultdict(list)
    result: dict[int, Assignment] = {}

    def place(face_id: int, person_id: int, source: str, stored_id: int | None = None) -> None:
        result[face_id] = Assignment(person_id if stored_id is None else stored_id, source)
        members[person_id].append(face_id)

    # The user's assignments first, then the automatic ones that still hold (under the id they are stored with).
    for face_id, a in sorted(previous.items()):
        if face_id in by_id and a.source == USER:
            place(face_id, resolve_person(a.person_id, decisions.merged), USER, a.person_id)
    for face_id, person in _kept_automatic(previous, by_id, decisions, params, recluster):
        if _may_join(face_id, person, by_id, members, rejected):
            place(face_id, person, AUTO, previous[face_id].person_id)

    pending = [f for f in by_id if f not in result]
    pending = _join_people(pending, by_id, members, rejected, params, place)
    new_people: dict[int, list[int]] = {}
    for group in _new_groups(pending, by_id, params):
        if len(group) >= params.min_faces:
            temporary_id = -(len(new_people) + 1)
            new_people[temporary_id] = group
            for face_id in group:
                place(face_id, temporary_id, AUTO)
    pending = [f for f in pending if f not in result]
    pending = _join_people(pending, by_id, members, rejected, params, place)
    ignored = sorted(f.face_id for f in faces if f.face_id in decisions.ignored)
    return ClusterResult(result, new_people, sorted(pending), ignored)


def _kept_automatic(
    previous: Mapping[int, Assignment],
    by_id: Mapping[int, FaceVector],
    decisions: UserDecisions,
    params: ClusterParams,
    recluster: bool,
) -> list[tuple[int, int]]:
    """The automatic assignments to keep, as (face, person now), the surest first.

    Incremental: all of them. Recluster: those whose face is within `keep_distance` of the centre, in the new
    vectors, of the faces stored under the same person id. Merged people keep their own ids in `previous` (the
    merge is an alias), so two people the user merged are each checked against their own faces and stay merged.
    """
    automatic = {f: a.person_id for f, a in previous.items() if f in by_id and a.source != USER}
    if not recluster:
        return sorted((f, resolve_person(p, decisions.merged)) for f, p in automatic.items())
    by_person: dict[int, list[int]] = defaultdict(list)
    for face_id, a in previous.items():
        if face_id in by_id:
            by_person[a.person_id].append(face_id)
    people, centres = _centres(list(by_person), by_id, by_person)
    row = {p: i for i, p in enumerate(people)}
    kept = []
    for face_id, person in automatic.items():
        d = float(np.linalg.norm(by_id[face_id].vector - centres[row[person]]))
        if d <= params.keep_distance:
            kept.append((d, face_id, resolve_person(person, decisions.merged)))
    return [(face_id, person) for _, face_id, person in sorted(kept)]


def _may_join(
    face_id: int, person_id: int, by_id: Mapping[int, FaceVector], members: Mapping[int, list[int]], rejected: set
) -> bool:
    if (face_id, person_id) in rejected:
        return False
    photo = by_id[face_id].photo_id
    return all(by_id[m].photo_id != photo for m in members.get(person_id, ()))


def _centres(
    people: Iterable[int], by_id: Mapping[int, FaceVector], members: Mapping[int, list[int]]
) -> tuple[list[int], np.ndarray]:
    ids = [p for p in people if members.get(p)]
    if not ids:
        return [], np.zeros((0, 0), dtype=np.float32)
    return ids, np.stack([np.mean([by_id[m].vector for m in members[p]], axis=0) for p in ids]).astype(np.float32)


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise Euclidean distances between the rows of a and b."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float32)
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.sqrt(np.maximum(sq, 0.0))


def _join_people(pending, by_id, members, rejected, params: ClusterParams, place) -> list[int]:
    """Put each pending face in the one person it clearly belongs to; returns the faces left pending.

    Centres are fixed for the pass (the order of faces does not matter); the most certain faces go first,
    so of two faces of one photo that want the same person only the closer one gets it.
    """
    people, centres = _centres(list(members), by_id, members)
    if not pending or not people:
        return list(pending)
    vectors = np.stack([by_id[f].vector for f in pending])
    to_centre = _distances(vectors, centres)
    choices = []
    for row, face_id in enumerate(pending):
        near = np.nonzero(to_centre[row] <= params.join_distance + params.ambiguity_margin)[0]
        near = near[np.argsort(to_centre[row, near])]
        allowed = [int(k) for k in near if _may_join(face_id, people[k], by_id, members, rejected)]
        if not allowed:
            continue
        best = allowed[0]
        if to_centre[row, best] > params.join_distance:
            continue
        if len(allowed) > 1 and to_centre[row, allowed[1]] - to_centre[row, best] < params.ambiguity_margin:
            continue  # two people about equally close: a wrong guess would merge them in the user's eyes
        choices.append((float(to_centre[row, best]), face_id, people[best]))
    left = set(pending)
    for _, face_id, person in sorted(choices):
        person_vectors = np.stack([by_id[m].vector for m in members[person]])
        nearest = float(_distances(by_id[face_id].vector[None], person_vectors).min())
        if nearest <= params.member_distance and _may_join(face_id, person, by_id, members, rejected):
            place(face_id, person, AUTO)
            left.discard(face_id)
    return [f for f in pending if f in left]


def _new_groups(face_ids: Sequence[int], by_id: Mapping[int, FaceVector], params: ClusterParams) -> list[list[int]]:
    """Groups of faces that are one person, no two of them from one photo.

    First complete linkage: pairs are taken from the closest up, and two groups join only if every cross pair is
    within `link_distance`. A person photographed in different conditions often ends up as a few such tight
    groups; these then join when their faces are on average within `group_distance` of each other (measured:
    the same person's groups 0.41-0.55 apart on average, different people's 0.67 and more). Only pairs under
    the limit are ever listed, block by block, so memory stays small for large catalogs.
    """
    if not face_ids:
        return []
    vectors = np.stack([by_id[f].vector for f in face_ids]).astype(np.float32)
    limit = max(params.link_distance, params.group_distance)
    edges: list[tuple[float, int, int]] = []
    block = max(1, 8_000_000 // len(face_ids))  # rows per step: a step's distances stay under ~32 MB
    for start in range(0, len(face_ids), block):
        d = _distances(vectors[start : start + block], vectors)
        rows, cols = np.nonzero(d <= limit)
        for r, c in zip(rows.tolist(), cols.tolist()):
            if start + r < c:
                edges.append((float(d[r, c]), start + r, c))
    edges.sort()
    group_of = list(range(len(face_ids)))
    groups: dict[int, list[int]] = {i: [i] for i in range(len(face_ids))}
    photos: dict[int, set[int]] = {i: {by_id[face_ids[i]].photo_id} for i in range(len(face_ids))}

    def join_all(accept) -> None:
        refused: set[tuple[int, int]] = set()  # groups only grow: a complete-linkage refusal stays true
        for _, i, j in edges:
            a, b = group_of[i], group_of[j]
            if a == b or (min(a, b), max(a, b)) in refused:
                continue
            if photos[a] & photos[b] or not accept(_distances(vectors[groups[a]], vectors[groups[b]])):
                refused.add((min(a, b), max(a, b)))
                continue
            if len(groups[a]) < len(groups[b]):
                a, b = b, a
            for k in groups[b]:
                group_of[k] = a
            groups[a].extend(groups.pop(b))
            photos[a] |= photos.pop(b)

    join_all(lambda cross: cross.max() <= params.link_distance)
    join_all(lambda cross: cross.mean() <= params.group_distance)
    return [sorted(face_ids[k] for k in g) for g in groups.values()]


def suggest(
    faces: Sequence[FaceVector],
    assignments: Mapping[int, Assignment],
    decisions: UserDecisions = UserDecisions(),
    params: ClusterParams = ClusterParams(),
    names: Mapping[int, str] | None = None,
) -> list[Suggestion]:
    """ "Maybe the same person": pairs of people whose centres are within `suggest_distance`, and unassigned
    faces within it of a person's centre; closest first. Pairs the user called distinct, two people with
    different names, and faces the user took out of that person are not suggested."""
    names = names or {}
    by_id = {f.face_id: f for f in faces if f.face_id not in decisions.ignored}
    rejected = {(face, resolve_person(person, decisions.merged)) for face, person in decisions.rejected}
    distinct = {frozenset(resolve_person(p, decisions.merged) for p in pair) for pair in decisions.distinct}
    members: dict[int, list[int]] = defaultdict(list)
    for face_id, assignment in assignments.items():
        if face_id in by_id:
            members[resolve_person(assignment.person_id, decisions.merged)].append(face_id)
    people, centres = _centres(sorted(members), by_id, members)
    out: list[Suggestion] = []
    between = _distances(centres, centres)
    for i, a in enumerate(people):
        for j in range(i + 1, len(people)):
            b = people[j]
            if between[i, j] > params.suggest_distance or frozenset((a, b)) in distinct:
                continue
            if names.get(a) and names.get(b) and names[a] != names[b]:
                continue
            photos_a = {by_id[m].photo_id for m in members[a]}
            if any(by_id[m].photo_id in photos_a for m in members[b]):
                continue  # both appear in one photo: two people
            out.append(Suggestion("people", a, b, float(between[i, j])))
    loose = [f for f in by_id if f not in assignments]
    if loose and people:
        to_centre = _distances(np.stack([by_id[f].vector for f in loose]), centres)
        for row, face_id in enumerate(loose):
            k = int(np.argmin(to_centre[row]))
            person = people[k]
            if to_centre[row, k] <= params.suggest_distance and _may_join(face_id, person, by_id, members, rejected):
                out.append(Suggestion("face", face_id, person, float(to_centre[row, k])))
    return sorted(out, key=lambda s: s.distance)
