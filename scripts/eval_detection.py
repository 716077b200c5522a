#!/usr/bin/env python3
"""Detection recall before and after the padded close-up pass (issue #12), on real photos of ../shared.

    nice -n 10 .venv/bin/python scripts/eval_detection.py [--shared ../shared] [--limit N] [--show DIR]

Prints, for the settings without the padded pass ("before", `pad_fraction=0`) and the app's settings ("after"):

1. expw_dev: share of labelled faces matched by a detection at IoU >= 0.3 and >= 0.4 (greedy, one detection a
   face, labelled boxes clipped to the photo), through the app's own decode size and `find_faces`.
2. Close-ups made from ../shared/photos: every face of at least 60 full-resolution pixels the app finds is cut
   out tight (the detector's box, no margin), with a 10 % and 25 % margin, and cut by the photo's edge (30 % of
   the face outside, left / right / top / bottom); each crop is written as a JPEG into a temporary folder
   (deleted afterwards, never in the repository), read back by the app's decoder, and counts as found when a
   detection overlaps the expected box at IoU >= 0.3 (and >= 0.4).
3. ../shared/photos as they are: faces per photo before and after, and every box the padded pass added
   (size, score); `--show DIR` writes each photo whose count changed with the new boxes drawn in red.
4. Detection time per photo (decoded at 1024 px) over ../shared/photos, before and after.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from albumsorter.core.decoding import decode_file  # noqa: E402
from albumsorter.core.detection import DetectionSettings, find_faces  # noqa: E402
from albumsorter.core.faces import FaceDetector  # noqa: E402
from albumsorter.core.geometry import iou  # noqa: E402
from training.datasets.expw import match_faces, read_expw_labels  # noqa: E402

AFTER = DetectionSettings()
BEFORE = replace(AFTER, pad_fraction=0.0)
SETTINGS = {"before": BEFORE, "after": AFTER}
MIN_CLOSE_UP_PX = 60
EDGE_CUT = 0.3  # share of the face's width (or height) outside the cut-by-the-edge crops


def full_res_boxes(detector: FaceDetector, path: Path, settings: DetectionSettings) -> tuple[list[tuple], tuple[int, int], float]:
    """Detected boxes in full-resolution pixels, the photo's size and the seconds detection took."""
    photo = decode_file(path, settings.max_side)
    t = time.perf_counter()
    faces = find_faces(detector, photo.rgb, settings)
    seconds = time.perf_counter() - t
    return [tuple(v * photo.scale for v in f.box) for f in faces], (photo.width, photo.height), seconds


def expw_recall(detector: FaceDetector, root: Path, limit: int | None) -> None:
    rows = read_expw_labels(root / "labels.csv")
    by_photo: dict[str, list[dict]] = {}
    for r in rows:
        by_photo.setdefault(r["path"], []).append(r)
    photos = sorted(by_photo)[:limit]
    labelled = sum(len(by_photo[p]) for p in photos)
    found = {(name, t): 0 for name in SETTINGS for t in (0.3, 0.4)}
    for i, photo in enumerate(photos):
        for name, settings in SETTINGS.items():
            boxes, (w, h), _ = full_res_boxes(detector, root / photo, settings)
            dets = [{"box": list(b)} for b in boxes]
            for t in (0.3, 0.4):
                found[name, t] += sum(m is not None for m in match_faces(by_photo[photo], dets, w, h, threshold=t))
        if i and i % 400 == 0:
            print(f"  expw_dev: {i}/{len(photos)} photos", flush=True)
    print(f"expw_dev: {len(photos)} photos, {labelled} labelled faces")
    for name in SETTINGS:
        cells = ", ".join(
            f"IoU >= {t}: {found[name, t]}/{labelled} = {100 * found[name, t] / labelled:.1f} %" for t in (0.3, 0.4)
        )
        print(f"  {name:6s} {cells}")


def crops_of(rgb: np.ndarray, box: tuple) -> list[tuple[str, tuple[int, int, int, int]]]:
    """(kind, crop rectangle) for one face: tight, with margins, and cut by each edge."""
    h, w = rgb.shape[:2]
    left, top, right, bottom = box
    bw, bh = right - left, bottom - top
    out = []
    for name, m in (("tight", 0.0), ("margin 10 %", 0.1), ("margin 25 %", 0.25)):
        out.append(
            (
                name,
                (
                    int(max(0, left - m * bw)),
                    int(max(0, top - m * bh)),
                    int(min(w, right + m * bw)),
                    int(min(h, bottom + m * bh)),
                ),
            )
        )
    m = 0.5  # the rest of the frame around the face, then one side cut through it
    frame = [left - m * bw, top - m * bh, right + m * bw, bottom + m * bh]
    for name, side, value in (
        ("cut left", 0, left + EDGE_CUT * bw),
        ("cut right", 2, right - EDGE_CUT * bw),
        ("cut top", 1, top + EDGE_CUT * bh),
        ("cut bottom", 3, bottom - EDGE_CUT * bh),
    ):
        rect = list(frame)
        rect[side] = value
        out.append((f"edge: {name}", (int(max(0, rect[0])), int(max(0, rect[1])), int(min(w, rect[2])), int(min(h, rect[3])))))
    return out


def close_up_recall(detector: FaceDetector, photos: list[Path]) -> None:
    hits: dict[tuple[str, str, float], int] = {}
    totals: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="albumsorter-closeups-") as tmp:
        for path in photos:
            boxes, _, _ = full_res_boxes(detector, path, AFTER)
            rgb = decode_file(path, None).rgb
            for k, box in enumerate(b for b in boxes if b[2] - b[0] >= MIN_CLOSE_UP_PX):
                for kind, (x0, y0, x1, y1) in crops_of(rgb, box):
                    if x1 - x0 < 16 or y1 - y0 < 16:
                        continue
                    crop_file = Path(tmp) / f"{path.stem}-{k}.jpg"
                    Image.fromarray(rgb[y0:y1, x0:x1]).save(crop_file, quality=92)
                    expected = (
                        max(0.0, box[0] - x0),
                        max(0.0, box[1] - y0),
                        min(x1 - x0, box[2] - x0),
                        min(y1 - y0, box[3] - y0),
                    )
                    totals[kind] = totals.get(kind, 0) + 1
                    for name, settings in SETTINGS.items():
                        found, _, _ = full_res_boxes(detector, crop_file, settings)
                        best = max((iou(b, expected) for b in found), default=0.0)
                        for t in (0.3, 0.4):
                            hits[kind, name, t] = hits.get((kind, name, t), 0) + (best >= t)
    print(
        f"close-ups made from {len(photos)} photos of ../shared/photos (faces >= {MIN_CLOSE_UP_PX} px), found at IoU >= 0.3 (>= 0.4):"
    )
    for kind, n in totals.items():
        cells = ", ".join(f"{name} {hits[kind, name, 0.3]} ({hits[kind, name, 0.4]})" for name in SETTINGS)
        print(f"  {kind:18s} {n:3d} crops: {cells}")
    for group, kinds in (
        ("all close-ups", [k for k in totals if not k.startswith("edge")]),
        ("all cut by an edge", [k for k in totals if k.startswith("edge")]),
    ):
        n = sum(totals[k] for k in kinds)
        cells = ", ".join(
            f"{name} {100 * sum(hits[k, name, 0.3] for k in kinds) / n:.1f} % ({100 * sum(hits[k, name, 0.4] for k in kinds) / n:.1f} %)"
            for name in SETTINGS
        )
        print(f"  {group:18s} {n:3d} crops: {cells}")


def shared_photo_counts(detector: FaceDetector, photos: list[Path], show: Path | None) -> None:
    counts = {name: 0 for name in SETTINGS}
    seconds = {name: 0.0 for name in SETTINGS}
    changed = []
    for path in photos:
        boxes = {}
        for name, settings in SETTINGS.items():
            boxes[name], _, secs = full_res_boxes(detector, path, settings)
            counts[name] += len(boxes[name])
            seconds[name] += secs
        new = [b for b in boxes["after"] if all(iou(b, old) < 0.99 for old in boxes["before"])]
        if new or len(boxes["after"]) != len(boxes["before"]):
            changed.append((path, len(boxes["before"]), len(boxes["after"]), new))
    print(f"../shared/photos: {len(photos)} photos, faces before {counts['before']}, after {counts['after']}")
    for path, n0, n1, new in changed:
        sizes = ", ".join(f"{b[2] - b[0]:.0f}x{b[3] - b[1]:.0f} px at ({b[0]:.0f}, {b[1]:.0f})" for b in new)
        print(f"  {path.name}: {n0} -> {n1} faces; new: {sizes}")
        if show is not None:
            show.mkdir(parents=True, exist_ok=True)
            image = Image.open(path).convert("RGB")
            draw = ImageDraw.Draw(image)
            for b in new:
                draw.rectangle(b, outline=(255, 0, 0), width=max(2, image.width // 300))
            image.save(show / f"{path.stem}-new-faces.png")
    for name in SETTINGS:
        print(
            f"  detection {name}: {1000 * seconds[name] / len(photos):.1f} ms a photo (decoded at {SETTINGS[name].max_side} px)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--limit", type=int, help="only the first N expw_dev photos")
    parser.add_argument("--skip-expw", action="store_true")
    parser.add_argument("--show", type=Path, help="write photos whose face count changed, new boxes in red, into DIR")
    args = parser.parse_args()
    photos = sorted(p for p in (args.shared / "photos").iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not photos:
        print(f"no photos in {args.shared / 'photos'}", file=sys.stderr)
        return 3
    print(f"settings: before = {BEFORE.id}; after = {AFTER.id}")
    with FaceDetector(min_confidence=AFTER.min_confidence) as detector:
        shared_photo_counts(detector, photos, args.show)
        close_up_recall(detector, photos)
        if not args.skip_expw:
            expw_recall(detector, args.shared / "data" / "expw_dev", args.limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
