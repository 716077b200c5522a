"""Picking the best shot end to end: real photos made into bursts go through the real pipeline (detection, the
quality and expression scorers, photo measures), are grouped in the catalog, ranked, filtered and listed."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from albumsorter.core.catalog import Catalog, PhotoFilter
from albumsorter.core.pipeline import Indexer, IndexOptions
from tests.burst_fixtures import START, make_burst, make_copies_without_exif, make_two_scenes

pytestmark = pytest.mark.shared
DATA = Path(__file__).parent / "data"
SAMPLES = Path(__file__).resolve().parents[1] / "resources" / "samples"


def index(catalog: Catalog, folder: Path):
    return Indexer(catalog, IndexOptions(workers=2)).run(folder)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    folder = tmp_path_factory.mktemp("album")
    frames = {"burst": make_burst(folder), "scenes": make_two_scenes(folder), "copies": make_copies_without_exif(folder)}
    path = tmp_path_factory.mktemp("cat") / "c.sqlite"
    with Catalog(path) as cat:
        summary = index(cat, folder)
        assert not summary.errors
    return folder, path, frames


def by_name(cat: Catalog) -> dict:
    return {p.name: p for p in cat.query(with_faces=True)}


def test_bursts_are_grouped_and_the_blurred_frame_is_never_the_keeper(library):
    folder, path, frames = library
    with Catalog(path) as cat:
        photos = by_name(cat)
        burst = [photos[f.path.name] for f in frames["burst"]]
        assert len({p.group_id for p in burst}) == 1 and all(p.group_size == 4 for p in burst)
        ranks = {f.kind: photos[f.path.name].group_rank for f in frames["burst"]}
        assert sorted(ranks.values()) == [1, 2, 3, 4]
        assert ranks["blurred"] != 1 and ranks["blurred"] == 4, ranks
        blurred = photos[next(f.path.name for f in frames["burst"] if f.kind == "blurred")]
        sharp = photos[next(f.path.name for f in frames["burst"] if f.kind == "sharp")]
        assert blurred.keeper_score < sharp.keeper_score and blurred.sharpness < sharp.sharpness
        # Two different scenes two seconds apart are two groups; copies without EXIF are one.
        scenes = [photos[f.path.name] for f in frames["scenes"]]
        assert all(p.group_size == 1 for p in scenes)
        copies = [photos[f.path.name] for f in frames["copies"]]
        assert copies[0].group_id == copies[1].group_id and copies[0].group_size == 2
        # Faces carry the quality scorer's results: eyes, smile, pose, sharpness.
        face = sharp.faces[0]
        assert {"eyes_open", "smile", "pose", "sharpness", "cut_off"} <= face.results["quality"].data.keys()


def test_filters_and_json_for_the_best_shot(library):
    folder, path, frames = library
    with Catalog(path) as cat:
        keepers = cat.query(PhotoFilter(keepers=True))
        burst_names = {f.path.name for f in frames["burst"]}
        assert len([p for p in keepers if p.name in burst_names]) == 1
        assert cat.count() - cat.count(PhotoFilter(keepers=True)) == 3 + 1  # 3 burst frames and 1 copy are not keepers
        by_keeper = cat.query(PhotoFilter(sort="keeper"))
        assert by_keeper[0].keeper_score == max(p.keeper_score for p in by_keeper)
    out = subprocess.run(
        [sys.executable, "-m", "albumsorter", "list", "--catalog", str(path), "--json", "--keepers", "--sharp"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    rows = json.loads(out.stdout)
    assert rows and all(0 <= r["sharpness"] <= 1 and 0 <= r["exposure"] <= 1 and 0 <= r["keeper_score"] <= 1 for r in rows)
    assert not any(r["path"].endswith("_blurred.jpg") for r in rows)
    grouped = [r for r in rows if r["group"]]
    assert all(set(r["group"]) == {"id", "size", "rank"} and r["group"]["rank"] == 1 for r in grouped)
    face = next(f for r in rows for f in r["faces"])
    assert {"eyes_open", "smile", "sharpness", "pose", "cut_off"} <= face.keys()
    assert face["pose"] is None or set(face["pose"]) == {"yaw", "pitch", "roll"}


def test_grouping_is_incremental_and_user_splits_are_kept(library, tmp_path):
    folder, path, frames = library
    work = tmp_path / "album"
    shutil.copytree(folder, work)
    cat_path = tmp_path / "c.sqlite"
    shutil.copy(path, cat_path)
    with sqlite3.connect(cat_path) as conn:
        conn.execute("UPDATE photos SET path = replace(path, ?, ?)", (str(folder), str(work)))
    for name in [p.name for p in work.iterdir()]:  # the catalog knows these files by size and time
        shutil.copystat(folder / name, work / name)
    with Catalog(cat_path) as cat:
        before = {p.name: p.group_id for p in cat.query()}
        # The user says the darkened frame is a different moment.
        darkened = next(f.path.name for f in frames["burst"] if f.kind == "darkened")
        cat.split_group([by_name(cat)[darkened].id])
        # A new frame of the same burst arrives (a second after the last).
        make_burst(work, start=START + timedelta(seconds=5), prefix="late")
        for late in sorted(work.glob("late_*")):
            if "_0_" not in late.name:
                late.unlink()
        summary = index(cat, work)
        assert summary.indexed == 1
        after = by_name(cat)
        late = next(p for n, p in after.items() if n.startswith("late_"))
        sharp_name = next(f.path.name for f in frames["burst"] if f.kind == "sharp")
        assert late.group_id == after[sharp_name].group_id, "the new frame joined its burst"
        assert after[darkened].group_id != after[sharp_name].group_id, "the user's split stays"
        unchanged = [n for n in before if n != darkened and not n.startswith("burst_")]
        assert all(after[n].group_id == before[n] for n in unchanged), "nothing else moved"
    out = subprocess.run(
        [sys.executable, "-m", "albumsorter", "group", "merge", str(work / darkened), str(work / sharp_name), "--catalog", str(cat_path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    with Catalog(cat_path) as cat:
        photos = by_name(cat)
        assert photos[darkened].group_id == photos[sharp_name].group_id


def test_an_old_catalog_gets_the_new_scores_without_redetection(tmp_path, monkeypatch):
    """A catalog of the release before (schema 2) is migrated; the next run measures the photos and runs the quality
    scorer on the stored faces, but never the detector."""
    from albumsorter.core import analysis
    from albumsorter.core.detection import DetectionSettings

    album = tmp_path / "ALBUM"
    album.mkdir()
    path = tmp_path / "c.sqlite"
    shutil.copy(DATA / "catalog-v2.sqlite", path)
    with sqlite3.connect(path) as conn:
        for photo_path, mtime_ns in conn.execute("SELECT path, mtime_ns FROM photos").fetchall():
            target = album / Path(photo_path).name
            shutil.copy(SAMPLES / target.name, target)
            import os

            os.utime(target, ns=(mtime_ns, mtime_ns))
        conn.execute(
            "UPDATE photos SET path = replace(path, '/tmp/v2album/ALBUM', ?), detector_id = ?",
            (str(album), DetectionSettings().id),
        )

    def must_not_detect(*args, **kwargs):
        raise AssertionError("faces were detected again")

    monkeypatch.setattr(analysis, "find_faces", must_not_detect)
    with Catalog(path) as cat:
        summary = index(cat, album)
        assert summary.indexed == 0 and summary.reclassified == 3 and not summary.errors
        photos = by_name(cat)
        assert all(p.sharpness is not None and p.keeper_score is not None for p in photos.values())
        assert all("quality" in f.results for p in photos.values() for f in p.faces)
        assert photos["group.jpg"].faces[0].label == "surprise", "the user's correction survived"
