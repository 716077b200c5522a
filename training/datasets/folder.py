"""A plain class-per-folder tree: ROOT/<class>/<image> or ROOT/<split>/<class>/<image>.

Class folder names may be any synonym canonical_class knows (angry, happiness, ...). Each image is
taken as one face (the whole image, squared) and goes through the app's face_input. Without split
folders the faces are split 80/10/10 by --seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from albumsorter.core.classes import canonical_class
from albumsorter.core.preprocess import PreprocessConfig, face_input
from albumsorter.core.scanning import PHOTO_EXTENSIONS
from training.datasets.base import FaceSet, one_hot, split_indices
from training.datasets.photos import load_rgb, stack_inputs

SPLIT_NAMES = {"train": ("train", "training"), "valid": ("valid", "val", "validation"), "test": ("test", "testing")}


def list_folder(root: Path) -> list[tuple[Path, str]]:
    """(image path, canonical class) of every image in ROOT/<class>/, sorted."""
    items = []
    for class_dir in sorted(p for p in Path(root).iterdir() if p.is_dir()):
        label = canonical_class(class_dir.name)
        items += [(f, label) for f in sorted(class_dir.iterdir()) if f.suffix.lower() in PHOTO_EXTENSIONS]
    return items


def _split_folder(root: Path, split: str) -> Path | None:
    for name in SPLIT_NAMES.get(split, ()):
        if (root / name).is_dir():
            return root / name
    return None


def load_folder(
    root: Path, split: str, seed: int = 0, limit: int | None = None, preprocess: PreprocessConfig | None = None
) -> FaceSet:
    if preprocess is None:
        raise ValueError("folder images vary in size: give the model's PreprocessConfig")
    root = Path(root)
    if any(_split_folder(root, s) for s in SPLIT_NAMES):
        if split == "all":
            items = [it for s in SPLIT_NAMES if _split_folder(root, s) for it in list_folder(_split_folder(root, s))]
        else:
            folder = _split_folder(root, split)
            items = list_folder(folder) if folder else []
    else:
        items = list_folder(root)
        if split != "all":
            items = [items[i] for i in split_indices(len(items), (0.8, 0.1, 0.1), seed)[split]]
    if limit is not None:
        items = items[:limit]
    inputs = [face_input(load_rgb(path), preprocess) for path, _ in items]
    return FaceSet(
        stack_inputs(inputs, preprocess.size, preprocess.channels),
        one_hot([label for _, label in items]) if items else np.zeros((0, 8), np.float32),
        ids=[str(p.relative_to(root)) for p, _ in items],
        prepared=True,
    )
