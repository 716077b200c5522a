"""Model → Improve the Model from My Corrections and Revert, in the real window offscreen on a real catalog: the
work runs in the background and its verdict is shown without blocking the window (core.improve does the learning;
tests/test_improve.py covers that end to end)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gui_fixtures import gui_env, new_window  # noqa: E402, F401

from albumsorter.core.catalog import Catalog  # noqa: E402
from albumsorter.core.pipeline import Indexer, IndexOptions  # noqa: E402

pytestmark = pytest.mark.usefixtures("require_models", "gui_env")


def test_improve_and_revert_run_in_the_background_and_say_what_happened(qtbot, photo_folder, tmp_path):
    from albumsorter._qt.improve_room import ImproveRoom

    catalog_path = tmp_path / "c.sqlite"
    with Catalog(catalog_path) as cat:
        Indexer(cat, IndexOptions(workers=1)).run(photo_folder)
        face = cat.query(with_faces=True)[0].faces[0]
        cat.set_correction(face.id, "surprise")  # one correction: too few to learn from
    w = new_window(qtbot)
    w.open_catalog(catalog_path, photo_folder)
    room: ImproveRoom = w.improve
    assert room.menu.title() == "&Model" and room.improve_action.isEnabled()
    assert room.improve()
    assert not room.improve(), "one improve run at a time"
    qtbot.waitUntil(lambda: room.task is None, timeout=120000)
    assert room.message is not None and "correct at least" in room.message.text()
    assert room.improve_action.isEnabled()
    room.message.close()
    # No personal model yet: Revert says so and changes nothing.
    assert room.revert()
    qtbot.waitUntil(lambda: room.task is None, timeout=60000)
    assert "no personal model" in w.statusBar().currentMessage()
    w.shutdown()
