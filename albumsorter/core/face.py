"""One face as it travels from detection through every scorer to the catalog.

A face is found by the detector (box, score, the six BlazeFace key points, named), then each face scorer
(expression, eyes and sharpness, identity, ...) adds one `ScorerResult` under its kind. Coordinates are pixels
of whatever image the face currently refers to: the decoded photo while it is analysed, the full-resolution
upright photo once stored (`scaled` converts).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

Point = tuple[float, float]
Box = tuple[float, float, float, float]  # left, top, right, bottom


def _scale_point(p: Point, factor: float) -> Point:
    return (p[0] * factor, p[1] * factor)


@dataclass(frozen=True)
class Landmarks:
    """BlazeFace's six key points. "Right" is the subject's right: the image's left in an upright face."""

    right_eye: Point
    left_eye: Point
    nose_tip: Point
    mouth: Point
    right_ear: Point
    left_ear: Point

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_points(cls, points: Any) -> Landmarks:
        """From six (x, y) pairs in BlazeFace's order (right eye, left eye, nose tip, mouth, right ear, left ear)."""
        pts = [(float(p[0]), float(p[1])) for p in points]
        if len(pts) != 6:
            raise ValueError(f"expected 6 key points, got {len(pts)}")
        return cls(*pts)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Landmarks:
        return cls(**{name: (float(data[name][0]), float(data[name][1])) for name in cls.names()})

    def to_dict(self) -> dict[str, list[float]]:
        return {name: [round(v, 2) for v in getattr(self, name)] for name in self.names()}

    def scaled(self, factor: float) -> Landmarks:
        return Landmarks(*(_scale_point(getattr(self, n), factor) for n in self.names()))

    def translated(self, dx: float, dy: float) -> Landmarks:
        return Landmarks(*((getattr(self, n)[0] + dx, getattr(self, n)[1] + dy) for n in self.names()))


@dataclass(frozen=True)
class ScorerResult:
    """What one face scorer says about one face: its main label (if it has one) and JSON-able data."""

    kind: str
    model_id: str
    label: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class FaceResult:
    """A detected face and what the scorers found in it so far (keyed by scorer kind)."""

    box: Box
    score: float
    landmarks: Landmarks
    results: dict[str, ScorerResult] = field(default_factory=dict)

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    def scaled(self, factor: float) -> FaceResult:
        """The same face in an image `factor` times as large (results are coordinate-free)."""
        box = (self.box[0] * factor, self.box[1] * factor, self.box[2] * factor, self.box[3] * factor)
        return replace(self, box=box, landmarks=self.landmarks.scaled(factor), results=dict(self.results))

    def translated(self, dx: float, dy: float) -> FaceResult:
        box = (self.box[0] + dx, self.box[1] + dy, self.box[2] + dx, self.box[3] + dy)
        return replace(self, box=box, landmarks=self.landmarks.translated(dx, dy), results=dict(self.results))
