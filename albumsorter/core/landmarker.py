"""MediaPipe's Face Landmarker models (478 points, 52 blendshape scores, a head-pose matrix), run directly with LiteRT.

The bundle (models/face_landmarker/face_landmarker.task, Apache-2.0) is checked against its published SHA-256,
then its members are read from the zip in memory. Each face is handled as MediaPipe's Face Landmarker handled the
crop the app used to give it, minus MediaPipe's graph (~4 ms a face, and threads that compete with our workers):
a square crop of 1.6 x the app's face box, resized to 256 px; the bundle's short-range BlazeFace finds the face in
it (the crop shows it large, so its box and eye points are steadier than the whole-photo detection's); the region
of interest MediaPipe derives from that detection (box centre; turned so that the eyes lie level; 1.5 x the box)
is warped to the mesh model's 256 x 256 input. The 146-point subset MediaPipe gives the blendshape model and the
pose (face_mesh_geometry.py) follow MediaPipe's graphs (face_blendshapes_graph.cc, face_landmarks_detector_graph.cc).
A face at least ROI_FROM_DETECTION_PX wide skips the crop and the short-range detector (~3.5 ms of ~13 a face):
its region comes from the app's own detection, the box moved and scaled to where the short-range detector puts
it on average (DETECTION_TO_ROI), turned by the detection's eye points, and warped straight from the photo. On
smaller faces the detection's eye points are too coarse for that (closed-eye precision at 48 px fell from 0.76 to
0.66), so they keep MediaPipe's way.
"""

from __future__ import annotations

import hashlib
import io
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import cv2
import numpy as np

from albumsorter.core import blazeface
from albumsorter.core.classify import ModelError
from albumsorter.core.face import Box, Point
from albumsorter.core.face_mesh_geometry import FaceGeometry
from albumsorter.core.resources import models_dir

# Google's face_landmarker.task, float16, version 1 (see models/face_landmarker/PROVENANCE.md).
LANDMARKER_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
LANDMARKER_FILE = "face_landmarker.task"
DETECTOR_MODEL = "face_detector.tflite"
LANDMARKS_MODEL = "face_landmarks_detector.tflite"
BLENDSHAPES_MODEL = "face_blendshapes.tflite"
GEOMETRY_METADATA = "geometry_pipeline_metadata_landmarks.binarypb"

INPUT_SIZE = 256  # the landmark model's input, RGB in 0-1
ROI_SCALE = 1.5  # MediaPipe's RectTransformationCalculator on the detection box (face_detector_graph.cc)
# The crop the short-range detector looks at: a square of CROP_MARGIN x the app's box's longer side around its
# centre (BlazeFace's box runs brow to chin; the detector needs forehead and chin in view), resized to CROP_SIZE.
# The pose is solved in this frame too, as MediaPipe solved it in the crop it was given.
CROP_MARGIN = 1.6
CROP_SIZE = 256
# Faces at least this wide (decoded pixels) take their region straight from the app's detection: the short-range
# detector (~3.5 ms a face with its crop) is only needed where the detection's eye points are too coarse. Closed-eye
# precision / recall on the hand-labelled faces, cross-validated (scripts/fit_eye_calibration.py, each size found by
# the app's detection): as shipped 0.709 / 0.759 at native size and 0.699 / 0.873 shrunk to 64 px; with the
# short-range detector for every face 0.741 / 0.709 and 0.718 / 0.868. With the region from the detection for
# smaller faces too, precision at 48 px fell from 0.76 to 0.66: there the short-range detector stays.
ROI_FROM_DETECTION_PX = 64.0
# Where the short-range detector's box lies against the app's detection box (medians over 299 faces at least 64 px
# wide in 300 expw_dev photos; scripts/fit_detection_roi.py): centre moved by (dx, dy) x the box's long side, side x
# ratio.
DETECTION_TO_ROI = (0.0116, 0.0335, 0.9588)
MIN_DETECTION = 0.5  # MediaPipe's min_face_detection_confidence default
MIN_PRESENCE = 0.5  # sigmoid of the model's face flag; MediaPipe's min_face_presence_confidence default

# Landmarks the blendshape model reads, in MediaPipe's order (kLandmarksSubsetIdxs, face_blendshapes_graph.cc).
BLENDSHAPE_POINTS = (
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63, 65, 66, 67, 70, 78, 80,
    81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133, 136, 144, 145, 146, 148, 149, 150, 152, 153,
    154, 155, 157, 158, 159, 160, 161, 162, 163, 168, 172, 173, 176, 178, 181, 185, 191, 195, 197, 234, 246, 249, 251,
    263, 267, 269, 270, 276, 282, 283, 284, 285, 288, 291, 293, 295, 296, 297, 300, 308, 310, 311, 312, 314, 317, 318,
    321, 323, 324, 332, 334, 336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378, 379, 380, 381, 382, 384, 385, 386,
    387, 388, 389, 390, 397, 398, 400, 402, 405, 409, 415, 454, 466, 468, 469, 470, 471, 472, 473, 474, 475, 476, 477,
)  # fmt: skip
BLENDSHAPE_NAMES = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight", "cheekPuff",
    "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight",
    "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight",
    "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen", "jawRight",
    "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight", "mouthFunnel",
    "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight", "mouthPucker",
    "mouthRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft",
    "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "noseSneerLeft", "noseSneerRight",
)  # fmt: skip


_BLENDSHAPE_INDEX = np.array(BLENDSHAPE_POINTS)


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


def bundle_members(data: bytes, names: tuple[str, ...]) -> dict[str, bytes]:
    """Members of the .task bundle (a zip), read in memory."""
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        return {name: bundle.read(name) for name in names}


@dataclass(frozen=True)
class FaceMesh:
    """One face as the landmarker sees it, in pixel coordinates of the image it was given."""

    points: np.ndarray  # (478, 3) float32: x, y in image pixels; z in the same pixel scale (depth, camera-relative)
    blendshapes: dict[str, float]  # 52 ARKit-style scores in 0-1, e.g. "eyeBlinkLeft" (the subject's left)
    matrix: np.ndarray  # (4, 4) float32: canonical face model -> camera space (rotation gives head pose)


def roi_transform(box: Box, right_eye: Point, left_eye: Point, scale: float = ROI_SCALE, size: int = INPUT_SIZE) -> np.ndarray:
    """(2, 3) affine map from the model's input pixels to image pixels: a square of `scale` x the box's long side
    around its centre, turned so that the line from the subject's right eye to the left one is horizontal."""
    angle = math.atan2(left_eye[1] - right_eye[1], left_eye[0] - right_eye[0])  # 0 for level eyes
    k = max(box[2] - box[0], box[3] - box[1]) * scale / size
    cos, sin = math.cos(angle) * k, math.sin(angle) * k
    centre = ((box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0)
    half = size / 2.0
    return np.array([[cos, -sin, centre[0] - (cos - sin) * half], [sin, cos, centre[1] - (sin + cos) * half]], dtype=np.float64)


def crop_square(box: Box, margin: float = CROP_MARGIN) -> tuple[int, int, int]:
    """(left, top, side) in whole pixels of the square `face_crop` cuts around the box."""
    side = max(1, int(round(max(box[2] - box[0], box[3] - box[1]) * margin)))
    return int(round((box[0] + box[2]) / 2.0 - side / 2.0)), int(round((box[1] + box[3]) / 2.0 - side / 2.0)), side


def face_crop(
    image: np.ndarray, box: Box, margin: float = CROP_MARGIN, size: int = CROP_SIZE
) -> tuple[np.ndarray, float, float, float]:
    """A square crop around the box, padded with black where it leaves the image, resized to `size`.

    Returns (crop, x0, y0, k): a crop pixel (u, v) is image pixel (x0 + u * k, y0 + v * k).
    """
    x0, y0, side = crop_square(box, margin)
    h, w = image.shape[:2]
    sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(w, x0 + side), min(h, y0 + side)
    if (sx0, sy0, sx1, sy1) == (x0, y0, x0 + side, y0 + side):
        crop = image[y0 : y0 + side, x0 : x0 + side, :3]  # inside the photo: no copy
    else:
        crop = np.zeros((side, side, 3), dtype=np.uint8)
        if sx1 > sx0 and sy1 > sy0:
            crop[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = image[sy0:sy1, sx0:sx1, :3]
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(crop, (size, size), interpolation=interpolation), float(x0), float(y0), side / size


class FaceLandmarker:
    """Runs the face mesh and blendshape models on faces of a photo. Not thread-safe: one instance per worker."""

    def __init__(self, model_path: Path | str | None = None) -> None:
        path = Path(model_path) if model_path else landmarker_model_path()
        self.model_path = path
        data = read_verified_model(path)
        try:
            members = bundle_members(data, (DETECTOR_MODEL, LANDMARKS_MODEL, BLENDSHAPES_MODEL, GEOMETRY_METADATA))
            self._detector = blazeface.BlazeFace(members[DETECTOR_MODEL], blazeface.SHORT_RANGE, MIN_DETECTION)
            self._mesh_model = blazeface.litert_interpreter(members[LANDMARKS_MODEL])
            self._shape_model = blazeface.litert_interpreter(members[BLENDSHAPES_MODEL])
            self.geometry = FaceGeometry.parse(members[GEOMETRY_METADATA])
        except Exception as exc:
            raise LandmarkerError(f"face landmarker model {path} cannot be loaded: {str(exc).splitlines()[0]}") from None
        self._mesh_input = self._mesh_model.get_input_details()[0]["index"]
        # outputs in the model's order: 478 x (x, y, z) in input pixels, then the face flag (a logit)
        self._mesh_outputs = [o["index"] for o in self._mesh_model.get_output_details()[:2]]
        self._shape_input = self._shape_model.get_input_details()[0]["index"]
        self._shape_output = self._shape_model.get_output_details()[0]["index"]

    def mesh(self, image: np.ndarray, box: Box, eyes: tuple[Point, Point] | None = None) -> FaceMesh | None:
        """The face in `box` (the app's detection) of an RGB uint8 image, points in the image's pixels; None when
        the short-range detector finds no face in the crop or the mesh model says there is none. `eyes` (the
        detection's right and left eye, image pixels): for a face at least ROI_FROM_DETECTION_PX wide the region
        comes straight from the detection (see DETECTION_TO_ROI), without the short-range detector."""
        if eyes is not None and box[2] - box[0] >= ROI_FROM_DETECTION_PX:
            return self._mesh_from_detection(image, box, eyes)
        crop, x0, y0, k = face_crop(image, box)
        face = self.face_in_crop(crop)
        if face is None:
            return None
        local = self._mesh_at(crop, face.box, face.points[0], face.points[1])
        if local is None:
            return None
        points, shapes = local
        matrix = self.geometry.pose_matrix(points / CROP_SIZE)  # solved in the crop's frame, as MediaPipe did
        points[:, :2] = points[:, :2] * k + (x0, y0)
        points[:, 2] *= k
        return FaceMesh(points, shapes, matrix)

    def face_in_crop(self, crop: np.ndarray) -> blazeface.RawFace | None:
        """The short-range detector's face in a `face_crop`: a crop of a crowd can hold a neighbour too, so the face
        nearest the middle is ours; None when it finds none."""
        middle = CROP_SIZE / 2.0
        found = self._detector.detect(crop)
        return min(
            found,
            key=lambda f: ((f.box[0] + f.box[2]) / 2 - middle) ** 2 + ((f.box[1] + f.box[3]) / 2 - middle) ** 2,
            default=None,
        )

    def _mesh_from_detection(self, image: np.ndarray, box: Box, eyes: tuple[Point, Point]) -> FaceMesh | None:
        """The mesh with its region taken from the app's detection: its box moved and scaled as the short-range
        detector's box lies on average (DETECTION_TO_ROI), turned by the detection's eyes; warped from the image."""
        dx, dy, ratio = DETECTION_TO_ROI
        side = max(box[2] - box[0], box[3] - box[1])
        cx, cy = (box[0] + box[2]) / 2.0 + dx * side, (box[1] + box[3]) / 2.0 + dy * side
        half = ratio * side / 2.0
        found = self._mesh_at(image, (cx - half, cy - half, cx + half, cy + half), eyes[0], eyes[1])
        if found is None:
            return None
        points, shapes = found
        # the pose solved in the frame the short-range path uses (the crop face_crop would make), so both agree
        x0, y0, crop_side = crop_square(box)
        k = crop_side / CROP_SIZE
        local = points.copy()
        local[:, :2] = (local[:, :2] - (x0, y0)) / k
        local[:, 2] /= k
        return FaceMesh(points, shapes, self.geometry.pose_matrix(local / CROP_SIZE))

    def _mesh_at(
        self, crop: np.ndarray, box: Box, right_eye: Point, left_eye: Point
    ) -> tuple[np.ndarray, dict[str, float]] | None:
        """(478 x 3 points in `crop`'s pixels, blendshape scores) of the face at `box` with these eyes, or None.
        `crop`: the short-range path's crop, or the whole photo when the region comes from the app's detection."""
        to_crop = roi_transform(box, right_eye, left_eye)
        window = cv2.warpAffine(
            crop,
            to_crop,
            (INPUT_SIZE, INPUT_SIZE),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,  # as MediaPipe's ImageToTensorCalculator
        )
        np.multiply(window, np.float32(1.0 / 255.0), out=self._mesh_model.tensor(self._mesh_input)()[0])
        self._mesh_model.invoke()
        raw, flag = (self._mesh_model.get_tensor(i) for i in self._mesh_outputs)
        if 1.0 / (1.0 + math.exp(-float(np.clip(flag.ravel()[0], -50, 50)))) < MIN_PRESENCE:
            return None
        local = raw.reshape(478, 3)
        # the blendshape model is invariant to the points' scale and offset: input pixels serve as well as MediaPipe's
        self._shape_model.tensor(self._shape_input)()[0] = local[_BLENDSHAPE_INDEX, :2]
        self._shape_model.invoke()
        scores = self._shape_model.get_tensor(self._shape_output).ravel()
        points = np.empty((478, 3), dtype=np.float32)
        points[:, :2] = local[:, :2] @ to_crop[:, :2].T + to_crop[:, 2]
        points[:, 2] = local[:, 2] * math.hypot(to_crop[0, 0], to_crop[1, 0])  # z scales like x
        return points, {name: float(s) for name, s in zip(BLENDSHAPE_NAMES, scores)}

    def close(self) -> None:
        """Nothing to release beyond memory; kept so that the scorer can close what it owns."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
