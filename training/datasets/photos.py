"""Helpers for readers whose faces sit inside larger photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def load_rgb(path: Path) -> np.ndarray:
    """Decode a photo upright as RGB uint8 with the app's own decoder (EXIF orientation, HEIC, ...)."""
    from albumsorter.core.decoding import load_upright_rgb

    return load_upright_rgb(path)


def clip_box(box: tuple[float, float, float, float], width: int, height: int) -> tuple[float, float, float, float]:
    left, top, right, bottom = box
    return (max(0.0, left), max(0.0, top), min(float(width), right), min(float(height), bottom))


def stack_inputs(inputs: list[np.ndarray], size: int, channels: int) -> np.ndarray:
    return np.stack(inputs) if inputs else np.zeros((0, size, size, channels), np.uint8)
