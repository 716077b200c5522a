"""Helpers for readers whose faces sit inside larger photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def load_rgb(path: Path) -> np.ndarray:
    """Decode a photo upright (EXIF transpose) as RGB uint8, as the app does.

    Uses the app's decoder where it exists (HEIC etc.), else Pillow.
    """
    try:
        from albumsorter.core.decoding import load_upright_rgb
    except ImportError:
        load_upright_rgb = None
    if load_upright_rgb is not None:
        return np.asarray(load_upright_rgb(path))
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))


def clip_box(box: tuple[float, float, float, float], width: int, height: int) -> tuple[float, float, float, float]:
    left, top, right, bottom = box
    return (max(0.0, left), max(0.0, top), min(float(width), right), min(float(height), bottom))


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def stack_inputs(inputs: list[np.ndarray], size: int, channels: int) -> np.ndarray:
    return np.stack(inputs) if inputs else np.zeros((0, size, size, channels), np.uint8)
