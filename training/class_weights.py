"""Class weights of thesis §5.5: w_i = max_j(n_j) / (C * n_i)."""

from __future__ import annotations

import numpy as np


def thesis_class_weights(counts: np.ndarray) -> np.ndarray:
    """Weights per class from (possibly fractional, for soft labels) counts; empty classes get 0."""
    counts = np.asarray(counts, dtype=np.float64)
    present = counts > 0
    c = int(present.sum())
    weights = np.zeros_like(counts)
    weights[present] = counts.max() / (c * counts[present])
    return weights.astype(np.float32)
