"""AffectNet's training.csv / validation.csv (subDirectory_filePath, face box, 68 landmarks, expression, valence, arousal).

Expressions 0-7 are Neutral, Happy, Sad, Surprise, Fear, Disgust, Anger, Contempt; 8-10 (None,
Uncertain, Non-Face) are dropped, as in the thesis (§5.1). Eyes are the means of landmarks 37-42
(subject's right) and 43-48 (left). validation.csv is the test split (AffectNet's test set is not
public); training.csv is split 90/10 into train/valid by --seed.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from albumsorter.core.preprocess import PreprocessConfig, face_input
from training.datasets.base import FaceSet, one_hot, split_indices
from training.datasets.photos import load_rgb, stack_inputs

AFFECTNET_CLASSES: tuple[str, ...] = ("neutral", "happy", "sad", "surprise", "fear", "disgust", "anger", "contempt")
IMAGE_FOLDERS = ("Manually_Annotated_Images", "Manually_Annotated/Manually_Annotated_Images", "images", ".")


def read_affectnet_csv(path: Path) -> list[dict]:
    """Rows with expression 0-7 as dicts: path, box (l, t, r, b), right_eye, left_eye, label, valence, arousal."""
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            expression = int(row["expression"])
            if expression >= len(AFFECTNET_CLASSES):
                continue
            x, y = float(row["face_x"]), float(row["face_y"])
            w, h = float(row["face_width"]), float(row["face_height"])
            right_eye = left_eye = None
            marks = [float(v) for v in str(row.get("facial_landmarks", "")).split(";") if v.strip()]
            if len(marks) >= 136:
                pts = np.array(marks[:136]).reshape(68, 2)
                right_eye = tuple(pts[36:42].mean(axis=0).tolist())
                left_eye = tuple(pts[42:48].mean(axis=0).tolist())
            rows.append(
                {
                    "path": row["subDirectory_filePath"],
                    "box": (x, y, x + w, y + h),
                    "right_eye": right_eye,
                    "left_eye": left_eye,
                    "label": AFFECTNET_CLASSES[expression],
                    "valence": float(row.get("valence", "nan") or "nan"),
                    "arousal": float(row.get("arousal", "nan") or "nan"),
                }
            )
    return rows


def _image_root(root: Path) -> Path:
    for name in IMAGE_FOLDERS:
        if (root / name).is_dir() and name != ".":
            return root / name
    return root


def load_affectnet(
    root: Path, split: str, seed: int = 0, limit: int | None = None, preprocess: PreprocessConfig | None = None
) -> FaceSet:
    """Faces of one split, cropped and pre-processed by the app's face_input (prepared inputs)."""
    if preprocess is None:
        raise ValueError("AffectNet faces are cut from photos: give the model's PreprocessConfig")
    root = Path(root)
    if split == "test":
        rows = read_affectnet_csv(root / "validation.csv")
    else:
        rows = read_affectnet_csv(root / "training.csv")
        if split != "all":
            rows = [rows[i] for i in split_indices(len(rows), (0.9, 0.1, 0.0), seed)[split]]
    if limit is not None:
        rows = rows[:limit]
    images = _image_root(root)
    inputs, labels, ids, missing = [], [], [], 0
    for row in rows:
        path = images / row["path"]
        if not path.is_file():
            missing += 1
            continue
        rgb = load_rgb(path)
        inputs.append(face_input(rgb, preprocess, box=row["box"], right_eye=row["right_eye"], left_eye=row["left_eye"]))
        labels.append(row["label"])
        ids.append(row["path"])
    faces = FaceSet(stack_inputs(inputs, preprocess.size, preprocess.channels), one_hot(labels), ids=ids, prepared=True)
    if missing:
        faces.info["missing image files"] = missing
    return faces
