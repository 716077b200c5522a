#!/usr/bin/env python3
"""People through the app's own path, on the labelled identities of ../shared/photos: index a folder into a
catalog, run the people pass as `albumsorter people update` does (worker processes, catalog writes, incremental
clustering), then score the catalog's people against scripts/people_identities.csv with eval_people's report.

    nice -n 10 .venv/bin/python scripts/eval_people_catalog.py [--shared ../shared] [--workers 1]
                                                               [--small-copies] [--canvas-copies] [--batches 4]

--batches N indexes the photos in N batches and runs the people pass after each (new photos arriving in an
existing catalog: incremental clustering). Copies (--small-copies, --canvas-copies: see eval_people.py) are
written as real files into the indexed folder. Printed: the detector's matches, the people pass's time per
face and per photo (wall clock of the whole pass, including starting the worker processes, and the workers'
own time), the machine's load, and for the final catalog: purity, splits, the share of faces assigned.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import eval_people  # noqa: E402

from albumsorter.core.catalog import Catalog  # noqa: E402
from albumsorter.core.geometry import iou  # noqa: E402
from albumsorter.core.people.clustering import Assignment  # noqa: E402
from albumsorter.core.people.scorer import vector_of  # noqa: E402
from albumsorter.core.people.update import update_people_in_catalog  # noqa: E402
from albumsorter.core.pipeline import Indexer, IndexOptions  # noqa: E402


def load() -> str:
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


def labelled_faces(catalog: Catalog, rows: list[dict]) -> tuple[list[eval_people.LabelledFace], dict[int, Assignment], int]:
    """The catalog's faces that match a labelled box, with their vectors and people (after merges)."""
    faces, assignments, unmatched = [], {}, 0
    photos = {Path(p.path).name: p for p in catalog.query(with_faces=True)}
    for index, row in enumerate(rows):
        photo = photos.get(row["file"])
        box = tuple(float(row[k]) for k in ("left", "top", "right", "bottom"))
        best = max(photo.faces, key=lambda f: iou(f.box, box), default=None) if photo else None
        if best is None or iou(best.box, box) < 0.5:
            unmatched += 1
            continue
        identity = eval_people.unique_identity(row, index)
        vector = vector_of(best.results.get("identity"))
        faces.append(
            eval_people.LabelledFace(best.id, best.photo_id, row["file"], identity, bool(row["copy_of"]), best.box, vector)
        )
        if best.person_id is not None:
            assignments[best.id] = Assignment(best.person_id)
    return faces, assignments, unmatched


def show_unlabelled_company(catalog: Catalog, faces: list, assignments: dict[int, Assignment]) -> None:
    """People whose labelled faces are a single identity seen once: the rest of them is faces without a label
    (the crowd and class photos are not labelled); listed so they can be checked by eye."""
    labelled = {f.face_id: f for f in faces}
    members: dict[int, list] = {}
    for photo in catalog.query(with_faces=True):
        for face in photo.faces:
            if face.person_id is not None:
                members.setdefault(face.person_id, []).append((Path(photo.path).name, face))
    for person, group in sorted(members.items()):
        known = {labelled[f.id].identity for _, f in group if f.id in labelled}
        if any(":" in who for who in known) or not known:
            print(
                f"  person {person}: "
                + "; ".join(
                    f"{labelled[f.id].identity if f.id in labelled else 'unlabelled'} {name} box {tuple(round(v) for v in f.box)}"
                    for name, f in group
                )
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--workers", type=int, default=1, help="people pass worker processes (default 1)")
    parser.add_argument("--small-copies", action="store_true")
    parser.add_argument("--canvas-copies", action="store_true")
    parser.add_argument("--batches", type=int, default=1, help="index and update in this many batches of photos")
    args = parser.parse_args(argv)
    photos = args.shared / "photos"
    if not photos.is_dir():
        print(f"needs {photos}", file=sys.stderr)
        return 2
    rows = eval_people.read_labels()
    extra: dict[str, bytes] = {}
    if args.small_copies:
        copies, extra = eval_people.small_copies(photos, rows)
        rows += copies
    if args.canvas_copies:
        copies, more = eval_people.canvas_copies(photos, [r for r in rows if not r["file"].startswith("small-copy")])
        rows += copies
        extra |= more
    files = sorted({r["file"] for r in rows})
    random.Random(3).shuffle(files)
    with tempfile.TemporaryDirectory() as tmp:
        folder, catalog_path = Path(tmp) / "photos", Path(tmp) / "catalog.sqlite"
        folder.mkdir()
        faces_embedded, photos_decoded, photos_done, wall, work = 0, 0, 0, 0.0, 0.0
        print(f"load before: {load()} (1, 5, 15 min) on {os.cpu_count()} cores; people pass with {args.workers} worker(s)")
        for k in range(args.batches):
            for name in files[len(files) * k // args.batches : len(files) * (k + 1) // args.batches]:
                if name in extra:
                    (folder / name).write_bytes(extra[name])
                else:
                    shutil.copy2(photos / name, folder / name)
            with Catalog(catalog_path) as catalog:
                Indexer(catalog, IndexOptions(workers=1)).run(folder)
            start = time.perf_counter()
            summary = update_people_in_catalog(catalog_path, args.workers)
            wall += time.perf_counter() - start
            work += summary.embed_seconds
            faces_embedded += summary.faces_embedded
            photos_decoded += summary.photos_decoded
            with Catalog(catalog_path) as catalog:
                photos_done = len({p.id for p in catalog.query(with_faces=True) if p.faces})
            print(
                f"batch {k + 1}/{args.batches}: {summary.faces_embedded} faces embedded ({summary.faces_too_small} too small), "
                f"{summary.people} people, {summary.faces_assigned} faces assigned, {summary.suggestions} suggestions, "
                f"{summary.seconds:.1f} s"
            )
        print(f"load after: {load()}")
        n = max(1, faces_embedded)
        print(
            f"people pass: {faces_embedded} faces embedded from {photos_decoded} photos decoded ({photos_done} photos have "
            f"faces); wall clock {1000 * wall / n:.0f} ms a face, {1000 * wall / max(1, photos_decoded):.0f} ms a decoded "
            f"photo (worker start-up included); worker time {1000 * work / n:.0f} ms a face, "
            f"{1000 * work / max(1, photos_decoded):.0f} ms a photo (decode + embed)"
        )
        with Catalog(catalog_path) as catalog:
            faces, assignments, unmatched = labelled_faces(catalog, rows)
            show_unlabelled_company(catalog, faces, assignments)
        print(f"labelled faces: {len(rows)}, matched in the catalog: {len(faces)}, not detected: {unmatched}")
        title = f"through the catalog ({'incrementally, ' + str(args.batches) + ' batches' if args.batches > 1 else 'one pass'})"
        eval_people.report(title, faces, assignments)
        distinct = [f for f in faces if not f.copy]
        eval_people.report(
            "the same, without copies",
            distinct,
            {f.face_id: assignments[f.face_id] for f in distinct if f.face_id in assignments},
        )
    return 0


if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
