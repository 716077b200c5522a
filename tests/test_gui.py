"""GUI tests (pytest-qt, offscreen) that need no models: a real catalog file filled with real photos
(made-up faces, written through the catalog's own writes), a real window, real key presses.

Every catalog query and write of the window runs off the GUI thread, so a test waits for the answer to
arrive (a signal, or a condition with a generous timeout) and never for a length of time; what a test
expects never depends on how fast the machine is."""

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

from gui_fixtures import (  # noqa: E402
    FakeIndexer,
    IndexGate,
    copy_sample,
    fill_fake,
    gui_env,  # noqa: E402,F401  (a fixture, used by pytestmark)
    new_window,
    record_fake,
    require_shared,
    sha256,
    wait_for_rows,
    watch_gui_thread_catalog_calls,
)
from PySide6.QtCore import QItemSelectionModel, Qt  # noqa: E402

from albumsorter.core.catalog import PICK_PICKED, PICK_REJECTED, Catalog, PhotoFilter  # noqa: E402
from albumsorter.core.classes import CLASSES_8  # noqa: E402

pytestmark = pytest.mark.usefixtures("gui_env")


@pytest.fixture
def gui_thread_catalog_calls(monkeypatch):
    """Catalog calls the window's code makes on the GUI thread (a test asserts there are none)."""
    return watch_gui_thread_catalog_calls(monkeypatch)


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
    assert f.everyone_smiling == "normal" and f.emotions == [] and not f.all_faces and f.max_faces is None
    # Everyone smiling AND a sad face cannot both hold: the expression boxes are off meanwhile, and it says so.
    panel.emotions["sad"].setChecked(True)
    assert panel.photo_filter().emotions == [] and not panel.emotion_box.isEnabled()
    assert "expression boxes are off" in panel.explanation.text()
    panel.strictness.setCurrentIndex(panel.strictness.findData("strict"))
    assert panel.photo_filter().everyone_smiling == "strict"
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


def test_grid_shows_catalog_and_filters_match_core_queries(window, filled, qtbot, gui_thread_catalog_calls):
    folder, cat_path, ids = filled
    assert window.open_catalog(cat_path, folder)
    assert window.stack.currentWidget() is window.grid
    wait_for_rows(qtbot, window.model)
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
    check(PhotoFilter(everyone_smiling="normal", sort=default_sort.sort, descending=default_sort.descending))
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
    assert gui_thread_catalog_calls == []


def test_refresh_is_a_diff_not_a_reset(qtbot, filled, tmp_path, gui_thread_catalog_calls):
    """The query runs off the GUI thread (refresh returns before its answer); the answer is applied as row
    insertions and removals, never a reset, when photos arrive or a filter narrows the set."""
    from albumsorter._qt.catalog_session import CatalogSession
    from albumsorter._qt.photo_model import PhotoModel
    from albumsorter._qt.tasks import TaskRunner

    folder, _cat_path, _ids = filled
    runner = TaskRunner()
    session = CatalogSession(runner)
    model = PhotoModel(session)
    model.set_filter(PhotoFilter(sort="name"))
    # Start from half of the photos, as if indexing were halfway.
    half_path = tmp_path / "half.sqlite"
    paths = sorted(folder.iterdir())
    with Catalog(half_path) as half:
        fill_fake(half, paths[::2])
    session.open(half_path)
    wait_for_rows(qtbot, model)
    resets = model.resets
    assert model.rowCount() == 4
    inserted, removed = [], []
    model.rowsInserted.connect(lambda parent, a, b: inserted.append((a, b)))
    model.rowsRemoved.connect(lambda parent, a, b: removed.append((a, b)))
    with Catalog(half_path) as indexer_side:  # the indexer writes through a connection of its own
        for p in paths[1::2]:
            record_fake(indexer_side, p, ["happy"])
        model.refresh()
        assert model.is_busy() and model.rowCount() == 4  # returned before the answer
        wait_for_rows(qtbot, model)
        assert model.rowCount() == 8 and model.resets == resets and sum(b - a + 1 for a, b in inserted) == 4
        assert [r.path for r in model.records()] == [r.path for r in indexer_side.query(PhotoFilter(sort="name"))]
        model.set_filter(PhotoFilter(emotions=["happy"], sort="name"))
        wait_for_rows(qtbot, model)
        assert model.resets == resets and removed
        assert model.ids() == [r.id for r in indexer_side.query(PhotoFilter(emotions=["happy"], sort="name"))]
    runner.shutdown()
    session.shutdown()
    assert gui_thread_catalog_calls == []


# --- the task runner ------------------------------------------------------------------------------------


def test_task_runner_runs_a_lane_in_order_and_the_newest_request_wins(qtbot):
    import threading

    from albumsorter._qt.tasks import DROPPED, TaskRunner

    runner = TaskRunner()
    runner.add_lane("serial")
    release = threading.Event()
    ran, results, on_gui_thread, done = [], [], [], []
    runner.submit("serial", lambda _context: release.wait(10))  # holds the lane while the queue below forms
    for i in range(3):
        runner.submit(
            "serial",
            lambda _context, i=i: ran.append(i) or i,
            on_result=lambda r: (results.append(r), on_gui_thread.append(threading.current_thread() is threading.main_thread())),
        )
    stale = runner.submit("serial", lambda _context: ran.append("stale"), key="grid", on_done=lambda: done.append("stale"))
    runner.submit(
        "serial",
        lambda _context: ran.append("newest") or "newest",
        key="grid",
        on_result=results.append,
        on_done=lambda: done.append("newest"),
    )
    assert stale.state == DROPPED  # replaced before it ran
    release.set()
    qtbot.waitUntil(lambda: "newest" in done, timeout=10000)
    assert ran == [0, 1, 2, "newest"] and results == [0, 1, 2, "newest"] and all(on_gui_thread)
    assert done == ["stale", "newest"]  # a dropped task still ends with on_done
    assert runner.shutdown(10000)


def test_task_runner_progress_errors_cancel_and_shutdown(qtbot):
    import threading

    from albumsorter._qt.tasks import DROPPED, TaskRunner

    runner = TaskRunner()
    runner.add_lane("work")
    runner.add_lane("edits", finish_on_shutdown=True)
    events = []

    def reports_then_fails(context):
        for i in range(3):
            context.report(i)
        raise ValueError("broken photo")

    runner.submit(
        "work",
        reports_then_fails,
        on_progress=events.append,
        on_error=lambda e: events.append(str(e)),
        on_done=lambda: events.append("done"),
    )
    qtbot.waitUntil(lambda: "done" in events, timeout=10000)
    assert events == [0, 1, 2, "broken photo", "done"]

    started = threading.Event()

    def until_cancelled(context):
        started.set()
        while not context.cancelled:
            threading.Event().wait(0.01)
        return "stopped"

    task = runner.submit("work", until_cancelled, on_result=events.append)
    assert started.wait(10)
    task.cancel()  # a running task sees context.cancelled
    assert task.wait(10000)
    qtbot.waitUntil(lambda: "stopped" in events, timeout=10000)

    # Shutting down drops queued work but still runs queued edits (the user's last pick is not lost).
    release, stored = threading.Event(), []
    runner.submit("work", lambda _context: release.wait(10))
    runner.submit("edits", lambda _context: release.wait(10))
    dropped = runner.submit("work", lambda _context: stored.append("work"))
    runner.submit("edits", lambda _context: stored.append("edit"))

    def release_once_closed():
        while not runner.closed:
            threading.Event().wait(0.01)
        release.set()

    threading.Thread(target=release_once_closed, daemon=True).start()
    assert runner.shutdown(10000)
    assert stored == ["edit"] and dropped.state == DROPPED


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
    wait_for_rows(qtbot, window.model)
    assert {r.id: r.pick for r in window.model.records()}[ids[0]] == PICK_PICKED
    qtbot.waitUntil(lambda: window.thumbnails.idle() and len(window.thumbnails) >= 8, timeout=20000)

    def background_is_dark() -> bool:
        image = window.grid.viewport().grab().toImage()
        assert not image.isNull()
        return image.pixelColor(image.width() - 3, image.height() - 3).lightness() < 128

    for theme in ("dark", "light"):
        window.set_theme(theme)
        # The grid background follows the theme (once the palette-change events are handled).
        qtbot.waitUntil(lambda theme=theme: background_is_dark() == (theme == "dark"), timeout=5000)
    window.set_theme("system")


# --- picking, viewer, corrections ----------------------------------------------------------------------


def test_pick_reject_unflag_with_keys(window, filled, qtbot, gui_thread_catalog_calls):
    """P / X / U are stored off the GUI thread, in the order pressed, each ending in one catalog_changed that
    names the photos; the grid's badges follow."""
    folder, cat_path, ids = filled
    window.open_catalog(cat_path, folder)
    window.filter_panel.sort.setCurrentIndex(window.filter_panel.sort.findData("name"))
    qtbot.waitUntil(lambda: window.model.filter.sort == "name", timeout=2000)
    wait_for_rows(qtbot, window.model)
    window.grid.setFocus()
    window.grid.setCurrentIndex(window.model.index(0))
    sm = window.grid.selectionModel()
    sm.select(window.model.index(1), QItemSelectionModel.SelectionFlag.Select)
    chosen = [window.model.record(0).id, window.model.record(1).id]
    cat = Catalog(cat_path)
    with qtbot.waitSignal(window.session.catalog_changed, timeout=10000) as changed:
        qtbot.keyClick(window.grid, Qt.Key.Key_P)
    assert changed.args[0].photo_ids == frozenset(chosen)
    assert sorted(p.id for p in cat.query(PhotoFilter(picks=["picked"]))) == sorted(chosen)
    wait_for_rows(qtbot, window.model)
    assert window.model.record(0).pick == PICK_PICKED  # the badge's data refreshed
    # Keys pressed in a row are stored in that order: the last one wins.
    changes = []
    window.session.catalog_changed.connect(changes.append)
    qtbot.keyClick(window.grid, Qt.Key.Key_U)
    qtbot.keyClick(window.grid, Qt.Key.Key_X)
    qtbot.waitUntil(lambda: len(changes) == 2, timeout=10000)
    assert sorted(p.id for p in cat.query(PhotoFilter(picks=["rejected"]))) == sorted(chosen)
    with qtbot.waitSignal(window.session.catalog_changed, timeout=10000):
        qtbot.keyClick(window.grid, Qt.Key.Key_U)
    assert cat.count(PhotoFilter(picks=["picked", "rejected"])) == 0
    # A pick filter updates as photos are flagged.
    window.filter_panel.picks["picked"].setChecked(True)
    qtbot.waitUntil(lambda: window.model.filter.picks == ["picked"] and not window.model.is_busy(), timeout=5000)
    assert window.model.rowCount() == 0
    cat.close()
    assert gui_thread_catalog_calls == []


def test_viewer_keys_navigation_and_correction_persists(qtbot, filled, gui_thread_catalog_calls):
    from albumsorter._qt.main_window import MainWindow

    folder, cat_path, ids = filled
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    w.open_catalog(cat_path, folder)
    w.filter_panel.sort.setCurrentIndex(w.filter_panel.sort.findData("name"))
    qtbot.waitUntil(lambda: w.model.filter.sort == "name", timeout=2000)
    wait_for_rows(qtbot, w.model)
    # Enter on the grid opens the viewer at the current photo.
    target = next(r for r in w.model.records() if r.face_count == 2 and r.smile_count == 1)
    w.grid.setCurrentIndex(w.model.index_of(target.id))
    w.grid.setFocus()
    qtbot.keyClick(w.grid, Qt.Key.Key_Return)
    assert w.stack.currentWidget() is w.viewer
    assert w.viewer.current_id() == target.id
    qtbot.waitUntil(lambda: w.viewer.full_loaded and w.viewer.faces_loaded, timeout=10000)
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
    qtbot.waitUntil(lambda: w.viewer.faces_loaded, timeout=10000)
    # Pick in the viewer: shown when the session reports the change.
    qtbot.keyClick(w.viewer, Qt.Key.Key_P)
    qtbot.waitUntil(lambda: w.viewer.record.pick == PICK_PICKED, timeout=10000)
    # Correct the neutral face: select it ("]" twice from nothing = face 2), then Alt+1...Alt+8 sets the class.
    neutral = next(i for i, f in enumerate(w.viewer.canvas.faces) if f.label == "neutral")
    for _ in range(neutral + 1):
        qtbot.keyClick(w.viewer, Qt.Key.Key_BracketRight)
    assert w.viewer.canvas.selected == neutral
    face_id = w.viewer.canvas.faces[neutral].id
    with qtbot.waitSignal(w.viewer.record_loaded, timeout=10000):
        qtbot.keyClick(w.viewer, Qt.Key.Key_1 + CLASSES_8.index("happy"), Qt.KeyboardModifier.AltModifier)
    assert w.viewer.record.faces[neutral].label == "happy" and w.viewer.record.faces[neutral].corrected
    assert w.viewer.record.smile_count == 2 and w.viewer.canvas.selected == neutral
    wait_for_rows(qtbot, w.model)
    assert w.model.record(w.model.row_of(target.id)).smile_count == 2  # and in the grid
    # The right-click menu offers the 8 classes, with the keys that set them, and calls the same path.
    from albumsorter._qt.face_style import face_menu, look_of

    chosen = []
    face = w.viewer.record.faces[neutral]
    menu = face_menu(w.viewer, face, look_of(face, neutral), lambda fid, label: chosen.append((fid, label)), print, print)
    acts = [a for a in menu.actions() if a.data() in CLASSES_8]
    assert [a.data() for a in acts] == list(CLASSES_8) and next(a for a in acts if a.data() == "happy").isChecked()
    assert [a.shortcut().toString() for a in acts] == [f"Alt+{i}" for i in range(1, 9)]
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
    wait_for_rows(qtbot, w2.model)
    w2.open_viewer(target.id)
    qtbot.waitUntil(lambda: w2.viewer.faces_loaded, timeout=10000)
    face = next(f for f in w2.viewer.record.faces if f.id == face_id)
    assert face.label == "happy" and face.corrected and face.predicted_label == "neutral"
    w2.close()
    assert gui_thread_catalog_calls == []


def test_help_lists_every_key_from_the_shortcut_table(window):
    """The help dialog is generated from the one shortcut table, which names each expression digit."""
    from albumsorter._qt.shortcuts import ALL_COMMANDS, command, key_text, shortcuts_html

    text = shortcuts_html()
    for i, label in enumerate(CLASSES_8):
        assert command(f"expression-{label}").keys == (f"Alt+{i + 1}",)
        assert f"Alt+{i + 1} {label}" in text
    assert "Alt+0 the model" in text
    for n in range(6):  # digits alone rate the photo
        assert command(f"rate-{n}").keys == (str(n),)
    assert "0–5" in text and "Digits</b> rate the photo" in text
    for cmd in ALL_COMMANDS:
        if cmd.help and cmd.keys:
            assert cmd.help in text and all(key_text(k) in text or k.isdigit() for k in cmd.keys if key_text(k))
    # The menus use the table's keys.
    assert window.window_actions["pick"].shortcut().toString() == "P"
    assert window.window_actions["export"].shortcut().toString() == "Ctrl+E"


def test_export_picks_copies_never_overwrites(window, filled, qtbot, tmp_path, gui_thread_catalog_calls):
    folder, cat_path, ids = filled
    window.open_catalog(cat_path, folder)
    wait_for_rows(qtbot, window.model)
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
    qtbot.waitUntil(lambda: window.export_job is None, timeout=10000)
    with qtbot.waitSignal(window.export_finished, timeout=20000) as sig:
        window.export_picks(dest)
    assert len(list(dest.iterdir())) == 4  # the second export added copies under new names
    assert {p: sha256(p) for p in folder.iterdir()} == before
    # Export right after P includes that photo: the export's read waits for the pick to be stored.
    qtbot.waitUntil(lambda: window.export_job is None, timeout=10000)
    extra = next(r for r in window.model.records() if r.id not in ids[:2])
    window.grid.make_current(extra.id, select=True)
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_P)
    with qtbot.waitSignal(window.export_finished, timeout=20000) as sig:
        window.export_picks(tmp_path / "export2")
    assert sorted(s for s, _ in sig.args[0].copied) == sorted([*picked, extra.path])
    assert gui_thread_catalog_calls == []


# --- indexing plumbing (with a stand-in indexer) -------------------------------------------------------


def done_count(cat_path) -> int:
    """Photos stored so far, read or not (its own connection, as the indexer writes through another)."""
    with Catalog(cat_path) as cat:
        return cat.count(PhotoFilter()) + cat.count(PhotoFilter(errors=True))


def test_indexing_progress_pause_resume_cancel_and_resume_next_start(qtbot, tmp_path):
    """The stand-in indexer stores a photo only when the test allows it (IndexGate), so every step below
    sees the same state on any machine."""
    from albumsorter._qt.main_window import MainWindow

    require_shared()
    folder = tmp_path / "photos"
    paths = copy_sample(folder)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff not a photo")  # the 4th file in name order
    cat_path = tmp_path / "cat.sqlite"
    gate = IndexGate()
    w = MainWindow(indexer_factory=lambda cat: FakeIndexer(cat, gate=gate))
    qtbot.addWidget(w)
    w.show()
    assert w.open_folder(folder, cat_path)
    assert w.is_indexing()
    gate.allow(2)
    qtbot.waitUntil(lambda: w.model.rowCount() == 2, timeout=10000)  # photos appear while indexing
    assert w.index_bar.isVisible() and "2 / 9 photos" in w.index_bar.label.text()
    w.pause_indexing()
    assert w.window_actions["resume"].isEnabled() and not w.window_actions["pause"].isEnabled()
    gate.allow(2)  # the photo waiting at the gate goes through; then the pause holds the next one
    assert gate.waiting_in_pause.wait(10)
    assert done_count(cat_path) == 3
    qtbot.waitUntil(lambda: "paused" in w.index_bar.label.text(), timeout=5000)
    w.resume_indexing()
    qtbot.waitUntil(lambda: done_count(cat_path) == 4, timeout=10000)  # the second permit: broken.jpg
    with qtbot.waitSignal(w.indexing_finished, timeout=10000) as sig:
        w.cancel_indexing()  # the indexer waits at the gate: it stops there
    assert sig.args[0].cancelled
    qtbot.waitUntil(lambda: not w.is_indexing(), timeout=5000)
    assert done_count(cat_path) == 4
    with Catalog(cat_path) as cat:
        assert cat.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    w.close()
    # The next start (no folder given: the most recent one) resumes and completes.
    from albumsorter._qt.app import open_initial

    w2 = MainWindow(indexer_factory=lambda cat: FakeIndexer(cat))
    qtbot.addWidget(w2)
    w2.show()
    with qtbot.waitSignal(w2.indexing_finished, timeout=20000) as sig:
        open_initial(w2, None, None)
    summary = sig.args[0]
    assert not summary.cancelled and summary.indexed + len(summary.errors) == len(paths) + 1 - 4
    wait_for_rows(qtbot, w2.model)
    assert w2.model.rowCount() == len(paths)
    qtbot.waitUntil(lambda: w2.errors_panel.paths() == [str(folder / "broken.jpg")], timeout=10000)
    assert w2.status.errors_button.isVisible()
    w2.close()


def test_close_while_indexing_stops_cleanly(qtbot, tmp_path):
    from albumsorter._qt.main_window import MainWindow

    folder = tmp_path / "photos"
    copy_sample(folder)
    cat_path = tmp_path / "cat.sqlite"
    gate = IndexGate()
    w = MainWindow(indexer_factory=lambda cat: FakeIndexer(cat, gate=gate))
    qtbot.addWidget(w)
    w.show()
    w.open_folder(folder, cat_path)
    gate.allow(1)
    qtbot.waitUntil(lambda: done_count(cat_path) == 1, timeout=10000)
    assert w.is_indexing()  # waiting at the gate for the next photo
    w.close()
    assert not w.is_indexing() and w.session.path is None
    with Catalog(cat_path) as cat:
        assert cat.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert cat.count() == 1


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


def test_grid_with_10000_photos_stays_responsive(qtbot, tmp_path, gui_thread_catalog_calls):
    """10,000 catalog rows. Every query runs off the GUI thread, so a filter change returns before its answer
    arrives; the grid paints only the visible cells; photos arriving while indexing are inserted (no reset).
    Nothing here is timed: each expectation holds on a fast machine and on a busy one alike."""
    from gui_fixtures import fake_photo

    from albumsorter._qt.delegate import PhotoDelegate
    from albumsorter._qt.main_window import MainWindow

    cat_path = tmp_path / "big.sqlite"
    labels = [[], ["happy"], ["happy", "neutral"], ["sad", "happy", "happy"]]
    with Catalog(cat_path) as cat, cat.transaction():
        for i in range(10000):
            cat.record_photo(fake_photo(f"/nowhere/p{i:05d}.jpg", 4000, 3000, labels[i % 4], f"h{i}"))
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1366, 768)
    w.show()
    w.open_catalog(cat_path, tmp_path)
    assert w.model.is_busy() and w.model.rowCount() == 0  # opening returns before the rows arrive
    qtbot.waitUntil(lambda: w.model.rowCount() == 10000 and not w.model.is_busy(), timeout=60000)

    # Painting the grid costs the visible cells only.
    class CountingDelegate(PhotoDelegate):
        painted = 0

        def paint(self, painter, option, index):
            CountingDelegate.painted += 1
            super().paint(painter, option, index)

    w.grid.setItemDelegate(CountingDelegate(w.grid, thumb_size=w.grid.delegate.thumb_size))
    w.grid.viewport().grab()
    cell = w.grid.visualRect(w.model.index(0))
    viewport = w.grid.viewport().size()
    fits = (viewport.width() // cell.width() + 1) * (viewport.height() // cell.height() + 2)
    assert 0 < CountingDelegate.painted <= fits < 200

    # A filter change returns at once: right after the window handled it, the answer has not been applied.
    seen_after_change = []
    w.filter_panel.filter_changed.connect(lambda _flt: seen_after_change.append((w.model.is_busy(), w.model.rowCount())))
    w.filter_panel.emotions["sad"].setChecked(True)
    qtbot.waitUntil(lambda: bool(seen_after_change), timeout=5000)
    assert seen_after_change[0] == (True, 10000), "a filter change waited for its query"
    qtbot.waitUntil(lambda: not w.model.is_busy() and w.model.rowCount() == 2500, timeout=60000)
    w.filter_panel.reset()
    qtbot.waitUntil(lambda: not w.model.is_busy() and w.model.rowCount() == 10000, timeout=60000)

    # Photos arriving while indexing are inserted, not a reset.
    resets = w.model.resets
    inserted = []
    w.model.rowsInserted.connect(lambda parent, a, b: inserted.append(b - a + 1))
    with Catalog(cat_path) as cat:
        for i in range(3):
            cat.record_photo(fake_photo(f"/nowhere/new{i}.jpg", 400, 300, [], f"n{i}"))
    w.refresh()
    assert w.model.is_busy()
    qtbot.waitUntil(lambda: w.model.rowCount() == 10003 and not w.model.is_busy(), timeout=60000)
    assert w.model.resets == resets and sum(inserted) == 3
    assert w.status.count_label.text() == "10,003 photos"
    w.close()
    assert gui_thread_catalog_calls == []


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
    wait_for_rows(qtbot, window.model)
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
