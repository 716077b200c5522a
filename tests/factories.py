"""Made-up faces and photos for catalog tests that need no model: real `FaceResult`s and `IndexedPhoto`s."""

from __future__ import annotations

from collections.abc import Sequence

from albumsorter.core.catalog import IndexedPhoto
from albumsorter.core.classes import CLASSES_8
from albumsorter.core.face import FaceResult, Landmarks
from albumsorter.core.scorers.expression import expression_result


def probs(label: str, p: float = 0.9) -> list[float]:
    rest = (1.0 - p) / (len(CLASSES_8) - 1)
    return [p if c == label else rest for c in CLASSES_8]


def landmarks_in(box: Sequence[float]) -> Landmarks:
    left, top, right, bottom = box
    w, h = right - left, bottom - top
    return Landmarks(
        right_eye=(left + w * 0.3, top + h * 0.4), left_eye=(left + w * 0.7, top + h * 0.4), nose_tip=(left + w * 0.5, top + h * 0.6),
        mouth=(left + w * 0.5, top + h * 0.8), right_ear=(left, top + h * 0.5), left_ear=(right, top + h * 0.5),
    )  # fmt: skip


def face(box: Sequence[float], label: str | None = None, p: float = 0.9, model_id: str = "m1", score: float = 0.95,
         probabilities: Sequence[float] | None = None) -> FaceResult:  # fmt: skip
    """A face with the expression model `model_id` saying `label` with probability `p` (no result without a label)."""
    box = tuple(float(v) for v in box)
    result = FaceResult(box, score, landmarks_in(box))  # type: ignore[arg-type]
    if label is not None or probabilities is not None:
        result.results["expression"] = expression_result(
            model_id, probabilities if probabilities is not None else probs(label, p)
        )
    return result


def photo(path: str, faces: Sequence[FaceResult] = (), size: int = 100, mtime_ns: int = 1, content_hash: str | None = None,
          width: int = 640, height: int = 480, taken_at: str | None = None, fmt: str = "JPEG", detector_id: str = "det") -> IndexedPhoto:  # fmt: skip
    return IndexedPhoto(
        path, size, mtime_ns, content_hash or f"hash-{path}", fmt, width, height, taken_at, detector_id, list(faces)
    )
