"""Face pre-processing of thesis §5.2: CLAHE, eye-line rotation, spatial normalisation.

One implementation, used by the app's pipeline and by `training/`, so that a model sees in the
app exactly what it saw in training. Every step is a pure function on numpy arrays.

Conventions: points are (x, y) in pixels of the image they refer to; `right_eye` is the subject's
right eye (on the image's left in an upright face), as MediaPipe's keypoint 0 is. Using the
subject's eyes rather than "leftmost eye" keeps the angle right even for upside-down faces.

Two variants exist and both must stay available (the thesis found pre-processing helps some
networks and hurts others): `PreprocessConfig(enabled=True)` runs CLAHE + rotation + spatial
normalisation; `enabled=False` crops the detector's box to a square and resizes it, nothing more.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

Point = tuple[float, float]
Box = tuple[float, float, float, float]  # left, top, right, bottom

# Thesis §5.2.3: crop 1.7 x inter-eye distance to each side of the eye midpoint, 1.3 x above, 3.2 x below.
SIDE_FACTOR = 1.7
ABOVE_FACTOR = 1.3
BELOW_FACTOR = 3.2

# Without pre-processing the detector's box is made square (its longer side) plus this margin on each side.
# BlazeFace's box already runs from brow to chin, as FER-style crops do: on expw_dev through the app's
# pipeline a FER+-trained model scored best with no margin (7 classes: 0.0 -> 36.4 %, 0.15 -> 33.9 %,
# 0.3 -> 28.1 %; `python -m training evaluate --box-margin`, training/RECIPES.md).
DEFAULT_BOX_MARGIN = 0.0


@dataclass(frozen=True)
class PreprocessConfig:
    """How a face becomes a model input. Stored in (and read from) a model card."""

    enabled: bool = True
    size: int = 48
    channels: int = 1  # 1 = grey, 3 = RGB
    clahe_clip_limit: float = 2.0
    clahe_tile_grid: int = 4  # tiles per side on the (small) face crop
    box_margin: float = DEFAULT_BOX_MARGIN

    def to_dict(self) -> dict:
        return {
            "enabled": self.enabled,
            "size": self.size,
            "channels": self.channels,
            "clahe_clip_limit": self.clahe_clip_limit,
            "clahe_tile_grid": self.clahe_tile_grid,
            "box_margin": self.box_margin,
        }

    @classmethod
    def from_dict(cls, data: dict) -> PreprocessConfig:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


# --- single steps -------------------------------------------------------------------------------


def to_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """Convert an RGB or grey uint8 image to 1 (grey, HxWx1) or 3 (RGB, HxWx3) channels."""
    if image.ndim == 2:
        image = image[:, :, None]
    have = image.shape[2]
    if have == 4:
        image = image[:, :, :3]
        have = 3
    if have == channels:
        return image
    if channels == 1:
        return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[:, :, None]
    if channels == 3:
        return np.repeat(image, 3, axis=2)
    raise ValueError(f"channels must be 1 or 3, not {channels}")


def apply_clahe(image: np.ndarray, clip_limit: float = 2.0, tile_grid: int = 4) -> np.ndarray:
    """Contrast-limited adaptive histogram equalisation (thesis §5.2.1).

    Grey images are equalised directly; colour images on the lightness channel only, so hues stay.
    """
    clahe = cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=(tile_grid, tile_grid))
    if image.ndim == 2 or image.shape[2] == 1:
        grey = image.reshape(image.shape[0], image.shape[1])
        return clahe.apply(grey).reshape(image.shape)
    lab = cv2.cvtColor(np.ascontiguousarray(image[:, :, :3]), cv2.COLOR_RGB2LAB)
    lab[:, :, 0] = clahe.apply(lab[:, :, 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


def eye_line_angle(right_eye: Point, left_eye: Point) -> float:
    """Angle in degrees of the line from the subject's right eye to the left eye (0 = horizontal)."""
    return math.degrees(math.atan2(left_eye[1] - right_eye[1], left_eye[0] - right_eye[0]))


def eye_midpoint(right_eye: Point, left_eye: Point) -> Point:
    return ((right_eye[0] + left_eye[0]) / 2.0, (right_eye[1] + left_eye[1]) / 2.0)


def rotation_matrix(center: Point, angle_deg: float) -> np.ndarray:
    """2x3 affine matrix rotating an image by `angle_deg` about `center`.

    With image y pointing down, rotating by the eye-line angle makes that line horizontal.
    """
    return cv2.getRotationMatrix2D((float(center[0]), float(center[1])), float(angle_deg), 1.0)


def rotate_image(image: np.ndarray, center: Point, angle_deg: float) -> np.ndarray:
    """Rotate about `center`, keeping the image size; pixels from outside are edge-replicated."""
    h, w = image.shape[:2]
    out = cv2.warpAffine(
        image, rotation_matrix(center, angle_deg), (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return out.reshape(image.shape)


def rotate_points(points: np.ndarray, center: Point, angle_deg: float) -> np.ndarray:
    """Apply the same rotation as `rotate_image` to (N, 2) points."""
    m = rotation_matrix(center, angle_deg)
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return pts @ m[:, :2].T + m[:, 2]


def normalisation_box(right_eye: Point, left_eye: Point) -> Box:
    """Spatial-normalisation crop for eyes on a horizontal line (thesis §5.2.3).

    1.7 x the inter-eye distance to each side of the midpoint, 1.3 x above, 3.2 x below.
    """
    mx, my = eye_midpoint(right_eye, left_eye)
    d = math.dist(right_eye, left_eye)
    return (mx - SIDE_FACTOR * d, my - ABOVE_FACTOR * d, mx + SIDE_FACTOR * d, my + BELOW_FACTOR * d)


def square_box(box: Box, margin: float = DEFAULT_BOX_MARGIN) -> Box:
    """The square around a detector box's centre, its side the longer edge plus `margin` on each side."""
    left, top, right, bottom = box
    cx, cy = (left + right) / 2.0, (top + bottom) / 2.0
    half = max(right - left, bottom - top) * (0.5 + margin)
    return (cx - half, cy - half, cx + half, cy + half)


def crop_with_padding(image: np.ndarray, box: Box) -> np.ndarray:
    """Crop `box` (rounded to whole pixels); where it leaves the image, pad by replicating the edge."""
    h, w = image.shape[:2]
    left, top, right, bottom = (int(round(v)) for v in box)
    if right <= left or bottom <= top:
        raise ValueError(f"empty crop box {box}")
    pad_l, pad_t = max(0, -left), max(0, -top)
    pad_r, pad_b = max(0, right - w), max(0, bottom - h)
    if right <= 0 or bottom <= 0 or left >= w or top >= h:
        raise ValueError(f"crop box {box} lies outside the {w}x{h} image")
    inner = image[max(0, top) : min(h, bottom), max(0, left) : min(w, right)]
    if inner.size == 0:
        raise ValueError(f"crop box {box} lies outside the {w}x{h} image")
    if pad_l or pad_t or pad_r or pad_b:
        inner = cv2.copyMakeBorder(inner, pad_t, pad_b, pad_l, pad_r, cv2.BORDER_REPLICATE)
        if image.ndim == 3 and inner.ndim == 2:
            inner = inner[:, :, None]
    return inner


def resize(image: np.ndarray, size: int) -> np.ndarray:
    """Resize to size x size (area interpolation when shrinking, as for photos; linear when growing)."""
    h, w = image.shape[:2]
    interp = cv2.INTER_AREA if (w > size or h > size) else cv2.INTER_LINEAR
    out = cv2.resize(image, (size, size), interpolation=interp)
    if image.ndim == 3 and out.ndim == 2:
        out = out[:, :, None]
    return out


# --- whole pre-processing -----------------------------------------------------------------------


def aligned_face(image: np.ndarray, right_eye: Point, left_eye: Point, size: int) -> np.ndarray:
    """Rotation + spatial normalisation + resize in one affine warp.

    Equivalent to rotate_image -> crop_with_padding(normalisation_box) -> resize (tests check it), but it
    only touches the output's pixels, so its cost does not grow with the photo.
    """
    center = eye_midpoint(right_eye, left_eye)
    angle = eye_line_angle(right_eye, left_eye)
    d = math.dist(right_eye, left_eye)
    if d < 1e-6:
        raise ValueError("the two eye positions coincide")
    # In the rotated frame the eyes lie on a horizontal line through `center`.
    left = center[0] - SIDE_FACTOR * d
    top = center[1] - ABOVE_FACTOR * d
    sx = size / (2 * SIDE_FACTOR * d)
    sy = size / ((ABOVE_FACTOR + BELOW_FACTOR) * d)
    rot = np.vstack([rotation_matrix(center, angle), [0.0, 0.0, 1.0]])
    # Pixel-centre convention: output pixel i samples the crop at (i + 0.5) / s - 0.5.
    crop = np.array([[sx, 0.0, -left * sx + 0.5 * sx - 0.5], [0.0, sy, -top * sy + 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])
    matrix = (crop @ rot)[:2]
    shrink = min(sx, sy)
    src = image
    if shrink < 0.5:
        # A large shrink: first reduce just the region the crop reads with area averaging (to twice the output
        # scale), so the warp does not alias and the cost follows the face, not the photo.
        inverse = cv2.invertAffineTransform(matrix)
        corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], dtype=np.float64) @ inverse.T
        h, w = image.shape[:2]
        x0 = max(0, int(np.floor(corners[:, 0].min())) - 2)
        y0 = max(0, int(np.floor(corners[:, 1].min())) - 2)
        x1 = min(w, int(np.ceil(corners[:, 0].max())) + 3)
        y1 = min(h, int(np.ceil(corners[:, 1].max())) + 3)
        if x1 - x0 > 1 and y1 - y0 > 1:
            factor = 2.0 * shrink
            region = np.ascontiguousarray(image[y0:y1, x0:x1])
            small_size = (max(1, round((x1 - x0) * factor)), max(1, round((y1 - y0) * factor)))
            src = cv2.resize(region, small_size, interpolation=cv2.INTER_AREA)
            fx, fy = small_size[0] / (x1 - x0), small_size[1] / (y1 - y0)
            # Output <- image is `matrix`; image <- small is (x / fx + x0, y / fy + y0).
            to_image = np.array([[1 / fx, 0.0, x0 + 0.5 / fx - 0.5], [0.0, 1 / fy, y0 + 0.5 / fy - 0.5], [0.0, 0.0, 1.0]])
            matrix = (np.vstack([matrix, [0.0, 0.0, 1.0]]) @ to_image)[:2]
    out = cv2.warpAffine(src, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if image.ndim == 3 and out.ndim == 2:
        out = out[:, :, None]
    return out


def face_input(
    image: np.ndarray,
    config: PreprocessConfig,
    box: Box | None = None,
    right_eye: Point | None = None,
    left_eye: Point | None = None,
) -> np.ndarray:
    """Turn one face of an RGB (or grey) uint8 image into a model input: uint8, size x size x channels.

    With pre-processing enabled and both eyes known: align + normalise, then CLAHE on the aligned face.
    CLAHE runs on the face rather than the whole photo: it is local (tiled) anyway, the cost no longer
    grows with the photo, and training crops (48x48 FER faces) get exactly the same treatment.
    Without eyes (or with pre-processing off) the detector box is squared and resized.
    """
    if config.enabled and right_eye is not None and left_eye is not None and math.dist(right_eye, left_eye) >= 1.0:
        face = aligned_face(image, right_eye, left_eye, config.size)
    else:
        if box is None:
            box = (0.0, 0.0, float(image.shape[1]), float(image.shape[0]))
            crop = image if image.shape[0] == image.shape[1] else crop_with_padding(image, square_box(box, 0.0))
        else:
            crop = crop_with_padding(image, square_box(box, config.box_margin))
        face = resize(crop, config.size)
    face = to_channels(face, config.channels)
    if config.enabled:
        face = apply_clahe(face, config.clahe_clip_limit, config.clahe_tile_grid)
    return np.ascontiguousarray(face, dtype=np.uint8)
