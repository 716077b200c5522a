"""What the catalog hands out and takes in: photo and face records, pick states and photo statuses."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from albumsorter.core.classes import CLASSES_8
from albumsorter.core.face import Box, FaceResult, Landmarks, ScorerResult
from albumsorter.core.photo_measures import PhotoMeasures

EXPRESSION = "expression"  # the scorer kind whose label is a face's expression


class PickState(enum.IntEnum):
    UNFLAGGED = 0
    PICKED = 1
    REJECTED = -1

    @classmethod
    def from_name(cls, name: str) -> PickState:
        try:
            return cls[name.upper()]
        except KeyError:
            raise ValueError(f"unknown pick state {name!r}; expected one of {', '.join(s.name.lower() for s in cls)}") from None


class PhotoStatus(enum.StrEnum):
    OK = "ok"
    ERROR = "error"
    GONE = "gone"


@dataclass(frozen=True)
class IndexedPhoto:
    """One analysed photo as indexing stores it; faces in full-resolution upright pixels."""

    path: str
    size: int
    mtime_ns: int
    content_hash: str
    format: str
    width: int
    height: int
    taken_at: str | None
    detector_id: str
    faces: list[FaceResult] = field(default_factory=list)
    measures: PhotoMeasures | None = None  # sharpness, exposure, grouping signature


@dataclass(frozen=True)
class FaceRecord:
    """A stored face with every scorer's result and the user's correction, if any."""

    id: int
    photo_id: int
    box: Box
    score: float
    landmarks: Landmarks
    results: dict[str, ScorerResult]
    correction: str | None = None
    ignored: bool = False  # the user said: not a person in this photo
    manual: bool = False  # drawn by the user (the detector missed it)
    subject: bool = True  # counts for the photo's scores (not ignored, not a bystander)
    person_id: int | None = None  # the person this face is (after merges); None: not recognised (yet)
    person_name: str | None = None  # that person's name, if the user gave one

    @property
    def expression(self) -> ScorerResult | None:
        return self.results.get(EXPRESSION)

    @property
    def model_id(self) -> str | None:
        """The expression model that classified this face."""
        return self.expression.model_id if self.expression else None

    @property
    def predicted_label(self) -> str | None:
        return self.expression.label if self.expression else None

    @property
    def label(self) -> str | None:
        """The user's correction if any, else the model's prediction."""
        return self.correction or self.predicted_label

    @property
    def corrected(self) -> bool:
        return self.correction is not None

    @property
    def probabilities(self) -> dict[str, float]:
        probs = self.expression.data.get("probabilities", {}) if self.expression else {}
        return {c: float(probs.get(c) or 0.0) for c in CLASSES_8}

    def to_face_result(self) -> FaceResult:
        return FaceResult(self.box, self.score, self.landmarks, dict(self.results))


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
    rating: int = 0  # stars, 0-5
    sharpness: float | None = None  # 0-1 (core/photo_quality.py); None until measured
    exposure: float | None = None  # 0-1, 1 = well exposed
    keeper_score: float | None = None  # 0-1 (core/keeper.py)
    group_id: int | None = None  # bursts and near-duplicates (core/grouping.py)
    group_size: int = 1
    group_rank: int | None = None  # 1 = the keeper of its group
    eyes_open_all: bool = False  # every subject's eyes judged open
    eyes_closed_any: bool = False  # some subject's eyes judged closed
    sharp: bool = False  # the faces (or, without faces, the photo) are in focus
    faces: list[FaceRecord] = field(default_factory=list)

    @property
    def is_keeper(self) -> bool:
        """The best of its group, or a photo with no group."""
        return self.group_size < 2 or self.group_rank == 1

    @property
    def all_smile(self) -> bool:
        return self.face_count > 0 and self.smile_count == self.face_count

    @property
    def name(self) -> str:
        return Path(self.path).name


PHOTO_COLUMNS = (
    "p.id, p.path, p.status, p.error, p.width, p.height, p.taken_at, p.pick, p.face_count, p.smile_count, p.smile_score, p.rating, "
    "p.sharpness, p.exposure, p.keeper_score, p.group_id, p.group_size, p.group_rank, p.eyes_open_all, p.eyes_closed_any, p.sharp"
)
MAX_RATING = 5
