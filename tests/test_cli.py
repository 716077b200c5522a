"""The `albumsorter` command as a user runs it: a real process, a real catalog file."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from albumsorter.core.classes import CLASSES_8

pytestmark = pytest.mark.usefixtures("require_models")


def run(*args: str, check: int | None = 0, timeout: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "albumsorter", *args], capture_output=True, text=True, timeout=timeout, env=os.environ.copy()
    )
    if check is not None:
        assert proc.returncode == check, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def checksums(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_index_list_json_pick_export(photo_folder, tmp_path):
    catalog = tmp_path / "cat.sqlite"
    originals = checksums(photo_folder)
    first = run("index", str(photo_folder), "--catalog", str(catalog))
    assert "Photos:      6 indexed" in first.stdout and "Faces:" in first.stdout and "photos/s" in first.stdout
    again = run("index", str(photo_folder), "--catalog", str(catalog))
    assert "0 analysed now, 6 unchanged" in again.stdout

    listing = json.loads(run("list", "--catalog", str(catalog), "--json").stdout)
    assert len(listing) == 6
    for photo in listing:
        assert Path(photo["path"]).is_absolute() and Path(photo["path"]).exists()
        for face in photo["faces"]:
            assert set(face["box"]) == {"left", "top", "right", "bottom"}
            assert set(face["probabilities"]) == set(CLASSES_8)
            assert face["label"] == max(face["probabilities"], key=face["probabilities"].get)
            assert 0 <= face["score"] <= 1
    # Filters agree with the data they filter.
    happy = json.loads(run("list", "--catalog", str(catalog), "--json", "--emotion", "happy").stdout)
    assert {p["path"] for p in happy} == {p["path"] for p in listing if any(f["label"] == "happy" for f in p["faces"])}
    many = json.loads(run("query", "--catalog", str(catalog), "--json", "--min-faces", "2", "--sort", "smile").stdout)
    assert {p["path"] for p in many} == {p["path"] for p in listing if len(p["faces"]) >= 2}
    scores = [p["smile_score"] for p in many]
    assert scores == sorted(scores, reverse=True)
    positive_all = json.loads(run("list", "--catalog", str(catalog), "--json", "--group", "positive", "--all-faces").stdout)
    assert all(p["faces"] and all(f["label"] == "happy" for f in p["faces"]) for p in positive_all)

    two = [listing[0]["path"], listing[1]["path"]]
    run("pick", *two, "--catalog", str(catalog))
    picked = json.loads(run("list", "--catalog", str(catalog), "--json", "--picked").stdout)
    assert sorted(p["path"] for p in picked) == sorted(two)

    dest = tmp_path / "book"
    dest.mkdir()
    (dest / Path(two[0]).name).write_bytes(b"already here")  # must not be overwritten
    out = run("export", "--picked", str(dest), "--catalog", str(catalog))
    assert "exported 2 photos" in out.stdout
    assert (dest / Path(two[0]).name).read_bytes() == b"already here"
    exported = sorted(p.name for p in dest.iterdir())
    assert len(exported) == 3
    assert checksums(photo_folder) == originals  # originals untouched by indexing, picking and exporting


def test_exit_codes(photo_folder, tmp_path):
    catalog = tmp_path / "cat.sqlite"
    missing = run("index", str(tmp_path / "nope"), "--catalog", str(catalog), check=3)
    assert "folder not found" in missing.stderr
    (photo_folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    partial = run("index", str(photo_folder), "--catalog", str(catalog), check=1)
    assert "broken.jpg" in partial.stderr and "Photos:      6 indexed" in partial.stdout
    errors = run("errors", "--catalog", str(catalog))
    assert "broken.jpg" in errors.stdout
    bad_card = tmp_path / "card.json"
    bad_card.write_text('{"id": "x", "file": "missing.tflite", "classes": []}')
    model = run("index", str(photo_folder), "--catalog", str(tmp_path / "c2.sqlite"), "--model", str(bad_card), check=4)
    assert "card.json" in model.stderr and len(model.stderr.strip().splitlines()) == 1
    assert (
        not (tmp_path / "c2.sqlite").exists()
        or sqlite3.connect(tmp_path / "c2.sqlite").execute("SELECT COUNT(*) FROM photos").fetchone()[0] == 0
    )
    usage = run("list", "--catalog", str(catalog), "--emotion", "bored", check=2)
    assert "unknown expression class" in usage.stderr
    assert run("list", "--catalog", str(tmp_path / "none.sqlite"), check=3).returncode == 3


def test_default_catalog_lives_in_the_user_data_dir_not_the_photo_folder(photo_folder):
    before = sorted(p.name for p in photo_folder.iterdir())
    out = run("index", str(photo_folder))
    catalog_line = [line for line in out.stdout.splitlines() if line.startswith("Catalog:")][0]
    catalog = Path(catalog_line.split(":", 1)[1].strip())
    assert catalog.exists() and photo_folder not in catalog.parents
    assert sorted(p.name for p in photo_folder.iterdir()) == before
    # Commands without --catalog use the folder's catalog (the last indexed).
    assert len(json.loads(run("list", "--json").stdout)) == 6


def test_a_killed_run_resumes_and_completes(photo_folder, tmp_path):
    """SIGKILL mid-run: the catalog stays intact and the next run completes it, storing no face twice."""
    from PIL import Image

    # Make the run long enough to kill: 18 larger photos.
    for i, src in enumerate(sorted(photo_folder.glob("*.jpg"))):
        im = Image.open(src).convert("RGB")
        for k in range(2):
            im.resize((im.width * 2, im.height * 2)).save(photo_folder / f"big_{i}_{k}.jpg", quality=90)
    total = len(list(photo_folder.glob("*.jpg")))
    catalog = tmp_path / "cat.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "albumsorter", "index", str(photo_folder), "--catalog", str(catalog), "--workers", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    stored = 0
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
        if catalog.exists():
            try:
                with sqlite3.connect(catalog, timeout=5) as conn:
                    stored = conn.execute("SELECT COUNT(*) FROM photos").fetchone()[0]
            except sqlite3.OperationalError:
                continue
            if stored >= 3:
                break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 0 < stored < total, "the run should have been killed part-way"
    with sqlite3.connect(catalog) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    run("index", str(photo_folder), "--catalog", str(catalog))
    with sqlite3.connect(catalog) as conn:
        assert conn.execute("SELECT COUNT(*) FROM photos WHERE status = 'ok'").fetchone()[0] == total
        dupes = conn.execute(
            "SELECT COUNT(*) FROM (SELECT photo_id, left, top FROM faces GROUP BY 1, 2, 3 HAVING COUNT(*) > 1)"
        ).fetchone()[0]
        assert dupes == 0
        assert (
            conn.execute(
                "SELECT COUNT(*) FROM photos p WHERE NOT EXISTS (SELECT 1 FROM faces f WHERE f.photo_id = p.id)"
            ).fetchone()[0]
            < total
        )


def test_without_a_screen_the_run_command_indexes_from_the_terminal(photo_folder, tmp_path):
    """`./run-app.sh FOLDER` over SSH or on a server: no window can open, so the folder is indexed instead."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = subprocess.run(
        [sys.executable, "-m", "albumsorter", str(photo_folder), "--catalog", str(tmp_path / "c.sqlite")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "No screen" in proc.stderr and "Photos:      6 indexed" in proc.stdout
