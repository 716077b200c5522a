"""GUI tests (pytest-qt, offscreen) that need no models: a real catalog file filled with real photos
(made-up faces, written through the catalog's own writes), a real window, real key presses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pytest  # noqa: E402

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QItemSelectionModel, Qt  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402

from albumsorter.core.catalog import PICK_PICKED, PICK_REJECTED, Catalog, PhotoFilter  # noqa: E402
from albumsorter.core.classes import CLASSES_8  # noqa: E402
from gui_fixtures import (  # noqa: E402
    FakeIndexer, copy_sample, fill_fake, gui_env, new_window, record_fake, require_shared, sha256,  # noqa: F401
)

pytestmark = pytest.mark.usefixtures("gui_env")


@pytest.fixture
def filled(tmp_path):
    """(folder, catalog path, photo ids): 8 real photos in a real catalog file."""
    require_shared()
    paths = copy_sample(tmp_path / "photos")
    cat_path = tmp_path / "catalog.sqlite"
    with Catalog(cat_path) as cat:
        ids = fill_fake(cat, paths)
    return tmp_path / "photos", cat_path, ids


@pytest.fixture
def window(qtbot):
    w = new_window(qtbot)
    yield w
    w.shutdown()


def ids_of(w) -> list[int]:
    return w.model.ids()


# --- filter panel -> core PhotoFilter ------------------------------------------------------------------


def test_filter_panel_builds_core_filters(qtbot):
    from albumsorter._qt.filter_panel import FilterPanel

    panel = FilterPanel()
    qtbot.addWidget(panel)
    assert panel.photo_filter().emotions == [] and not panel.photo_filter().all_faces
    panel.emotions["happy"].setChecked(True)
    panel.groups["negative"].setChecked(True)
    f = panel.photo_filter()
    assert f.emotions == ["happy"] and f.groups == ["negative"] and not f.all_faces
    panel.every_face.setChecked(True)
    assert panel.photo_filter().all_faces
    panel.reset()
    panel.smiles.setCurrentIndex(panel.smiles.findData("one"))
    assert panel.photo_filter().min_smiles == 1
    panel.smiles.setCurrentIndex(panel.smiles.findData("all"))
    f = panel.photo_filter()
    assert f.emotions == ["happy"] and f.all_faces and f.max_faces is None
    panel.emotions["sad"].setChecked(True)  # everyone smiling AND a sad face: nothing can match
    assert panel.photo_filter().max_faces == 0
    panel.reset()
    panel.picks["picked"].setChecked(True)
    panel.min_faces.setValue(2)
    panel.sort.setCurrentIndex(panel.sort.findData("date"))
    f = panel.photo_filter()
    assert f.picks == ["picked"] and f.min_faces == 2 and f.max_faces is None and f.sort == "date" and f.descending is False
    with qtbot.waitSignal(panel.filter_changed, timeout=2000) as sig:
        panel.search.setText("obama")
    assert sig.args[0].name_contains == "obama"


# --- grid model over a real catalog --------------------------------------------------------------------


def test_grid_shows_catalog_and_filters_match_core_queries(window, filled, qtbot):
    folder, cat_path, ids = filled
    assert window.open_catalog(cat_path, folder)
    assert window.stack.currentWidget() is window.grid
    cat = Catalog(cat_path)
    panel = window.filter_panel
    default_sort = panel.photo_filter()
    assert sorted(ids_of(window)) == sorted(ids)

    def check(flt_from_panel: PhotoFilter):
        qtbot.waitUntil(lambda: ids_of(window) == [p.id for p in cat.query(flt_from_panel)], timeout=3000)
        assert panel.count_label.text().startswith(f"{len(ids_of(window))} photo")

    panel.emotions["happy"].setChecked(True)
    check(PhotoFilter(emotions=["happy"], sort=default_sort.sort, descending=default_sort.descending))
    assert len(ids_of(window)) == 4
    panel.every_face.setChecked(True)
    check(panel.photo_filter())
    panel.reset()
    panel.smiles.setCurrentIndex(panel.smiles.findData("all"))
    check(PhotoFilter(emotions=["happy"], all_faces=True, sort=default_sort.sort, descending=default_sort.descending))
    panel.reset()
    panel.groups["negative"].setChecked(True)
    check(panel.photo_filter())
    assert len(ids_of(window)) == 2  # sad, anger
    panel.reset()
    panel.min_faces.setValue(2)
    check(panel.photo_filter())
    panel.reset()
    for key in ("name", "date", "faces", "smile"):
        panel.sort.setCurrentIndex(panel.sort.findData(key))
        check(panel.photo_filter())
    panel.descending.setChecked(True)
    check(panel.photo_filter())
    cat.close()


def test_refresh_is_a_diff_not_a_reset(qtbot, filled, tmp_path):
    from albumsorter._qt.photo_model import PhotoModel

    folder, cat_path, ids = filled
    cat = Catalog(cat_path)
    model = PhotoModel()
    model.set_filter(PhotoFilter(sort="name"))
    # Start from half of the photos, as if indexing were halfway.
    with Catalog(tmp_path / "half.sqlite") as half:
        paths = sorted(folder.iterdir())
        fill_fake(half, paths[::2])
        model.set_catalog(half)
        resets = model.resets
        assert model.rowCount() == 4
        inserted = []
        model.rowsInserted.connect(lambda parent, a, b: inserted.append((a, b)))
        for p in paths[1::2]:
            record_fake(half, p, ["happy"])
        model.refresh()
        assert model.rowCount() == 8 and model.resets == resets and len(inserted) == 4
        assert [r.path for r in model.records()] == [r.path for r in half.query(PhotoFilter(sort="name"))]
        removed = []
        model.rowsRemoved.connect(lambda parent, a, b: removed.append((a, b)))
        model.set_filter(PhotoFilter(emotions=["happy"], sort="name"))
        assert model.resets == resets and removed
        assert model.ids() == [r.id for r in half.query(PhotoFilter(emotions=["happy"], sort="name"))]
    cat.close()


# --- thumbnails ----------------------------------------------------------------------------------------


def test_thumbnails_load_off_thread_upright_and_cached(qtbot, tmp_path):
    from PIL import Image

    from albumsorter._qt.thumbnails import ThumbnailCache

    src = require_shared() / "serengil__tests_unit_dataset_img2.jpg"
    rotated = tmp_path / "rotated.jpg"
    img = Image.open(src)
    exif = img.getexif()
    exif[0x0112] = 6  # stored sideways: upright is 90 degrees clockwise
    img.save(rotated, exif=exif)
    w, h = img.size
    cache = ThumbnailCache(disk_dir=tmp_path / "thumbs", side=128)
    assert cache.pixmap(str(rotated)) is None  # not yet: requested
    with qtbot.waitSignal(cache.ready, timeout=10000):
        pass
    pix = cache.pixmap(str(rotated))
    assert pix is not None and max(pix.width(), pix.height()) == 128
    assert (pix.width() > pix.height()) == (h > w)  # EXIF orientation applied, like indexing
    assert list((tmp_path / "thumbs").rglob("*.jpg"))  # disk cache written
    cache2 = ThumbnailCache(disk_dir=tmp_path / "thumbs", side=128)
    cache2.pixmap(str(rotated))
    with qtbot.waitSignal(cache2.ready, timeout=10000):
        pass
    assert cache2.pixmap(str(rotated)).size() == pix.size()
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    cache.pixmap(str(bad))
    qtbot.waitUntil(lambda: str(bad) in cache.failed, timeout=10000)
    cache.shutdown()
    cache2.shutdown()


def test_delegate_paints_badges_with_palette(window, filled, qtbot):
    folder, cat_path, ids = filled
    window.open_catalog(cat_path, folder)
    with Catalog(cat_path) as c:
        c.set_pick(ids[:1], PICK_PICKED)
        c.set_pick(ids[1:2], PICK_REJECTED)
    window.refresh()
    qtbot.waitUntil(lambda: window.thumbnails.idle() and len(window.thumbnails) >= 8, timeout=20000)
    for theme in ("dark", "light"):
        window.set_theme(theme)
        qtbot.wait(50)  # palette-change events
        image = window.grid.viewport().grab().toImage()
        assert not image.isNull()
        # The grid background follows the theme.
        bg = image.pixelColor(image.width() - 3, image.height() - 3)
        assert (bg.lightness() < 128) == (theme == "dark")
    window.set_theme("system")


# --- picking, viewer, corrections ----------------------------------------------------------------------


def test_pick_reject_unflag_with_keys(window, filled, qtbot):
    folder, cat_path, ids = filled
    window.open_catalog(cat_path, folder)
    window.filter_panel.sort.setCurrentIndex(window.filter_panel.sort.findData("name"))
    qtbot.waitUntil(lambda: window.model.filter.sort == "name", timeout=2000)
    window.grid.setFocus()
    window.grid.setCurrentIndex(window.model.index(0))
    sm = window.grid.selectionModel()
    sm.select(window.model.index(1), QItemSelectionModel.SelectionFlag.Select)
    chosen = [window.model.record(0).id, window.model.record(1).id]
    qtbot.keyClick(window.grid, Qt.Key.Key_P)
    cat = Catalog(cat_path)
    assert sorted(p.id for p in cat.query(PhotoFilter(picks=["picked"]))) == sorted(chosen)
    assert window.model.record(0).pick == PICK_PICKED  # the badge's data refreshed
    qtbot.keyClick(window.grid, Qt.Key.Key_X)
    assert sorted(p.id for p in cat.query(PhotoFilter(picks=["rejected"]))) == sorted(chosen)
    qtbot.keyClick(window.grid, Qt.Key.Key_U)
    assert cat.count(PhotoFilter(picks=["picked", "rejected"])) == 0
    # A pick filter updates as photos are flagged.
    window.filter_panel.picks["picked"].setChecked(True)
    qtbot.waitUntil(lambda: window.model.rowCount() == 0, timeout=2000)
    cat.close()


def test_viewer_keys_navigation_and_correction_persists(qtbot, filled, gui_env):
    from albumsorter._qt.main_window import MainWindow

    folder, cat_path, ids = filled
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    w.open_catalog(cat_path, folder)
    w.filter_panel.sort.setCurrentIndex(w.filter_panel.sort.findData("name"))
    qtbot.waitUntil(lambda: w.model.filter.sort == "name", timeout=2000)
    # Enter on the grid opens the viewer at the current photo.
    target = next(r for r in w.model.records() if r.face_count == 2 and r.smile_count == 1)
    w.grid.setCurrentIndex(w.model.index_of(target.id))
    w.grid.setFocus()
    qtbot.keyClick(w.grid, Qt.Key.Key_Return)
    assert w.stack.currentWidget() is w.viewer
    assert w.viewer.current_id() == target.id
    qtbot.waitUntil(lambda: w.viewer.full_loaded, timeout=10000)
    assert w.viewer.canvas.pixmap is not None and len(w.viewer.canvas.faces) == 2
    # Face boxes map inside the drawn photo.
    img_rect = w.viewer.canvas.image_rect()
    for face in w.viewer.canvas.faces:
        assert img_rect.contains(w.viewer.canvas.face_rect(face))
    row = w.viewer.row
    qtbot.keyClick(w.viewer, Qt.Key.Key_Right)
    assert w.viewer.row == row + 1
    qtbot.keyClick(w.viewer, Qt.Key.Key_Left)
    assert w.viewer.current_id() == target.id
    # Pick in the viewer.
    qtbot.keyClick(w.viewer, Qt.Key.Key_P)
    assert w.viewer.record.pick == PICK_PICKED
    # Correct the neutral face: select it ("]" twice from nothing = face 2), then "1"..."8" sets the class.
    neutral = next(i for i, f in enumerate(w.viewer.canvas.faces) if f.label == "neutral")
    for _ in range(neutral + 1):
        qtbot.keyClick(w.viewer, Qt.Key.Key_BracketRight)
    assert w.viewer.canvas.selected == neutral
    face_id = w.viewer.canvas.faces[neutral].id
    qtbot.keyClick(w.viewer, Qt.Key.Key_1 + CLASSES_8.index("happy"))
    assert w.viewer.record.faces[neutral].label == "happy" and w.viewer.record.faces[neutral].corrected
    assert w.viewer.record.smile_count == 2  # shows at once
    assert w.model.record(w.model.row_of(target.id)).smile_count == 2  # and in the grid
    # The right-click menu offers the 8 classes and calls the same path.
    from albumsorter._qt.viewer import correction_menu

    chosen = []
    menu = correction_menu(w.viewer, w.viewer.record.faces[neutral], lambda fid, label: chosen.append((fid, label)))
    acts = [a for a in menu.actions() if a.data() in CLASSES_8]
    assert [a.data() for a in acts] == list(CLASSES_8) and next(a for a in acts if a.data() == "happy").isChecked()
    next(a for a in acts if a.data() == "surprise").trigger()
    assert chosen == [(face_id, "surprise")]
    qtbot.keyClick(w.viewer, Qt.Key.Key_Escape)
    assert w.stack.currentWidget() is w.grid
    w.close()
    # Reopen: a new window on the same catalog still shows the correction.
    w2 = MainWindow()
    qtbot.addWidget(w2)
    w2.show()
    w2.open_catalog(cat_path, folder)
    w2.open_viewer(target.id)
    face = next(f for f in w2.viewer.record.faces if f.id == face_id)
    assert face.label == "happy" and face.corrected and face.predicted_label == "neutral"
    w2.close()


def test_export_picks_copies_never_overwrites(window, filled, qtbot, tmp_path):
    folder, cat_path, ids = filled
    window.open_catalog(cat_path, folder)
    before = {p: sha256(p) for p in folder.iterdir()}
    with Catalog(cat_path) as c:
        c.set_pick(ids[:2], PICK_PICKED)
        picked = sorted(p.path for p in c.query(PhotoFilter(picks=["picked"])))
    dest = tmp_path / "export"
    with qtbot.waitSignal(window.export_finished, timeout=20000) as sig:
        window.export_picks(dest)
    result = sig.args[0]
    assert sorted(s for s, _ in result.copied) == picked and not result.failed
    for src, dst in result.copied:
        assert sha256(Path(dst)) == sha256(Path(src))
    with qtbot.waitSignal(window.export_finished, timeout=20000) as sig:
        window.export_picks(dest)
    assert len(list(dest.iterdir())) == 4  # the second export added copies under new names
    assert {p: sha256(p) for p in folder.iterdir()} == before


# --- indexing plumbing (with a stand-in indexer) -------------------------------------------------------


def test_indexing_progress_pause_resume_cancel_and_resume_next_start(qtbot, tmp_path):
    from albumsorter._qt.main_window import MainWindow
    from gui_fixtures import FakeIndexer

    require_shared()
    folder = tmp_path / "photos"
    paths = copy_sample(folder)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff not a photo")
    cat_path = tmp_path / "cat.sqlite"
    w = MainWindow(indexer_factory=lambda cat: FakeIndexer(cat, delay=0.15))
    qtbot.addWidget(w)
    w.show()
    assert w.open_folder(folder, cat_path)
    assert w.is_indexing()
    qtbot.waitUntil(lambda: w.model.rowCount() >= 2, timeout=10000)  # photos appear while indexing
    assert w.index_bar.isVisible() and "photos" in w.index_bar.label.text()
    w.pause_indexing()
    assert w.resume_action.isEnabled()
    qtbot.wait(600)
    n = Catalog(cat_path).count()
    qtbot.wait(500)
    assert Catalog(cat_path).count() == n  # paused
    w.resume_indexing()
    qtbot.waitUntil(lambda: Catalog(cat_path).count() > n, timeout=5000)
    with qtbot.waitSignal(w.indexing_finished, timeout=10000) as sig:
        w.cancel_indexing()
    assert sig.args[0].cancelled
    qtbot.waitUntil(lambda: not w.is_indexing(), timeout=5000)
    done = Catalog(cat_path).count(PhotoFilter()) + Catalog(cat_path).count(PhotoFilter(errors=True))
    assert 0 < done < len(paths) + 1
    assert Catalog(cat_path).conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    w.close()
    # The next start (no folder given: the most recent one) resumes and completes.
    from albumsorter._qt.app import open_initial

    w2 = MainWindow(indexer_factory=lambda cat: FakeIndexer(cat))
    qtbot.addWidget(w2)
    w2.show()
    with qtbot.waitSignal(w2.indexing_finished, timeout=20000) as sig:
        open_initial(w2, None, None)
    summary = sig.args[0]
    assert not summary.cancelled and summary.indexed + len(summary.errors) == len(paths) + 1 - done
    assert w2.model.rowCount() == len(paths)
    assert w2.errors_panel.paths() == [str(folder / "broken.jpg")]
    assert w2.errors_button.isVisible()
    w2.close()


def test_close_while_indexing_stops_cleanly(qtbot, tmp_path):
    from albumsorter._qt.main_window import MainWindow
    from gui_fixtures import FakeIndexer

    folder = tmp_path / "photos"
    copy_sample(folder)
    cat_path = tmp_path / "cat.sqlite"
    w = MainWindow(indexer_factory=lambda cat: FakeIndexer(cat, delay=0.2))
    qtbot.addWidget(w)
    w.show()
    w.open_folder(folder, cat_path)
    qtbot.waitUntil(lambda: Catalog(cat_path).count() >= 1, timeout=10000)
    w.close()
    assert w.index_job is None and w.catalog is None
    assert Catalog(cat_path).conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_missing_models_are_reported_in_the_window(qtbot, tmp_path):
    from albumsorter._qt.main_window import MainWindow
    from albumsorter.core.classify import ModelError

    def no_models(cat):
        raise ModelError("model card not found: models/expression/model.json")

    folder = tmp_path / "photos"
    folder.mkdir()
    w = MainWindow(indexer_factory=no_models)
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.indexing_finished, timeout=10000):
        w.open_folder(folder, tmp_path / "cat.sqlite")
    qtbot.waitUntil(lambda: not w.is_indexing(), timeout=5000)
    assert w.index_bar.isVisible() and "models are missing" in w.index_bar.label.text()
    assert "model.json" in w.index_bar.label.toolTip()
    w.close()


def test_recent_folders_menu(qtbot, tmp_path):
    from albumsorter._qt.main_window import MainWindow
    from albumsorter.core.settings import recent_folders

    w = MainWindow(indexer_factory=lambda cat: FakeIndexer(cat))
    qtbot.addWidget(w)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        with qtbot.waitSignal(w.indexing_finished, timeout=10000):
            w.open_folder(tmp_path / name, tmp_path / f"{name}.sqlite")
    assert [Path(i["folder"]).name for i in recent_folders()] == ["b", "a"]
    w._fill_recent()
    texts = [a.text() for a in w.recent_menu.actions()]
    assert texts[0].endswith(str(tmp_path / "b")) and texts[1].endswith(str(tmp_path / "a"))
    w.close()


# --- scale and robustness ------------------------------------------------------------------------------


def test_grid_with_10000_photos_stays_responsive(qtbot, tmp_path):
    """10,000 catalog rows: queries move off the GUI thread, the grid paints only what is visible, new rows
    arrive as insertions (no reset), and filter changes never block the event loop for long."""
    import time

    from albumsorter._qt.main_window import MainWindow
    from gui_fixtures import fake_faces

    cat_path = tmp_path / "big.sqlite"
    labels = [[], ["happy"], ["happy", "neutral"], ["sad", "happy", "happy"]]
    with Catalog(cat_path) as cat, cat.transaction():
        for i in range(10000):
            cat.record_photo(f"/nowhere/p{i:05d}.jpg", 1000, 0, f"h{i}", "JPEG", 4000, 3000, None, "det",
                             fake_faces(4000, 3000, labels[i % 4]))
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1366, 768)
    w.show()
    w.open_catalog(cat_path, tmp_path)
    qtbot.waitUntil(lambda: w.model.rowCount() == 10000 and not w.model.is_busy(), timeout=30000)
    resets = w.model.resets
    # Painting the grid costs the visible cells only.
    t = time.perf_counter()
    w.grid.viewport().grab()
    assert time.perf_counter() - t < 1.0
    # A filter change returns at once; the result follows from the query thread.
    if w.model.last_query_s > w.model.async_after_s:
        t = time.perf_counter()
        w.filter_panel.emotions["sad"].setChecked(True)
        qtbot.wait(1)  # the coalescing timer fires
        assert time.perf_counter() - t < 0.3, "a filter change blocked the window"
        qtbot.waitUntil(lambda: not w.model.is_busy() and w.model.rowCount() == 2500, timeout=30000)
        w.filter_panel.reset()
        qtbot.waitUntil(lambda: not w.model.is_busy() and w.model.rowCount() == 10000, timeout=30000)
    # Photos arriving while indexing are inserted, not a reset.
    with Catalog(cat_path) as cat:
        for i in range(3):
            cat.record_photo(f"/nowhere/new{i}.jpg", 1000, 0, f"n{i}", "JPEG", 400, 300, None, "det", [])
    w.refresh()
    qtbot.waitUntil(lambda: w.model.rowCount() == 10003 and not w.model.is_busy(), timeout=30000)
    assert w.model.resets == resets + (2 if w.model.last_query_s > w.model.async_after_s else 0)
    w.close()


def test_signals_do_not_leak_references():
    """PySide6 6.12.0 on CPython 3.11 dropped a reference to True/None on every signal and aborted the
    interpreter after a few thousand ("Fatal Python error: bool_dealloc"); pyproject.toml excludes it. This
    runs the same load in a child process, so a binding with that defect fails here instead of crashing."""
    code = (
        "from PySide6.QtCore import QCoreApplication, QObject, Signal\n"
        "from PySide6.QtGui import QStandardItemModel\n"
        "class E(QObject):\n    sig = Signal(object)\n"
        "app = QCoreApplication([])\ne = E(); e.sig.connect(lambda v: None)\n"
        "m = QStandardItemModel(1, 1)\n"
        "for i in range(30000):\n    e.sig.emit(None); e.sig.emit(True); m.index(0, 0).data()\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr[-2000:]


def test_non_utf8_file_name_keeps_its_thumbnail_and_row(window, qtbot, tmp_path):
    """A Latin-1 file name (surrogate-escaped str) survives the trip through Qt signals: the thumbnail
    arrives for the right row and the name is drawn with a replacement character, not dropped."""
    src = require_shared() / "serengil__tests_unit_dataset_img2.jpg"
    folder = tmp_path / "latin1"
    folder.mkdir()
    name = os.fsdecode(b"caf\xe9.jpg")
    try:
        (folder / name).write_bytes(src.read_bytes())
    except (OSError, UnicodeEncodeError):
        pytest.skip("file system refuses non-UTF-8 names")
    cat_path = tmp_path / "c.sqlite"
    with Catalog(cat_path) as cat:
        record_fake(cat, folder / name, ["happy"])
    window.open_catalog(cat_path, folder)
    assert window.model.rowCount() == 1 and window.model.record(0).path == str(folder / name)
    qtbot.waitUntil(lambda: window.thumbnails.has(str(folder / name)), timeout=10000)
    from albumsorter._qt.photo_model import display

    assert display(name) == "caf\ufffd.jpg"


def test_window_layout_is_remembered(qtbot):
    """Size and docks as the user left them, across closing and reopening the window."""
    first = new_window(qtbot)
    first.resize(760, 560)  # inside the offscreen screen (800 x 600): restoring clamps to the screen
    first.errors_dock.hide()
    qtbot.waitUntil(lambda: first.size().width() == 760)
    first.close()
    from albumsorter._qt.main_window import MainWindow

    second = MainWindow()  # not new_window(): that resizes to the test's screen size after construction
    qtbot.addWidget(second)
    second.show()
    try:
        assert (second.size().width(), second.size().height()) == (760, 560)
        assert not second.errors_dock.isVisible() and second.filter_dock.isVisible()
    finally:
        second.shutdown()
