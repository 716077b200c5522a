"""Readers of training/: each on a small sample in its real format (synthetic files, or a few real rows of ../shared)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from albumsorter.core.classes import CLASSES_8
from albumsorter.core.preprocess import PreprocessConfig
from training.class_weights import thesis_class_weights
from training.datasets.registry import load_dataset

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FERPLUS = SHARED / "data" / "ferplus"
EXPW = SHARED / "data" / "expw_dev"
PRE_OFF = PreprocessConfig(enabled=False, size=48, channels=1)
PRE_ON = PreprocessConfig(enabled=True, size=48, channels=1)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ALBUMSORTER_TRAINING_CACHE", str(tmp_path / "cache"))


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"needs {path} (the project's shared data), which is absent here")
    return path


def _face_image(seed: int, size: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.full((size, size, 3), 90, np.uint8)
    img[size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = rng.integers(120, 255, 3, dtype=np.uint8)
    return img


# --- FER+ -----------------------------------------------------------------------------------------


def test_ferplus_majority_rule_matches_barsoum():
    from training.datasets.ferplus import majority_targets, soft_targets

    votes = np.array(
        [
            [6, 0, 1, 1, 0, 0, 0, 0, 2, 0],  # neutral 6 of 8 counted votes (singles dropped) -> neutral
            [4, 0, 0, 3, 3, 0, 0, 0, 0, 0],  # 4 of 10 -> ambiguous
            [0, 0, 0, 0, 0, 0, 0, 0, 8, 2],  # unknown wins -> dropped
            [0, 5, 1, 0, 0, 0, 0, 4, 0, 0],  # 5 of 9 after dropping the single -> happy
        ],
        dtype=np.float32,
    )
    hard = majority_targets(votes)
    assert hard[0, CLASSES_8.index("neutral")] == 1 and hard[0].sum() == 1
    assert hard[1].sum() == 0 and hard[2].sum() == 0
    assert hard[3, CLASSES_8.index("happy")] == 1
    soft = soft_targets(votes)
    assert soft[0, CLASSES_8.index("neutral")] == pytest.approx(6 / 8 * 8 / 6)  # single votes dropped, unknown excluded
    assert soft[3, CLASSES_8.index("happy")] == pytest.approx(5 / 9)
    assert soft[3, CLASSES_8.index("contempt")] == pytest.approx(4 / 9)
    assert soft[2].sum() == 0


@pytest.mark.shared
def test_ferplus_reads_real_rows():
    root = _require(FERPLUS)
    faces = load_dataset("ferplus", root, "valid", labels="majority", limit=40)
    assert 0 < len(faces) <= 40
    assert faces.images.shape[1:] == (48, 48, 1) and faces.images.dtype == np.uint8
    assert np.allclose(faces.targets.sum(axis=1), 1)
    assert all(i.startswith("fer") and i.endswith(".png") for i in faces.ids)
    soft = load_dataset("ferplus", root, "train", labels="soft", limit=40)
    assert soft.targets.max() <= 1 and np.allclose(soft.targets.sum(axis=1), 1)
    assert (soft.targets > 0).sum() > len(soft)  # real vote distributions, not one-hot


# --- FER2013 --------------------------------------------------------------------------------------


def test_fer2013_csv(tmp_path):
    path = tmp_path / "fer2013.csv"
    rng = np.random.default_rng(0)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["emotion", "pixels", "Usage"])
        for i, usage in enumerate(["Training"] * 4 + ["PublicTest"] * 2 + ["PrivateTest"] * 3):
            w.writerow([i % 7, " ".join(map(str, rng.integers(0, 256, 48 * 48))), usage])
    train = load_dataset("fer2013", tmp_path, "train")
    test = load_dataset("fer2013", path, "test")
    assert len(train) == 4 and len(test) == 3 and len(load_dataset("fer2013", path, "valid")) == 2
    assert train.images.shape == (4, 48, 48, 1)
    # emotion 0 = angry, 3 = happy, 6 = neutral
    assert [CLASSES_8[i] for i in train.labels] == ["anger", "disgust", "fear", "happy"]
    assert CLASSES_8[test.labels[0]] == "neutral"


# --- AffectNet ------------------------------------------------------------------------------------


def test_affectnet_csv_drops_classes_8_to_10_and_uses_landmark_eyes(tmp_path):
    images = tmp_path / "Manually_Annotated_Images" / "1"
    images.mkdir(parents=True)
    header = [
        "subDirectory_filePath",
        "face_x",
        "face_y",
        "face_width",
        "face_height",
        "facial_landmarks",
        "expression",
        "valence",
        "arousal",
    ]
    landmarks = np.zeros((68, 2))
    landmarks[36:42] = (20, 28)  # subject's right eye, image left
    landmarks[42:48] = (44, 28)
    marks = ";".join(f"{v:.1f}" for v in landmarks.ravel())
    for name in ("training.csv", "validation.csv"):
        with open(tmp_path / name, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            for i, expression in enumerate([0, 1, 7, 8, 9, 10, 6, 3, 2, 4]):
                file = f"1/{name[:3]}{i}.jpg"
                Image.fromarray(_face_image(i)).save(tmp_path / "Manually_Annotated_Images" / file)
                w.writerow([file, 8, 8, 48, 48, marks, expression, 0.1, 0.2])
    test = load_dataset("affectnet", tmp_path, "test", preprocess=PRE_ON)
    assert len(test) == 7 and test.prepared  # expressions 8, 9, 10 dropped
    assert [CLASSES_8[i] for i in test.labels][:3] == ["neutral", "happy", "contempt"]
    assert test.images.shape == (7, 48, 48, 1)
    train, valid = (load_dataset("affectnet", tmp_path, s, preprocess=PRE_OFF, seed=1) for s in ("train", "valid"))
    assert len(train) + len(valid) == 7 and set(train.ids).isdisjoint(valid.ids)

    from training.datasets.affectnet import read_affectnet_csv

    row = read_affectnet_csv(tmp_path / "training.csv")[0]
    assert row["right_eye"] == pytest.approx((20, 28)) and row["left_eye"] == pytest.approx((44, 28))
    assert row["box"] == (8.0, 8.0, 56.0, 56.0)


# --- class-per-folder tree ------------------------------------------------------------------------


def test_folder_tree_with_synonyms_and_fixed_split(tmp_path):
    for cls in ("angry", "happiness", "neutral", "surprised"):
        (tmp_path / cls).mkdir()
        for i in range(5):
            Image.fromarray(_face_image(i, 40 + 8 * i)).save(tmp_path / cls / f"{i}.png")
    parts = {s: load_dataset("folder", tmp_path, s, preprocess=PRE_OFF, seed=3) for s in ("train", "valid", "test")}
    assert sum(len(p) for p in parts.values()) == 20
    assert parts["train"].images.shape[1:] == (48, 48, 1)
    again = load_dataset("folder", tmp_path, "test", preprocess=PRE_OFF, seed=3)
    assert again.ids == parts["test"].ids  # the split is fixed by the seed
    labels = {CLASSES_8[i] for p in parts.values() for i in p.labels}
    assert labels == {"anger", "happy", "neutral", "surprise"}


def test_folder_tree_with_split_folders(tmp_path):
    for split in ("train", "test"):
        for cls in ("sad", "fear"):
            (tmp_path / split / cls).mkdir(parents=True)
            Image.fromarray(_face_image(1)).save(tmp_path / split / cls / "a.jpg")
    assert len(load_dataset("folder", tmp_path, "train", preprocess=PRE_ON)) == 2
    assert len(load_dataset("folder", tmp_path, "valid", preprocess=PRE_ON)) == 0


# --- ExpW boxes through the app's detector ----------------------------------------------------------


@pytest.mark.shared
@pytest.mark.slow
def test_expw_pipeline_on_real_rows():
    root = _require(EXPW)
    from albumsorter.core.resources import detector_model_path

    if not detector_model_path().is_file():
        pytest.skip(f"needs the face detector model {detector_model_path()}")
    faces = load_dataset("expw", root, "all", limit=6, preprocess=PRE_ON)
    assert faces.prepared and faces.images.shape[1:] == (48, 48, 1)
    assert faces.info["labelled faces"] >= 6
    assert 0 < len(faces) <= faces.info["labelled faces"]
    assert "contempt" not in {CLASSES_8[i] for i in faces.labels}


def test_expw_matching_clips_boxes_and_pairs_greedily():
    from training.datasets.expw import match_faces

    labelled = [{"box": (-10, -10, 50, 50)}, {"box": (100, 100, 160, 160)}, {"box": (300, 0, 340, 40)}]
    detections = [{"box": (102, 98, 158, 162)}, {"box": (0, 0, 48, 52)}]
    assert match_faces(labelled, detections, 200, 200) == [1, 0, None]


# --- catalog corrections -----------------------------------------------------------------------------


def test_catalog_corrections(tmp_path):
    catalog_module = pytest.importorskip("albumsorter.core.catalog", reason="the app has no catalog module yet")
    pytest.importorskip("albumsorter.core.decoding", reason="the app has no decoding module yet")
    photo = tmp_path / "p.jpg"
    Image.fromarray(_face_image(0, 120)).save(photo)
    kps = [[45, 50], [75, 50], [60, 65], [60, 80], [35, 55], [85, 55]]
    with catalog_module.Catalog(tmp_path / "cat.sqlite") as cat:
        from albumsorter.core.face import FaceResult, Landmarks

        face = FaceResult((30, 30, 90, 95), 0.9, Landmarks.from_points(kps))
        cat.record_photo(
            catalog_module.IndexedPhoto(str(photo), photo.stat().st_size, 0, "h", "jpeg", 120, 120, None, "det", [face])
        )
        face_id = cat.conn.execute("SELECT id FROM faces").fetchone()[0]
        cat.set_correction(face_id, "sadness")
    faces = load_dataset("catalog", tmp_path / "cat.sqlite", "all", preprocess=PRE_ON)
    assert len(faces) == 1 and CLASSES_8[faces.labels[0]] == "sad"
    assert faces.images.shape == (1, 48, 48, 1)


# --- thesis formulas ------------------------------------------------------------------------------------


def test_class_weights_reproduce_thesis_table_1():
    counts = np.array([24882, 3750, 3803, 6378, 134412, 74874, 25459, 14090])
    expected = [0.6752, 4.4804, 4.4180, 2.6343, 0.1250, 0.2244, 0.6599, 1.1924]
    assert thesis_class_weights(counts) == pytest.approx(expected, abs=1e-4)


def test_metrics_and_groupings():
    from training.metrics import grouped_metrics, without_class

    true = np.array([CLASSES_8.index(c) for c in ("happy", "neutral", "surprise", "anger", "contempt", "sad")])
    probs = np.eye(8)[[CLASSES_8.index(c) for c in ("happy", "surprise", "surprise", "disgust", "anger", "sad")]]
    m = grouped_metrics(true, probs)
    assert m["8"]["top1"] == pytest.approx(3 / 6)
    assert m["3"]["top1"] == pytest.approx(1.0)  # every mistake stays inside its group
    assert m["6"]["n"] == 5  # contempt leaves the 6-class grouping
    assert np.array(m["8"]["confusion"]).sum() == 6
    seven = without_class(true[:4], probs[:4], "contempt")
    assert len(seven["classes"]) == 7 and seven["top1"] == pytest.approx(0.5)
    assert math.isclose(m["8"]["per_class"]["happy"]["f1"], 1.0)


def test_mcnemar_chi_square():
    from training.compare import contingency, mcnemar

    a = np.array([True] * 30 + [False] * 10)
    b = np.array([True] * 20 + [False] * 20)
    result = mcnemar(a, b)
    assert result["a_only_right"] == 10 and result["b_only_right"] == 0
    assert result["chi2"] == pytest.approx(81 / 10) and result["p"] < 0.01
    assert contingency(a, b)["table"] == [[30, 10], [20, 20]]


@pytest.mark.shared
@pytest.mark.slow
def test_evaluate_can_try_another_crop_margin_on_photos(tmp_path, require_models):
    """evaluate --box-margin replaces the card's margin for faces cut from photos (to tune it) and says so."""
    from training.cli import main

    root = _require(EXPW)
    card = Path(__file__).resolve().parents[1] / "models" / "expression" / "model.json"
    runs = {}
    for margin in (0.0, 0.4):
        out = tmp_path / f"m{margin}"
        args = ["evaluate", "--model", str(card), "--dataset", "expw", "--data-root", str(root), "--split", "all", "--limit", "8"]
        assert main([*args, "--box-margin", str(margin), "--out", str(out)]) == 0
        assert f"box margin {margin:g}," in (out / "report.md").read_text()
        runs[margin] = np.load(out / "predictions-expw-all.npz")
    assert list(runs[0.0]["ids"]) == list(runs[0.4]["ids"])
    assert not np.allclose(runs[0.0]["probs"], runs[0.4]["probs"], atol=1e-3)
