#!/usr/bin/env python3
"""What the best-shot analysis (issue #11) costs on a crowd photo: 80 faces, every one at least 40 px wide.

    .venv/bin/python scripts/bench_crowd.py [--shared ../shared] [--faces 83] [--repeats 5]

../shared has no photo of 80 faces that large (the class photo's 74 faces are all under 40 px, so the landmarker
never runs on them), so one is made: labelled expw_dev faces at least 96 px wide, each cut out with a margin and laid
out in a grid of 10 per row on a 1024 px wide canvas (written to a temporary folder, never the repository). The
app's own decode and detection find the faces (83 cut-outs: 80 found; the count found is printed); then both are
timed on one core, taking turns (a slow spell of the machine weighs on both alike), after a warm-up:

- the whole analysis of the photo (`Analyzer.analyse`) with every scorer, and with the expression scorer alone
  (the pipeline before the best-shot analysis);
- the difference is what the best-shot analysis adds: the photo measures (sharpness, exposure, grouping
  signature) and the quality scorer (Face Landmarker, eyes, smile, pose, face sharpness) on every face.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from albumsorter.core.analysis import Analyzer, load_scorer_specs  # noqa: E402
from albumsorter.core.decoding import decode_file  # noqa: E402
from albumsorter.core.detection import DetectionSettings  # noqa: E402
from albumsorter.core.scanning import FileEntry  # noqa: E402
from albumsorter.core.scorers.quality import MIN_FACE_PX  # noqa: E402
from training.datasets.expw import read_expw_labels  # noqa: E402

COLUMNS, CELL = 10, 102  # 10 faces a row on a 1020 px wide canvas


def crowd_photo(shared: Path, faces: int, out: Path) -> Path:
    root = shared / "data" / "expw_dev"
    rows = [r for r in read_expw_labels(root / "labels.csv") if r["box"][2] - r["box"][0] >= 96]
    cells = []
    for row in rows:
        rgb = decode_file(root / row["path"]).rgb
        left, top, right, bottom = row["box"]
        side = max(right - left, bottom - top) * 1.5  # the face with its hair and chin: the detector's usual view
        cx, cy = (left + right) / 2, (top + bottom) / 2
        x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
        crop = rgb[y0 : int(cy + side / 2), x0 : int(cx + side / 2)]
        if min(crop.shape[:2]) < 64:
            continue
        cells.append(cv2.resize(crop, (CELL, CELL), interpolation=cv2.INTER_AREA))
        if len(cells) == faces:
            break
    rows_needed = -(-len(cells) // COLUMNS)
    canvas = np.full((rows_needed * CELL, COLUMNS * CELL, 3), 128, dtype=np.uint8)
    for i, cell in enumerate(cells):
        r, c = divmod(i, COLUMNS)
        canvas[r * CELL : (r + 1) * CELL, c * CELL : (c + 1) * CELL] = cell
    path = out / "crowd.jpg"
    cv2.imwrite(str(path), cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
    return path


def paired_seconds(first: Analyzer, second: Analyzer, entry: FileEntry, repeats: int) -> tuple[list[float], list[float], object]:
    """Each analyser's time on the photo, taking turns (first, second, first, ...) so that a slow spell of the machine
    weighs on both alike; after a warm-up each. Returns both lists of seconds and the first analyser's result."""
    result = first.analyse(entry)  # warm-up: models load, buffers are allocated
    second.analyse(entry)
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for analyzer, seconds in zip((first, second), times):
            t = time.perf_counter()
            out = analyzer.analyse(entry)
            seconds.append(time.perf_counter() - t)
            if analyzer is first:
                result = out
    return times[0], times[1], result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--faces", type=int, default=83, help="face cut-outs laid out (83 give 80 found faces)")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as one indexing worker has
    card, specs = load_scorer_specs()
    with tempfile.TemporaryDirectory(prefix="albumsorter-crowd-") as tmp:
        path = crowd_photo(args.shared, args.faces, Path(tmp))
        stat = path.stat()
        entry = FileEntry(path, stat.st_size, stat.st_mtime_ns)
        settings = DetectionSettings()
        everything = Analyzer(specs, settings)
        expression_only = Analyzer([s for s in specs if s.kind == "expression"], settings)
        every_run, before_run, result = paired_seconds(everything, expression_only, entry, args.repeats)
        everything.close()
        expression_only.close()
    found = len(result.faces)
    judged = sum(1 for f in result.faces if (f.box[2] - f.box[0]) / (result.width / 1024) >= MIN_FACE_PX)
    adds = statistics.median(a - b for a, b in zip(every_run, before_run))
    print(f"crowd photo: {found} faces found, {judged} at least {MIN_FACE_PX} px wide (decoded at 1024 px)")
    print(
        f"whole analysis, every scorer:        {1000 * statistics.median(every_run):7.0f} ms (median of {args.repeats}, one core)"
    )
    print(f"whole analysis, expression only:     {1000 * statistics.median(before_run):7.0f} ms (taking turns with the above)")
    print(
        f"the best-shot analysis adds:         {1000 * adds:7.0f} ms ({1000 * adds / max(1, judged):.1f} ms a judged face; median of the paired differences)"
    )


if __name__ == "__main__":
    main()
