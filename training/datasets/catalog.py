"""Corrections users made in the app's catalog: faces whose expression a user set by hand.

Reads `albumsorter.core.catalog.Catalog(path).corrected_faces()`, which yields dicts
{"path", "box" (l, t, r, b), "right_eye", "left_eye", "label"} in upright-photo pixels, and decodes
photos with `albumsorter.core.decoding.load_upright_rgb`. Faces are split 80/10/10 by photo (--seed),
so faces of one photo never straddle splits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from albumsorter.core.classes import canonical_class
from albumsorter.core.preprocess import PreprocessConfig, face_input
from training.datasets.base import FaceSet, one_hot, split_indices
from training.datasets.photos import load_rgb, stack_inputs


def catalog_available() -> bool:
    try:
        from albumsorter.core.catalog import Catalog  # noqa: F401
    except ImportError:
        return False
    return True


def corrected_faces(catalog_path: Path) -> list[dict]:
    try:
        from albumsorter.core.catalog import Catalog
    except ImportError as exc:
        raise RuntimeError(f"this AlbumSorter has no catalog module (albumsorter.core.catalog): {exc}") from None
    faces = []
    for face in Catalog(catalog_path).corrected_faces():
        faces.append({**face, "label": canonical_class(face["label"])})
    return faces


def load_catalog(
    root: Path, split: str, seed: int = 0, limit: int | None = None, preprocess: PreprocessConfig | None = None
) -> FaceSet:
    if preprocess is None:
        raise ValueError("catalog faces are cut from photos: give the model's PreprocessConfig")
    faces = corrected_faces(Path(root))
    photos = sorted({f["path"] for f in faces})
    if split != "all":
        chosen = {photos[i] for i in split_indices(len(photos), (0.8, 0.1, 0.1), seed)[split]}
        faces = [f for f in faces if f["path"] in chosen]
    if limit is not None:
        faces = faces[:limit]
    inputs, cache = [], {}
    for f in faces:
        if f["path"] not in cache:
            cache.clear()  # faces come grouped by photo in practice; keep one decoded photo at a time
            cache[f["path"]] = load_rgb(Path(f["path"]))
        inputs.append(
            face_input(
                cache[f["path"]], preprocess, box=tuple(f["box"]), right_eye=f.get("right_eye"), left_eye=f.get("left_eye")
            )
        )
    return FaceSet(
        stack_inputs(inputs, preprocess.size, preprocess.channels),
        one_hot([f["label"] for f in faces]) if faces else np.zeros((0, 8), np.float32),
        ids=[f"{f['path']}#{tuple(f['box'])}" for f in faces],
        prepared=True,
    )
