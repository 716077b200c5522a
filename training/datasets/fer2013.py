"""FER2013's fer2013.csv: emotion (0-6), pixels (48*48 space-separated), Usage (Training/PublicTest/PrivateTest)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from training.datasets.base import FaceSet, one_hot

FER2013_CLASSES: tuple[str, ...] = ("anger", "disgust", "fear", "happy", "sad", "surprise", "neutral")
USAGE: dict[str, str] = {"train": "Training", "valid": "PublicTest", "test": "PrivateTest"}


def load_fer2013(root: Path, split: str, limit: int | None = None) -> FaceSet:
    """One split (train = Training, valid = PublicTest, test = PrivateTest, all) of fer2013.csv.

    `root` is the csv file or a folder holding fer2013.csv.
    """
    path = Path(root)
    if path.is_dir():
        path = path / "fer2013.csv"
    images, labels, ids = [], [], []
    with open(path, newline="", encoding="utf-8") as f:
        for row_number, row in enumerate(csv.DictReader(f)):
            if split != "all" and row["Usage"].strip() != USAGE[split]:
                continue
            pixels = np.array(row["pixels"].split(), dtype=np.uint8)
            side = int(round(np.sqrt(pixels.size)))
            if side * side != pixels.size:
                raise ValueError(f"{path} row {row_number + 1}: {pixels.size} pixels is not a square image")
            images.append(pixels.reshape(side, side, 1))
            labels.append(FER2013_CLASSES[int(row["emotion"])])
            ids.append(f"fer2013:{row_number}")
            if limit is not None and len(images) >= limit:
                break
    if not images:
        return FaceSet(np.zeros((0, 48, 48, 1), np.uint8), np.zeros((0, 8), np.float32))
    return FaceSet(images=np.stack(images), targets=one_hot(labels), ids=ids)
