"""The People dock (pytest-qt, offscreen) on a real catalog whose people were found by the real people pass:
naming in place, the person filter combined with the filter panel's, merging by drag and drop (and Undo), the
"maybe the same person" question, and Find People running in the background while the window goes on."""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pytest  # noqa: E402

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from gui_fixtures import gui_env, new_window, wait_for_rows, watch_gui_thread_catalog_calls  # noqa: E402,F401
from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer  # noqa: E402
from PySide6.QtGui import QDropEvent  # noqa: E402
from PySide6.QtWidgets import QLineEdit  # noqa: E402

from albumsorter.core.catalog import Catalog, PhotoFilter  # noqa: E402
from albumsorter.core.people.scorer import KIND  # noqa: E402
from tests.people_fixtures import build_people_catalog, copy_catalog, identities, person_of  # noqa: E402

pytestmark = pytest.mark.usefixtures("gui_env", "require_models")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_people_catalog(tmp_path_factory)


@pytest.fixture
def opened(built, tmp_path, qtbot, monkeypatch):
    """(window, catalog path, a catalog connection of the test's own) with the People dock showing the people."""
    calls = watch_gui_thread_catalog_calls(monkeypatch)
    path = copy_catalog(built, tmp_path)
    window = new_window(qtbot)
    assert window.open_catalog(path, built.folder)
    window.people.dock.show()
    catalog = Catalog(path)
    qtbot.waitUntil(lambda: len(window.people.panel.people) == len(catalog.people()) > 0, timeout=30000)
    yield window, path, catalog
    catalog.close()
    window.shutdown()
    assert calls == []  # every catalog query of the window ran off the GUI thread


def rows(window) -> list:
    return [window.people.panel.list.person_at(r) for r in range(window.people.panel.list.count())]


def grid_matches(window, catalog, flt: PhotoFilter) -> bool:
    return not window.model.is_busy() and window.model.ids() == [p.id for p in catalog.query(flt)]


def test_name_in_place_then_filter_by_person_with_the_other_filters(opened, qtbot):
    window, _path, catalog = opened
    panel, filters = window.people.panel, window.filter_panel
    jolie = person_of(catalog, "angelina_jolie")
    row = next(r for r, p in enumerate(rows(window)) if p.id == jolie)

    panel.rename(row)  # as a double-click or F2 does
    editor = panel.list.findChild(QLineEdit)
    assert editor is not None and editor.isVisible()
    editor.setText("Anna")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: catalog.person(jolie).name == "Anna", timeout=30000)
    qtbot.waitUntil(lambda: rows(window)[0].id == jolie and rows(window)[0].name == "Anna", timeout=30000)  # named first

    panel.select_person(jolie)
    assert window.people.person == jolie
    person_only = dataclasses.replace(filters.photo_filter(), person=jolie)
    qtbot.waitUntil(lambda: grid_matches(window, catalog, person_only), timeout=30000)
    assert window.model.ids() and len(window.model.ids()) < catalog.count()

    filters.set_everyone_smiling("normal")  # "Anna" + "everyone smiling"
    both = dataclasses.replace(filters.photo_filter(), person=jolie)
    assert both.everyone_smiling == "normal"
    qtbot.waitUntil(lambda: grid_matches(window, catalog, both), timeout=30000)
    assert window.model.ids() and set(window.model.ids()) < set(p.id for p in catalog.query(person_only))

    panel.show_all.click()  # everyone again, the smile filter stays
    assert window.people.person is None
    qtbot.waitUntil(lambda: grid_matches(window, catalog, filters.photo_filter()), timeout=30000)
    assert filters.photo_filter().person is None and filters.photo_filter().everyone_smiling == "normal"


def test_drag_one_person_onto_another_merges_them_and_undo_splits_them(opened, qtbot):
    window, _path, catalog = opened
    listed = window.people.panel.list
    obama, biden, jolie = (person_of(catalog, who) for who in ("barack_obama", "joe_biden", "angelina_jolie"))

    def drag(source_id: int, target_id: int) -> None:
        source = next(r for r, p in enumerate(rows(window)) if p.id == source_id)
        target = next(r for r, p in enumerate(rows(window)) if p.id == target_id)
        listed.setCurrentRow(source)
        where = QPointF(listed.visualItemRect(listed.item(target)).center())
        mime = listed.mimeData([listed.item(source)]) or QMimeData()
        listed.dropEvent(
            QDropEvent(where, Qt.DropAction.MoveAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        )

    messages = []
    window.statusBar().messageChanged.connect(messages.append)
    drag(biden, obama)  # they are in one photo together: not merged, and the user is told why
    qtbot.waitUntil(lambda: any("two people" in m for m in messages), timeout=30000)
    assert person_of(catalog, "joe_biden") == biden
    drag(jolie, obama)
    qtbot.waitUntil(lambda: person_of(catalog, "angelina_jolie") == obama, timeout=30000)  # her faces: his person now
    qtbot.waitUntil(lambda: all(p.id != jolie for p in rows(window)), timeout=30000)
    undo = window.people.panel.undo_bar
    assert undo.isVisible()
    undo.yes.click()
    qtbot.waitUntil(lambda: person_of(catalog, "angelina_jolie") == jolie, timeout=30000)
    qtbot.waitUntil(lambda: any(p.id == jolie for p in rows(window)), timeout=30000)


def test_maybe_the_same_person_is_asked_and_confirmed(built, tmp_path, qtbot, monkeypatch):
    path = copy_catalog(built, tmp_path)
    with Catalog(path) as catalog:  # an earlier run split Obama in two (as a stricter model might)
        labels = identities(catalog)
        half = sorted(f for f, who in labels.items() if who == "barack_obama")[:2]
        with catalog.transaction():
            new = catalog.conn.execute("INSERT INTO persons (created_at) VALUES (0)").lastrowid
            catalog.conn.executemany("UPDATE face_persons SET person_id = ? WHERE face_id = ?", [(new, f) for f in half])
        rest = {catalog.face(f).person_id for f, who in labels.items() if who == "barack_obama"} - {new}
        assert len(rest) == 1
        obama = rest.pop()
    window = new_window(qtbot)
    try:
        assert window.open_catalog(path, built.folder)
        window.people.dock.show()
        question = window.people.panel.question
        qtbot.waitUntil(question.isVisible, timeout=30000)
        hint = window.people.panel.suggestion
        assert hint.kind == "people" and {hint.a, hint.b} == {obama, new}
        question.yes.click()  # "Same person"
        with Catalog(path) as catalog:
            qtbot.waitUntil(
                lambda: catalog.person(new) is not None and catalog.person(new).id == catalog.person(obama).id, timeout=30000
            )
        qtbot.waitUntil(lambda: not question.isVisible(), timeout=30000)
    finally:
        window.shutdown()


def test_find_people_runs_in_the_background_while_the_window_goes_on(built, tmp_path, qtbot, monkeypatch):
    calls = watch_gui_thread_catalog_calls(monkeypatch)
    path = copy_catalog(built, tmp_path)
    with Catalog(path) as catalog, catalog.transaction():  # as if just indexed: no embeddings, no people yet
        catalog.conn.execute("DELETE FROM face_persons")
        catalog.conn.execute("DELETE FROM persons")
        catalog.conn.execute("DELETE FROM face_results WHERE kind = ?", (KIND,))
    window = new_window(qtbot)
    try:
        assert window.open_catalog(path, built.folder)
        wait_for_rows(qtbot, window.model)
        ticks = []
        timer = QTimer()
        timer.timeout.connect(lambda: ticks.append(window.people.is_running()))
        timer.start(20)
        with qtbot.waitSignal(window.people.finished, timeout=600000) as finished:
            assert window.people.find_people()  # returns at once; the work is in the task runner and processes
            assert window.people.is_running() and not window.people.find_action.isEnabled()
            assert not window.people.find_people()  # one run at a time
        timer.stop()
        summary = finished.args[0]
        assert summary is not None and summary.faces_embedded > 0 and summary.people > 0
        assert ticks.count(True) > 1  # the GUI thread's event loop went on while the people were found
        assert window.people.panel.progress.maximum() >= 0
        qtbot.waitUntil(lambda: len(window.people.panel.people) == summary.people, timeout=30000)
        assert window.people.find_action.isEnabled()
    finally:
        window.shutdown()
    assert calls == []
