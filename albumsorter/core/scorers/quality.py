"""The "quality" face scorer: are the eyes open, how much does the face smile, where does it look, is it sharp,
is it cut by the photo's edge (issue #11).

MediaPipe's Face Landmarker models (core/landmarker.py, run directly with LiteRT) look at a square crop around
each face of the decoded photo (never the whole photo) that is at least MIN_FACE_PX wide; they give 478 landmarks,
52 blendshape scores and a head-pose matrix. Per face, `data` holds (coordinates in full-resolution pixels):

- ``eyes_open`` (0-1, the less open eye: one closed eye spoils a portrait as much as two), ``eye_left`` and
  ``eye_right`` (the subject's left and right): calibrated probabilities, 0.5 is the decision. Each combines the
  blendshape blink score with the eye aspect ratio of the eyelid landmarks (see `EyeCalibration`); None when
  the face is too small, turned too far or the landmarker finds no face in the crop.
- ``smile`` (0-1): mean of the mouthSmileLeft / mouthSmileRight blendshapes.
- ``pose``: ``yaw`` (+ = face turned toward the image's right), ``pitch`` (+ = looking up), ``roll``
  (+ = head tilted clockwise in the image), degrees, from the facial transformation matrix
  (core/face_mesh_geometry.py: MediaPipe's geometry pipeline fitted to the landmarks).
- ``landmarks``: ``right_eye``, ``left_eye`` (eye centres), ``mouth_right``, ``mouth_left`` (mouth corners).
- ``cut_off``: the face box touches the photo's edge, or part of the face mesh lies outside the photo.
- ``sharpness`` (0-1): core/photo_quality.py's blur measure on the face box (computed for every face).
- ``raw``: the uncalibrated eye features (blink scores, eye aspect ratios, the face's width in decoded pixels), so
  that a new calibration can be checked against stored faces.
- ``blendshapes`` (only with ``keep_blendshapes=True``): the 52 blendshape scores, e.g. for an expression head.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from albumsorter.core.face import Box, FaceResult, Point, ScorerResult
from albumsorter.core.landmarker import FaceLandmarker, FaceMesh, LandmarkerError, landmarker_model_path
from albumsorter.core.photo_quality import region_sharpness
from albumsorter.core.scorers.base import ScorerSpec, ScoringContext

KIND = "quality"
LANDMARKER_ID = "face-landmarker-f16-v1-litert-roi64"
QUALITY_VERSION = 1  # bump when anything below changes what is stored

# Faces narrower than this (box width in decoded pixels, the detection image of <= 1024 px) are not given to the
# landmarker: its eye judgement falls apart below it (measured by shrinking labelled faces: scripts/bench_quality.py
# --min-size). They still get cut_off and sharpness.
MIN_FACE_PX = 40
# Turned further than this, the far eye is hidden and its lids are guessed: it is not judged; beyond
# MAX_YAW_ANY, neither eye is.
MAX_YAW_BOTH_EYES = 40.0
MAX_YAW_ANY = 65.0
MAX_PITCH = 50.0
# The face counts as cut off when this share of its mesh lies outside the photo, or its box is within
# EDGE_PX decoded pixels of an edge (the detector clips boxes to the image).
CUT_MESH_SHARE = 0.05
EDGE_PX = 1.0

# Face-mesh indices (MediaPipe's canonical topology). "Right" = the subject's right, on the image's left.
# Eye aspect ratio points: corner, upper lid x2, other corner, lower lid x2 (pairs 1-5 and 2-4 are vertical).
RIGHT_EYE_EAR = (33, 160, 158, 133, 153, 144)
LEFT_EYE_EAR = (362, 385, 387, 263, 373, 380)
RIGHT_EYE_RING = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE_RING = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
MOUTH_RIGHT, MOUTH_LEFT = 61, 291


def calibration_path() -> Path:
    return landmarker_model_path().parent / "eye_calibration.json"


# Below this face width (decoded pixels) eyelids blur into few pixels: the calibration takes the width into
# account through s = log2(FULL_DETAIL_PX / width), 0 for faces at least this wide.
FULL_DETAIL_PX = 64.0


def smallness(face_px: float) -> float:
    return max(0.0, math.log2(FULL_DETAIL_PX / max(1.0, face_px)))


@dataclass(frozen=True)
class EyeCalibration:
    """P(eye open) = 1 / (1 + exp(-z)), z = intercept + blink * b + ear * e + s * (small + small_blink * b +
    small_ear * e), with b = logit(eyeBlink blendshape), e = eye aspect ratio, s = `smallness(face width)`.

    Fitted by scripts/fit_eye_calibration.py (logistic regression, one row per eye, each eye taking its face's
    hand label, faces also shrunk to 64/48/40 px) on tests/data/eye_labels.csv; the JSON file also records the
    cross-validated precision / recall.
    """

    id: str
    intercept: float
    blink: float
    ear: float
    small: float = 0.0
    small_blink: float = 0.0
    small_ear: float = 0.0

    FEATURES = ("blink_logit", "ear", "small", "small_blink_logit", "small_ear")

    @classmethod
    def load(cls, path: Path | None = None) -> EyeCalibration:
        path = path or calibration_path()
        try:
            data = json.loads(path.read_text())
            weights = [float(data["weights"].get(name, 0.0)) for name in cls.FEATURES]
            return cls(data["id"], float(data["intercept"]), *weights)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise LandmarkerError(f"eye calibration {path} is missing or unreadable: {exc}") from None

    @staticmethod
    def features(blink_score: float, ear: float, face_px: float) -> list[float]:
        """The regression's inputs, in FEATURES order."""
        b, s = logit(blink_score), smallness(face_px)
        return [b, ear, s, s * b, s * ear]

    def open_probability(self, blink_score: float, ear: float, face_px: float) -> float:
        weights = (self.blink, self.ear, self.small, self.small_blink, self.small_ear)
        z = self.intercept + sum(w * x for w, x in zip(weights, self.features(blink_score, ear, face_px)))
        return float(1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z)))))


def logit(p: float, eps: float = 1e-4) -> float:
    p = min(1.0 - eps, max(eps, float(p)))
    return math.log(p / (1.0 - p))


def eye_aspect_ratio(points: np.ndarray, idx: Sequence[int]) -> float:
    """Lid opening over eye width (Soukupová & Čech 2016): ~0.3 open, < 0.1 closed. Image-plane, (x, y) only."""
    p = points[list(idx), :2].astype(np.float64)
    width = float(np.linalg.norm(p[0] - p[3]))
    if width <= 1e-6:
        return 0.0
    return float((np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])) / (2.0 * width))


def raw_eye_features(mesh: FaceMesh) -> dict[str, float]:
    """The uncalibrated eye measurements: blendshape blink scores and eye aspect ratios, per eye."""
    return {
        "blink_left": round(mesh.blendshapes.get("eyeBlinkLeft", 0.0), 4),
        "blink_right": round(mesh.blendshapes.get("eyeBlinkRight", 0.0), 4),
        "ear_left": round(eye_aspect_ratio(mesh.points, LEFT_EYE_EAR), 4),
        "ear_right": round(eye_aspect_ratio(mesh.points, RIGHT_EYE_EAR), 4),
    }


def judged_eyes(yaw: float, pitch: float) -> tuple[bool, bool]:
    """(left, right): which eyes can be judged in this pose. Turned toward the image's right (yaw > 0, the
    subject turns to their left), the subject's left eye (on the image's right) turns away from the camera."""
    if abs(yaw) > MAX_YAW_ANY or abs(pitch) > MAX_PITCH:
        return False, False
    return yaw <= MAX_YAW_BOTH_EYES, yaw >= -MAX_YAW_BOTH_EYES


def head_pose(matrix: np.ndarray) -> dict[str, float]:
    """Yaw, pitch, roll in degrees from the landmarker's canonical-face -> camera matrix (camera: x right, y up,
    looking down -z). Yaw + = face turned toward the image's right, pitch + = up, roll + = clockwise in the image."""
    rotation = np.asarray(matrix, dtype=np.float64)[:3, :3]
    rotation = rotation / (np.linalg.norm(rotation[:, 0]) or 1.0)  # the matrix may carry a scale
    forward, up = rotation[:, 2], rotation[:, 1]
    yaw = math.degrees(math.atan2(forward[0], forward[2]))
    pitch = math.degrees(math.atan2(forward[1], math.hypot(forward[0], forward[2])))
    roll = math.degrees(math.atan2(up[0], up[1]))
    return {"yaw": round(yaw, 1), "pitch": round(pitch, 1), "roll": round(roll, 1)}


def touches_edge(box: Box, width: float, height: float, edge: float = EDGE_PX) -> bool:
    return box[0] <= edge or box[1] <= edge or box[2] >= width - edge or box[3] >= height - edge


def _point(points: np.ndarray, idx: Sequence[int] | int, scale: float) -> list[float]:
    p = points[list(idx) if not isinstance(idx, int) else [idx], :2].mean(axis=0)
    return [round(float(p[0]) * scale, 1), round(float(p[1]) * scale, 1)]


def _mesh_belongs_to(points: np.ndarray, box: Box) -> bool:
    """The landmarker may pick a neighbour in a crowded crop: its eyes must lie inside this face's box."""
    pad = 0.15 * (box[2] - box[0])
    for ring in (RIGHT_EYE_RING, LEFT_EYE_RING):
        x, y = points[list(ring), :2].mean(axis=0)
        if not (box[0] - pad <= x <= box[2] + pad and box[1] - pad <= y <= box[3] + pad):
            return False
    return True


class QualityScorer:
    """Not thread-safe (the landmarker is not): one instance per worker thread."""

    kind = KIND

    def __init__(
        self, landmarker: FaceLandmarker | None = None, calibration: EyeCalibration | None = None, keep_blendshapes: bool = False
    ) -> None:
        self.calibration = calibration or EyeCalibration.load()
        self.keep_blendshapes = keep_blendshapes  # all 52 scores in data["blendshapes"] (~0.9 KB of JSON a face)
        self.model_id = quality_model_id(self.calibration)
        self._landmarker = landmarker or FaceLandmarker()

    def mesh_in_image(self, image: np.ndarray, box: Box, eyes: tuple[Point, Point] | None = None) -> FaceMesh | None:
        """The landmarker's view of the face in `box` (`image`'s pixels; `eyes`: the detection's eye points, see
        FaceLandmarker.mesh), points in `image`'s pixels; None if it finds no face there, or its face is a neighbour's."""
        mesh = self._landmarker.mesh(image, box, eyes)
        if mesh is None or not _mesh_belongs_to(mesh.points, box):
            return None
        return mesh

    def face_data(self, image: np.ndarray, face: FaceResult, context: ScoringContext) -> dict:
        h, w = image.shape[:2]
        box = face.box
        data: dict = {
            "eyes_open": None,
            "eye_left": None,
            "eye_right": None,
            "smile": None,
            "pose": None,
            "landmarks": None,
            "cut_off": touches_edge(box, w, h),
            "sharpness": round(region_sharpness(image, box), 3),
        }
        eyes = (face.landmarks.right_eye, face.landmarks.left_eye)
        mesh = self.mesh_in_image(image, box, eyes) if box[2] - box[0] >= MIN_FACE_PX else None
        if mesh is None:
            return data
        points, shapes, scale = mesh.points, mesh.blendshapes, context.scale
        outside = (points[:, 0] < 0) | (points[:, 0] > w) | (points[:, 1] < 0) | (points[:, 1] > h)
        data["cut_off"] = bool(data["cut_off"] or outside.mean() >= CUT_MESH_SHARE)
        pose = head_pose(mesh.matrix)
        data["pose"] = pose
        data["smile"] = round((shapes.get("mouthSmileLeft", 0.0) + shapes.get("mouthSmileRight", 0.0)) / 2.0, 3)
        data["landmarks"] = {
            "right_eye": _point(points, RIGHT_EYE_RING, scale),
            "left_eye": _point(points, LEFT_EYE_RING, scale),
            "mouth_right": _point(points, MOUTH_RIGHT, scale),
            "mouth_left": _point(points, MOUTH_LEFT, scale),
        }
        if self.keep_blendshapes:
            data["blendshapes"] = {name: round(score, 3) for name, score in shapes.items() if not name.startswith("_")}
        raw = raw_eye_features(mesh)
        face_px = box[2] - box[0]
        data["raw"] = raw | {"face_px": round(face_px, 1)}  # the width the calibration saw (decoded pixels)
        judge_left, judge_right = judged_eyes(pose["yaw"], pose["pitch"])
        cal = self.calibration
        if judge_left:
            data["eye_left"] = round(cal.open_probability(raw["blink_left"], raw["ear_left"], face_px), 3)
        if judge_right:
            data["eye_right"] = round(cal.open_probability(raw["blink_right"], raw["ear_right"], face_px), 3)
        judged = [p for p in (data["eye_left"], data["eye_right"]) if p is not None]
        data["eyes_open"] = min(judged) if judged else None
        return data

    def score(self, image: np.ndarray, faces: Sequence[FaceResult], context: ScoringContext) -> list[ScorerResult | None]:
        results: list[ScorerResult | None] = []
        for face in faces:
            data = self.face_data(image, face, context)
            eyes = data["eyes_open"]
            label = None if eyes is None else ("eyes_open" if eyes >= 0.5 else "eyes_closed")
            results.append(ScorerResult(KIND, self.model_id, label, data))
        return results

    def close(self) -> None:
        self._landmarker.close()


def quality_model_id(calibration: EyeCalibration | None = None) -> str:
    """Changes with the landmarker, the eye calibration or this scorer's rules: stored results become stale."""
    cal = calibration or EyeCalibration.load()
    return f"{LANDMARKER_ID}+{cal.id}+min{MIN_FACE_PX}+q{QUALITY_VERSION}"


def quality_spec() -> ScorerSpec:
    return ScorerSpec(KIND, QualityScorer, quality_model_id())
