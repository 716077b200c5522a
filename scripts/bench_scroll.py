#!/usr/bin/env python3
"""Frame times of the grid while it scrolls through a 10,000-photo catalog: idle, while a folder is indexed into
the same catalog (rows arriving, the indexer's threads busy), and around filter changes. Prints p50 / p95 / max
frame times per phase; nothing here is a test (no figure decides anything), it is a measurement.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/bench_scroll.py [--photos 10000] [--index FOLDER]

The catalog is a temporary file whose 10,000 rows point at real photo files (links to the public-domain samples
in resources/samples, so thumbnails are really decoded) with made-up faces. The indexed folder defaults to
../shared/photos where it exists, else to variants of the samples written to a temporary folder; indexing uses
the window's own indexer (the real models). The window is the real one, offscreen, at 1366 x 768.

A "frame" is one turn of the scrolling timer: the grid moves by one step and is repainted at once, and everything
else the event loop had to do since the previous turn (answers of queries, thumbnails arriving, rows inserted,
progress) falls between two turns. So a frame time is what a user scrolling with the wheel would wait for.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FRAME_BUDGET_MS = 1000 / 60


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def describe(name: str, frames_ms: list[float]) -> str:
    if not frames_ms:
        return f"{name:<28} no frames"
    over = sum(f > FRAME_BUDGET_MS for f in frames_ms)
    return (
        f"{name:<28} frames {len(frames_ms):>5}  p50 {statistics.median(frames_ms):6.1f} ms  p95 {percentile(frames_ms, 0.95):6.1f} ms"
        f"  max {max(frames_ms):6.1f} ms  over 16.7 ms: {over / len(frames_ms):5.1%}  over 50 ms: {sum(f > 50 for f in frames_ms)}"
    )


def made_up_faces(width: int, height: int, labels: list[str]) -> list:
    """Faces in a row across the photo, each sure of its label."""
    from albumsorter.core.classes import CLASSES_8
    from albumsorter.core.face import FaceResult, Landmarks
    from albumsorter.core.scorers.expression import expression_result

    faces = []
    for i, label in enumerate(labels):
        w = width / (len(labels) + 1) * 0.7
        left, top = width * (i + 0.6) / (len(labels) + 1), height * 0.25
        probs = [0.9 if c == label else 0.1 / 7 for c in CLASSES_8]
        points = [(left + w * x, top + w * y) for x, y in ((0.3, 0.4), (0.7, 0.4), (0.5, 0.6), (0.5, 0.8), (0, 0.5), (1, 0.5))]
        faces.append(
            FaceResult(
                (left, top, left + w, top + w),
                0.9,
                Landmarks.from_points(points),
                {"expression": expression_result("bench", probs)},
            )
        )
    return faces


def make_catalog(path: Path, links: Path, n: int) -> None:
    """n rows, each a link to one of the sample photos, with 0-4 made-up faces."""
    from albumsorter.core.catalog import Catalog, IndexedPhoto

    samples = [p for p in sorted((ROOT / "resources" / "samples").iterdir()) if p.suffix.lower() in (".jpg", ".heic")]
    links.mkdir(parents=True, exist_ok=True)
    labels = [[], ["happy"], ["happy", "neutral"], ["sad", "happy", "happy"], ["happy"] * 4]
    with Catalog(path) as cat, cat.transaction():
        for i in range(n):
            link = links / f"p{i:05d}{samples[i % len(samples)].suffix}"
            link.symlink_to(samples[i % len(samples)])
            faces = made_up_faces(960, 540, labels[i % len(labels)])
            cat.record_photo(IndexedPhoto(str(link), 1000 + i, 0, f"h{i}", "JPEG", 960, 540, None, "bench", faces))


def sample_variants(folder: Path, n: int) -> Path:
    """n different photos (different bytes) made from the samples, for a machine without ../shared."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        src = Image.open(ROOT / "resources" / "samples" / ("astronaut.jpg" if i % 2 else "group.jpg"))
        src.crop((i % 40, i % 40, src.width - i % 40, src.height - i % 40)).save(folder / f"v{i:03d}.jpg", quality=70 + i % 25)
    return folder


class Scroller:
    """Scrolls the grid one step per event-loop turn and records the time between turns."""

    def __init__(self, app, grid, step_px: int) -> None:
        from PySide6.QtCore import QTimer

        self.app, self.grid, self.step = app, grid, step_px
        self.frames: list[float] = []
        self._last = None
        self.timer = QTimer()
        self.timer.setInterval(0)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.frames.append((now - self._last) * 1000)
        bar = self.grid.verticalScrollBar()
        bar.setValue(bar.value() + self.step if bar.value() + self.step <= bar.maximum() else 0)
        self.grid.viewport().repaint()
        self._last = now

    def run(self, seconds: float, until=None) -> list[float]:
        self.frames, self._last = [], None
        self.timer.start()
        end = time.perf_counter() + seconds
        while time.perf_counter() < end and not (until is not None and until()):
            self.app.processEvents()
        self.timer.stop()
        return self.frames


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=10000, help="rows in the catalog (default 10,000)")
    parser.add_argument(
        "--index", type=Path, help="folder to index while scrolling (default ../shared/photos, else sample variants)"
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="length of the idle phases (default 8 s)")
    parser.add_argument("--step", type=int, default=40, help="pixels scrolled per frame (default 40)")
    args = parser.parse_args(argv)

    tmp = tempfile.TemporaryDirectory(prefix="albumsorter-bench-scroll-")
    work = Path(tmp.name)
    os.environ["ALBUMSORTER_STATE"] = str(work / "state.json")
    from PySide6.QtWidgets import QApplication

    from albumsorter._qt.app import create_application
    from albumsorter._qt.main_window import MainWindow

    print(f"building a {args.photos:,}-photo catalog …", flush=True)
    catalog = work / "catalog.sqlite"
    make_catalog(catalog, work / "links", args.photos)
    folder = args.index or (ROOT.parent / "shared" / "photos")
    if not folder.is_dir():
        folder = sample_variants(work / "to-index", 48)
    app = create_application()
    window = MainWindow(thumbnail_cache_dir=work / "thumbs")
    window.resize(1366, 768)
    window.show()
    window.open_catalog(catalog, work / "links")
    end = time.perf_counter() + 120
    while (window.model.rowCount() < args.photos or window.model.is_busy()) and time.perf_counter() < end:
        app.processEvents()
    scroller = Scroller(app, window.grid, args.step)
    results = []

    results.append(describe("idle, cold thumbnails", scroller.run(args.seconds)))
    results.append(describe("idle, warm thumbnails", scroller.run(args.seconds)))

    # Filter changes while scrolling: how long the GUI thread is busy with one (the query runs elsewhere).
    panel = window.filter_panel
    blocked = []
    for emotion in ("sad", "happy", "neutral", "sad"):
        t = time.perf_counter()
        panel.emotions[emotion].toggle()
        panel._timer.stop()
        panel.filter_changed.emit(panel.photo_filter())  # what the panel's coalescing timer does, synchronously
        blocked.append((time.perf_counter() - t) * 1000)
        results.append(
            describe(f"filter {emotion:<8} query running", scroller.run(1.5, until=lambda: not window.model.is_busy()))
        )
    panel.reset()
    scroller.run(2.0, until=lambda: not window.model.is_busy())

    # Indexing a folder into the same catalog while scrolling.
    summaries = []
    window.indexing_finished.connect(summaries.append)
    window.folder = folder
    print(f"indexing {folder} while scrolling …", flush=True)
    window.start_indexing()
    frames = scroller.run(600, until=lambda: bool(summaries))
    results.append(describe("while indexing", frames))
    summary = summaries[0] if summaries else None

    print()
    print(
        f"{args.photos:,} photos in the grid, window 1366 x 768, {window.grid.delegate.thumb_size} px thumbnails, scrolling {args.step} px a frame"
    )
    for line in results:
        print(line)
    print(
        f"filter change: the GUI thread was busy {max(blocked):.1f} ms at most (of {len(blocked)} changes; the query runs off it)"
    )
    if summary is not None:
        print(
            f"indexing while scrolling: {summary.indexed} photos in {summary.elapsed:.1f} s, {summary.photos_per_second:.1f} photos/s"
        )
    else:
        print(f"indexing failed: {window.last_error}")
    window.close()
    QApplication.processEvents()
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
