"""CI-sized end-to-end run of training/: train the small CNN a few steps, evaluate, export, load in the app.

Uses a few FER+ faces from ../shared when present, else a synthetic class-per-folder tree, so it runs
on a fresh clone too. Everything goes to tmp dirs (run folder, cache, models/).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("tensorflow", reason="training needs the 'train' extras (tensorflow-cpu)")

from albumsorter.core.classes import CLASSES_8  # noqa: E402
from training.cli import main  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FERPLUS = REPO.parent / "shared" / "data" / "ferplus"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ALBUMSORTER_TRAINING_CACHE", str(tmp_path / "cache"))


def _synthetic_tree(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for k, cls in enumerate(CLASSES_8):
        (root / cls).mkdir(parents=True)
        for i in range(6):
            img = rng.integers(0, 60, (40, 40), dtype=np.uint8) + np.uint8(20 * k)
            Image.fromarray(img).save(root / cls / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def data_args(tmp_path_factory) -> list[str]:
    if FERPLUS.exists():
        return ["--dataset", "ferplus", "--data-root", str(FERPLUS), "--limit", "96"]
    return ["--dataset", "folder", "--data-root", str(_synthetic_tree(tmp_path_factory.mktemp("faces")))]


def test_help_documents_every_subcommand():
    out = subprocess.run(
        [sys.executable, "-m", "training", "--help"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    for cmd in ("train", "evaluate", "compare", "export", "visualize", "bench"):
        assert cmd in out
    train_help = subprocess.run(
        [sys.executable, "-m", "training", "train", "--help"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    for option in (
        "--class-weights",
        "--mixup",
        "--resume",
        "--lr-schedule",
        "--labels",
        "--classes",
        "--preprocessing",
        "--alpha",
        "--extra-train",
        "--box-margin",
    ):
        assert option in train_help


@pytest.mark.slow
def test_train_evaluate_export_and_load_in_app(tmp_path, data_args, capsys, monkeypatch):
    run = tmp_path / "run"
    common = ["--network", "small_cnn", "--size", "32", "--channels", "1", "--batch-size", "8", "--steps-per-epoch", "2"]
    monkeypatch.setenv("ALBUMSORTER_PROGRESS", "1")  # the in-epoch bar, as on a terminal
    assert main(["train", *data_args, *common, "--epochs", "1", "--rotation", "5", "--mixup", "0.2", "--run-dir", str(run)]) == 0
    printed = capsys.readouterr()
    assert "\repoch 1/1 [########################] 2/2 loss " in printed.err
    assert "epoch 1/1: loss" in printed.out  # the per-epoch line that train.log keeps
    for name in (
        "command.txt",
        "config.json",
        "split.json",
        "log.csv",
        "train.log",
        "checkpoints/last.keras",
        "checkpoints/best.keras",
        "metrics.json",
        "report.md",
    ):
        assert (run / name).is_file(), name
    assert "--network small_cnn" in (run / "command.txt").read_text()

    # Resume one more epoch from the checkpoint.
    assert main(["train", "--resume", str(run), "--epochs", "2", "--no-evaluate"]) == 0
    assert len((run / "log.csv").read_text().strip().splitlines()) == 3  # header + 2 epochs
    assert json.loads((run / "checkpoints" / "state.json").read_text())["epoch"] == 2

    metrics = json.loads((run / "metrics.json").read_text())
    key = next(k for k in metrics if k.endswith("/test"))
    assert set(metrics[key]["groupings"]) == {"8", "6", "3"}
    assert 0 <= metrics[key]["groupings"]["8"]["top1"] <= metrics[key]["groupings"]["8"]["top2"] <= 1
    assert list((run).glob("confusion-*-8.png"))

    models = tmp_path / "models"
    assert main(["export", "--run", str(run), "--install", "--models-dir", str(models)]) == 0
    card = json.loads((models / "expression" / "model.json").read_text())
    assert card["classes"] == list(CLASSES_8) and card["input"]["size"] == 32 and card["input"]["channels"] == 1
    assert (models / "expression" / "training-log.csv").read_text() == (run / "log.csv").read_text()
    assert card["preprocessing"]["enabled"] is True and card["training"]["command"] and card["metrics"]
    assert card["metrics"]["inference"]["ms_per_face_batch1"] > 0

    from albumsorter.core.classify import ExpressionClassifier

    clf = ExpressionClassifier.from_card(models / "expression" / "model.json")
    probs = clf.predict(np.zeros((3, 32, 32, 1), np.uint8))
    assert probs.shape == (3, 8) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)

    # The exported LiteRT model agrees with the Keras checkpoint, and evaluate reads the card.
    out = tmp_path / "eval"
    assert main(["evaluate", "--model", str(models / "expression" / "model.json"), *data_args, "--out", str(out)]) == 0
    keras_probs = np.load(next(run.glob("predictions-*test.npz")))["probs"]
    lite_probs = np.load(next(out.glob("predictions-*test.npz")))["probs"]
    assert keras_probs.shape == lite_probs.shape

    assert main(["compare", str(run), str(out)]) == 0
    assert main(["visualize", "--model", str(run), "--steps", "3"]) == 0
    assert (run / "activation_maximisation.png").is_file()


def test_progress_bar_line():
    from training.train import progress_bar

    line = progress_bar(3, 24, 111, 444, 0.6543, 0.8123, elapsed=50.0)
    assert line == "epoch 3/24 [######..................] 111/444 loss 0.6543 acc 0.8123 | 2m30s left"
    assert progress_bar(1, 1, 0, 10, 0, 0, 0.0).endswith("0/10 loss 0.0000 acc 0.0000 | 0s left")


@pytest.mark.parametrize(
    ("network", "shape", "options"),
    [
        ("vgg16", (32, 32, 3), {}),
        ("mobilenet", (32, 32, 1), {"alpha": 0.25}),
        ("xception", (71, 71, 3), {}),
        ("small_cnn", (32, 32, 3), {}),
        ("fer_vgg", (48, 48, 1), {"width": 8}),
    ],
)
def test_every_thesis_network_builds_with_an_8_class_head(network, shape, options):
    from training.networks import build_network

    model = build_network(network, shape, 8, **options)
    assert model.output_shape == (None, 8)
    assert model.input_shape == (None, *shape)


def test_weights_come_only_from_a_given_file(tmp_path):
    from training.networks import build_network

    a = build_network("small_cnn", (32, 32, 1), 8)
    a.save_weights(tmp_path / "w.weights.h5")
    b = build_network("small_cnn", (32, 32, 1), 8, weights=tmp_path / "w.weights.h5")
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


EXPW = REPO.parent / "shared" / "data" / "expw_dev"


@pytest.mark.slow
@pytest.mark.skipif(not (FERPLUS.exists() and EXPW.exists()), reason="needs ../shared/data/ferplus and ../shared/data/expw_dev")
def test_faces_cut_from_photos_join_the_training_split_only(tmp_path):
    """--extra-train adds ExpW's train photos (cut by the app's detector, at the card's box margin), repeated;
    none of ExpW's held-out photos are trained on; the margin reaches the model card; resume may change lr."""
    from albumsorter.core.preprocess import PreprocessConfig
    from training.datasets.registry import load_dataset

    run = tmp_path / "run"
    args = [
        "train",
        "--dataset",
        "ferplus",
        "--data-root",
        str(FERPLUS),
        "--limit",
        "40",
        "--network",
        "small_cnn",
        "--size",
        "32",
        "--channels",
        "1",
        "--no-preprocessing",
        "--box-margin",
        "0.05",
        "--batch-size",
        "8",
        "--steps-per-epoch",
        "2",
        "--epochs",
        "1",
        "--no-evaluate",
        "--extra-train",
        f"expw={EXPW}",
        "--extra-repeat",
        "3",
        "--run-dir",
        str(run),
    ]
    assert main(args) == 0
    split = json.loads((run / "split.json").read_text())
    (extra,) = split["extra_train"].values()
    assert extra["n"] > 0 and extra["repeat"] == 3
    assert (
        f"added {extra['n']} expw={EXPW} train faces x 3 = {3 * extra['n']}: {split['splits']['train']['n'] + 3 * extra['n']} training faces"
        in (run / "train.log").read_text()
    )
    pre = PreprocessConfig(enabled=False, size=32, channels=1, box_margin=0.05)
    held_out = {i for s in ("valid", "test") for i in load_dataset("expw", EXPW, s, limit=40, preprocess=pre).ids}
    trained = set(extra["ids"])
    assert held_out and not trained & held_out
    assert {i.split("#")[0] for i in trained}.isdisjoint({i.split("#")[0] for i in held_out})

    assert main(["train", "--resume", str(run), "--epochs", "2", "--lr", "5e-5", "--no-evaluate"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["lr"] == 5e-5 and config["epochs"] == 2 and config["extra_train"] == [f"expw={EXPW}"]
    assert "resumed" in (run / "command.txt").read_text()

    models = tmp_path / "models"
    assert main(["export", "--run", str(run), "--install", "--models-dir", str(models)]) == 0
    card = json.loads((models / "expression" / "model.json").read_text())
    assert card["preprocessing"]["box_margin"] == 0.05 and card["preprocessing"]["enabled"] is False
