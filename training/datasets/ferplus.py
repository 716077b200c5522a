"""FER+ in Microsoft's official layout: FER2013{Train,Valid,Test}/ with PNGs and a label.csv of votes.

label.csv has no header: image_name, "(0, 0, 48, 48)", then 10 vote counts in the order
neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import cv2
import numpy as np

from albumsorter.core.classes import CLASSES_8, canonical_class
from training.datasets.base import FaceSet
from training.paths import cache_dir

FERPLUS_COLUMNS: tuple[str, ...] = (
    "neutral",
    "happiness",
    "surprise",
    "sadness",
    "anger",
    "disgust",
    "fear",
    "contempt",
    "unknown",
    "NF",
)
SPLIT_FOLDERS: dict[str, str] = {"train": "FER2013Train", "valid": "FER2013Valid", "test": "FER2013Test"}
# Column i of the 8 emotion votes -> index in CLASSES_8.
_TO_CLASSES_8 = np.array([CLASSES_8.index(canonical_class(c)) for c in FERPLUS_COLUMNS[:8]])


def read_label_csv(path: Path) -> tuple[list[str], np.ndarray]:
    """File names and (N, 10) vote counts of one split's label.csv."""
    names, votes = [], []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            if not row:
                continue
            names.append(row[0])
            votes.append([float(v) for v in row[2:12]])
    return names, np.asarray(votes, dtype=np.float32).reshape(-1, 10)


def majority_targets(votes: np.ndarray) -> np.ndarray:
    """Barsoum et al.'s majority rule: drop single votes, a class needs > 50 % of the rest.

    Returns (N, 8) one-hot rows in CLASSES_8 order; rows of ambiguous faces, or faces whose winner is
    unknown/NF, are all zero.
    """
    v = np.where(votes <= 1.0, 0.0, votes)
    total = v.sum(axis=1)
    winner = np.argmax(v, axis=1)
    ok = (v[np.arange(len(v)), winner] > 0.5 * total) & (winner < 8) & (total > 0)
    out = np.zeros((len(votes), 8), dtype=np.float32)
    rows = np.nonzero(ok)[0]
    out[rows, _TO_CLASSES_8[winner[rows]]] = 1.0
    return out


def soft_targets(votes: np.ndarray) -> np.ndarray:
    """Vote distributions over the 8 classes (Barsoum et al.'s "probability" training).

    Single votes are dropped as outliers; faces where unknown/NF keep half or more of the remaining
    votes get an all-zero row (excluded), as do faces with no emotion votes left.
    """
    v = np.where(votes <= 1.0, 0.0, votes)
    total = v.sum(axis=1)
    emotion = v[:, :8]
    kept = emotion.sum(axis=1)
    ok = (kept > 0.5 * total) & (kept > 0)
    out = np.zeros((len(votes), 8), dtype=np.float32)
    out[:, _TO_CLASSES_8] = emotion / np.maximum(kept, 1e-9)[:, None]
    out[~ok] = 0.0
    return out


def _cache_file(root: Path, split: str) -> Path:
    key = hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:10]
    return cache_dir() / f"ferplus-{key}-{split}.npz"


def load_split_raw(root: Path, split: str, limit: int | None = None) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Names, (N, 48, 48, 1) uint8 images and (N, 10) votes of one split.

    The whole split is decoded once and cached as .npz in the cache dir (not when `limit` is set).
    """
    root = Path(root)
    folder = root / SPLIT_FOLDERS[split]
    cache = _cache_file(root, split)
    if limit is None and cache.is_file():
        data = np.load(cache)
        return [str(n) for n in data["names"]], data["images"], data["votes"]
    names, votes = read_label_csv(folder / "label.csv")
    if limit is not None:
        names, votes = names[:limit], votes[:limit]
    images = np.zeros((len(names), 48, 48, 1), dtype=np.uint8)
    for i, name in enumerate(names):
        img = cv2.imread(str(folder / name), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise FileNotFoundError(folder / name)
        if img.shape != (48, 48):
            img = cv2.resize(img, (48, 48), interpolation=cv2.INTER_AREA)
        images[i, :, :, 0] = img
    if limit is None:
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(tmp, names=np.asarray(names), images=images, votes=votes)
        tmp.replace(cache)
    return names, images, votes


def load_ferplus(root: Path, split: str, labels: str = "majority", limit: int | None = None) -> FaceSet:
    """One FER+ split as a FaceSet; faces without a usable label under `labels` are left out.

    labels: "majority" (one-hot, Barsoum's rule) or "soft" (vote distributions). Split "all" joins the three.
    """
    if split == "all":
        parts = [load_split_raw(root, s, limit) for s in SPLIT_FOLDERS]
        names = [n for p in parts for n in p[0]]
        images = np.concatenate([p[1] for p in parts])
        votes = np.concatenate([p[2] for p in parts])
    else:
        names, images, votes = load_split_raw(root, split, limit)
    if labels == "majority":
        targets = majority_targets(votes)
    elif labels == "soft":
        targets = soft_targets(votes)
    else:
        raise ValueError(f"FER+ labels must be 'majority' or 'soft', not {labels!r}")
    keep = np.nonzero(targets.sum(axis=1) > 0)[0]
    return FaceSet(images=images[keep], targets=targets[keep], ids=[names[i] for i in keep])
