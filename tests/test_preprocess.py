"""Pre-processing geometry (thesis §5.2) on synthetic images with known answers."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from albumsorter.core import preprocess as pp


def dots_image(points, size=(240, 320), radius=3) -> np.ndarray:
    img = np.zeros((size[0], size[1]), dtype=np.uint8)
    for x, y in points:
        cv2.circle(img, (int(round(x)), int(round(y))), radius, 255, -1)
    return img


def bright_centroid(img: np.ndarray, region) -> tuple[float, float]:
    x0, y0, x1, y1 = region
    patch = img[y0:y1, x0:x1].astype(float).squeeze()
    ys, xs = np.nonzero(patch > 0.5 * patch.max())
    w = patch[ys, xs]
    return (float((xs * w).sum() / w.sum()) + x0, float((ys * w).sum() / w.sum()) + y0)


def test_eye_line_angle_and_midpoint():
    assert pp.eye_line_angle((0, 0), (10, 0)) == pytest.approx(0.0)
    assert pp.eye_line_angle((0, 0), (10, 10)) == pytest.approx(45.0)
    assert pp.eye_line_angle((10, 10), (0, 0)) == pytest.approx(-135.0)  # upside-down face
    assert pp.eye_midpoint((2, 4), (6, 8)) == (4.0, 6.0)


def test_normalisation_box_from_known_eyes():
    # Eyes 20 px apart: 1.7 * 20 = 34 to each side, 1.3 * 20 = 26 above, 3.2 * 20 = 64 below.
    assert pp.normalisation_box((40, 50), (60, 50)) == pytest.approx((16, 24, 84, 114))


def test_rotating_by_the_eye_angle_levels_the_eyes_and_undoes_a_known_rotation():
    right, left, mouth = (130.0, 100.0), (190.0, 100.0), (160.0, 170.0)
    upright = dots_image([right, left, mouth])
    centre = pp.eye_midpoint(right, left)
    tilted = pp.rotate_image(upright, centre, -25.0)  # tilt the face by a known angle
    t_right, t_left = pp.rotate_points(np.array([right, left]), centre, -25.0)
    assert pp.eye_line_angle(tuple(t_right), tuple(t_left)) == pytest.approx(25.0, abs=1e-6)
    restored = pp.rotate_image(tilted, centre, pp.eye_line_angle(tuple(t_right), tuple(t_left)))
    for point in (right, left, mouth):
        x, y = bright_centroid(restored, (int(point[0]) - 8, int(point[1]) - 8, int(point[0]) + 9, int(point[1]) + 9))
        assert (x, y) == pytest.approx(point, abs=0.6)


def test_crop_with_padding_pads_outside_the_image():
    img = np.arange(100, dtype=np.uint8).reshape(10, 10)
    crop = pp.crop_with_padding(img, (-3, -2, 5, 6))
    assert crop.shape == (8, 8)
    assert crop[2, 3] == img[0, 0]  # the inside starts after the padding
    assert (crop[0, 3:] == img[0, :5]).all()  # replicated top edge
    with pytest.raises(ValueError):
        pp.crop_with_padding(img, (20, 20, 30, 30))


def test_aligned_face_matches_rotate_then_crop_then_resize():
    rng = np.random.default_rng(1)
    img = cv2.GaussianBlur((rng.random((300, 400)) * 255).astype(np.uint8), (9, 9), 3)
    right, left = (170.0, 120.0), (230.0, 140.0)
    size = 90
    fast = pp.aligned_face(img, right, left, size).squeeze().astype(float)
    centre = pp.eye_midpoint(right, left)
    angle = pp.eye_line_angle(right, left)
    rotated = pp.rotate_image(img, centre, angle)
    r_right, r_left = pp.rotate_points(np.array([right, left]), centre, angle)
    box = pp.normalisation_box(tuple(r_right), tuple(r_left))
    crop = pp.crop_with_padding(rotated, box)
    slow = cv2.resize(crop, (size, size), interpolation=cv2.INTER_LINEAR).astype(float)
    assert np.abs(fast - slow)[5:-5, 5:-5].mean() < 4.0


@settings(max_examples=40, deadline=None)
@given(
    cx=st.floats(120, 200),
    cy=st.floats(100, 140),
    d=st.floats(24, 60),
    angle=st.floats(-60, 60),
)
def test_aligned_face_puts_the_eyes_where_the_thesis_crop_says(cx, cy, d, angle):
    a = math.radians(angle)
    right = (cx - d / 2 * math.cos(a), cy - d / 2 * math.sin(a))
    left = (cx + d / 2 * math.cos(a), cy + d / 2 * math.sin(a))
    img = dots_image([right, left], size=(300, 340), radius=max(2, int(d / 10)))
    size = 96
    out = pp.aligned_face(img, right, left, size).squeeze()
    # Expected: eyes at 1.7 -/+ 0.5 inter-eye distances from the left edge of a 3.4-wide crop,
    # 1.3 distances below the top of a 4.5-high crop.
    ey = size * 1.3 / 4.5
    for ex in (size * 1.2 / 3.4, size * 2.2 / 3.4):
        x, y = bright_centroid(out, (int(ex) - 8, int(ey) - 8, int(ex) + 9, int(ey) + 9))
        assert x == pytest.approx(ex, abs=1.0)
        assert y == pytest.approx(ey, abs=1.0)


def test_clahe_raises_local_contrast_and_keeps_shape():
    rng = np.random.default_rng(0)
    flat = (100 + rng.integers(0, 12, (48, 48))).astype(np.uint8)
    out = pp.apply_clahe(flat, 2.0, 4)
    assert out.shape == flat.shape and out.dtype == np.uint8
    assert out.std() > flat.std() * 1.5
    colour = np.dstack([flat, flat, flat])
    assert pp.apply_clahe(colour).shape == colour.shape


def test_face_input_variants():
    img = (np.random.default_rng(2).random((200, 300, 3)) * 255).astype(np.uint8)
    box = (100.0, 50.0, 160.0, 130.0)
    with_pre = pp.face_input(img, pp.PreprocessConfig(enabled=True, size=48, channels=1), box, (115, 80), (145, 82))
    without = pp.face_input(img, pp.PreprocessConfig(enabled=False, size=64, channels=3), box)
    assert with_pre.shape == (48, 48, 1) and without.shape == (64, 64, 3)
    # Without pre-processing the input is exactly the squared, margin-widened detector box, resized.
    expected = pp.resize(pp.crop_with_padding(img, pp.square_box(box, pp.DEFAULT_BOX_MARGIN)), 64)
    assert np.array_equal(without, expected)
    # Pre-processing enabled but no eyes known: falls back to the box crop (plus CLAHE).
    no_eyes = pp.face_input(img, pp.PreprocessConfig(enabled=True, size=48, channels=1), box)
    assert no_eyes.shape == (48, 48, 1)


def test_square_box_is_square_and_centred():
    left, top, right, bottom = pp.square_box((10, 20, 30, 60), margin=0.0)
    assert right - left == pytest.approx(bottom - top) == pytest.approx(40)
    assert ((left + right) / 2, (top + bottom) / 2) == (20, 40)


def test_config_round_trips_through_a_dict():
    cfg = pp.PreprocessConfig(enabled=False, size=64, channels=3, clahe_clip_limit=3.0)
    assert pp.PreprocessConfig.from_dict(cfg.to_dict()) == cfg


def test_a_large_face_shrunk_from_a_big_photo_matches_the_whole_image_result():
    """A big shrink reduces only the face's region first; the result matches smoothing the whole photo."""
    rng = np.random.default_rng(3)
    img = cv2.GaussianBlur((rng.random((1200, 1600)) * 255).astype(np.uint8), (5, 5), 2)
    right, left = (700.0, 500.0), (900.0, 520.0)  # 200 px apart: shrink ~ 0.07 to 48 px
    out = pp.aligned_face(img, right, left, 48).squeeze().astype(float)
    d = math.dist(right, left)
    k = int(round(1.0 / min(48 / (2 * pp.SIDE_FACTOR * d), 48 / ((pp.ABOVE_FACTOR + pp.BELOW_FACTOR) * d)))) | 1
    whole = cv2.GaussianBlur(img, (k, k), 0)
    centre = pp.eye_midpoint(right, left)
    angle = pp.eye_line_angle(right, left)
    rotated = pp.rotate_image(whole, centre, angle)
    r_right, r_left = pp.rotate_points(np.array([right, left]), centre, angle)
    crop = pp.crop_with_padding(rotated, pp.normalisation_box(tuple(r_right), tuple(r_left)))
    slow = cv2.resize(crop, (48, 48), interpolation=cv2.INTER_LINEAR).astype(float)
    assert np.abs(out - slow).mean() < 3.0
