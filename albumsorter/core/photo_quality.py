"""How sharp and how well exposed a photo (or a face in it) is, from the decoded image alone.

Sharpness uses the "blur effect" of Crété-Roffet et al. (2007, *The blur effect: perception and estimation
with a new no-reference perceptual blur metric*): blur the region once more and see how much of its
pixel-to-pixel variation survives. A sharp region loses most of it (its detail is finer than the blur); an
already blurred one loses little. The ratio depends on how much detail is lost, not on how much there was, so
it needs no normalising for contrast or brightness, and it is measured in both directions, the worse one
counting, so that motion blur in one direction is caught too.

Everything is judged at the size the app decodes a photo (at most 1024 pixels on the long side), which is
about the size a person looks at it on screen: blur smaller than a pixel there (a slightly soft 12-MP
original) is not seen, and is not measured either.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

# The blur ratio (0 = crisp, 1 = uniform) mapped linearly to a 0-1 sharpness: <= SHARP_RATIO is 1, >=
# BLURRY_RATIO is 0. Measured on 513 real faces (expw_dev, `scripts/bench_quality.py --sharpness`), median ratio
# by face width (< 40, 40-80, 80-160, > 160 px): as decoded 0.28 / 0.34 / 0.38 / 0.42; blurred by a Gaussian of
# 1 decoded pixel 0.40 / 0.50 / 0.55 / 0.58, of 2 px 0.57 / 0.67 / 0.72 / 0.75, of 3 px 0.67 / 0.77 / 0.82 / 0.83.
# So a crisp face scores about 0.75-1, one blurred by a pixel (visibly soft on screen) 0.45-0.8, by 2 px 0.1-0.45
# and by 3 px 0-0.25 (a face of few pixels has less detail to lose, so it scores higher for the same blur).
SHARP_RATIO = 0.30
BLURRY_RATIO = 0.80
REBLUR_TAPS = 9  # the re-blur: a 1 x 9 box filter, as in the paper
_REBLUR = np.full(REBLUR_TAPS, 1.0 / REBLUR_TAPS, dtype=np.float32)
_NO_BLUR = np.ones(1, dtype=np.float32)
LARGEST_REGION = 256  # larger regions are reduced to this side first (cost); blur below that scale is not seen

# Photo sharpness is the sharpest part of the photo (the part in focus; a blurred background is wanted), over a
# grid of tiles that hold some texture: a flat tile (sky, a wall) has no detail to judge.
PHOTO_GRID = 4
MIN_TILE_VARIATION = 2.0  # mean absolute step between neighbouring pixels (0-255 grey) for a tile to count

# Exposure: pixels with no detail left, clipped to black or to white.
SHADOW_CLIP = 5  # grey level <= this is crushed shadow
HIGHLIGHT_CLIP = 250  # grey level >= this is blown highlight
CLIPPED_FOR_ZERO = 0.35  # this share of clipped pixels (or more) makes the clipping part of the score 0
DARK_MEAN, BRIGHT_MEAN = 0.25, 0.75  # a mean grey level inside this range is fine ...
DARK_ZERO, BRIGHT_ZERO = 0.03, 0.97  # ... and falls linearly to 0 at these


def grey_u8(image: np.ndarray) -> np.ndarray:
    """Grey uint8 from an RGB or grey uint8 image (the grey one itself)."""
    if image.ndim == 3 and image.shape[2] >= 3:
        return cv2.cvtColor(np.ascontiguousarray(image[:, :, :3]), cv2.COLOR_RGB2GRAY)
    return image[:, :, 0] if image.ndim == 3 else image


def to_grey(image: np.ndarray) -> np.ndarray:
    """Grey float32 (0-255) from an RGB or grey uint8 image."""
    return grey_u8(image).astype(np.float32, copy=False)


def blur_ratio(grey: np.ndarray, steps: tuple[np.ndarray, np.ndarray] | None = None) -> float:
    """Crété-Roffet blur effect of a grey region: 0 for crisp detail, towards 1 for a blurred region.

    Regions too small or too flat to judge (no variation) count as blurred (1.0). `steps`: the region's
    `neighbour_steps`, when the caller has them already.
    """
    if grey.shape[0] < 4 or grey.shape[1] < 4:
        return 1.0
    if max(grey.shape) > LARGEST_REGION:
        factor = LARGEST_REGION / max(grey.shape)
        size = (max(4, round(grey.shape[1] * factor)), max(4, round(grey.shape[0] * factor)))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
        steps = None
    if steps is None:
        steps = neighbour_steps(grey)
    worst = 0.0
    for axis in (0, 1):
        # axis 0: steps between rows, re-blurred vertically (columns: horizontally)
        step = steps[axis]
        total = float(step.sum())
        if total <= 0.01 * step.size:  # flat (resizing leaves rounding dust): nothing to judge
            return 1.0
        kx, ky = (_NO_BLUR, _REBLUR) if axis == 0 else (_REBLUR, _NO_BLUR)
        # the box filter as a separable one: the same values (to 3e-5), 2-3 x faster on a tile view (issue #11)
        kept = axis_steps(cv2.sepFilter2D(grey, -1, kx, ky, borderType=cv2.BORDER_REFLECT), axis)
        # What survives the re-blur: sum(steps) - sum(max(0, steps - kept)) = sum(min(steps, kept))
        worst = max(worst, float(cv2.min(step, kept).sum()) / total)
    return worst


def axis_steps(grey: np.ndarray, axis: int) -> np.ndarray:
    """Absolute differences between neighbouring pixels of a grey float32 image: between rows (axis 0) or columns."""
    return cv2.absdiff(grey[1:, :], grey[:-1, :]) if axis == 0 else cv2.absdiff(grey[:, 1:], grey[:, :-1])


def neighbour_steps(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both `axis_steps` of a grey float32 image: (between rows, between columns)."""
    return axis_steps(grey, 0), axis_steps(grey, 1)


def sharpness_from_ratio(ratio: float) -> float:
    """The documented linear mapping of a blur ratio to 0-1 sharpness (see SHARP_RATIO / BLURRY_RATIO)."""
    return float(np.clip((BLURRY_RATIO - ratio) / (BLURRY_RATIO - SHARP_RATIO), 0.0, 1.0))


def region_sharpness(image: np.ndarray, box: Sequence[float]) -> float:
    """Sharpness (0-1) of a box (left, top, right, bottom; pixels of `image`), clipped to the image."""
    h, w = image.shape[:2]
    left, top = max(0, int(round(box[0]))), max(0, int(round(box[1])))
    right, bottom = min(w, int(round(box[2]))), min(h, int(round(box[3])))
    if right - left < 4 or bottom - top < 4:
        return 0.0
    return sharpness_from_ratio(blur_ratio(to_grey(image[top:bottom, left:right])))


def photo_sharpness(image: np.ndarray) -> float:
    """Sharpness (0-1) of the photo's sharpest textured part (what is in focus).

    The photo is cut into PHOTO_GRID x PHOTO_GRID tiles; tiles too flat to judge are skipped; the best tile
    counts. A photo with no textured tile at all (a blank wall, a uniformly blurred frame) falls back to the
    whole image.
    """
    grey = to_grey(image)
    h, w = grey.shape
    rows, cols = neighbour_steps(grey)  # once for the photo: a tile's steps are a window of these
    best: float | None = None
    for i in range(PHOTO_GRID):
        for j in range(PHOTO_GRID):
            top, bottom = i * h // PHOTO_GRID, (i + 1) * h // PHOTO_GRID
            left, right = j * w // PHOTO_GRID, (j + 1) * w // PHOTO_GRID
            if bottom - top < 8 or right - left < 8:
                continue
            steps = (rows[top : bottom - 1, left:right], cols[top:bottom, left : right - 1])
            variation = float(steps[1].mean() + steps[0].mean()) / 2
            if variation < MIN_TILE_VARIATION:
                continue
            ratio = blur_ratio(grey[top:bottom, left:right], steps)
            best = ratio if best is None else min(best, ratio)
    if best is None:
        best = blur_ratio(grey)
    return sharpness_from_ratio(best)


def exposure(image: np.ndarray) -> float:
    """Exposure (0-1, 1 = well exposed) from the grey-level histogram.

    Two parts, multiplied: clipping = 1 - (share of pixels crushed to black or blown to white) /
    CLIPPED_FOR_ZERO (floored at 0), and level = 1 while the mean grey level is between DARK_MEAN and
    BRIGHT_MEAN (of full scale), falling linearly to 0 at DARK_ZERO / BRIGHT_ZERO. A normal photo scores 1;
    an underexposed or blown-out one scores less; a snow scene or a studio white background also loses some
    (the score cannot tell intent from accident).
    """
    grey = to_grey(image)
    if max(grey.shape) > 512:  # a histogram needs no more pixels than this
        factor = 512 / max(grey.shape)
        grey = cv2.resize(
            grey, (max(1, round(grey.shape[1] * factor)), max(1, round(grey.shape[0] * factor))), interpolation=cv2.INTER_AREA
        )
    clipped = float(np.mean((grey <= SHADOW_CLIP) | (grey >= HIGHLIGHT_CLIP)))
    clipping = max(0.0, 1.0 - clipped / CLIPPED_FOR_ZERO)
    mean = float(grey.mean()) / 255.0
    if mean < DARK_MEAN:
        level = max(0.0, (mean - DARK_ZERO) / (DARK_MEAN - DARK_ZERO))
    elif mean > BRIGHT_MEAN:
        level = max(0.0, (BRIGHT_ZERO - mean) / (BRIGHT_ZERO - BRIGHT_MEAN))
    else:
        level = 1.0
    return float(clipping * level)
