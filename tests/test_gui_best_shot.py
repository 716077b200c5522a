"""GUI tests (pytest-qt, offscreen) for picking the best shot in the window (issue #11): groups as stacks in the
grid, the best-shot filters, the compare view with its synced zoom and per-photo flags, "pick the keeper of every
group", splitting and merging groups, and each face's eyes / smile / sharpness in the viewer.

The catalog is real and made by the real pipeline (detection, the Face Landmarker quality scorer, the expression
model, photo measures, grouping) from a burst of the public-domain sample resources/samples/group.jpg: sharp,
shifted, a frame where the largest face blinks, a blurred one, a darker one; plus a portrait with a re-saved copy
and a photo without faces (tests/sample_burst.py). Nothing here needs ../shared. What a test expects is read from
that catalog (ranks, keepers, flags), never typed in; the window's queries run off the GUI thread, so a test waits
for conditions (generous timeouts), never for a length of time.
"""

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

from gui_fixtures import gui_env, models_present, new_window, wait_for_rows, watch_gui_thread_catalog_calls  # noqa: E402,F401
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QWheelEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from albumsorter._qt.best_shot_badges import BLURRY, EYES_CLOSED, STACK, badges_for, stack_badge_at  # noqa: E402
from albumsorter._qt.compare_pane import main_faces  # noqa: E402
from albumsorter.core.catalog import PICK_PICKED, PICK_REJECTED, Catalog, PhotoFilter  # noqa: E402
from tests.sample_burst import index_album, make_sample_album  # noqa: E402

pytestmark = pytest.mark.usefixtures("gui_env")


@pytest.fixture(scope="module")
def album(tmp_path_factory):
    """(folder, template catalog, frames by kind) indexed once by the real pipeline."""
    if not models_present():
        pytest.skip("needs the face detector and expression models in models/")
    folder = tmp_path_factory.mktemp("album")
    frames = make_sample_album(folder)
    template = tmp_path_factory.mktemp("catalog") / "template.sqlite"
    summary = index_album(folder, template)
    assert not summary.errors, summary.errors
    return folder, template, frames


@pytest.fixture
def gui_calls(monkeypatch):
    """Catalog calls the window's code makes on the GUI thread, the best-shot ones included (asserted empty)."""
    return watch_gui_thread_catalog_calls(monkeypatch)


@pytest.fixture
def opened(album, tmp_path, qtbot, gui_calls):
    """(window, catalog path, {frame kind: photo}) on a copy of the album's catalog, its rows shown."""
    folder, template, frames = album
    path = tmp_path / "catalog.sqlite"
    shutil.copy2(template, path)
    window = new_window(qtbot)
    assert window.open_catalog(path, folder)
    wait_for_rows(qtbot, window.model)
    assert not window.best_shot.stacks_on() and window.model.rowCount() == len(query(path))  # every photo at first
    window.best_shot.actions["stacks"].trigger()  # the toolbar's Stacks
    wait_for_rows(qtbot, window.model)
    with Catalog(path) as catalog:
        by_path = {p.path: p for p in catalog.query()}
    photos = {f.kind: by_path[str(f.path)] for f in frames["burst"]}
    photos["copy"] = by_path[str(frames["copies"][0].path)]
    photos["alone"] = by_path[str(frames["alone"][0].path)]
    yield window, path, photos
    assert gui_calls == [], f"catalog calls on the GUI thread: {gui_calls}"


def query(path: Path, flt: PhotoFilter | None = None):
    with Catalog(path) as catalog:
        return catalog.query(flt or PhotoFilter())


def refreshed(qtbot, window) -> list[int]:
    wait_for_rows(qtbot, window.model)
    return window.model.ids()


def test_groups_show_as_stacks_that_open_and_close(opened, qtbot):
    window, path, photos = opened
    room, model = window.best_shot, window.model
    burst = photos["sharp"].group_id
    members = [p for p in query(path) if p.group_id == burst]
    assert len(members) == 5 and room.stacks_on()
    # Collapsed: the keepers and the photos in no group, exactly what PhotoFilter(keepers=True) gives.
    keepers = {p.id for p in query(path, PhotoFilter(keepers=True))}
    assert set(refreshed(qtbot, window)) == keepers and model.rowCount() < len(query(path))
    top = next(r for r in model.records() if r.group_id == burst)
    assert top.group_rank == 1
    # S opens the current photo's stack: all five frames, in rank order, where the stack stood.
    window.grid.make_current(top.id, select=True)
    window.grid.setFocus()
    room.actions["toggle-stack"].trigger()
    rows = refreshed(qtbot, window)
    assert set(rows) == keepers | {m.id for m in members} and len(rows) == len(keepers) + 4
    start = rows.index(top.id)
    assert rows[start : start + 5] == [m.id for m in sorted(members, key=lambda m: m.group_rank)]
    # A click on a collapsed stack's size badge opens it too; S on an open stack's photo closes it.
    copy_group = photos["copy"].group_id
    copy_top = next(r for r in model.records() if r.group_id == copy_group)
    window.grid.viewport().repaint()
    badge = stack_badge_at(model, copy_top.id)
    assert badge is not None and window.grid.visualRect(model.index_of(copy_top.id)).contains(badge.toRect())
    qtbot.mouseClick(window.grid.viewport(), Qt.MouseButton.LeftButton, pos=badge.center().toPoint())
    assert len(refreshed(qtbot, window)) == len(keepers) + 4 + 1
    window.grid.make_current(photos["blurred"].id, select=True)
    room.toggle_current_stack()
    assert len(refreshed(qtbot, window)) == len(keepers) + 1
    # The setting is remembered for the next window; stacks off: every photo on its own.
    assert new_window(qtbot).best_shot.stacks_on()
    room.actions["stacks"].setChecked(False)
    assert len(refreshed(qtbot, window)) == len(query(path))


def test_a_stack_shows_its_best_photo_among_those_the_filters_let_through(opened, qtbot):
    window, path, photos = opened
    model = window.model
    window.best_shot.filters.eyes_closed.setChecked(True)  # the keeper's eyes are open: the blinking frame stands for the burst
    qtbot.waitUntil(lambda: model.filter.eyes_closed)
    rows = refreshed(qtbot, window)
    burst = photos["blink"].group_id
    matching = [p for p in query(path, PhotoFilter(eyes_closed=True)) if p.group_id == burst]
    best = min(matching, key=lambda p: p.group_rank)
    assert best.group_rank != 1 and [pid for pid in rows if pid in {p.id for p in matching}] == [best.id]
    assert STACK in badges_for(model, model.row_of(best.id), model.record(model.row_of(best.id)))


def test_badges_for_closed_eyes_and_blurred_faces(opened, qtbot):
    window, path, photos = opened
    room, model = window.best_shot, window.model
    room.set_stacks(False)
    refreshed(qtbot, window)
    blink, blurred, sharp = (model.record(model.row_of(photos[k].id)) for k in ("blink", "blurred", "sharp"))
    assert blink.eyes_closed_any and not blurred.sharp  # what the real scorers read in the frames
    assert EYES_CLOSED in badges_for(model, model.row_of(blink.id), blink)
    assert BLURRY in badges_for(model, model.row_of(blurred.id), blurred)
    assert EYES_CLOSED not in badges_for(model, model.row_of(sharp.id), sharp)
    assert "eyes closed" in model.data(model.index_of(blink.id), Qt.ItemDataRole.ToolTipRole)
    # At the smallest thumbnails (96 px) a collapsed stack still gets its size badge, inside its thumbnail's cell.
    room.set_stacks(True)
    refreshed(qtbot, window)
    for _ in range(6):
        window.grid.zoom(-1)
    assert window.grid.delegate.thumb_size == 96
    window.grid.viewport().repaint()
    top = next(r for r in model.records() if r.group_id == blink.group_id)
    assert STACK in badges_for(model, model.row_of(top.id), top)
    badge = stack_badge_at(model, top.id)
    assert badge is not None and window.grid.visualRect(model.index_of(top.id)).contains(badge.toRect())


def test_best_shot_filters_and_keeper_sort(opened, qtbot):
    window, path, photos = opened
    panel, section = window.filter_panel, window.best_shot.filters
    window.best_shot.set_stacks(False)
    refreshed(qtbot, window)
    cases = [
        (section.eyes_closed, "eyes_closed", lambda ids: photos["blink"].id in ids and photos["sharp"].id not in ids),
        (section.eyes_open, "eyes_open", lambda ids: photos["sharp"].id in ids and photos["blink"].id not in ids),
        (section.sharp, "sharp", lambda ids: photos["sharp"].id in ids and photos["blurred"].id not in ids),
        (
            section.keepers,
            "keepers",
            lambda ids: photos["alone"].id in ids and len({photos[k].id for k in photos} & set(ids)) == 3,
        ),
    ]
    for box, field, check in cases:
        box.setChecked(True)
        flt = panel.photo_filter()
        assert getattr(flt, field) and not panel.is_default()
        qtbot.waitUntil(lambda flt=flt: window.model.filter == flt)
        ids = refreshed(qtbot, window)
        assert ids == [p.id for p in query(path, flt)] and check(ids), field
        box.setChecked(False)
    # Both eye filters at once can match nothing, and the panel says why.
    section.eyes_open.setChecked(True)
    section.eyes_closed.setChecked(True)
    assert any("cannot both hold" in text for text in panel.conflicts())
    panel.reset()
    assert not any(b.isChecked() for b in section.boxes()) and panel.is_default()
    # Sort by keeper score: best first.
    panel.sort.setCurrentIndex(panel.sort.findData("keeper"))
    qtbot.waitUntil(lambda: window.model.filter.sort == "keeper")
    refreshed(qtbot, window)
    scores = [r.keeper_score for r in window.model.records()]
    assert scores == sorted(scores, reverse=True) and len(scores) == len(query(path))


def open_compare_on_burst(window, qtbot, photos) -> list:
    room = window.best_shot
    top = next(r for r in window.model.records() if r.group_id == photos["sharp"].group_id)
    window.grid.make_current(top.id, select=True)
    room.actions["compare"].trigger()
    qtbot.waitUntil(lambda: window.stack.currentWidget() is room.compare and room.compare.is_loaded(), timeout=30000)
    return room.compare.panes


def test_compare_view_shows_the_group_keeper_first_with_zoom_in_sync(opened, qtbot):
    window, path, photos = opened
    with Catalog(path) as catalog:
        members = catalog.group_members(photos["sharp"].group_id)
    panes = open_compare_on_burst(window, qtbot, photos)
    compare = window.best_shot.compare
    assert compare.ids == [m.id for m in members[:4]]  # the group's best four, keeper first
    assert "Keeper" in panes[0].title.text() and not any("Keeper" in p.title.text() for p in panes[1:])
    # The mouse wheel over one photo zooms every photo alike, about the same place of their faces.
    photo = panes[1].photo
    pointer = QPointF(photo.width() / 2, photo.height() / 2)
    wheel = QWheelEvent(pointer, photo.mapToGlobal(pointer), QPoint(), QPoint(0, 480), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)  # fmt: skip
    QApplication.sendEvent(photo, wheel)
    assert compare.view.zoom > 1.5 and all(p.photo.view == compare.view for p in panes)
    # Dragging one photo moves the others.
    before = [p.photo.center() for p in panes]
    qtbot.mousePress(panes[0].photo, Qt.MouseButton.LeftButton, pos=QPoint(200, 150))
    qtbot.mouseMove(panes[0].photo, QPoint(150, 120))
    qtbot.mouseRelease(panes[0].photo, Qt.MouseButton.LeftButton, pos=QPoint(150, 120))
    after = [p.photo.center() for p in panes]
    assert all(a != b for a, b in zip(after, before)) and all(p.photo.view == compare.view for p in panes)
    # F zooms every photo to the same face: in each, its own face at that place is in view and zoomed alike.
    compare.setFocus()
    qtbot.keyClick(compare, Qt.Key.Key_F)
    focus = compare.view.focus
    assert focus is not None and compare.view.zoom > 1.5
    for pane in panes:
        face = pane.photo.face_near(focus)
        assert face is not None and face in main_faces(pane.record.faces)
        seen, (w, h) = pane.photo.visible_share(), pane.photo.photo_size()
        centre = QPointF((face.box[0] + face.box[2]) / 2 / w, (face.box[1] + face.box[3]) / 2 / h)
        assert seen.contains(centre) and seen.width() < 0.6
    qtbot.keyClick(compare, Qt.Key.Key_Z)
    assert compare.view.zoom == 1.0
    qtbot.keyClick(compare, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.grid)


def test_p_and_x_in_the_compare_view_flag_the_highlighted_photo(opened, qtbot):
    window, path, photos = opened
    panes = open_compare_on_burst(window, qtbot, photos)
    compare = window.best_shot.compare
    qtbot.mouseClick(panes[2].photo, Qt.MouseButton.LeftButton, pos=QPoint(20, 20))
    assert compare.active == 2 and compare.current_id() == panes[2].record.id
    compare.setFocus()
    qtbot.keyClick(compare, Qt.Key.Key_P)
    chosen = panes[2].record.id
    qtbot.waitUntil(lambda: {p.id for p in query(path, PhotoFilter(picks=["picked"]))} == {chosen}, timeout=20000)
    qtbot.waitUntil(lambda: panes[2].pick_button.isChecked())  # the pane shows it once the session reports the change
    qtbot.keyClick(compare, Qt.Key.Key_Right)
    window.grid.selectionModel().clearSelection()  # whatever the grid holds, the key acts on the highlighted photo
    window.grid.make_current(panes[0].record.id)
    qtbot.keyClick(compare, Qt.Key.Key_X)
    other = panes[3].record.id
    qtbot.waitUntil(lambda: {p.id for p in query(path, PhotoFilter(picks=["rejected"]))} == {other}, timeout=20000)
    qtbot.waitUntil(lambda: panes[3].reject_button.isChecked() and panes[3].photo.dimmed)
    # The pane's own button flags its photo; the grid's selection follows the highlighted photo (for the toolbar).
    panes[0].pick_button.click()
    first = panes[0].record.id
    qtbot.waitUntil(lambda: {p.id for p in query(path, PhotoFilter(picks=["picked"]))} == {chosen, first}, timeout=20000)
    assert window.grid.selected_ids() == [first]
    statuses = {p.id: p.pick for p in query(path) if p.id in compare.ids}
    assert statuses[chosen] == PICK_PICKED and statuses[other] == PICK_REJECTED


def test_pick_the_keeper_of_every_group_picks_exactly_the_rank_one_photos(opened, qtbot):
    window, path, photos = opened
    room = window.best_shot
    expected = {p.id for p in query(path) if p.group_size >= 2 and p.group_rank == 1}
    assert len(expected) == 2  # the burst and the portrait with its copy
    room.actions["pick-keepers"].trigger()
    qtbot.waitUntil(lambda: room.confirmation is not None, timeout=20000)
    box = room.confirmation
    assert f"picks {len(expected)} photos" in box.text()
    assert query(path, PhotoFilter(picks=["picked"])) == []  # nothing before the user says yes
    pick = next(b for b in box.buttons() if box.buttonRole(b) == QMessageBox.ButtonRole.AcceptRole)
    pick.click()
    qtbot.waitUntil(lambda: {p.id for p in query(path, PhotoFilter(picks=["picked"]))} == expected, timeout=20000)
    assert not query(path, PhotoFilter(picks=["rejected"]))


def test_split_from_group_and_merge_into_one_group(opened, qtbot):
    window, path, photos = opened
    room = window.best_shot
    room.set_stacks(False)
    refreshed(qtbot, window)
    blurred = photos["blurred"].id
    window.grid.make_current(blurred, select=True)
    room.actions["split"].trigger()
    qtbot.waitUntil(lambda: next(p for p in query(path) if p.id == blurred).group_size == 1, timeout=20000)
    assert len([p for p in query(path) if p.group_id == photos["sharp"].group_id]) == 4
    # Merging the portrait and the photo without faces makes one group of three (the copy comes along: with stacks
    # on, a collapsed stack stands for its whole group).
    room.set_stacks(True)
    refreshed(qtbot, window)
    portrait_top = next(r for r in window.model.records() if r.group_id == photos["copy"].group_id)
    grid = window.grid
    grid.selectionModel().clearSelection()
    for pid in (portrait_top.id, photos["alone"].id):
        grid.selectionModel().select(window.model.index_of(pid), grid.selectionModel().SelectionFlag.Select)
    room.actions["merge"].trigger()
    alone = photos["alone"].id
    qtbot.waitUntil(lambda: next(p for p in query(path) if p.id == alone).group_size == 3, timeout=20000)


def test_the_viewer_shows_each_faces_eyes_smile_and_sharpness(opened, qtbot):
    window, path, photos = opened
    blink = photos["blink"].id
    window.best_shot.toggle_stack(photos["blink"].group_id)  # the viewer steps through the grid's photos: open the stack
    qtbot.waitUntil(lambda: window.model.row_of(blink) is not None, timeout=20000)
    window.open_viewer(blink)
    viewer = window.viewer
    qtbot.waitUntil(lambda: viewer.faces_loaded and viewer.current_id() == blink, timeout=20000)
    lines = [viewer.faces.list.item(r).text() for r in range(viewer.faces.list.count())]
    assert any("eyes closed" in line for line in lines) and any("eyes open" in line for line in lines)
    notes = []
    for _ in range(len(lines)):
        viewer.step_face(1)
        notes.append(viewer.detail.note.text())
    closed = [n for n in notes if "Eyes: closed" in n]
    assert closed and all("Smile:" in n and "Sharpness:" in n for n in closed)
