"""Finding every face in a photo, small ones in group photos included.

BlazeFace sees its input squeezed to 192 x 192 pixels, so in a 2000-pixel group photo a face 40 pixels
wide shrinks to 4 and is lost. A whole-photo pass finds the large faces; overlapping tiles, each
looked at on its own, find the small ones; duplicates are merged by overlap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from albumsorter.core.geometry import containment, iou
from albumsorter.core.face import FaceResult
from albumsorter.core.faces import FaceDetector


@dataclass(frozen=True)
class DetectionSettings:
    """How a decoded photo is searched for faces."""

    max_side: int = 1024  # photos are decoded to at most this long side for detection (see below)
    max_grid: int = 4  # at most this many overlapping square tiles along the long side ...
    min_tile: int = 320  # ... each at least this many pixels (smaller tiles mostly add false positives)
    tile_overlap: float = 0.25
    min_confidence: float = 0.5
    merge_iou: float = 0.3
    min_face_px: int = 12  # smaller boxes are mostly texture, and too small to read an expression from

    @property
    def id(self) -> str:
        """Changes whenever a setting that changes which faces are found changes (forces re-detection)."""
        return f"blazeface-full-range:{self.max_side}:{self.max_grid}x{self.min_tile}:{self.min_confidence}:{self.min_face_px}"

    def tile_side(self, width: int, height: int) -> int | None:
        """Side of the square tiles for a photo of this size; None when one whole-photo pass is enough."""
        long_side = max(width, height)
        grid = min(self.max_grid, math.ceil(long_side / self.min_tile))
        if grid <= 1:
            return None
        return math.ceil(long_side / (1 + (1 - self.tile_overlap) * (grid - 1)))


def tile_origins(length: int, tile: int, overlap: float) -> list[int]:
    """Start offsets covering [0, length) with tiles of `tile` overlapping by `overlap`."""
    if length <= tile:
        return [0]
    step = max(1, int(tile * (1.0 - overlap)))
    origins = list(range(0, length - tile, step))
    origins.append(length - tile)
    return sorted(set(origins))


def merge_detections(faces: Sequence[FaceResult], merge_iou: float) -> list[FaceResult]:
    """Greedy non-maximum suppression: keep the best-scoring face of each overlapping cluster.

    A face cut by a tile border shows up partially in one tile and whole in another; a box mostly inside a
    kept box (intersection over the smaller area) is such a partial duplicate and is dropped too.
    """
    kept: list[FaceResult] = []
    for face in sorted(faces, key=lambda f: f.score, reverse=True):
        if all(iou(face.box, k.box) < merge_iou and containment(face.box, k.box) < 0.6 for k in kept):
            kept.append(face)
    return sorted(kept, key=lambda f: (f.box[1], f.box[0]))


def find_faces(detector: FaceDetector, rgb: np.ndarray, settings: DetectionSettings) -> list[FaceResult]:
    """All faces in an upright RGB photo, in its pixel coordinates."""
    h, w = rgb.shape[:2]
    found = list(detector.detect(rgb))
    side = settings.tile_side(w, h)
    if side is not None:
        for y in tile_origins(h, side, settings.tile_overlap):
            for x in tile_origins(w, side, settings.tile_overlap):
                tile = rgb[y : y + side, x : x + side]
                for face in detector.detect(tile):
                    found.append(face.translated(x, y))
    found = [f for f in found if min(f.box[2] - f.box[0], f.box[3] - f.box[1]) >= settings.min_face_px]
    return merge_detections(found, settings.merge_iou)
