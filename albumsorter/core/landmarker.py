"""MediaPipe's Face Landmarker (478 points, 52 blendshape scores, a head-pose matrix) on one face crop.

The model bundle (models/face_landmarker/, Apache-2.0) is checked against its published SHA-256 before it is
loaded: a truncated or swapped file fails with a clear `LandmarkerError` instead of odd scores.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from albumsorter.core.classify import ModelError
from albumsorter.core.faces import MediaPipeTask, _import_mediapipe
from albumsorter.core.resources import models_dir

# Google's face_landmarker.task, float16, version 1 (see models/face_landmarker/PROVENANCE.md).
LANDMARKER_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
LANDMARKER_FILE = "face_landmarker.task"


class LandmarkerError(ModelError):
    """The landmarker model is missing, altered or cannot be loaded."""


def landmarker_model_path() -> Path:
    return models_dir() / "face_landmarker" / LANDMARKER_FILE


def read_verified_model(path: Path, expected_sha256: str = LANDMARKER_SHA256) -> bytes:
    """The model file's bytes, after checking them against the checksum they were published with."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise LandmarkerError(f"face landmarker model not found: {path}") from None
    except OSError as exc:
        raise LandmarkerError(f"face landmarker model {path} cannot be read: {exc.strerror or exc}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected_sha256:
        raise LandmarkerError(
            f"face landmarker model {path} is damaged or not the expected file "
            f"(SHA-256 {digest[:16]}…, expected {expected_sha256[:16]}…, {len(data):,} bytes): "
            "restore models/face_landmarker/ from the release"
        )
    return data


@dataclass(frozen=True)
class FaceMesh:
    """One face as the landmarker sees it, in pixel coordinates of the crop it was given."""

    points: np.ndarray  # (478, 3) float32: x, y in crop pixels; z in the same pixel scale (depth, camera-relative)
    blendshapes: dict[str, float]  # 52 ARKit-style scores in 0-1, e.g. "eyeBlinkLeft" (the subject's left)
    matrix: np.ndarray  # (4, 4) float32: canonical face model -> camera space (rotation gives head pose)


class FaceLandmarker(MediaPipeTask):
    """Runs the Face Landmarker on face crops. Not thread-safe: one instance per worker thread."""

    def __init__(self, model_path: Path | str | None = None, max_faces: int = 2) -> None:
        mp, vision = _import_mediapipe()
        self._mp = mp
        path = Path(model_path) if model_path else landmarker_model_path()
        self.model_path = path
        data = read_verified_model(path)
        try:
            options = vision.FaceLandmarkerOptions(
                base_options=mp.tasks.BaseOptions(model_asset_buffer=data),
                output_face_blendshapes=True,
                output_facial_transformation_matrixes=True,
                # A crop of a group photo can hold a neighbour's face too; `mesh` keeps the one in the middle.
                num_faces=max_faces,
            )
            self._own(vision.FaceLandmarker.create_from_options(options))
        except Exception as exc:
            raise LandmarkerError(f"face landmarker model {path} cannot be loaded: {str(exc).splitlines()[0]}") from None

    def mesh(self, crop: np.ndarray) -> FaceMesh | None:
        """The face nearest the middle of an RGB uint8 crop, or None when the landmarker finds no face."""
        mp = self._mp
        crop = np.ascontiguousarray(crop[:, :, :3], dtype=np.uint8)
        h, w = crop.shape[:2]
        result = self._task.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=crop))
        if not result.face_landmarks:
            return None
        best, best_distance = 0, float("inf")
        for i, marks in enumerate(result.face_landmarks):
            cx = sum(p.x for p in marks) / len(marks)
            cy = sum(p.y for p in marks) / len(marks)
            distance = (cx - 0.5) ** 2 + (cy - 0.5) ** 2
            if distance < best_distance:
                best, best_distance = i, distance
        points = np.array([(p.x * w, p.y * h, p.z * w) for p in result.face_landmarks[best]], dtype=np.float32)
        shapes = {c.category_name: float(c.score) for c in result.face_blendshapes[best]} if result.face_blendshapes else {}
        if result.facial_transformation_matrixes:
            matrix = np.asarray(result.facial_transformation_matrixes[best], dtype=np.float32).reshape(4, 4)
        else:
            matrix = np.eye(4, dtype=np.float32)
        return FaceMesh(points, shapes, matrix)
