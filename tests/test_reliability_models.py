"""Reliability (issue #6): a missing or corrupt model file, or a model card that does not match its model, stops
with a one-line error naming the file before any work is done - through the Indexer API and the CLI (exit 4).

Broken models are made at test time from the default ones (models/ or $ALBUMSORTER_MODELS), never committed.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from albumsorter.core import pipeline
from albumsorter.core.catalog import Catalog
from albumsorter.core.classify import ModelError
from albumsorter.core.faces import DetectorError
from albumsorter.core.landmarker import landmarker_model_path
from albumsorter.core.pipeline import Indexer, IndexOptions
from albumsorter.core.resources import detector_model_path, expression_model_card_path

pytestmark = pytest.mark.usefixtures("require_models")


@pytest.fixture
def broken(tmp_path) -> dict[str, tuple[Path, str]]:
    """case -> (the card to use, the file the error must name)."""
    card_path = expression_model_card_path()
    card = json.loads(card_path.read_text())
    model = (card_path.parent / card["file"]).read_bytes()
    d = tmp_path / "models"
    d.mkdir()
    cases: dict[str, tuple[Path, str]] = {}

    def make(name: str, card_data: dict | str, model_bytes: bytes | None) -> None:
        path = d / f"{name}.json"
        if model_bytes is not None:
            (d / f"{name}.tflite").write_bytes(model_bytes)
        path.write_text(card_data if isinstance(card_data, str) else json.dumps({**card_data, "file": f"{name}.tflite"}))
        cases[name] = (path, f"{name}.tflite" if name.startswith("model_") else f"{name}.json")

    make("model_missing", card, None)
    make("model_empty", card, b"")
    make("model_garbage", card, bytes(range(256)) * 40)
    make("model_truncated", card, model[: len(model) // 2])
    make("model_card_mismatch", {**card, "input": {**card["input"], "size": card["input"]["size"] + 16}}, model)
    make("model_card_channels_mismatch", {**card, "input": {**card["input"], "channels": 4 - card["input"]["channels"]}}, model)
    make("card_not_json", "{ this is not json", model)
    make("card_wrong_classes", {**card, "classes": card["classes"][:7]}, model)
    make("card_missing_fields", {"id": "x"}, model)
    cases["card_missing"] = (d / "nope.json", "nope.json")
    return cases


CASES = (
    "model_missing",
    "model_empty",
    "model_garbage",
    "model_truncated",
    "model_card_mismatch",
    "model_card_channels_mismatch",
    "card_not_json",
    "card_wrong_classes",
    "card_missing_fields",
    "card_missing",
)


@pytest.mark.parametrize("case", CASES)
def test_indexer_refuses_a_broken_expression_model_before_any_work(case, broken, tmp_path, monkeypatch, photo_folder):
    card, named = broken[case]
    monkeypatch.setattr(pipeline, "walk_files", lambda *a, **k: pytest.fail("the folder was scanned"))
    with Catalog(tmp_path / "c.sqlite") as catalog:
        with pytest.raises(ModelError) as err:
            Indexer(catalog, IndexOptions(model_card=card)).run(photo_folder)
        message = str(err.value)
        assert named in message and "\n" not in message and len(message) < 400, message
        assert catalog.count() == 0 and catalog.stats()["errors"] == 0


@pytest.mark.parametrize("case", ["missing", "empty", "garbage", "truncated"])
def test_indexer_refuses_a_broken_face_detector(case, tmp_path, photo_folder):
    det = tmp_path / f"detector_{case}.tflite"
    data = detector_model_path().read_bytes()
    if case != "missing":
        det.write_bytes({"empty": b"", "garbage": bytes(range(256)) * 40, "truncated": data[: len(data) // 2]}[case])
    with Catalog(tmp_path / "c.sqlite") as catalog:
        with pytest.raises(DetectorError) as err:
            Indexer(catalog, IndexOptions(detector_model=det)).run(photo_folder)
        assert det.name in str(err.value) and "\n" not in str(err.value)
        assert catalog.count() == 0


def cli_index(folder: Path, catalog: Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "albumsorter", "index", str(folder), "--catalog", str(catalog), *extra],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def assert_one_line_exit_4(proc: subprocess.CompletedProcess, named: str, catalog: Path) -> None:
    assert proc.returncode == 4, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and named in lines[0] and lines[0].startswith("albumsorter: "), proc.stderr
    assert proc.stdout == ""
    if catalog.exists():
        with sqlite3.connect(catalog) as conn:
            assert conn.execute("SELECT COUNT(*) FROM photos").fetchone()[0] == 0


@pytest.mark.parametrize("case", ["model_garbage", "model_card_mismatch"])
def test_cli_exits_4_with_one_line_naming_the_model_file(case, broken, tmp_path, photo_folder):
    card, named = broken[case]
    catalog = tmp_path / "c.sqlite"
    assert_one_line_exit_4(cli_index(photo_folder, catalog, "--model", str(card)), named, catalog)


def test_cli_exits_4_for_a_corrupt_default_detector(tmp_path, photo_folder):
    """The default models dir ($ALBUMSORTER_MODELS) with a truncated face detector beside a good expression model."""
    models = tmp_path / "models"
    (models / "face_detector").mkdir(parents=True)
    data = detector_model_path().read_bytes()
    (models / "face_detector" / detector_model_path().name).write_bytes(data[: len(data) // 3])
    shutil.copytree(expression_model_card_path().parent, models / "expression")
    shutil.copytree(landmarker_model_path().parent, models / "face_landmarker")
    catalog = tmp_path / "c.sqlite"
    proc = cli_index(photo_folder, catalog, env={"ALBUMSORTER_MODELS": str(models)})
    assert_one_line_exit_4(proc, detector_model_path().name, catalog)
