"""Finding every face in a photo, small ones in group photos and close-ups included.

BlazeFace sees its input squeezed to 192 x 192 pixels, so in a 2000-pixel group photo a face 40 pixels
wide shrinks to 4 and is lost. A whole-photo pass finds the large faces; overlapping tiles, each
looked at on its own, find the small ones; duplicates are merged by overlap.

The full-range model was trained on faces up to about half its input: a face that fills the photo (a
selfie, a portrait, a crop) or runs off its edge is mostly missed. One more pass over the photo framed
in a black border of half its long side shows such a face at the size the model knows (faces of
../shared/photos cropped tight: 89 of 89 found instead of 21; cut by an edge: 98.6 % instead of 91.9 %;
expw_dev faces matched at IoU >= 0.4: 88.3 % instead of 87.5 %; scripts/eval_detection.py). That pass only
adds faces the other passes did not find, so their boxes and key points stay as they were.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from albumsorter.core.face import FaceResult, Landmarks
from albumsorter.core.faces import FaceDetector
from albumsorter.core.geometry import containment, iou
from albumsorter.core.subjects import BYSTANDER_SIZE


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
    # Close-ups: one more whole-photo pass inside a black border of this share of the long side on every side
    # (0: no such pass). The photo is first reduced to `pad_photo_px` on its long side: the model sees 192 x 192.
    pad_fraction: float = 0.5
    pad_photo_px: int = 256
    # ... keeping only faces at least this share of the photo's long side: a smaller one is under ~14 px in
    # that pass's view, where the whole-photo pass and the tiles (which see it larger) are the better judges;
    # what the padded pass alone finds at that size is mostly texture (crowds, knees, blurred background).
    pad_min_share: float = 0.15
    # Tiles only matter for faces the whole-photo pass is too coarse to see: on 54 photos of ../shared and 400 of
    # expw_dev, no face found by the tiles alone was taller than 0.097 of the photo's long side (99 px of 1024).
    # When a face already found is so tall that any face the tiles alone could add would be a bystander (under
    # BYSTANDER_SIZE of its height: a portrait, a selfie, a couple), the tiles are skipped: they cost 12-16
    # detector runs a photo and could only add faces that count for nothing.
    tile_face_share: float = 0.105
    skip_tiles_behind_subjects: bool = True
    # Without such a subject the tiles still mostly find nothing new: on 1,068 photos of expw_dev and ../shared
    # where they ran, they added a face to 279. Where the whole-photo pass found one or two faces and nothing else
    # face-like (no candidate scoring `tile_hint_score` or more beside them) the tiles are skipped too: they run on
    # 718 of those photos, no labelled expw_dev face is lost, and of 3,849 faces 5 go (3 bystanders, a fist, a face
    # printed on a hoodie; scripts/eval_tile_skip.py). At 0.2 the group sample's third person was lost. With no face
    # at all (people far away) or a group (`group_faces` or more: smaller faces are likely) they always run.
    skip_tiles_without_hints: bool = True
    tile_hint_score: float = 0.1
    group_faces: int = 3

    @property
    def id(self) -> str:
        """Changes whenever a setting that changes which faces are found changes (forces re-detection: catalogs
        indexed before the padded pass was added find their close-ups on the next run). Skipping tiles behind subjects
        is not part of it: a photo indexed with its tiles only has a few more bystanders, nothing to detect again."""
        base = f"blazeface-full-range:{self.max_side}:{self.max_grid}x{self.min_tile}:{self.min_confidence}:{self.min_face_px}"
        return base if self.pad_fraction <= 0 else f"{base}:pad{self.pad_fraction:g}@{self.pad_photo_px}>{self.pad_min_share:g}"

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


def padded_pass(detector: FaceDetector, rgb: np.ndarray, settings: DetectionSettings) -> list[FaceResult]:
    """Faces found in the photo framed by a black border (close-ups, faces cut by the edge), in its pixels;
    boxes clipped to the photo. Faces smaller than `pad_min_share` of the long side are left out."""
    h, w = rgb.shape[:2]
    k = min(1.0, settings.pad_photo_px / max(h, w))
    small = rgb if k >= 1.0 else cv2.resize(rgb, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA)
    pad = max(1, round(settings.pad_fraction * max(small.shape[:2])))
    framed = cv2.copyMakeBorder(np.ascontiguousarray(small), pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    sx, sy = w / small.shape[1], h / small.shape[0]  # exact per axis (rounding of the reduced size)
    faces = []
    for face in detector.detect(framed):
        face = face.translated(-pad, -pad)
        box = (
            max(0.0, face.box[0] * sx),
            max(0.0, face.box[1] * sy),
            min(float(w), face.box[2] * sx),
            min(float(h), face.box[3] * sy),
        )
        if max(box[2] - box[0], box[3] - box[1]) >= settings.pad_min_share * max(h, w):
            marks = face.landmarks
            points = [(getattr(marks, n)[0] * sx, getattr(marks, n)[1] * sy) for n in marks.names()]
            faces.append(FaceResult(box, face.score, Landmarks.from_points(points)))
    return faces


def add_new_faces(kept: list[FaceResult], extra: Sequence[FaceResult], merge_iou: float) -> list[FaceResult]:
    """`kept` plus the faces of `extra` (best first) that overlap none of them, in reading order."""
    out = list(kept)
    for face in sorted(extra, key=lambda f: f.score, reverse=True):
        if all(iou(face.box, k.box) < merge_iou and containment(face.box, k.box) < 0.6 for k in out):
            out.append(face)
    return sorted(out, key=lambda f: (f.box[1], f.box[0]))


def find_faces(detector: FaceDetector, rgb: np.ndarray, settings: DetectionSettings) -> list[FaceResult]:
    """All faces in an upright RGB photo, in its pixel coordinates."""
    h, w = rgb.shape[:2]
    found, candidates = detector.detect_with_candidates(
        rgb, settings.tile_hint_score if settings.skip_tiles_without_hints else None
    )
    side = settings.tile_side(w, h)
    if side is not None and tiles_may_add_faces(_large_enough(found, settings), candidates, w, h, settings):
        for y in tile_origins(h, side, settings.tile_overlap):
            for x in tile_origins(w, side, settings.tile_overlap):
                tile = rgb[y : y + side, x : x + side]
                for face in detector.detect(tile):
                    found.append(face.translated(x, y))
    faces = merge_detections(_large_enough(found, settings), settings.merge_iou)
    if settings.pad_fraction > 0:
        faces = add_new_faces(faces, _large_enough(padded_pass(detector, rgb, settings), settings), settings.merge_iou)
    return faces


def tiles_may_add_faces(
    faces: Sequence[FaceResult], candidates: Sequence[FaceResult], width: int, height: int, settings: DetectionSettings
) -> bool:
    """Whether tiles could add a face worth their 12-16 detector runs, judged from the whole-photo pass: its faces
    and its `candidates` (what scored under the threshold). See `DetectionSettings.skip_tiles_without_hints`."""
    if tiles_could_only_add_bystanders(faces, width, height, settings):
        return False
    if not settings.skip_tiles_without_hints or not faces or len(faces) >= settings.group_faces:
        return True
    kept = merge_detections(faces, settings.merge_iou)
    return any(all(iou(c.box, k.box) < settings.merge_iou for k in kept) for c in candidates)


def tiles_could_only_add_bystanders(faces: Sequence[FaceResult], width: int, height: int, settings: DetectionSettings) -> bool:
    """A face the whole-photo pass found is so tall that the faces only tiles find would be bystanders. (The padded
    pass's faces do not count: that pass only ever adds faces, it never changes what the others find.)"""
    if not settings.skip_tiles_behind_subjects or not faces:
        return False
    tallest = max(f.box[3] - f.box[1] for f in faces)
    return tallest * BYSTANDER_SIZE >= settings.tile_face_share * max(width, height)


def _large_enough(faces: Sequence[FaceResult], settings: DetectionSettings) -> list[FaceResult]:
    return [f for f in faces if min(f.box[2] - f.box[0], f.box[3] - f.box[1]) >= settings.min_face_px]
