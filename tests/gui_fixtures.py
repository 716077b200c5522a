"""Helpers for the GUI tests (kept out of conftest.py so other test suites are unaffected)."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

import pytest

from albumsorter.core.classes import CLASSES_8

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PHOTOS = SHARED / "photos"

# A small, varied set: a group photo, smiling people, couples, singles; small files so indexing is quick.
SAMPLE = [
    "serengil__tests_unit_dataset_couple.jpg",
    "ageitgey__examples_knn_examples_test_obama_and_biden.jpg",
    "ageitgey__examples_two_people.jpg",
    "hukkelas__images_0_Parade_Parade_0_873.jpg",
    "linzaer__imgs_10.jpg",
    "serengil__tests_unit_dataset_img2.jpg",
    "serengil__tests_unit_dataset_img11.jpg",
    "ageitgey__examples_obama-240p.jpg",
]


def require_shared() -> Path:
    if not PHOTOS.is_dir():
        pytest.skip(f"needs the shared photos at {PHOTOS} (absent on a fresh clone)")
    return PHOTOS


def models_present() -> bool:
    from albumsorter.core.resources import detector_model_path, expression_model_card_path

    return detector_model_path().is_file() and expression_model_card_path().is_file()


def require_models() -> None:
    if not models_present():
        pytest.skip("needs the face detector and expression models in models/ (not built yet)")


def copy_sample(dest: Path, names: list[str] | None = None) -> list[Path]:
    src = require_shared()
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for name in names or SAMPLE:
        target = dest / name
        shutil.copy2(src / name, target)
        out.append(target)
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def fake_faces(width: int, height: int, labels: list[str]) -> list:
    """Faces in a row across the photo, each with one-hot-ish probabilities for its label."""
    from albumsorter.core.face import FaceResult, Landmarks
    from albumsorter.core.scorers.expression import expression_result

    faces = []
    n = len(labels)
    for i, label in enumerate(labels):
        w = width / (n + 1) * 0.7
        left = width * (i + 0.6) / (n + 1)
        top = height * 0.25
        probs = [0.02] * len(CLASSES_8)
        probs[CLASSES_8.index(label)] = 1.0 - 0.02 * (len(CLASSES_8) - 1)
        landmarks = Landmarks.from_points(
            [
                (left + w * 0.3, top + w * 0.4),
                (left + w * 0.7, top + w * 0.4),
                (left + w * 0.5, top + w * 0.6),
                (left + w * 0.5, top + w * 0.8),
                (left, top + w * 0.5),
                (left + w, top + w * 0.5),
            ]
        )
        faces.append(
            FaceResult((left, top, left + w, top + w), 0.9, landmarks, {"expression": expression_result("test-model", probs)})
        )
    return faces


def fake_photo(path: str, width: int, height: int, labels: list[str], content_hash: str, size: int = 1000, mtime_ns: int = 0):
    """An IndexedPhoto with made-up faces (for catalogs that need no real file)."""
    from albumsorter.core.catalog import IndexedPhoto

    return IndexedPhoto(
        path, size, mtime_ns, content_hash, "JPEG", width, height, None, "test-detector", fake_faces(width, height, labels)
    )


def record_fake(catalog, path: Path, labels: list[str]) -> int:
    """Store a real photo file with made-up faces (no models needed): a real catalog row."""
    from albumsorter.core.catalog import IndexedPhoto
    from albumsorter.core.decoding import decode_file

    photo = decode_file(path, 64)
    st = os.stat(path)
    faces = fake_faces(photo.width, photo.height, labels)
    return catalog.record_photo(
        IndexedPhoto(
            str(path),
            st.st_size,
            st.st_mtime_ns,
            photo.content_hash,
            photo.format,
            photo.width,
            photo.height,
            photo.taken_at,
            "test-detector",
            faces,
        )
    )


FAKE_LABELS = [
    ["happy", "happy"],
    ["happy", "neutral"],
    ["sad"],
    ["happy", "happy", "surprise", "happy"],
    [],
    ["anger"],
    ["happy"],
    ["neutral"],
]


def fill_fake(catalog, paths: list[Path]) -> list[int]:
    return [record_fake(catalog, p, FAKE_LABELS[i % len(FAKE_LABELS)]) for i, p in enumerate(paths)]


# --- fixtures (import them into a test module: `from gui_fixtures import gui_env, ...`) ---------------


@pytest.fixture
def gui_env(tmp_path, monkeypatch):
    """Every GUI test: its own state file (recent folders) and thumbnail cache, never the user's."""
    monkeypatch.setenv("ALBUMSORTER_STATE", str(tmp_path / "state.json"))
    monkeypatch.setenv("ALBUMSORTER_THUMBNAILS", str(tmp_path / "thumbs"))
    return tmp_path


def wait_until(qtbot, predicate, timeout=30000):
    qtbot.waitUntil(predicate, timeout=timeout)


def wait_for_rows(qtbot, model, timeout=30000) -> None:
    """Until the grid model has applied the answer to its newest query (queries run off the GUI thread)."""
    qtbot.waitUntil(lambda: not model.is_busy(), timeout=timeout)


# Every read and write the window makes: queries, the user's edits (picks, corrections, ratings, faces), groups.
WATCHED_CATALOG_CALLS = (
    "query", "count", "photo", "faces_for", "errors", "stats", "set_pick", "set_correction",
    "set_rating", "set_ignored", "add_face", "remove_face", "group_members", "split_group", "merge_group",
)  # fmt: skip


def watch_gui_thread_catalog_calls(monkeypatch) -> list[str]:
    """Records the catalog reads and writes that the window's own code (albumsorter/_qt) makes on the GUI
    thread, into the list returned (a test asserts it stays empty). Opening a catalog (creating or
    migrating the file) is allowed there; the test's own queries are not counted."""
    import threading

    from albumsorter.core.catalog import Catalog

    calls: list[str] = []
    qt_dir = os.sep + os.path.join("albumsorter", "_qt") + os.sep

    def from_window_code() -> bool:
        frame = sys._getframe(2)
        while frame is not None:
            if qt_dir in frame.f_code.co_filename:
                return True
            frame = frame.f_back
        return False

    for name in WATCHED_CATALOG_CALLS:
        original = getattr(Catalog, name)

        def watched(self, *args, _original=original, _name=name, **kwargs):
            if threading.current_thread() is threading.main_thread() and from_window_code():
                calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(Catalog, name, watched)
    return calls


class IndexGate:
    """Lets a FakeIndexer store photos only when the test says so, so that what a test sees while indexing
    never depends on how fast the machine is: `allow(n)` lets n more photos through; `waiting_in_pause` is
    set while the indexer sits in a pause (it cannot store anything then)."""

    def __init__(self) -> None:
        import threading

        self._permits = threading.Semaphore(0)
        self.waiting_in_pause = threading.Event()

    def allow(self, n: int = 1) -> None:
        for _ in range(n):
            self._permits.release()

    def next_photo(self, control) -> bool:
        """Called by the indexer before each photo; False when the run was cancelled meanwhile."""
        if control.paused:
            self.waiting_in_pause.set()
        control.wait_if_paused()
        self.waiting_in_pause.clear()
        while not self._permits.acquire(timeout=0.05):
            if control.cancelled:
                return False
        return not control.cancelled


class FakeIndexer:
    """Stands in for core.pipeline.Indexer where the models are not needed (GUI plumbing tests): stores each
    new photo with made-up faces through the real catalog writes, honours RunControl, reports progress.
    With a `gate`, each photo waits for the test's permission."""

    def __init__(self, catalog, labels=None, gate: IndexGate | None = None) -> None:
        self.catalog = catalog
        self.labels = labels or FAKE_LABELS
        self.gate = gate

    def run(self, root, on_progress=None, on_photo=None, control=None):
        import time

        from albumsorter.core.pipeline import IndexSummary, Progress, RunControl

        control = control or RunControl()
        root = Path(root).absolute()
        self.catalog.set_meta("root", str(root))
        known = self.catalog.file_states(root)
        files = sorted(p for p in root.iterdir() if p.is_file())
        todo = [p for p in files if str(p) not in known]
        summary = IndexSummary(root=str(root), files_seen=len(files), unchanged=len(files) - len(todo), model_id="fake")
        start = time.perf_counter()
        progress = Progress(0, len(todo), 0, 0, 0.0)
        if on_progress:
            on_progress(progress)
        for path in todo:
            if self.gate is not None:
                if not self.gate.next_photo(control):  # pauses there, and waits for the test's permission
                    break
            else:
                control.wait_if_paused()
                if control.cancelled:
                    break
            labels = self.labels[files.index(path) % len(self.labels)]
            try:
                photo_id = record_fake(self.catalog, path, labels)
                summary.indexed += 1
                summary.faces_found += len(labels)
                progress.faces += len(labels)
            except Exception as exc:
                st = path.stat()
                photo_id = self.catalog.record_error(str(path), st.st_size, st.st_mtime_ns, str(exc))
                summary.errors.append((str(path), str(exc)))
                progress.errors += 1
            progress.done += 1
            progress.elapsed = time.perf_counter() - start
            if on_photo:
                on_photo(photo_id, str(path))
            if on_progress:
                on_progress(progress)
        summary.cancelled = control.cancelled
        summary.elapsed = time.perf_counter() - start
        return summary


def new_window(qtbot, **kwargs):
    """A real main window, shown offscreen at the smallest supported screen size."""
    from albumsorter._qt.main_window import MainWindow

    w = MainWindow(**kwargs)
    qtbot.addWidget(w)
    w.resize(1366, 768)
    w.show()
    return w
