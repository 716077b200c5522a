"""Reliability (issue #6): the GUI and a command-line run on the same catalog wait for each other instead of
failing, and two runs on the same folder store nothing twice.

The "GUI" is this test process using the Catalog API (as the window does); the "command line" is a real
`albumsorter index` process or a second connection holding a write transaction.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from albumsorter.core.catalog import PICK_PICKED, Catalog, PhotoFilter
from albumsorter.core.pipeline import Indexer, IndexOptions

needs_models = pytest.mark.usefixtures("require_models")


def hold_write_lock(path: Path, seconds: float, started: threading.Event) -> threading.Thread:
    """Another process's view: a second connection that holds a write transaction for `seconds`."""

    def hold() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO meta(key, value) VALUES ('held-by-test', '1') ON CONFLICT(key) DO UPDATE SET value = '2'")
        started.set()
        time.sleep(seconds)
        conn.execute("COMMIT")
        conn.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert started.wait(10)
    return thread


def test_gui_and_command_line_create_a_new_catalog_at_once(tmp_path):
    """Opening a brand-new catalog from several processes at once: each waits for the other's migration. (Used to
    fail: switching to WAL answered "database is locked" at once, and a second migration hit "table meta already
    exists".)"""
    for trial in range(15):
        path = tmp_path / f"new{trial}.sqlite"
        barrier = threading.Barrier(4)
        errors = []

        def open_it(barrier=barrier, path=path, errors=errors) -> None:
            barrier.wait()
            try:
                with Catalog(path) as catalog:
                    catalog.set_meta(f"opened-by-{threading.get_ident()}", "1")
            except Exception as exc:  # noqa: BLE001 - collected
                errors.append(repr(exc))

        threads = [threading.Thread(target=open_it) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        with Catalog(path) as catalog:
            assert catalog.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert catalog.conn.execute("SELECT COUNT(*) FROM meta WHERE key LIKE 'opened-by-%'").fetchone()[0] == 4


def no_duplicates(catalog: Path) -> None:
    with sqlite3.connect(catalog) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT COUNT(*) FROM (SELECT path FROM photos GROUP BY path HAVING COUNT(*) > 1)").fetchone()[0] == 0
        assert (
            conn.execute(
                "SELECT COUNT(*) FROM (SELECT photo_id, left, top, right, bottom FROM faces GROUP BY 1, 2, 3, 4, 5 HAVING COUNT(*) > 1)"
            ).fetchone()[0]
            == 0
        )


@needs_models
def test_user_writes_wait_for_a_held_write_transaction(photo_folder, tmp_path):
    path = tmp_path / "c.sqlite"
    with Catalog(path) as catalog:
        Indexer(catalog, IndexOptions(workers=2)).run(photo_folder)
        photos = catalog.query(with_faces=True)
        holder = hold_write_lock(path, 1.5, threading.Event())
        # Reads do not wait at all (WAL) ...
        t0 = time.monotonic()
        assert catalog.count() == 6
        assert time.monotonic() - t0 < 1.0
        # ... writes wait for the other writer, then succeed: no "database is locked".
        catalog.set_pick([photos[0].id], PICK_PICKED)
        face = next(f for p in photos for f in p.faces)
        catalog.set_correction(face.id, "happy")
        waited = time.monotonic() - t0
        holder.join()
        assert waited >= 1.0
        assert catalog.photo(photos[0].id).pick == PICK_PICKED
        assert catalog.get_meta("held-by-test") == "1"


@needs_models
def test_an_indexing_run_waits_for_a_held_write_transaction(photo_folder, tmp_path):
    path = tmp_path / "c.sqlite"
    with Catalog(path) as catalog:
        holder = hold_write_lock(path, 2.0, threading.Event())
        summary = Indexer(catalog, IndexOptions(workers=2)).run(photo_folder)
        holder.join()
        assert summary.indexed == 6 and not summary.errors and catalog.count() == 6


@needs_models
def test_gui_and_command_line_on_one_catalog_at_once(photo_folder, tmp_path):
    """A CLI run indexes while the 'GUI' keeps picking and querying: neither fails, no pick is lost."""
    path = tmp_path / "c.sqlite"
    with Catalog(path) as gui:
        Indexer(gui, IndexOptions(workers=1)).run(photo_folder)
        # New photos for the CLI run to index while the GUI works.
        for p in sorted(photo_folder.glob("*.jpg"))[:3]:
            data = p.read_bytes()
            (photo_folder / f"copy_{p.name}").write_bytes(data + b"\0")  # new content: analysed, not copied
        cli = subprocess.Popen(
            [sys.executable, "-m", "albumsorter", "index", str(photo_folder), "--catalog", str(path), "--workers", "1", "-q"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )
        ids = [p.id for p in gui.query()]
        picks = 0
        while cli.poll() is None:
            state = PICK_PICKED if picks % 2 == 0 else 0
            gui.set_pick(ids, state)
            picks += 1
            assert gui.count() >= 6
            time.sleep(0.05)
        out, err = cli.communicate()
        assert cli.returncode == 0, err
        gui.set_pick(ids, PICK_PICKED)
        assert picks >= 3
        assert gui.count(PhotoFilter(picks=["picked"])) == 6 and gui.count() == 9
    no_duplicates(path)


def _two_runs(photo_folder: Path, tmp_path: Path) -> tuple[list, list]:
    """Two runs on one folder and catalog, both past their scan before either stores anything (the race)."""
    path = tmp_path / "c.sqlite"
    Catalog(path).close()
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def run(i: int) -> None:
        first = [True]

        def on_progress(progress) -> None:
            if first[0]:
                first[0] = False
                try:
                    barrier.wait(timeout=15)  # with a run lock the other run never gets here: go on alone
                except threading.BrokenBarrierError:
                    pass

        try:
            with Catalog(path) as catalog:
                results[i] = Indexer(catalog, IndexOptions(workers=1)).run(photo_folder, on_progress=on_progress)
        except Exception as exc:  # noqa: BLE001 - reported below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    no_duplicates(path)
    with Catalog(path) as catalog:
        assert catalog.count() == 6 and catalog.stats()["errors"] == 0
    return results, [r for r in results if isinstance(r, Exception)]


@needs_models
def test_two_runs_on_one_folder_store_nothing_twice(photo_folder, tmp_path):
    results, failures = _two_runs(photo_folder, tmp_path)
    assert not failures, failures


@needs_models
def test_two_runs_on_one_folder_do_not_duplicate_work(photo_folder, tmp_path):
    results, failures = _two_runs(photo_folder, tmp_path)
    assert not failures, failures
    assert sum(r.indexed for r in results) == 6, [r.indexed for r in results]
