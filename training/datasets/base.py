"""The in-memory form every reader produces: source images plus 8-class target distributions."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from albumsorter.core.classes import CLASSES_8, canonical_class


@dataclass
class FaceSet:
    """Faces of one split.

    `images` are uint8 (N, H, W, C) *sources*: already-cropped faces (FER-style) that still go through
    `face_input`, or model inputs when `prepared` is True. `targets` are (N, 8) rows in CLASSES_8
    order summing to 1: one-hot for hard labels, vote distributions for soft labels. `eyes` holds
    (N, 2, 2) (right eye, left eye) in source pixels, NaN where unknown.
    """

    images: np.ndarray
    targets: np.ndarray
    eyes: np.ndarray | None = None
    ids: list[str] = field(default_factory=list)
    prepared: bool = False
    info: dict = field(default_factory=dict)  # reader statistics (e.g. detection recall)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def labels(self) -> np.ndarray:
        """Hard label index per face (argmax of the target)."""
        return np.argmax(self.targets, axis=1)

    def subset(self, index: np.ndarray) -> FaceSet:
        index = np.asarray(index)
        return FaceSet(
            images=self.images[index],
            targets=self.targets[index],
            eyes=None if self.eyes is None else self.eyes[index],
            ids=[self.ids[i] for i in index] if self.ids else [],
            prepared=self.prepared,
            info=dict(self.info),
        )

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=len(CLASSES_8))


def one_hot(labels: list[str]) -> np.ndarray:
    """(N, 8) one-hot rows for class names (synonyms allowed)."""
    out = np.zeros((len(labels), len(CLASSES_8)), dtype=np.float32)
    for i, name in enumerate(labels):
        out[i, CLASSES_8.index(canonical_class(name))] = 1.0
    return out


def split_indices(n: int, fractions: tuple[float, float, float], seed: int) -> dict[str, np.ndarray]:
    """A fixed random train/valid/test split of n items (sorted indices per split)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    n_valid = int(round(n * fractions[1]))
    n_test = int(round(n * fractions[2]))
    n_train = n - n_valid - n_test
    return {
        "train": np.sort(order[:n_train]),
        "valid": np.sort(order[n_train : n_train + n_valid]),
        "test": np.sort(order[n_train + n_valid :]),
    }
