"""GUI tests (pytest-qt, offscreen) for culling as a photographer does it (issues #16 and #13): who counts in
"everyone smiling" (ignored faces, bystanders, faces the user adds), how sure a smile must be, zoom, the empty
grid, pausing, the grid keeping its place while rows arrive, star ratings, and the rest of the window's flow.

Real catalog files, real photos (the public-domain samples in resources/samples, so nothing here needs ../shared),
real key presses and mouse drags; the tests that add a face or index use the real models. Every catalog query and
write of the window runs off the GUI thread, so a test waits for the answer (a signal, or a condition with a
generous timeout) and never for a length of time; no expectation depends on how fast the machine is."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
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
    fake_photo,
    gui_env,  # noqa: F401  (a fixture, used by pytestmark)
    new_window,
    require_models,
    wait_for_rows,
    watch_gui_thread_catalog_calls,
)
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QWheelEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from albumsorter.core.catalog import PICK_PICKED, Catalog, IndexedPhoto, PhotoFilter  # noqa: E402
from albumsorter.core.classes import CLASSES_8  # noqa: E402
from albumsorter.core.face import FaceResult, Landmarks  # noqa: E402
from albumsorter.core.resources import resources_dir  # noqa: E402

pytestmark = pytest.mark.usefixtures("gui_env")

SAMPLES = resources_dir() / "samples"


# --- helpers ---------------------------------------------------------------------------------------------------


@pytest.fixture
def gui_thread_catalog_calls(monkeypatch):
    """Catalog calls the window's code makes on the GUI thread, the new edits included (a test asserts none)."""
    return watch_gui_thread_catalog_calls(monkeypatch)


def face(box: tuple[float, float, float, float], probs: dict[str, float]) -> FaceResult:
    """A face at `box` (photo pixels) whose expression model said `probs` (the rest of the 8 share what is left)."""
    from albumsorter.core.scorers.expression import expression_result

    left, top, right, bottom = box
    w, h = right - left, bottom - top
    rest = (1.0 - sum(probs.values())) / max(1, len(CLASSES_8) - len(probs))
    vector = [probs.get(c, rest) for c in CLASSES_8]
    points = [(left + 0.3 * w, top + 0.4 * h), (left + 0.7 * w, top + 0.4 * h), (left + 0.5 * w, top + 0.6 * h),
              (left + 0.5 * w, top + 0.8 * h), (left, top + 0.5 * h), (right, top + 0.5 * h)]  # fmt: skip
    return FaceResult(box, 0.9, Landmarks.from_points(points), {"expression": expression_result("test-model", vector)})


def record(catalog: Catalog, path: Path, faces: list[FaceResult]) -> int:
    """A real photo file stored with these faces through the catalog's own write (no models needed)."""
    from albumsorter.core.decoding import decode_file

    photo = decode_file(path, 64)
    st = os.stat(path)
    return catalog.record_photo(
        IndexedPhoto(str(path), st.st_size, st.st_mtime_ns, photo.content_hash, photo.format, photo.width, photo.height,
                     photo.taken_at, "test-detector", faces)
    )  # fmt: skip


def copies(folder: Path, sample: str, names: list[str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name in names:
        shutil.copy2(SAMPLES / sample, folder / name)
        out.append(folder / name)
    return out


def open_in_viewer(w, qtbot, photo_id: int) -> None:
    w.open_viewer(photo_id)
    qtbot.waitUntil(lambda: w.viewer.faces_loaded and w.viewer.full_loaded and w.viewer.current_id() == photo_id, timeout=20000)


def ids_for(cat_path: Path, flt: PhotoFilter) -> list[int]:
    with Catalog(cat_path) as cat:
        return [p.id for p in cat.query(flt)]


HAPPY = {"happy": 0.95}
BORDERLINE = {"happy": 0.51, "neutral": 0.47}  # the model's first choice is happy, barely
FAINT = {"neutral": 0.55, "happy": 0.40}  # neutral first; a faint smile
NEUTRAL = {"neutral": 0.9}


@pytest.fixture
def culling(tmp_path):
    """(folder, catalog, {name: photo id}): copies of the public-domain astronaut portrait (512 x 512) with faces
    of known sizes and expressions."""
    folder = tmp_path / "photos"
    names = ["a_both_happy.jpg", "b_borderline.jpg", "c_faint.jpg", "d_portrait_bystander.jpg", "e_pair.jpg", "f_sad.jpg"]
    paths = dict(zip(names, copies(folder, "astronaut.jpg", names)))
    big_l, big_r = (60, 120, 220, 300), (280, 120, 440, 300)  # two people side by side, heads 180 px tall
    cat_path = tmp_path / "catalog.sqlite"
    with Catalog(cat_path) as cat:
        ids = {
            "a": record(cat, paths[names[0]], [face(big_l, HAPPY), face(big_r, {"happy": 0.85})]),
            "b": record(cat, paths[names[1]], [face(big_l, HAPPY), face(big_r, BORDERLINE)]),
            "c": record(cat, paths[names[2]], [face(big_l, HAPPY), face(big_r, FAINT)]),
            # A clear smiling portrait with a tiny neutral face far behind (a third of the height: a bystander).
            "d": record(cat, paths[names[3]], [face((150, 100, 350, 340), HAPPY), face((420, 40, 460, 88), NEUTRAL)]),
            "e": record(cat, paths[names[4]], [face(big_l, HAPPY), face(big_r, NEUTRAL)]),
            "f": record(cat, paths[names[5]], [face(big_l, {"sad": 0.9})]),
        }
    return folder, cat_path, ids


@pytest.fixture
def window(qtbot):
    w = new_window(qtbot)
    yield w
    w.shutdown()


def show_catalog(w, qtbot, folder, cat_path, sort: str = "name") -> None:
    assert w.open_catalog(cat_path, folder)
    w.filter_panel.sort.setCurrentIndex(w.filter_panel.sort.findData(sort))
    qtbot.waitUntil(lambda: w.model.filter.sort == sort and not w.model.is_busy(), timeout=10000)


# --- who counts: strictness, bystanders, ignored faces -----------------------------------------------------------


def test_everyone_smiling_strictness_and_uncertain_faces(window, culling, qtbot, gui_thread_catalog_calls):
    folder, cat_path, ids = culling
    w = window
    show_catalog(w, qtbot, folder, cat_path)
    panel = w.filter_panel
    expected = {"relaxed": {"a", "b", "c", "d"}, "normal": {"a", "b", "d"}, "strict": {"a", "d"}}
    panel.smiles.setCurrentIndex(panel.smiles.findData("all"))
    for level in ("relaxed", "normal", "strict"):
        panel.strictness.setCurrentIndex(panel.strictness.findData(level))
        want = ids_for(cat_path, PhotoFilter(everyone_smiling=level, sort="name"))
        qtbot.waitUntil(lambda want=want: w.model.ids() == want and not w.model.is_busy(), timeout=10000)
        assert {k for k, v in ids.items() if v in w.model.ids()} == expected[level]
        assert level in panel.explanation.text().lower() or panel.strictness.currentText().lower() == level
    # The borderline smile is shown as uncertain (dashed, "happy?"); the clear one is not.
    panel.set_everyone_smiling("normal")
    qtbot.waitUntil(lambda: not w.model.is_busy() and ids["b"] in w.model.ids(), timeout=10000)
    open_in_viewer(w, qtbot, ids["b"])
    looks = w.viewer.canvas.looks
    assert [lk.uncertain for lk in looks] == [False, True] and all(lk.smiling for lk in looks)
    texts = [text for text, _rect in w.viewer.canvas.tag_layout()]
    assert "?" in texts[1] and "?" not in texts[0]
    assert "1 unsure" in w.viewer.title.text() and "2 smiling" in w.viewer.title.text()
    # Strict: the viewer judges smiles as the filter does.
    panel.set_everyone_smiling("strict")
    qtbot.waitUntil(lambda: w.viewer.strictness == "strict", timeout=5000)
    assert [lk.smiling for lk in w.viewer.canvas.looks] == [True, False] and "1 smiling" in w.viewer.title.text()
    assert gui_thread_catalog_calls == []


def test_bystanders_do_not_count_and_an_ignored_face_leaves_the_photo(window, culling, qtbot, gui_thread_catalog_calls):
    folder, cat_path, ids = culling
    w = window
    show_catalog(w, qtbot, folder, cat_path)
    panel = w.filter_panel
    panel.set_everyone_smiling("normal")
    qtbot.waitUntil(lambda: not w.model.is_busy() and w.model.filter.everyone_smiling == "normal", timeout=10000)
    # The portrait with a tiny neutral face far behind counts as everyone smiling; the neutral pair does not.
    assert ids["d"] in w.model.ids() and ids["e"] not in w.model.ids()
    panel.set_everyone_smiling(None)
    qtbot.waitUntil(lambda: not w.model.is_busy() and ids["e"] in w.model.ids(), timeout=10000)
    open_in_viewer(w, qtbot, ids["d"])
    small = next(i for i, f in enumerate(w.viewer.canvas.faces) if f.box[3] - f.box[1] < 100)
    assert small == 0  # numbered in reading order: the face far behind is higher up in the photo
    bystander = w.viewer.canvas.looks[small]
    assert bystander.bystander and not bystander.counts and "1 in the background" in w.viewer.title.text()
    assert "background" in w.viewer.faces.list.item(small).text()

    # Ignore the neutral face of the pair with the keyboard: "]" twice selects face 2, "I" ignores it.
    open_in_viewer(w, qtbot, ids["e"])
    assert "2 faces found · 1 smiling" in w.viewer.title.text()
    for _ in range(2):
        qtbot.keyClick(w.viewer, Qt.Key.Key_BracketRight)
    assert w.viewer.canvas.selected == 1
    with qtbot.waitSignal(w.viewer.record_loaded, timeout=10000):
        qtbot.keyClick(w.viewer, Qt.Key.Key_I)
    neutral = w.viewer.record.faces[1]
    assert neutral.ignored and not neutral.subject and w.viewer.canvas.looks[1].ignored
    assert w.viewer.record.face_count == 1 and w.viewer.record.smile_count == 1 and w.viewer.record.all_smile
    assert "1 ignored" in w.viewer.title.text() and "ignored" in w.viewer.faces.list.item(1).text()
    assert w.viewer.canvas.selected == 1  # the same face stays selected after the reload
    with Catalog(cat_path) as cat:
        assert ids["e"] in [p.id for p in cat.query(PhotoFilter(everyone_smiling="normal"))]
    # The face menu counts it again.
    from albumsorter._qt.face_style import face_menu

    menu = face_menu(w.viewer, neutral, w.viewer.canvas.looks[1], print, w.viewer.set_ignored, print)
    again = next(a for a in menu.actions() if a.text().startswith("Count this face again"))
    with qtbot.waitSignal(w.viewer.record_loaded, timeout=10000):
        again.trigger()
    assert not w.viewer.record.faces[1].ignored and w.viewer.record.face_count == 2
    assert gui_thread_catalog_calls == []


def test_add_a_face_by_drawing_a_box_it_is_scored_and_kept_across_reindexing(qtbot, tmp_path, gui_thread_catalog_calls):
    """The detector's own box for the astronaut's face (found by indexing a copy) is drawn by hand on a photo
    stored without faces; the new face is scored by the real models, counts, and stays after re-indexing."""
    require_models()
    from albumsorter.core.pipeline import Indexer, IndexOptions

    probe = tmp_path / "probe"
    copies(probe, "astronaut.jpg", ["astronaut.jpg"])
    with Catalog(tmp_path / "probe.sqlite") as cat:
        Indexer(cat, IndexOptions(workers=1)).run(probe)
        (detected,) = cat.query(PhotoFilter(), with_faces=True)[0].faces
    folder = tmp_path / "photos"
    (path,) = copies(folder, "astronaut.jpg", ["astronaut.jpg"])
    cat_path = tmp_path / "catalog.sqlite"
    with Catalog(cat_path) as cat:
        photo_id = record(cat, path, [])  # as if the detector had missed her
    w = new_window(qtbot)
    assert w.open_catalog(cat_path, folder)
    wait_for_rows(qtbot, w.model)
    open_in_viewer(w, qtbot, photo_id)
    assert "No faces found" in w.viewer.title.text()
    canvas = w.viewer.canvas
    qtbot.keyClick(w.viewer, Qt.Key.Key_A)
    assert canvas.add_mode and w.viewer.add_button.isChecked()
    img, s = canvas.image_rect(), canvas.scale()
    left, top, right, bottom = detected.box
    start = QPoint(round(img.left() + left * s), round(img.top() + top * s))
    end = QPoint(round(img.left() + right * s), round(img.top() + bottom * s))
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(canvas, end)
    with qtbot.waitSignal(w.viewer.adder.added, timeout=60000):
        qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=end)
        assert len(canvas.pending) == 1 and not canvas.add_mode  # shown dashed while it is scored
    qtbot.waitUntil(lambda: len(w.viewer.record.faces) == 1, timeout=20000)
    added = w.viewer.record.faces[0]
    assert added.manual and added.subject and added.label == "happy"  # resources/samples/expected.json: she smiles
    assert sum(added.probabilities.values()) == pytest.approx(1.0, abs=0.01)
    assert all(abs(a - b) <= 2 for a, b in zip(added.box, detected.box))  # the box as drawn, to the screen pixel
    assert canvas.pending == [] and canvas.selected == 0 and "1 face found · 1 smiling" in w.viewer.title.text()
    assert w.viewer.faces.list.count() == 1 and "added by you" in w.viewer.faces.list.item(0).text()
    w.close()
    # Re-indexing the folder (the detector now finds the same face): the face the user drew stays, once.
    with Catalog(cat_path) as cat:
        st = os.stat(path)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
        summary = Indexer(cat, IndexOptions(workers=1)).run(folder)
        assert summary.indexed == 1
        faces = cat.photo(photo_id).faces
    assert len(faces) == 1 and faces[0].manual and faces[0].id == added.id
    assert gui_thread_catalog_calls == []


# --- the viewer: zoom and pan, the face list ------------------------------------------------------------------


def test_zoom_fit_100_to_a_face_wheel_pan_and_the_face_list(window, culling, qtbot):
    folder, cat_path, ids = culling
    (small,) = copies(folder, "astronaut.jpg", ["g_small_face.jpg"])
    with Catalog(cat_path) as cat:  # one small face in the middle: zooming to it has room to centre it
        small_id = record(cat, small, [face((236, 236, 276, 284), NEUTRAL)])
    w = window
    show_catalog(w, qtbot, folder, cat_path)
    open_in_viewer(w, qtbot, ids["a"])
    canvas = w.viewer.canvas
    assert canvas.is_fitted() and w.viewer.zoom_button.text() == "Fit"
    fit = canvas.scale()
    qtbot.keyClick(w.viewer, Qt.Key.Key_Plus)
    assert canvas.scale() > fit and not canvas.is_fitted() and w.viewer.zoom_button.text().endswith("%")
    qtbot.keyClick(w.viewer, Qt.Key.Key_Z)  # zoomed: Z fits
    assert canvas.is_fitted()
    qtbot.keyClick(w.viewer, Qt.Key.Key_Z)  # fitted: Z shows 100 % (or twice the fit for a small photo)
    assert canvas.scale() == pytest.approx(max(canvas.actual_scale(), fit * 2))
    qtbot.keyClick(w.viewer, Qt.Key.Key_Z)
    # Zoom to the selected face: it is centred and fills a good part of the view.
    open_in_viewer(w, qtbot, small_id)
    qtbot.keyClick(w.viewer, Qt.Key.Key_BracketRight)
    fitted_face = canvas.face_rect(canvas.faces[0])
    qtbot.keyClick(w.viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ShiftModifier)
    zoomed_face = canvas.face_rect(canvas.faces[0])
    from albumsorter._qt.photo_canvas import FACE_SHARE

    assert max(zoomed_face.width(), zoomed_face.height()) == pytest.approx(
        FACE_SHARE * min(canvas.width(), canvas.height()), rel=0.01
    )
    assert zoomed_face.width() > 3 * fitted_face.width()
    centre = zoomed_face.center()
    assert abs(centre.x() - canvas.width() / 2) <= 1 and abs(centre.y() - canvas.height() / 2) <= 1
    # The wheel zooms about the pointer: the photo point under it stays there.
    open_in_viewer(w, qtbot, ids["a"])
    canvas.fit()
    pointer = QPointF(canvas.width() * 0.4, canvas.height() * 0.45)
    under = canvas.to_photo(pointer)
    wheel = QWheelEvent(pointer, canvas.mapToGlobal(pointer), QPoint(), QPoint(0, 240), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)  # fmt: skip
    QApplication.sendEvent(canvas, wheel)
    assert canvas.scale() > fit
    after = canvas.to_photo(pointer)
    assert abs(after.x() - under.x()) < 1 and abs(after.y() - under.y()) < 1
    # Dragging pans a zoomed photo by what the mouse moved, in photo pixels; face boxes move with it.
    before_centre, before_box = canvas.center(), canvas.face_rect(canvas.faces[1])
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(300, 300))
    qtbot.mouseMove(canvas, QPoint(340, 320))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(340, 320))
    moved = canvas.center()
    assert moved.x() == pytest.approx(before_centre.x() - 40 / canvas.scale(), abs=0.5)
    assert canvas.face_rect(canvas.faces[1]).left() - before_box.left() == pytest.approx(40, abs=1)
    # The face list: one line per face, sortable, and a click zooms to the face.
    lst = w.viewer.faces
    assert lst.list.count() == 2 and lst.list.item(0).text().startswith("1 ")
    lst.order.setCurrentIndex(lst.order.findData("least-sure"))
    assert lst.rows_in_order() == [1, 0]  # 85 % before 95 %
    canvas.fit()
    lst.list.itemClicked.emit(lst.list.item(0))
    assert canvas.selected == 1 and not canvas.is_fitted() and w.viewer.detail.face is canvas.faces[1]
    qtbot.keyClick(w.viewer, Qt.Key.Key_Escape)
    assert w.stack.currentWidget() is w.grid


def test_a_crowd_fits_the_face_list_and_tags_never_cover_neighbours(window, qtbot, tmp_path):
    """74 faces in rows: one compact line each, faces numbered in reading order; a tag that would cover another
    face shows the number alone (the selected face shows everything)."""
    folder = tmp_path / "photos"
    (path,) = copies(folder, "group.jpg", ["class.jpg"])  # 960 x 540
    faces, rng = [], __import__("random").Random(7)
    for row in range(4):
        for col in range(18 if row < 3 else 20):
            x, y = 20 + col * 46 + rng.uniform(-3, 3), 60 + row * 110 + rng.uniform(-8, 8)
            faces.append(face((x, y, x + 30, y + 36), HAPPY if (row + col) % 5 else NEUTRAL))
    rng.shuffle(faces)  # detection order is not reading order
    cat_path = tmp_path / "crowd.sqlite"
    with Catalog(cat_path) as cat:
        photo_id = record(cat, path, faces)
    w = window
    assert w.open_catalog(cat_path, folder)
    wait_for_rows(qtbot, w.model)
    open_in_viewer(w, qtbot, photo_id)
    shown = w.viewer.canvas.faces
    assert len(shown) == 74
    centres = [((f.box[1] + f.box[3]) / 2, (f.box[0] + f.box[2]) / 2) for f in shown]
    rows = [round((cy - 78) / 110) for cy, _cx in centres]
    assert rows == sorted(rows)  # top row first ...
    for r in set(rows):  # ... each row left to right
        xs = [cx for (cy, cx), rr in zip(centres, rows) if rr == r]
        assert xs == sorted(xs)
    lst = w.viewer.faces.list
    assert lst.count() == 74 and lst.sizeHintForRow(0) <= 48
    layout = w.viewer.canvas.tag_layout()
    boxes = [w.viewer.canvas.face_rect(f) for f in shown]
    for i, (text, tag) in enumerate(layout):
        hit = [(j, b) for j, b in enumerate(boxes) if j != i and tag.intersects(b)]
        assert not text or not hit, (i, text, tag, boxes[i], hit)
    canvas = w.viewer.canvas
    canvas.set_zoom(canvas.fit_scale() * 3)  # zoomed in, every face on screen has room for its number
    box = shown[30].box
    canvas.center_on(QPointF((box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
    zoomed = canvas.tag_layout()
    visible = [i for i, f in enumerate(shown) if canvas.rect().contains(canvas.face_rect(f).toRect())]
    assert len(visible) > 3 and all(zoomed[i][0] for i in visible)
    w.viewer.faces.order.setCurrentIndex(w.viewer.faces.order.findData("not-smiling"))
    first = w.viewer.faces.rows_in_order()[0]
    assert not w.viewer.canvas.looks[first].smiling


# --- the grid: empty state, keeping the place, badges ------------------------------------------------------------


def test_empty_grid_says_why_and_clears_filters(window, culling, qtbot, tmp_path):
    folder, cat_path, ids = culling
    w = window
    show_catalog(w, qtbot, folder, cat_path)
    empty = w.grid.empty_state
    assert not empty.isVisible()
    w.filter_panel.emotions["contempt"].setChecked(True)
    qtbot.waitUntil(lambda: w.model.rowCount() == 0 and not w.model.is_busy(), timeout=10000)
    assert empty.isVisible() and "No photos match" in empty.label.text() and empty.clear_button.isVisible()
    # A contradiction is explained, on the panel and over the grid.
    w.filter_panel.min_faces.setValue(3)
    w.filter_panel.max_faces.setValue(1)
    qtbot.waitUntil(lambda: w.model.filter.min_faces == 3 and not w.model.is_busy(), timeout=10000)
    assert w.filter_panel.conflict_label.isVisible() and "no photo can match" in w.filter_panel.conflict_label.text()
    assert "no photo can match" in empty.label.text()
    qtbot.mouseClick(empty.clear_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.model.rowCount() == len(ids) and not w.model.is_busy(), timeout=10000)
    assert not empty.isVisible() and w.filter_panel.is_default()
    # While a folder is being indexed into an empty catalog, the grid says so.
    gate = IndexGate()
    w2 = new_window(qtbot, indexer_factory=lambda cat: FakeIndexer(cat, gate=gate))
    copies(tmp_path / "new", "astronaut.jpg", ["x.jpg", "y.jpg"])
    assert w2.open_folder(tmp_path / "new", tmp_path / "new.sqlite")
    qtbot.waitUntil(lambda: w2.grid.empty_state.isVisible(), timeout=10000)
    assert "Indexing" in w2.grid.empty_state.label.text() and not w2.grid.empty_state.clear_button.isVisible()
    gate.allow(1)
    qtbot.waitUntil(lambda: w2.model.rowCount() == 1, timeout=10000)
    assert not w2.grid.empty_state.isVisible()
    w2.cancel_indexing()
    gate.allow(5)
    qtbot.waitUntil(lambda: not w2.is_indexing(), timeout=10000)
    w2.shutdown()


def test_the_grid_keeps_its_place_while_rows_arrive(qtbot, tmp_path, gui_thread_catalog_calls):
    """Scrolled far down a 3,000-photo grid, photos arriving before and after the visible ones (as while
    indexing) leave the first visible photo exactly where it was on screen."""
    from albumsorter._qt.main_window import MainWindow

    cat_path = tmp_path / "big.sqlite"
    with Catalog(cat_path) as cat, cat.transaction():
        for i in range(3000):
            cat.record_photo(fake_photo(f"/nowhere/m{i:05d}.jpg", 400, 300, [], f"h{i}"))
    w = MainWindow(thumbnail_cache_dir=None)
    qtbot.addWidget(w)
    w.resize(1366, 768)
    w.show()
    show_catalog(w, qtbot, tmp_path, cat_path)
    qtbot.waitUntil(lambda: w.model.rowCount() == 3000, timeout=30000)
    qtbot.waitUntil(lambda: w.grid.visualRect(w.model.index(2999)).isValid(), timeout=10000)  # laid out to the end
    w.grid.scrollTo(w.model.index(2400))
    bar = w.grid.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.value() > bar.maximum() * 0.6, timeout=5000)
    resets = w.model.resets
    for batch in range(3):  # three indexing batches: rows before ("a...") and after ("z...") the visible ones
        first = w.grid.first_visible_ids(1)[0]  # the photo at the top left of the view
        top = w.grid.visualRect(w.model.index_of(first)).top()
        with Catalog(cat_path) as cat:
            for i in range(40):
                cat.record_photo(fake_photo(f"/nowhere/a{batch}{i:03d}.jpg", 400, 300, [], f"a{batch}{i}"))
                cat.record_photo(fake_photo(f"/nowhere/z{batch}{i:03d}.jpg", 400, 300, [], f"z{batch}{i}"))
        w.refresh()
        qtbot.waitUntil(
            lambda batch=batch: w.model.rowCount() == 3000 + 80 * (batch + 1) and not w.model.is_busy(), timeout=30000
        )
        QApplication.processEvents()
        # The same photo at the same height on screen (its column may change: rows wrap).
        assert w.grid.visualRect(w.model.index_of(first)).top() == top, (batch, bar.value(), bar.maximum())
    assert w.model.resets == resets  # inserted as rows, not a reset
    w.close()
    assert gui_thread_catalog_calls == []


def test_badges_fit_narrow_portraits_and_long_names_keep_their_end(qtbot):
    from PySide6.QtGui import QColor, QFontMetrics, QImage, QPainter
    from PySide6.QtWidgets import QListView, QStyleOptionViewItem

    from albumsorter._qt.catalog_session import CatalogSession
    from albumsorter._qt.delegate import PhotoDelegate, name_lines
    from albumsorter._qt.photo_model import PhotoModel
    from albumsorter._qt.tasks import TaskRunner
    from albumsorter._qt.thumbnails import ThumbnailCache
    from albumsorter.core.catalog import PhotoRecord

    view = QListView()
    qtbot.addWidget(view)
    fm = QFontMetrics(view.font())
    name = "serengil__tests_unit_dataset_img9.jpg"
    lines = name_lines(name, fm, 84, 2)
    assert len(lines) == 2 and name.startswith(lines[0]) and lines[1].endswith("_img9.jpg")
    assert name_lines("IMG_0042.jpg", fm, 84, 2) == ["IMG_0042.jpg"]

    runner = TaskRunner()
    cache = ThumbnailCache(runner, disk_dir=None)
    portrait = QImage(64, 96, QImage.Format.Format_RGB888)  # a 2:3 portrait at the smallest size
    portrait.fill(QColor(20, 120, 200))
    cache._store("/p/portrait.jpg", portrait)
    model = PhotoModel(CatalogSession(runner), cache)
    model.apply([PhotoRecord(1, "/p/portrait.jpg", "ok", None, 640, 960, None, PICK_PICKED, 12, 11, 0.9, rating=5)])
    delegate = PhotoDelegate(view, thumb_size=96)
    option = QStyleOptionViewItem()
    option.initFrom(view)
    size = delegate.sizeHint(option, model.index(0))
    option.rect = __import__("PySide6.QtCore", fromlist=["QRect"]).QRect(0, 0, size.width(), size.height())
    image = QImage(size, QImage.Format.Format_RGB888)
    image.fill(QColor(255, 255, 255))
    painter = QPainter(image)
    delegate.paint(painter, option, model.index(0))
    painter.end()
    # The thumbnail is 64 px wide, centred; nothing of a badge is drawn beside it (the white margins stay white).
    left = (size.width() - 64) // 2
    for y in range(6, 6 + 96):
        for x in list(range(0, left - 1)) + list(range(left + 64 + 1, size.width())):
            assert image.pixelColor(x, y) == QColor(255, 255, 255), (x, y)
    runner.shutdown()


def test_dark_theme_check_boxes_are_visible(window, qtbot):
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QCheckBox, QStyle, QStyleOptionButton

    w = window
    w.set_theme("dark")
    box = w.filter_panel.emotions["sad"]
    assert isinstance(box, QCheckBox) and not box.isChecked()
    qtbot.waitUntil(lambda: box.palette().color(QPalette.ColorRole.Window).lightness() < 128, timeout=5000)
    option = QStyleOptionButton()
    box.initStyleOption(option)
    indicator = box.style().subElementRect(QStyle.SubElement.SE_CheckBoxIndicator, option, box)
    image = box.grab().toImage()
    background = box.palette().color(QPalette.ColorRole.Window).lightness()
    contrast = max(abs(image.pixelColor(x, y).lightness() - background)
                   for x in range(indicator.left(), indicator.right() + 1) for y in range(indicator.top(), indicator.bottom() + 1))  # fmt: skip
    assert contrast >= 60, f"the unchecked box's frame is {contrast} lightness steps from the window"
    w.set_theme("light")


# --- pausing -----------------------------------------------------------------------------------------------------


def paused_after_first_photo(catalog):
    """The window's real indexer, paused from its own thread as soon as the first photo is analysed (as the
    Pause button would be, at a moment that does not depend on how fast the GUI thread is)."""
    from albumsorter._qt.indexing import default_indexer_factory

    indexer = default_indexer_factory(catalog)
    run = indexer.run

    def run_then_pause(root, on_progress=None, on_photo=None, control=None):
        def first_photo_pauses(progress):
            if progress.done >= 1 and not control.paused and not getattr(control, "was_paused", False):
                control.was_paused = True
                control.pause()
            if on_progress:
                on_progress(progress)

        return run(root, on_progress=first_photo_pauses, on_photo=on_photo, control=control)

    indexer.run = run_then_pause
    return indexer


def test_pausing_stores_the_finished_photos_then_holds(qtbot, tmp_path):
    require_models()
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(12):  # twelve different photos (different bytes) made from the public-domain samples
        src = Image.open(SAMPLES / ("astronaut.jpg" if i % 2 else "group.jpg"))
        src.crop((i, i, src.width - i, src.height - i)).save(folder / f"p{i:02d}.jpg", quality=80 + i)
    cat_path = tmp_path / "catalog.sqlite"
    w = new_window(qtbot, indexer_factory=paused_after_first_photo)
    assert w.open_folder(folder, cat_path)
    qtbot.waitUntil(lambda: w.indexing.is_paused(), timeout=60000)
    w.pause_indexing()  # what the button does (the run itself was paused first, from its thread)
    from albumsorter._qt.indexing import PAUSED

    qtbot.waitUntil(lambda: w.indexing.pause_state() == PAUSED, timeout=60000)
    done = w.indexing.progress.done
    with Catalog(cat_path) as cat:
        stored = cat.count(PhotoFilter()) + cat.count(PhotoFilter(errors=True))
    assert 1 <= done == stored < 12  # every analysed photo is in the catalog, and there is work left
    qtbot.waitUntil(lambda: w.model.rowCount() == stored and not w.model.is_busy(), timeout=20000)  # and in the grid
    label = w.index_bar.label.text()
    assert "paused" in label and " left" not in label  # no time estimate while paused
    assert w.indexing.control.holding >= 1  # a worker waits before its next photo
    # The photos are analysed in worker processes, not in the window's process. One dies (as a native crash on a
    # photo would end it): the window goes on, that photo is recorded as unreadable and read again next time.
    workers = multiprocessing.active_children()
    assert workers and w.indexing.processes is not None
    os.kill(workers[0].pid, signal.SIGKILL)
    with qtbot.waitSignal(w.indexing_finished, timeout=120000) as sig:
        w.resume_indexing()
    assert not sig.args[0].cancelled
    assert all("analysis process stopped" in why for _path, why in sig.args[0].errors)
    qtbot.waitUntil(lambda: not w.is_indexing(), timeout=10000)
    with qtbot.waitSignal(w.indexing_finished, timeout=120000) as sig:
        assert w.start_indexing()
    assert not sig.args[0].errors
    wait_for_rows(qtbot, w.model)
    qtbot.waitUntil(lambda: w.model.rowCount() == 12, timeout=20000)
    w.close()
    qtbot.waitUntil(lambda: not multiprocessing.active_children(), timeout=20000)  # closing the window ends them


# --- ratings, status bar, toolbar, help, export, sidecars --------------------------------------------------------


def test_rating_keys_filter_sort_and_stars(window, culling, qtbot, gui_thread_catalog_calls):
    folder, cat_path, ids = culling
    w = window
    show_catalog(w, qtbot, folder, cat_path)
    w.grid.setFocus()
    w.grid.setCurrentIndex(w.model.index(0))
    from PySide6.QtCore import QItemSelectionModel

    w.grid.selectionModel().select(w.model.index(1), QItemSelectionModel.SelectionFlag.Select)
    chosen = [w.model.record(0).id, w.model.record(1).id]
    with qtbot.waitSignal(w.session.catalog_changed, timeout=10000) as changed:
        qtbot.keyClick(w.grid, Qt.Key.Key_3)
    assert changed.args[0].photo_ids == frozenset(chosen)
    with Catalog(cat_path) as cat:
        assert sorted(p.id for p in cat.query(PhotoFilter(min_rating=3))) == sorted(chosen)
    wait_for_rows(qtbot, w.model)
    assert w.model.record(0).rating == 3 and "★★★" in w.model.data(w.model.index(0), Qt.ItemDataRole.ToolTipRole)
    # In the viewer: a digit rates the photo; Alt + a digit is the face's expression, never a rating.
    target = next(r for r in w.model.records() if r.id not in chosen)
    open_in_viewer(w, qtbot, target.id)
    with qtbot.waitSignal(w.viewer.record_loaded, timeout=10000):
        qtbot.keyClick(w.viewer, Qt.Key.Key_5)
    assert w.viewer.record.rating == 5 and [b.text() for b in w.viewer.star_buttons] == ["★"] * 5
    qtbot.keyClick(w.viewer, Qt.Key.Key_BracketRight)
    with qtbot.waitSignal(w.viewer.record_loaded, timeout=10000):
        qtbot.keyClick(w.viewer, Qt.Key.Key_1 + CLASSES_8.index("surprise"), Qt.KeyboardModifier.AltModifier)
    assert w.viewer.record.rating == 5 and w.viewer.record.faces[0].label == "surprise"
    w.viewer.star_buttons[1].click()  # the buttons do the same: two stars
    qtbot.waitUntil(lambda: w.viewer.record.rating == 2, timeout=10000)
    qtbot.keyClick(w.viewer, Qt.Key.Key_Escape)
    # The rating filter and the rating sort.
    panel = w.filter_panel
    panel.rating.setCurrentIndex(panel.rating.findData(2))
    panel.sort.setCurrentIndex(panel.sort.findData("rating"))
    want = ids_for(cat_path, PhotoFilter(min_rating=2, sort="rating"))
    qtbot.waitUntil(lambda: w.model.ids() == want and not w.model.is_busy(), timeout=10000)
    assert w.model.ids()[:2] == chosen or w.model.ids()[:2] == sorted(chosen)
    assert w.model.ids()[-1] == target.id and len(want) == 3
    assert gui_thread_catalog_calls == []


def test_status_bar_toolbar_pick_buttons_help_about_and_export_notice(window, culling, qtbot, tmp_path):
    from albumsorter._qt.about import about_html
    from albumsorter._qt.shortcuts import shortcuts_html

    folder, cat_path, ids = culling
    w = window
    show_catalog(w, qtbot, folder, cat_path)
    assert w.status.count_label.text() == "6 photos"
    names = [a.text().replace("&", "") for a in w.window_actions.toolbar.actions() if a.text()]
    assert {"Open Folder…", "Pick", "Reject", "Export Picks…"} <= set(names)
    # Pick / Reject buttons in the viewer, and the status bar's counts.
    open_in_viewer(w, qtbot, ids["a"])
    with qtbot.waitSignal(w.viewer.record_loaded, timeout=10000):
        w.viewer.pick_button.click()
    assert w.viewer.record.pick == PICK_PICKED and w.viewer.pick_button.isChecked()
    qtbot.waitUntil(lambda: "1 picked" in w.status.count_label.text(), timeout=10000)
    w.show_grid()
    w.grid.selectAll()
    assert w.status.count_label.text() == "6 photos · 1 picked · 6 selected"
    # The developer's details are in Help → About; the help names every digit.
    about = about_html(w.session.path, w.folder)
    assert str(cat_path) in about and "LiteRT" in about
    assert "LiteRT" not in w.status.count_label.text() and str(cat_path) in w.status.count_label.toolTip()
    text = shortcuts_html()
    assert "Alt+5 happy" in text and "3 ★★★" in text
    # Export: a bar says where the copies went, with Open Folder.
    with qtbot.waitSignal(w.export_finished, timeout=20000):
        w.export_picks(tmp_path / "book")
    assert w.export_notice.isVisible() and "Copied 1 photo" in w.export_notice.label.text()
    assert w.export_notice.dest == tmp_path / "book" and w.export_notice.open_button.isVisible()


def test_sidecars_as_i_work_is_off_by_default_and_writes_after_each_edit(qtbot, culling):
    pytest.importorskip("pyexiv2")
    from albumsorter._qt.main_window import MainWindow

    folder, cat_path, ids = culling
    w = new_window(qtbot)
    show_catalog(w, qtbot, folder, cat_path)
    assert not w.window_actions["sidecars"].isChecked() and w.session.sidecar_style is None
    open_in_viewer(w, qtbot, ids["a"])
    with qtbot.waitSignal(w.viewer.record_loaded, timeout=10000):
        w.viewer.pick_button.click()
    assert not list(folder.glob("*.xmp"))  # off: nothing written beside the photos
    w.window_actions["sidecars"].setChecked(True)
    assert w.session.sidecar_style == "darktable"
    with qtbot.waitSignal(w.viewer.record_loaded, timeout=10000):
        qtbot.keyClick(w.viewer, Qt.Key.Key_4)
    sidecar = folder / "a_both_happy.jpg.xmp"
    qtbot.waitUntil(lambda: sidecar.is_file() and w.runner.idle("catalog-write"), timeout=20000)
    text = sidecar.read_text(encoding="utf-8")
    assert 'Rating="4"' in text or "<xmp:Rating>4</xmp:Rating>" in text
    assert "Happy" in text
    w.close()
    # The setting is remembered.
    w2 = MainWindow()
    qtbot.addWidget(w2)
    assert w2.window_actions["sidecars"].isChecked() and w2.session.sidecar_style == "darktable"
    w2.shutdown()
