"""Load any supported data set by name, with fixed, recorded splits."""

from __future__ import annotations

from pathlib import Path

from albumsorter.core.preprocess import PreprocessConfig
from training.datasets.base import FaceSet

DATASETS: dict[str, str] = {
    "ferplus": "FER+ official layout (FER2013Train/Valid/Test + label.csv votes); --labels majority|soft",
    "fer2013": "fer2013.csv (emotion, pixels, Usage): Training / PublicTest / PrivateTest",
    "affectnet": "AffectNet training.csv + validation.csv (+ image folders); classes 8-10 dropped",
    "expw": "ExpW-style labels.csv of face boxes in photos, cropped by the app's detector + pre-processing",
    "folder": "class-per-folder tree: ROOT/<class>/*.jpg|png (or ROOT/<split>/<class>/...)",
    "catalog": "corrections users made in the app's catalog (albumsorter.core.catalog)",
}

SPLITS = ("train", "valid", "test", "all")


def load_dataset(
    name: str,
    root: Path | str,
    split: str,
    labels: str = "majority",
    seed: int = 0,
    limit: int | None = None,
    preprocess: PreprocessConfig | None = None,
    **options,
) -> FaceSet:
    """One split of a data set as a FaceSet of sources (faces still to go through `face_input`).

    Data sets with official splits use them (FER+, FER2013; AffectNet's validation set serves as test);
    the others are split 80/10/10 by a seeded permutation, recorded in the run folder. Split "all" is
    every face. Readers whose faces sit in larger images (ExpW, AffectNet, catalog) and those whose
    images vary in size (folder) return prepared model inputs and need `preprocess`.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    root = Path(root)
    if name == "ferplus":
        from training.datasets.ferplus import load_ferplus

        return load_ferplus(root, split, labels=labels if split == "train" else "majority", limit=limit)
    if name == "fer2013":
        from training.datasets.fer2013 import load_fer2013

        return load_fer2013(root, split, limit=limit)
    if name == "affectnet":
        from training.datasets.affectnet import load_affectnet

        return load_affectnet(root, split, seed=seed, limit=limit, preprocess=preprocess, **options)
    if name == "expw":
        from training.datasets.expw import load_expw

        return load_expw(root, split, seed=seed, limit=limit, preprocess=preprocess, **options)
    if name == "folder":
        from training.datasets.folder import load_folder

        return load_folder(root, split, seed=seed, limit=limit, preprocess=preprocess, **options)
    if name == "catalog":
        from training.datasets.catalog import load_catalog

        return load_catalog(root, split, seed=seed, limit=limit, preprocess=preprocess, **options)
    raise ValueError(f"unknown data set {name!r}; choose from {', '.join(DATASETS)}")
