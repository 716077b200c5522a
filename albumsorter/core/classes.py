"""Expression classes (the 8 of AffectNet) and the thesis's 6- and 3-class groupings.

Only the 8 probabilities are ever stored; groupings are derived from them on demand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

CLASSES_8: tuple[str, ...] = ("anger", "contempt", "disgust", "fear", "happy", "neutral", "sad", "surprise")

# 6 classes: the thesis drops contempt and disgust (too few samples).
CLASSES_6: tuple[str, ...] = ("anger", "fear", "happy", "neutral", "sad", "surprise")

# 3 classes: positive = happy; neutral = neutral, surprise; negative = the rest.
GROUPS_3: dict[str, tuple[str, ...]] = {
    "positive": ("happy",),
    "neutral": ("neutral", "surprise"),
    "negative": ("anger", "contempt", "disgust", "fear", "sad"),
}
CLASSES_3: tuple[str, ...] = tuple(GROUPS_3)

GROUPINGS: dict[int, tuple[str, ...]] = {8: CLASSES_8, 6: CLASSES_6, 3: CLASSES_3}

# Common synonyms used by data sets (FER+, ExpW, AffectNet) mapped to our names.
SYNONYMS: dict[str, str] = {
    "angry": "anger",
    "happiness": "happy",
    "joy": "happy",
    "sadness": "sad",
    "surprised": "surprise",
    "fearful": "fear",
    "disgusted": "disgust",
    "contemptuous": "contempt",
}


def canonical_class(name: str) -> str:
    """Map a data set's class name to one of CLASSES_8; raise ValueError if unknown."""
    key = name.strip().lower()
    key = SYNONYMS.get(key, key)
    if key not in CLASSES_8:
        raise ValueError(f"unknown expression class {name!r}; expected one of {', '.join(CLASSES_8)}")
    return key


def group_of(label: str) -> str:
    """The 3-class group (positive/neutral/negative) of an 8-class label."""
    label = canonical_class(label)
    for group, members in GROUPS_3.items():
        if label in members:
            return group
    raise AssertionError("GROUPS_3 covers every class")  # pragma: no cover


def label_in_grouping(label: str, n_classes: int) -> str | None:
    """The class an 8-class label becomes in a grouping of 8, 6 or 3; None when the 6-grouping drops it."""
    label = canonical_class(label)
    if n_classes == 8:
        return label
    if n_classes == 6:
        return label if label in CLASSES_6 else None
    if n_classes == 3:
        return group_of(label)
    raise ValueError(f"grouping must be 8, 6 or 3 classes, not {n_classes}")


def grouped_probabilities(probabilities: Mapping[str, float] | Sequence[float] | np.ndarray, n_classes: int) -> dict[str, float]:
    """Derive 6- or 3-class probabilities from the 8 (in CLASSES_8 order or as a mapping).

    The 6-grouping renormalises over the remaining classes; the 3-grouping sums its members.
    """
    if isinstance(probabilities, Mapping):
        p8 = {c: float(probabilities[c]) for c in CLASSES_8}
    else:
        values = np.asarray(probabilities, dtype=float).ravel()
        if values.shape[0] != len(CLASSES_8):
            raise ValueError(f"expected {len(CLASSES_8)} probabilities, got {values.shape[0]}")
        p8 = dict(zip(CLASSES_8, values.tolist()))
    if n_classes == 8:
        return p8
    if n_classes == 6:
        total = sum(p8[c] for c in CLASSES_6) or 1.0
        return {c: p8[c] / total for c in CLASSES_6}
    if n_classes == 3:
        return {g: sum(p8[c] for c in members) for g, members in GROUPS_3.items()}
    raise ValueError(f"grouping must be 8, 6 or 3 classes, not {n_classes}")


def grouping_matrix(n_classes: int) -> np.ndarray:
    """An (8, n) 0/1 matrix mapping 8-class one-hot/probability rows to a grouping (rows of dropped classes are 0)."""
    target = GROUPINGS[n_classes]
    matrix = np.zeros((len(CLASSES_8), len(target)), dtype=np.float32)
    for i, c in enumerate(CLASSES_8):
        mapped = label_in_grouping(c, n_classes)
        if mapped is not None:
            matrix[i, target.index(mapped)] = 1.0
    return matrix
