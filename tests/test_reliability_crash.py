"""Reliability (issue #6): an indexing run killed (SIGKILL) at random points, many times, loses nothing.

After every kill: `PRAGMA integrity_check` passes, no path or face is stored twice, every pick and correction
set so far (through the Catalog API, between kills) is still there. The last run completes the index, and its
result equals an uninterrupted index of the same folder. Some restarts use a second model card (same model
file, new id), so kills also land in the reclassification of stored faces.

Kill points are random but reproducible: RELIABILITY_SEED=<n> picks another sequence (the seed is printed).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from albumsorter.core.catalog import PICK_PICKED, PICK_REJECTED, Catalog, PhotoFilter
from albumsorter.core.classes import CLASSES_8
from albumsorter.core.pipeline import Indexer, IndexOptions
from albumsorter.core.resources import expression_model_card_path
from tests.conftest import SAMPLE_PHOTOS, SHARED_PHOTOS, require_shared

pytestmark = pytest.mark.usefixtures("require_models")

KILLS = 10


def small_photos(folder: Path) -> int:
    """12 distinct photos of at most 1000 px (whole-photo pass + a few tiles: a fraction of a second each)."""
    require_shared(SHARED_PHOTOS)
    folder.mkdir()
    n = 0
    for name in SAMPLE_PHOTOS:
        image = Image.open(SHARED_PHOTOS / name).convert("RGB")
        image.thumbnail((1000, 1000))
        for variant, img in (("a", image), ("m", ImageOps.mirror(image))):
            img.save(folder / f"{Path(name).stem}_{variant}.jpg", quality=85)
            n += 1
    return n


# The run as the CLI does it, but committing every photo (batch_size=1), so kills land between and inside
# many more transactions than the CLI's batches of 16 would give on a small folder; and each photo takes at
# least 0.15 s more (a slow disk), so the kill windows do not depend on how fast this machine is.
DRIVER = """
import sys, time
from pathlib import Path
from albumsorter.core import pipeline
from albumsorter.core.catalog import Catalog
from albumsorter.core.pipeline import IndexOptions, Indexer

def slow(method):
    def wrapper(*args, **kwargs):
        time.sleep(0.15)
        return method(*args, **kwargs)
    return wrapper

pipeline.Analyzer.analyse = slow(pipeline.Analyzer.analyse)
pipeline.Analyzer.refresh = slow(pipeline.Analyzer.refresh)
catalog, folder, card = sys.argv[1:4]
with Catalog(catalog) as cat:
    Indexer(cat, IndexOptions(workers=1, batch_size=1, model_card=Path(card) if card != "-" else None)).run(folder)
"""


def start_run(folder: Path, catalog: Path, card: Path | None) -> subprocess.Popen:
    cmd = [sys.executable, "-c", DRIVER, str(catalog), str(folder), str(card) if card else "-"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy())


def counts(catalog: Path, model_id: str) -> tuple[int, int]:
    """(photos stored, faces classified by `model_id`); -1 while there is no catalog yet."""
    if not catalog.exists():
        return -1, -1
    try:
        with sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=1) as conn:
            photos = conn.execute("SELECT COUNT(*) FROM photos").fetchone()[0]
            faces = conn.execute(
                "SELECT COUNT(*) FROM face_results WHERE kind = 'expression' AND model_id = ?", (model_id,)
            ).fetchone()[0]
            return photos, faces
    except sqlite3.Error:  # not created yet / schema being written
        return -1, -1


def check_invariants(catalog: Path, picks: dict[str, int], corrections: dict[tuple[str, int], str]) -> None:
    with sqlite3.connect(catalog) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("SELECT COUNT(*) FROM (SELECT path FROM photos GROUP BY path HAVING COUNT(*) > 1)").fetchone()[0] == 0
        twice = conn.execute(
            "SELECT COUNT(*) FROM (SELECT photo_id, left, top, right, bottom FROM faces GROUP BY 1, 2, 3, 4, 5 HAVING COUNT(*) > 1)"
        ).fetchone()[0]
        assert twice == 0, "a face is stored twice"
        # A stored photo is complete: every face has an expression.
        unclassified = "SELECT COUNT(*) FROM faces f WHERE NOT EXISTS (SELECT 1 FROM face_results r WHERE r.face_id = f.id AND r.kind = 'expression' AND r.label IS NOT NULL)"
        assert conn.execute(unclassified).fetchone()[0] == 0
    with Catalog(catalog) as cat:
        by_path = {p.path: p for p in cat.query(PhotoFilter(include_gone=True), with_faces=True)}
        for path, state in picks.items():
            assert by_path[path].pick == state, f"pick lost: {path}"
        for (path, idx), label in corrections.items():
            face = by_path[path].faces[idx]
            assert face.corrected and face.label == label, f"correction lost: {path} face {idx}"


def test_many_kills_at_random_points_lose_nothing(tmp_path):
    seed = int(os.environ.get("RELIABILITY_SEED", "20240714"))
    print(f"RELIABILITY_SEED={seed}")
    rng = random.Random(seed)
    folder = tmp_path / "photos"
    total = small_photos(folder)
    catalog = tmp_path / "cat.sqlite"
    card = json.loads(expression_model_card_path().read_text())
    card["id"] += "-crash-test-v2"
    card["file"] = str(expression_model_card_path().parent / card["file"])
    card_b = tmp_path / "v2.json"
    card_b.write_text(json.dumps(card))

    picks: dict[str, int] = {}
    corrections: dict[tuple[str, int], str] = {}
    kill_log = []
    for k in range(KILLS):
        use_b = k >= KILLS // 2  # the second half switches model: stored faces get reclassified
        if use_b:  # ... and finds a new photo each time
            src = sorted(folder.glob("*_a.jpg"))[k % 6]
            Image.open(src).rotate(180).save(folder / f"{src.stem}_r{k}.jpg", quality=85)
            total += 1
        photos_before, faces_before = counts(catalog, card["id"])
        proc = start_run(folder, catalog, card_b if use_b else None)
        # A kill point: a random moment (start-up, migration, scanning), or once a random number of further
        # photos are stored / faces reclassified, plus a random part of the next one.
        mode = rng.choice(("time", "count", "count", "count"))
        grow = rng.randint(1, 3)
        delay = rng.uniform(0.05, 2.0)
        t0 = time.monotonic()
        while proc.poll() is None and time.monotonic() - t0 < 60:
            if mode == "time" and time.monotonic() - t0 >= delay:
                break
            if mode == "count":
                photos, faces = counts(catalog, card["id"])
                if (faces if use_b else photos) >= (faces_before if use_b else photos_before) + grow:
                    time.sleep(rng.uniform(0, 0.2))
                    break
            time.sleep(0.01)
        finished = proc.poll() is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if finished:
            assert proc.returncode == 0, proc.stderr.read().decode()
        proc.stderr.close()
        after = counts(catalog, card["id"])
        kill_log.append(
            (mode, round(time.monotonic() - t0, 2), (photos_before, faces_before), after, "finished" if finished else "killed")
        )
        if after[0] <= 0:
            continue
        check_invariants(catalog, picks, corrections)
        # The user works between runs: picks, rejects and face corrections on what is stored so far.
        with Catalog(catalog) as cat:
            photos = cat.query(with_faces=True)
            for photo in rng.sample(photos, min(2, len(photos))):
                state = rng.choice((PICK_PICKED, PICK_REJECTED))
                cat.set_pick([photo.id], state)
                picks[photo.path] = state
                if photo.faces:
                    idx = rng.randrange(len(photo.faces))
                    label = rng.choice(CLASSES_8)
                    cat.set_correction(photo.faces[idx].id, label)
                    corrections[(photo.path, idx)] = label
    print("kills (mode, seconds, (photos, faces of model b) before, after, outcome):", *kill_log, sep="\n  ")
    assert sum(1 for *_, outcome in kill_log if outcome == "killed") >= KILLS // 2, kill_log

    final = subprocess.run(
        [
            sys.executable,
            "-m",
            "albumsorter",
            "index",
            str(folder),
            "--catalog",
            str(catalog),
            "--workers",
            "2",
            "-q",
            "--model",
            str(card_b),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert final.returncode == 0, final.stderr
    check_invariants(catalog, picks, corrections)

    # The interrupted index equals an uninterrupted one of the same folder.
    with Catalog(tmp_path / "reference.sqlite") as ref_cat, Catalog(catalog) as cat:
        Indexer(ref_cat, IndexOptions(workers=2, model_card=card_b)).run(folder)
        reference = {p.path: p for p in ref_cat.query(with_faces=True)}
        result = {p.path: p for p in cat.query(with_faces=True)}
        assert cat.stats()["errors"] == 0 and len(result) == total == len(reference)
        for path, ref in reference.items():
            got = result[path]
            assert [tuple(round(v, 1) for v in f.box) for f in got.faces] == [
                tuple(round(v, 1) for v in f.box) for f in ref.faces
            ]
            assert all(f.model_id == card["id"] for f in got.faces), "every face classified by the latest model"
            assert [f.predicted_label for f in got.faces] == [f.predicted_label for f in ref.faces]
