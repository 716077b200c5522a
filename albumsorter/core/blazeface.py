"""BlazeFace full-range's input and output, the way MediaPipe's face detector prepares and reads them.

The model sees a 192 x 192 RGB image scaled to [-1, 1]; a photo of another shape is letterboxed (scaled to fit,
centred, black around it). It answers, for each of 2,304 anchors (a 48 x 48 grid, 4 input pixels apart), a score
logit and 16 numbers: the box centre and size, then six key points, in input pixels relative to the anchor's
centre. Overlapping detections of one face are merged by weighted non-maximum suppression: the best one's score,
the score-weighted mean of their boxes and key points. This is what MediaPipe's Tasks FaceDetector does with this
model (its options for the full-range model); running it directly with LiteRT skips MediaPipe's graph (about 2.5
ms a call, and threads of its own that compete with our workers). Pure NumPy / OpenCV here; faces.py runs the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

INPUT_SIZE = 192
GRID = 48  # anchors per side (stride 4), one anchor per cell, all of size 1 (the whole input)
ANCHORS = 2304
VALUES = 16  # x, y, w, h, then (x, y) of six key points
KEY_POINTS = 6
SCORE_CLIP = 100.0  # MediaPipe clips the score logit to +-100 before the sigmoid


def anchor_centres() -> np.ndarray:
    """(2304, 2) anchor centres in input pixels, row by row (the model's output order)."""
    c = (np.arange(GRID, dtype=np.float64) + 0.5) * (INPUT_SIZE / GRID)
    ys, xs = np.meshgrid(c, c, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


_ANCHORS = anchor_centres()


@dataclass(frozen=True)
class Letterbox:
    """Where the photo lies in the model's input: input pixel (u, v) is photo pixel ((u - left) / sx, (v - top) / sy)."""

    left: float
    top: float
    sx: float
    sy: float


def letterbox(rgb: np.ndarray, out: np.ndarray) -> Letterbox:
    """Write the RGB uint8 photo into `out` (192 x 192 x 3 float32) as the model wants it; returns the placement.

    Sampled as MediaPipe's CPU converter samples it: the square around the photo's centre mapped corner to corner
    onto the input (input pixel u reads photo pixel u * side / 192 + offset, bilinear, black outside). Small faces
    are detected at a score near the threshold, so the sampling matters: cv2.resize's half-pixel convention found
    69 of the class photo's 74 faces."""
    h, w = rgb.shape[:2]
    side = max(h, w)
    step = side / INPUT_SIZE
    ox, oy = (w - side) / 2.0, (h - side) / 2.0
    to_photo = np.array([[step, 0.0, ox], [0.0, step, oy]])
    sampled = cv2.warpAffine(
        rgb, to_photo, (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=(0, 0, 0)
    )
    np.multiply(sampled, 2.0 / 255.0, out=out, casting="unsafe")
    out -= 1.0
    return Letterbox(-ox / step, -oy / step, 1.0 / step, 1.0 / step)


@dataclass(frozen=True)
class RawFace:
    """One detection in photo pixels: box (left, top, right, bottom), score, six (x, y) key points."""

    box: tuple[float, float, float, float]
    score: float
    points: tuple[tuple[float, float], ...]


def decode_detections(
    regressors: np.ndarray, logits: np.ndarray, min_score: float, min_suppression: float = 0.3
) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """The model's outputs ((2304, 16) and (2304,)) to merged detections in input pixels, best first:
    (score, box [x0, y0, x1, y1], key points (6, 2))."""
    min_logit = np.log(min_score / (1.0 - min_score)) if 0.0 < min_score < 1.0 else -np.inf
    keep = np.nonzero(logits >= min_logit)[0]
    if keep.size == 0:
        return []
    raw = regressors[keep].astype(np.float64)
    centre = raw[:, :2] + _ANCHORS[keep]
    half = raw[:, 2:4] / 2.0
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    points = raw[:, 4:].reshape(-1, KEY_POINTS, 2) + _ANCHORS[keep][:, None, :]
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits[keep].astype(np.float64), -SCORE_CLIP, SCORE_CLIP)))
    return weighted_nms(scores, boxes, points, min_suppression)


def weighted_nms(
    scores: np.ndarray, boxes: np.ndarray, points: np.ndarray, min_suppression: float
) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """MediaPipe's weighted non-maximum suppression: the best remaining detection and every one overlapping it
    by more than `min_suppression` (IoU) become one, with the best one's score and their score-weighted mean box
    and key points."""
    order = np.argsort(-scores, kind="stable")
    scores, boxes, points = scores[order], boxes[order], points[order]
    overlapping = _iou_matrix(boxes) > min_suppression
    alive = np.ones(len(scores), dtype=bool)
    merged = []
    for best in range(len(scores)):
        if not alive[best]:
            continue
        group = np.nonzero(overlapping[best] & alive)[0]
        if group.size == 0:  # a degenerate box overlaps nothing, not even itself
            group = np.array([best])
        alive[group] = False
        weights = scores[group] / scores[group].sum()
        merged.append((float(scores[best]), weights @ boxes[group], np.tensordot(weights, points[group], axes=1)))
    return merged


def to_photo(detections: list[tuple[float, np.ndarray, np.ndarray]], place: Letterbox, width: int, height: int) -> list[RawFace]:
    """Detections in input pixels to photo pixels; boxes clipped to the photo."""
    faces = []
    for score, box, points in detections:
        x0, y0 = (box[0] - place.left) / place.sx, (box[1] - place.top) / place.sy
        x1, y1 = (box[2] - place.left) / place.sx, (box[3] - place.top) / place.sy
        pts = tuple((float((p[0] - place.left) / place.sx), float((p[1] - place.top) / place.sy)) for p in points)
        clipped = (float(max(0.0, x0)), float(max(0.0, y0)), float(min(width, x1)), float(min(height, y1)))
        faces.append(RawFace(clipped, score, pts))
    return faces


def _iou_matrix(boxes: np.ndarray) -> np.ndarray:
    """(n, n) intersection over union of (n, 4) boxes."""
    lo = np.maximum(boxes[:, None, :2], boxes[None, :, :2])
    hi = np.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0.0, None), axis=2)
    areas = np.prod(np.clip(boxes[:, 2:] - boxes[:, :2], 0.0, None), axis=1)
    union = areas[:, None] + areas[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
