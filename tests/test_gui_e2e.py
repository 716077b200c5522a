"""End to end through the window with the real models: open a folder of real photos, watch it index, filter,
pick, export, correct, cancel. Skips (with the reason) without ../shared or the models."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pytest  # noqa: E402

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from gui_fixtures import (  # noqa: E402
    PHOTOS,
    SAMPLE,
    copy_sample,
    gui_env,  # noqa: E402,F401  (a fixture, used by pytestmark)
    new_window,
    require_models,
    require_shared,
    sha256,
    wait_for_rows,
)
from PySide6.QtCore import QItemSelectionModel, Qt, QTimer  # noqa: E402

from albumsorter.core.catalog import Catalog, PhotoFilter  # noqa: E402
from albumsorter.core.classes import CLASSES_8  # noqa: E402

pytestmark = [pytest.mark.usefixtures("gui_env"), pytest.mark.slow, pytest.mark.shared]


@pytest.fixture
def folder(tmp_path):
    require_shared()
    require_models()
    return copy_sample(tmp_path / "photos")[0].parent


def index(w, qtbot, folder, cat_path, timeout=120000):
    """Open and index `folder`; returns the summary once the run ended and the grid shows its result."""
    with qtbot.waitSignal(w.indexing_finished, timeout=timeout) as sig:
        assert w.open_folder(folder, cat_path)
    qtbot.waitUntil(lambda: not w.is_indexing(), timeout=10000)
    assert sig.args[0] is not None, w.last_error
    wait_for_rows(qtbot, w.model)
    return sig.args[0]


def open_in_viewer(w, qtbot, photo_id: int) -> None:
    w.open_viewer(photo_id)
    qtbot.waitUntil(lambda: w.viewer.faces_loaded and w.viewer.full_loaded, timeout=10000)


def test_open_index_filter_pick_export_correct(qtbot, folder, tmp_path):
    cat_path = tmp_path / "catalog.sqlite"
    originals = {p: sha256(p) for p in folder.iterdir()}
    w = new_window(qtbot)
    arrived = []
    w.model.rowsInserted.connect(lambda parent, a, b: arrived.append(b - a + 1))
    summary = index(w, qtbot, folder, cat_path)
    assert summary.indexed == len(SAMPLE) and not summary.errors and not summary.cancelled
    assert sum(arrived) == len(SAMPLE) and w.model.resets <= 2  # photos arrived in batches, no reset per photo
    cat = Catalog(cat_path)
    # The grid shows every indexed photo, in the panel's order.
    flt = w.filter_panel.photo_filter()
    assert w.model.ids() == [p.id for p in cat.query(flt)] and w.model.rowCount() == len(SAMPLE)
    # The developer's details are in Help → About (and the catalog in the count's tooltip), not the status bar.
    from albumsorter._qt.about import about_html

    assert "not installed" not in about_html(cat_path, folder) and str(cat_path) in about_html(cat_path, folder)
    assert str(cat_path) in w.status.count_label.toolTip()

    # "happy" shows exactly what the catalog says.
    w.filter_panel.emotions["happy"].setChecked(True)
    happy = [p.id for p in cat.query(PhotoFilter(emotions=["happy"], sort=flt.sort, descending=flt.descending))]
    qtbot.waitUntil(lambda: w.model.ids() == happy, timeout=3000)
    assert happy, "the sample has smiling people: the model found no happy face"
    assert w.filter_panel.count_label.text().startswith(f"{len(happy)} photo")
    w.filter_panel.reset()
    qtbot.waitUntil(lambda: w.model.rowCount() == len(SAMPLE), timeout=3000)

    # Pick two with the keyboard, export them.
    w.grid.setFocus()
    w.grid.setCurrentIndex(w.model.index(0))
    w.grid.selectionModel().select(w.model.index(1), QItemSelectionModel.SelectionFlag.Select)
    with qtbot.waitSignal(w.session.catalog_changed, timeout=10000):
        qtbot.keyClick(w.grid, Qt.Key.Key_P)
    picked = sorted(p.path for p in cat.query(PhotoFilter(picks=["picked"])))
    assert picked == sorted([w.model.record(0).path, w.model.record(1).path])
    dest = tmp_path / "export"
    with qtbot.waitSignal(w.export_finished, timeout=30000) as sig:
        w.export_picks(dest)
    result = sig.args[0]
    assert sorted(s for s, _ in result.copied) == picked and not result.failed
    assert sorted(p.name for p in dest.iterdir()) == sorted(Path(p).name for p in picked)
    for src, dst in result.copied:
        assert sha256(Path(dst)) == originals[Path(src)]
    assert {p: sha256(p) for p in folder.iterdir()} == originals  # originals untouched

    # Correct a face in the viewer (keyboard: "]" selects face 1, Alt + a digit sets the class).
    with_faces = [p for p in cat.query(PhotoFilter(min_faces=1), with_faces=True)]
    target = with_faces[0]
    face = target.faces[0]
    new_label = "surprise" if face.label != "surprise" else "sad"
    open_in_viewer(w, qtbot, target.id)
    qtbot.keyClick(w.viewer, Qt.Key.Key_BracketRight)
    with qtbot.waitSignal(w.viewer.record_loaded, timeout=10000):
        qtbot.keyClick(w.viewer, Qt.Key.Key_1 + CLASSES_8.index(new_label), Qt.KeyboardModifier.AltModifier)
    assert w.viewer.record.faces[0].label == new_label and w.viewer.record.faces[0].corrected
    qtbot.keyClick(w.viewer, Qt.Key.Key_Escape)
    w.close()
    cat.close()

    # Reopen (a new window; incremental index of the same folder): the correction is still there ...
    w2 = new_window(qtbot)
    summary = index(w2, qtbot, folder, cat_path)
    assert summary.indexed == 0 and summary.unchanged == len(SAMPLE)
    open_in_viewer(w2, qtbot, target.id)
    assert w2.viewer.record.faces[0].label == new_label and w2.viewer.record.faces[0].corrected
    w2.close()
    # ... and it survives re-indexing the photo (changed on disk: detected again).
    st = os.stat(target.path)
    os.utime(target.path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    w3 = new_window(qtbot)
    summary = index(w3, qtbot, folder, cat_path)
    assert summary.indexed == 1
    with Catalog(cat_path) as cat:
        faces = cat.photo(target.id).faces
    assert any(f.corrected and f.label == new_label for f in faces)
    w3.close()


def cancelled_after_first_photo(catalog):
    """The window's real indexer, cancelled from its own thread as soon as the first photo is analysed (as the
    Cancel button would be, at a moment that does not depend on how fast the GUI thread is). Not at the first
    stored photo: the run stores in batches (every second), and a fast machine analyses the whole folder first."""
    from albumsorter._qt.indexing import default_indexer_factory

    indexer = default_indexer_factory(catalog)
    run = indexer.run

    def run_then_cancel(root, on_progress=None, on_photo=None, control=None):
        def first_photo_cancels(progress):
            if progress.done >= 1:
                control.cancel()
            if on_progress:
                on_progress(progress)

        return run(root, on_progress=first_photo_cancels, on_photo=on_photo, control=control)

    indexer.run = run_then_cancel
    return indexer


def test_cancel_mid_run_leaves_consistent_catalog_and_rerun_completes(qtbot, tmp_path):
    require_shared()
    require_models()
    folder = tmp_path / "photos"
    copy_sample(folder)
    extra = sorted(p.name for p in PHOTOS.glob("serengil__tests_unit_dataset_img*.jpg"))[:6]
    for name in extra:
        shutil.copy2(PHOTOS / name, folder / name)
    n = len(list(folder.iterdir()))
    cat_path = tmp_path / "catalog.sqlite"
    w = new_window(qtbot, indexer_factory=cancelled_after_first_photo)
    with qtbot.waitSignal(w.indexing_finished, timeout=120000) as sig:
        w.open_folder(folder, cat_path)
    assert sig.args[0].cancelled
    qtbot.waitUntil(lambda: not w.is_indexing(), timeout=30000)
    with Catalog(cat_path) as cat:
        assert cat.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        done = cat.count() + cat.count(PhotoFilter(errors=True))
        # Every stored photo is complete: faces with all 8 probabilities.
        for p in cat.query(PhotoFilter(), with_faces=True):
            assert all(len(f.probabilities) == 8 and f.label for f in p.faces)
    assert 1 <= done < n  # the photos in flight when it was cancelled complete; the rest wait
    w.close()
    w2 = new_window(qtbot)
    summary = index(w2, qtbot, folder, cat_path)
    assert not summary.cancelled and summary.indexed + len(summary.errors) == n - done
    assert w2.model.rowCount() == n - len(summary.errors)
    w2.close()


def test_run_app_opens_the_folder_given(qtbot, folder, tmp_path):
    from PySide6.QtWidgets import QApplication

    from albumsorter._qt.app import run_app
    from albumsorter._qt.main_window import MainWindow
    from albumsorter.core.settings import recent_folders

    seen = {}

    def poll():
        wins = [x for x in QApplication.topLevelWidgets() if isinstance(x, MainWindow) and x.isVisible()]
        if wins and wins[0].session.path is not None and not wins[0].is_indexing() and not wins[0].model.is_busy():
            seen["rows"] = wins[0].model.rowCount()
            wins[0].close()
        else:
            QTimer.singleShot(100, poll)

    QTimer.singleShot(100, poll)
    assert run_app(folder=str(folder), catalog=str(tmp_path / "cat.sqlite")) == 0
    assert seen["rows"] == len(SAMPLE)
    assert recent_folders()[0]["folder"] == str(folder)
