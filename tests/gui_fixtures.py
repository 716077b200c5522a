"""Helpers for the GUI tests (kept out of conftest.py so other test suites are unaffected)."""

from __future__ import annotations

import hashlib
import os
import shutil
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


def fake_faces(width: int, height: int, labels: list[str]) -> list[dict]:
    """Faces in a row across the photo, each with one-hot-ish probabilities for its label."""
    faces = []
    n = len(labels)
    for i, label in enumerate(labels):
        w = width / (n + 1) * 0.7
        left = width * (i + 0.6) / (n + 1)
        top = height * 0.25
        probs = [0.02] * len(CLASSES_8)
        probs[CLASSES_8.index(label)] = 1.0 - 0.02 * (len(CLASSES_8) - 1)
        faces.append({
            "box": (left, top, left + w, top + w),
            "score": 0.9,
            "keypoints": [[left + w * 0.3, top + w * 0.4], [left + w * 0.7, top + w * 0.4], [left + w * 0.5, top + w * 0.6],
                          [left + w * 0.5, top + w * 0.8], [left, top + w * 0.5], [left + w, top + w * 0.5]],
            "model_id": "test-model",
            "probabilities": probs,
            "label": label,
        })
    return faces


def record_fake(catalog, path: Path, labels: list[str]) -> int:
    """Store a real photo file with made-up faces (no models needed): a real catalog row."""
    from albumsorter.core.decoding import decode_file

    photo = decode_file(path, 64)
    st = os.stat(path)
    return catalog.record_photo(str(path), st.st_size, st.st_mtime_ns, photo.content_hash, photo.format, photo.width,
                                photo.height, photo.taken_at, "test-detector", fake_faces(photo.width, photo.height, labels))


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


class FakeIndexer:
    """Stands in for core.pipeline.Indexer where the models are not needed (GUI plumbing tests): stores each
    new photo with made-up faces through the real catalog writes, honours RunControl, reports progress."""

    def __init__(self, catalog, delay: float = 0.0, labels=None) -> None:
        self.catalog = catalog
        self.delay = delay
        self.labels = labels or FAKE_LABELS

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
        for i, path in enumerate(todo):
            control.wait_if_paused()
            if control.cancelled:
                break
            time.sleep(self.delay)
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


def new_window(qtbot):
    """A real main window, shown offscreen at the smallest supported screen size."""
    from albumsorter._qt.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1366, 768)
    w.show()
    return w
