"""A run's data: one split of its data set, grouped to the run's classes, with eye positions attached.

Training, evaluation and export all read the same splits this way (kept apart from train.py so that
evaluate.py need not import the trainer).
"""

from __future__ import annotations

import numpy as np

from albumsorter.core.classes import grouping_matrix
from training.config import TrainConfig
from training.datasets.base import FaceSet
from training.datasets.registry import load_dataset


def group_targets(faces: FaceSet, n_classes: int) -> FaceSet:
    """Map 8-class targets to the 6 or 3 grouping; faces whose class the grouping drops are removed."""
    if n_classes == 8:
        return faces
    targets = faces.targets @ grouping_matrix(n_classes)
    keep = np.nonzero(targets.sum(axis=1) > 0.5)[0]
    out = faces.subset(keep)
    t = targets[keep]
    out.targets = (t / t.sum(axis=1, keepdims=True)).astype(np.float32)
    return out


def load_split(cfg: TrainConfig, split: str, dataset: str | None = None, root: str | None = None) -> FaceSet:
    """One split of the run's data set (or of `dataset` at `root`, e.g. an --extra-train one), grouped."""
    faces = load_dataset(
        dataset or cfg.dataset,
        root or cfg.data_root,
        split,
        labels=cfg.labels,
        seed=cfg.seed,
        limit=cfg.limit,
        preprocess=cfg.preprocess_config(),
    )
    return group_targets(faces, cfg.classes)


def attach_eyes(cfg: TrainConfig, splits: dict[str, FaceSet], dataset: str | None = None, root: str | None = None) -> None:
    """With pre-processing on, give FER-style crops eye positions (detector on the upscaled crop, cached)."""
    if not cfg.preprocessing:
        return
    from training.eyes import attach_cached_eyes

    for name, faces in splits.items():
        if not faces.prepared:
            attach_cached_eyes(faces, dataset or cfg.dataset, root or cfg.data_root, name)
