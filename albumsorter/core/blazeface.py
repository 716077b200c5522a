"""BlazeFace's input and output, the way MediaPipe's face detectors prepare and read them, and a LiteRT runner.

Two BlazeFace models are used: full range (192 x 192 input: the app's face detector, faces.py) and short range
(128 x 128: MediaPipe's Face Landmarker finds the face in a crop with it before the mesh, landmarker.py). Each sees
its input as RGB scaled to [-1, 1]; an image of another shape is letterboxed (scaled to fit, centred, black around
it). For each SSD anchor it answers a score logit and 16 numbers: the box centre and size, then six key points,
in input pixels relative to the anchor's centre. Overlapping detections of one face are merged by weighted
non-maximum suppression: the best one's score, the score-weighted mean of their boxes and key points. This is what
MediaPipe's face detector graph does with these models; running them directly with LiteRT skips MediaPipe's graph
(about 2.5 ms a call, and threads of its own that compete with our workers).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

VALUES = 16  # x, y, w, h, then (x, y) of six key points
KEY_POINTS = 6
SCORE_CLIP = 100.0  # MediaPipe clips the score logit to +-100 before the sigmoid


@dataclass(frozen=True)
class SsdLayout:
    """A model's input side and its anchor grids in output order: (cells per side, anchors per cell). Every anchor
    sits at its cell's centre and spans the whole input (MediaPipe's fixed_anchor_size)."""

    input_size: int
    grids: tuple[tuple[int, int], ...]

    @functools.cached_property
    def anchors(self) -> np.ndarray:
        """(N, 2) anchor centres in input pixels, in the model's output order."""
        out = []
        for cells, per_cell in self.grids:
            c = (np.arange(cells, dtype=np.float64) + 0.5) * (self.input_size / cells)
            ys, xs = np.meshgrid(c, c, indexing="ij")
            centres = np.stack([xs.ravel(), ys.ravel()], axis=1)
            out.append(np.repeat(centres, per_cell, axis=0))
        return np.concatenate(out)

    @property
    def count(self) -> int:
        return sum(cells * cells * per_cell for cells, per_cell in self.grids)


FULL_RANGE = SsdLayout(192, ((48, 1),))  # one grid, stride 4: 2,304 anchors
SHORT_RANGE = SsdLayout(128, ((16, 2), (8, 6)))  # strides 8 and 16 (three layers of 2 merged): 896 anchors


@dataclass(frozen=True)
class Letterbox:
    """Where the photo lies in the model's input: input pixel (u, v) is photo pixel ((u - left) / sx, (v - top) / sy)."""

    left: float
    top: float
    sx: float
    sy: float


def letterbox(rgb: np.ndarray, out: np.ndarray) -> Letterbox:
    """Write the RGB uint8 photo into `out` (size x size x 3 float32) as the model wants it; returns the placement.

    Sampled as MediaPipe's CPU converter samples it: the square around the photo's centre mapped corner to corner
    onto the input (input pixel u reads photo pixel u * side / 192 + offset, bilinear, black outside). Small faces
    are detected at a score near the threshold, so the sampling matters: cv2.resize's half-pixel convention found
    69 of the class photo's 74 faces."""
    h, w = rgb.shape[:2]
    side, size = max(h, w), out.shape[0]
    step = side / size
    ox, oy = (w - side) / 2.0, (h - side) / 2.0
    to_photo = np.array([[step, 0.0, ox], [0.0, step, oy]])
    sampled = cv2.warpAffine(rgb, to_photo, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=(0, 0, 0))
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
    regressors: np.ndarray, logits: np.ndarray, layout: SsdLayout, min_score: float, min_suppression: float = 0.3
) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """The model's outputs ((N, 16) and (N,)) to merged detections in input pixels, best first:
    (score, box [x0, y0, x1, y1], key points (6, 2))."""
    min_logit = np.log(min_score / (1.0 - min_score)) if 0.0 < min_score < 1.0 else -np.inf
    keep = np.nonzero(logits >= min_logit)[0]
    if keep.size == 0:
        return []
    raw = regressors[keep].astype(np.float64)
    anchors = layout.anchors[keep]
    centre = raw[:, :2] + anchors
    half = raw[:, 2:4] / 2.0
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    points = raw[:, 4:].reshape(-1, KEY_POINTS, 2) + anchors[:, None, :]
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


def litert_interpreter(model: bytes) -> Any:
    """A LiteRT interpreter for a model's bytes on one thread (each indexing worker is a process of its own),
    tensors allocated."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model, num_threads=1)
    interpreter.allocate_tensors()
    return interpreter


class BlazeFace:
    """One BlazeFace model run by LiteRT on one thread. Not thread-safe. Raises ValueError for a model whose input
    or outputs do not fit `layout`."""

    def __init__(self, model: bytes, layout: SsdLayout, min_score: float = 0.5, min_suppression: float = 0.3) -> None:
        self.layout, self.min_score, self.min_suppression = layout, min_score, min_suppression
        self._interpreter = litert_interpreter(model)
        (image,) = self._interpreter.get_input_details()
        outputs = {tuple(o["shape"][1:]): o["index"] for o in self._interpreter.get_output_details()}
        size = layout.input_size
        if tuple(image["shape"]) != (1, size, size, 3) or set(outputs) != {(layout.count, VALUES), (layout.count, 1)}:
            raise ValueError(f"not a BlazeFace model with a {size} x {size} input and {layout.count} anchors")
        self._input = image["index"]
        self._regressors = outputs[(layout.count, VALUES)]
        self._logits = outputs[(layout.count, 1)]
        self._buffer = np.zeros((1, size, size, 3), dtype=np.float32)

    def detect(self, rgb: np.ndarray) -> list[RawFace]:
        """Faces in an RGB uint8 image, in its pixels, best first."""
        return self.detect_with_candidates(rgb, None)[0]

    def detect_with_candidates(self, rgb: np.ndarray, candidate_score: float | None) -> tuple[list[RawFace], list[RawFace]]:
        """The faces of `detect` and, from the same run, the weaker candidates: what scores at least
        `candidate_score` but under the model's threshold (decoded on their own, so the faces stay exactly as
        `detect` finds them). No candidates when `candidate_score` is None."""
        h, w = rgb.shape[:2]
        if h == 0 or w == 0:
            return [], []
        place = letterbox(np.ascontiguousarray(rgb, dtype=np.uint8), self._buffer[0])
        self._interpreter.set_tensor(self._input, self._buffer)
        self._interpreter.invoke()
        regressors = self._interpreter.get_tensor(self._regressors)[0]
        logits = self._interpreter.get_tensor(self._logits)[0, :, 0]
        found = decode_detections(regressors, logits, self.layout, self.min_score, self.min_suppression)
        weak = []
        if candidate_score is not None and candidate_score < self.min_score:
            weak = [
                d
                for d in decode_detections(regressors, logits, self.layout, candidate_score, self.min_suppression)
                if d[0] < self.min_score
            ]
        return _in_photo(found, place, w, h), _in_photo(weak, place, w, h)


def _in_photo(detections: list[tuple[float, np.ndarray, np.ndarray]], place: Letterbox, width: int, height: int) -> list[RawFace]:
    """`to_photo`, without boxes that lie wholly outside the photo (in the letterbox's black)."""
    return [
        face for face in to_photo(detections, place, width, height) if face.box[2] > face.box[0] and face.box[3] > face.box[1]
    ]
