"""A catalog written by the release before schema 3 (tests/data/catalog-v2.sqlite, see tests/data/README.md)
opens in this version with every pick, reject and correction kept, and the next run re-detects nothing."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from albumsorter.core.catalog import PICK_PICKED, PICK_REJECTED, SCHEMA_VERSION, Catalog, PhotoFilter
from albumsorter.core.classes import CLASSES_8

DATA = Path(__file__).parent / "data"
SAMPLES = Path(__file__).resolve().parents[1] / "resources" / "samples"
OLD_ROOT = "/tmp/v2album/ALBUM"


@pytest.fixture
def old_catalog(tmp_path) -> tuple[Path, Path]:
    """The v2 catalog, its photos copied to tmp_path/ALBUM with the sizes and times the catalog knows."""
    album = tmp_path / "ALBUM"
    album.mkdir()
    path = tmp_path / "catalog.sqlite"
    shutil.copy(DATA / "catalog-v2.sqlite", path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    for photo_path, mtime_ns in conn.execute("SELECT path, mtime_ns FROM photos").fetchall():
        target = album / Path(photo_path).name
        shutil.copy(SAMPLES / target.name, target)
        os.utime(target, ns=(mtime_ns, mtime_ns))
    conn.execute("UPDATE photos SET path = replace(path, ?, ?)", (OLD_ROOT, str(album)))
    conn.commit()
    conn.close()
    return path, album


def test_v2_catalog_keeps_picks_corrections_and_predictions(old_catalog):
    path, album = old_catalog
    with sqlite3.connect(path) as conn:  # what the old release stored, read with plain SQL
        old_faces = conn.execute(
            f"SELECT id, label, model_id, {', '.join('p_' + c for c in CLASSES_8)} FROM faces ORDER BY id"
        ).fetchall()
        old_keypoints = dict(conn.execute("SELECT id, keypoints FROM faces").fetchall())
    with Catalog(path) as cat:
        assert cat.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert cat.conn.execute("PRAGMA foreign_key_check").fetchall() == []
        photos = {p.name: p for p in cat.query(PhotoFilter(sort="name"), with_faces=True)}
        assert photos["astronaut.jpg"].pick == PICK_PICKED and photos["group.jpg"].pick == PICK_REJECTED
        group = photos["group.jpg"]
        assert [f.corrected for f in group.faces] == [True, False, False]
        assert group.faces[0].label == "surprise" and group.faces[0].predicted_label == "neutral"
        faces = {f.id: f for p in photos.values() for f in p.faces}
        for face_id, label, model_id, *probs in old_faces:
            face = faces[face_id]
            assert face.predicted_label == label and face.model_id == model_id
            assert [face.probabilities[c] for c in CLASSES_8] == pytest.approx(probs, abs=1e-6)
            (rx, ry), (lx, ly) = json.loads(old_keypoints[face_id])[:2]
            assert face.landmarks.right_eye == pytest.approx((rx, ry)) and face.landmarks.left_eye == pytest.approx((lx, ly))
        assert group.smile_count == 2 and cat.stats()["labels"]["surprise"] == 1
        # The filters still work on migrated data.
        assert [p.name for p in cat.query(PhotoFilter(emotions=["surprise"]))] == ["group.jpg"]
        assert cat.count(PhotoFilter(picks=["picked"])) == 1


def test_after_migration_the_next_run_redetects_nothing(old_catalog, monkeypatch):
    """The migration itself forces no work: with the same detector settings, nothing is detected again."""
    from albumsorter.core import analysis
    from albumsorter.core.detection import DetectionSettings
    from albumsorter.core.pipeline import Indexer, IndexOptions

    path, album = old_catalog
    with sqlite3.connect(path) as conn:  # as if the old release had used today's detection settings
        conn.execute("UPDATE photos SET detector_id = ?", (DetectionSettings().id,))

    def must_not_detect(*args, **kwargs):
        raise AssertionError("faces were detected again after the migration")

    monkeypatch.setattr(analysis, "find_faces", must_not_detect)
    with Catalog(path) as cat:
        summary = Indexer(cat, IndexOptions(workers=1)).run(album)
        assert (summary.indexed, summary.unchanged, summary.errors) == (0, 3, [])  # a newer model may re-score
        group = cat.query(PhotoFilter(name_contains="group"), with_faces=True)[0]
        assert group.faces[0].label == "surprise" and group.pick == PICK_REJECTED
