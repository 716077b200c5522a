"""Turn a FaceSet's sources into model inputs with the app's own `face_input` (no second implementation)."""

from __future__ import annotations

import math

import numpy as np

from albumsorter.core.preprocess import PreprocessConfig, face_input
from training.datasets.base import FaceSet


def prepare_inputs(faces: FaceSet, config: PreprocessConfig) -> np.ndarray:
    """(N, size, size, channels) uint8 inputs, each made by `face_input` exactly as the app makes them.

    Sources are whole face crops (box = the image); eye positions, where a FaceSet carries them, drive
    the rotation + spatial normalisation when pre-processing is enabled.
    """
    shape = (config.size, config.size, config.channels)
    if faces.prepared:
        if faces.images.shape[1:] != shape:
            raise ValueError(f"prepared faces are {faces.images.shape[1:]}, the model needs {shape}")
        return faces.images
    out = np.empty((len(faces),) + shape, dtype=np.uint8)
    for i in range(len(faces)):
        right = left = None
        if faces.eyes is not None and config.enabled:
            eyes = faces.eyes[i]
            if np.all(np.isfinite(eyes)):
                right, left = (float(eyes[0, 0]), float(eyes[0, 1])), (float(eyes[1, 0]), float(eyes[1, 1]))
                if math.dist(right, left) < 1.0:
                    right = left = None
        out[i] = face_input(faces.images[i], config, right_eye=right, left_eye=left)
    return out
