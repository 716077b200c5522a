"""What the catalog hands out and takes in: photo and face records, pick states and photo statuses."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from albumsorter.core.classes import CLASSES_8
from albumsorter.core.face import Box, FaceResult, Landmarks, ScorerResult

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
    faces: list[FaceRecord] = field(default_factory=list)

    @property
    def all_smile(self) -> bool:
        return self.face_count > 0 and self.smile_count == self.face_count

    @property
    def name(self) -> str:
        return Path(self.path).name


PHOTO_COLUMNS = (
    "p.id, p.path, p.status, p.error, p.width, p.height, p.taken_at, p.pick, p.face_count, p.smile_count, p.smile_score, p.rating"
)
MAX_RATING = 5
