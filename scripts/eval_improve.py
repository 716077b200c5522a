#!/usr/bin/env python3
"""How much `albumsorter improve` learns from a user's corrections, on real photos (issue #12).

    nice -n 10 .venv/bin/python scripts/eval_improve.py [--shared ../shared] [--split valid,test] [--keep DIR]

Indexes the expw_dev photos of the given splits (expw's 80/10/10 by photo, seed 0: photos the shipped head
was not fitted on) into a temporary catalog with the app's own pipeline, then plays the user: every detected
face matching a labelled face (IoU >= 0.4) gets the label as its correction. `improve_from_corrections` runs
(nothing installed: check only) with and without the replay sample, and prints how often the current and the
new head are right on the corrections kept apart, and how long it took. A temporary user data directory keeps
the real one untouched.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--split", default="valid,test", help="expw splits whose photos play the user's album")
    parser.add_argument("--keep", type=Path, help="keep the catalog in this folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="albumsorter-improve-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    os.environ["XDG_DATA_HOME"] = str(work / "data")  # the personal head, if any, goes here, not to the user's

    from albumsorter.core.catalog import Catalog
    from albumsorter.core.geometry import iou
    from albumsorter.core.improve import default_replay_path, improve_from_corrections
    from albumsorter.core.pipeline import Indexer, IndexOptions
    from training.datasets.expw import split_photos
    from training.datasets.photos import clip_box

    root = args.shared / "data" / "expw_dev"
    chosen = sorted(photo for name in args.split.split(",") for photo in split_photos(root, name, 0)[0])
    album = work / "album"
    album.mkdir(exist_ok=True)
    for photo in chosen:
        link = album / Path(photo).name
        if not link.exists():
            link.symlink_to((root / photo).resolve())
    catalog_path = work / "catalog.sqlite"
    with Catalog(catalog_path) as catalog:
        t = time.perf_counter()
        summary = Indexer(catalog, IndexOptions(workers=2)).run(album)
        print(f"indexed {summary.indexed} photos ({summary.faces_found} faces) in {time.perf_counter() - t:.0f} s")
        labels_by_name: dict[str, list[dict]] = {}
        for photo, labelled in split_photos(root, "all", 0)[1].items():
            labels_by_name.setdefault(Path(photo).name, []).extend(labelled)
        corrected = 0
        for record in catalog.query(with_faces=True):
            labelled = labels_by_name.get(Path(record.path).name, [])
            for face in record.faces:
                best = max(labelled, key=lambda r: iou(clip_box(r["box"], record.width, record.height), face.box), default=None)
                if best is not None and iou(clip_box(best["box"], record.width, record.height), face.box) >= 0.4:
                    catalog.set_correction(face.id, best["label"])
                    corrected += 1
        print(f"corrected {corrected} faces (the labelled faces the app found)")
        replay = default_replay_path()
        for use_replay in (True, False):
            t = time.perf_counter()
            report = improve_from_corrections(catalog, install=False, use_replay=use_replay, replay_path=replay)
            print(
                f"{'with' if use_replay else 'without'} replay ({report.replay_faces} replay faces): taught on {report.train_faces}, "
                f"checked on {report.held_out_faces}: current head {100 * (report.current_accuracy or 0):.1f} % right "
                f"(log-loss {report.current_log_loss:.3f}), new {100 * (report.new_accuracy or 0):.1f} % "
                f"(log-loss {report.new_log_loss:.3f}); {report.reason}; {time.perf_counter() - t:.1f} s "
                f"(features {report.seconds.get('features', 0):.1f} s, fit {report.seconds.get('fit', 0):.1f} s)"
            )
    print(f"work folder: {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
