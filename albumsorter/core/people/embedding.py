"""Face embeddings for recognising people: dlib's ResNet (128-d) on faces aligned by dlib's 5-point predictor.

The two model files live in models/face_embedding/ (see its README: provenance, licence, checksums) and are
checked against their SHA-256 before dlib reads them, so a truncated or swapped file fails loudly instead of
quietly producing embeddings that match nobody.

Cost: ~60-150 ms of one core per face, and dlib holds the GIL while it runs. Never call this from a thread
of the window's process; run the people pass in worker processes (see `people.background`).
"""

from __future__ import annotations

import hashlib
import importlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from albumsorter.core.classify import ModelError
from albumsorter.core.face import Box
from albumsorter.core.resources import models_dir

SHAPE_PREDICTOR_FILE = "shape_predictor_5_face_landmarks.dat"
RECOGNITION_MODEL_FILE = "dlib_face_recognition_resnet_model_v1.dat"
MODEL_SHA256 = {
    SHAPE_PREDICTOR_FILE: "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
    RECOGNITION_MODEL_FILE: "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
}
# Changes whenever the vectors would change (model files, alignment, chip size): stored embeddings of another
# id are stale and recomputed; person assignments are carried over by `clustering.recluster`.
MODEL_ID = "dlib-resnet-v1+sp5:chip150-pad0.25:v1"
DIMENSIONS = 128

# Narrowest face (detector box width, in pixels of the image the embedding is computed from) worth embedding.
# Measured (scripts/eval_people.py --sizes): faces shrunk to 28 px still matched their own person in 72 % of
# cases, but two different people at 20-28 px came as close as 0.46-0.53, inside the join distance; from
# 36 px on no two different people came closer than 0.55 and 90 % matched their person.
MIN_FACE_PX = 36
# Wider than this, a face gains nothing from a larger decode: the aligned chip is 150 px for ~1.5 face widths.
USEFUL_FACE_PX = 120

CHIP_SIZE = 150  # the network's input, and dlib's own default
CHIP_PADDING = 0.25
CROP_MARGIN = 0.6  # face widths of context kept around the box for the landmark predictor and the chip


class EmbeddingModelError(ModelError):
    """A face-embedding model file is missing, unreadable or not the file this version was tested with."""


def embedding_model_dir() -> Path:
    return models_dir() / "face_embedding"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_model_files(folder: Path | str | None = None) -> dict[str, Path]:
    """Paths of the two model files after checking their SHA-256; raises EmbeddingModelError otherwise."""
    folder = Path(folder) if folder is not None else embedding_model_dir()
    paths = {}
    for name, expected in MODEL_SHA256.items():
        path = folder / name
        if not path.is_file():
            raise EmbeddingModelError(f"face embedding model file missing: {path}")
        try:
            actual = _sha256(path)
        except OSError as exc:
            raise EmbeddingModelError(f"face embedding model file {path} is unreadable: {exc}") from None
        if actual != expected:
            raise EmbeddingModelError(
                f"face embedding model file {path} is damaged or not the expected file "
                f"(SHA-256 {actual}, expected {expected}); restore it from models/face_embedding/README.md"
            )
        paths[name] = path
    return paths


def import_dlib():
    try:
        dlib = importlib.import_module("dlib")  # dlib ships no type information
    except ImportError as exc:  # a broken install or a bundle that lost the native module
        raise EmbeddingModelError(f"dlib is not available ({exc}); install the dlib-bin package") from None
    return dlib


@dataclass(frozen=True)
class FaceCrop:
    """The part of an image the embedding of one face needs, and the face box within it."""

    pixels: np.ndarray  # H x W x 3 uint8, contiguous
    box: Box  # in the crop's pixels


def crop_around(image: np.ndarray, box: Box, margin: float = CROP_MARGIN) -> FaceCrop:
    """The face box with `margin` face widths around it (clipped at the border)."""
    left, top, right, bottom = box
    pad = margin * max(right - left, bottom - top)
    h, w = image.shape[:2]
    x0, y0 = max(0, int(left - pad)), max(0, int(top - pad))
    x1, y1 = min(w, int(np.ceil(right + pad))), min(h, int(np.ceil(bottom + pad)))
    pixels = np.ascontiguousarray(image[y0:y1, x0:x1, :3], dtype=np.uint8)
    return FaceCrop(pixels, (left - x0, top - y0, right - x0, bottom - y0))


def decode_side_for(long_side: int, face_widths: Sequence[float], min_side: int = 1024) -> int | None:
    """The long side to decode a photo at so that its faces are embedded at a useful size; None: full size.

    `face_widths` are in full-resolution pixels (as the catalog stores boxes). The result brings the smallest
    face to USEFUL_FACE_PX when the photo has the pixels for it, and is never below `min_side` (JPEG draft
    mode decodes that cheaply, and larger faces lose nothing at it).
    """
    widths = [w for w in face_widths if w > 0]
    needed = int(np.ceil(long_side * USEFUL_FACE_PX / min(widths))) if widths else 0
    side = max(min_side, needed)
    return None if side >= long_side else side


class FaceEmbedder:
    """Computes 128-d face vectors. Not thread-safe (dlib's network keeps state): one per worker process."""

    def __init__(self, model_dir: Path | str | None = None) -> None:
        paths = verify_model_files(model_dir)
        dlib = import_dlib()
        self._dlib = dlib
        try:
            self._predictor = dlib.shape_predictor(str(paths[SHAPE_PREDICTOR_FILE]))
            self._network = dlib.face_recognition_model_v1(str(paths[RECOGNITION_MODEL_FILE]))
        except RuntimeError as exc:
            raise EmbeddingModelError(f"face embedding model cannot be loaded: {exc}") from None
        self._lock = threading.Lock()  # a misuse from two threads serialises instead of corrupting

    def landmarks(self, crop: FaceCrop) -> np.ndarray:
        """dlib's 5 points (outer and inner eye corners, nose base), (5, 2) in crop pixels."""
        rect = self._rectangle(crop.box)
        shape = self._predictor(crop.pixels, rect)
        return np.array([[shape.part(i).x, shape.part(i).y] for i in range(shape.num_parts)], dtype=np.float32)

    def chip(self, crop: FaceCrop) -> np.ndarray:
        """The aligned 150 x 150 face the network sees."""
        shape = self._predictor(crop.pixels, self._rectangle(crop.box))
        return self._dlib.get_face_chip(crop.pixels, shape, size=CHIP_SIZE, padding=CHIP_PADDING)

    def embed_chips(self, chips: Sequence[np.ndarray]) -> list[np.ndarray]:
        if not chips:
            return []
        with self._lock:
            vectors = self._network.compute_face_descriptor(list(chips))
        return [np.asarray(v, dtype=np.float32) for v in vectors]

    def embed(self, image: np.ndarray, boxes: Sequence[Box]) -> list[np.ndarray]:
        """One vector per box (boxes in `image` pixels); the caller skips faces under MIN_FACE_PX."""
        chips = [self.chip(crop_around(image, box)) for box in boxes]
        return self.embed_chips(chips)

    def _rectangle(self, box: Box):
        # BlazeFace's box frames a face almost as dlib's own detectors do (measured on ../shared/photos: same
        # centre within 2 % of the width, 0.97 x the size), which is what the 5-point predictor was trained on.
        left, top, right, bottom = box
        return self._dlib.rectangle(int(round(left)), int(round(top)), int(round(right)), int(round(bottom)))


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance, the metric dlib's network was trained for (same person: below ~0.6)."""
    return float(np.linalg.norm(np.asarray(a, dtype=np.float32) - np.asarray(b, dtype=np.float32)))
