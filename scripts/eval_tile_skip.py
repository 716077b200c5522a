#!/usr/bin/env python3
"""What skipping the tiles costs and saves (issue #11): the app's `find_faces` with every skip rule against the tiles
run wherever the whole-photo pass found no tall subject (the rule before), on real photos of ../shared.

    nice -n 10 .venv/bin/python scripts/eval_tile_skip.py [--shared ../shared] [--limit N] [--hint 0.2] [--sheet FILE]

Prints, for expw_dev (labelled faces in web photos) and ../shared/photos: detector runs a photo, photos whose tiles
ran, labelled expw_dev faces matched at IoU >= 0.4, faces found, and the faces only the old rule finds (all, and
"subjects": at least BYSTANDER_SIZE of the photo's tallest face). `--sheet` saves those subject faces as a contact
sheet, to see which are real faces (a temporary look, never committed: the photos are ExpW's).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from albumsorter.core.decoding import decode_file  # noqa: E402
from albumsorter.core.detection import DetectionSettings, find_faces  # noqa: E402
from albumsorter.core.face import FaceResult  # noqa: E402
from albumsorter.core.faces import FaceDetector  # noqa: E402
from albumsorter.core.geometry import iou  # noqa: E402
from albumsorter.core.subjects import BYSTANDER_SIZE  # noqa: E402
from training.datasets.expw import match_faces, read_expw_labels  # noqa: E402


class CountingDetector:
    """The app's detector, counting its runs."""

    def __init__(self, detector: FaceDetector) -> None:
        self.detector, self.runs = detector, 0

    def detect(self, rgb: np.ndarray) -> list[FaceResult]:
        self.runs += 1
        return self.detector.detect(rgb)

    def detect_with_candidates(self, rgb: np.ndarray, score: float | None) -> tuple[list[FaceResult], list[FaceResult]]:
        self.runs += 1
        return self.detector.detect_with_candidates(rgb, score)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--limit", type=int, help="expw_dev photos (default: all)")
    parser.add_argument("--hint", type=float, default=DetectionSettings().tile_hint_score, help="candidate score")
    parser.add_argument("--sheet", type=Path, help="save the subject faces only the old rule finds here (PNG)")
    args = parser.parse_args()

    now = replace(DetectionSettings(), tile_hint_score=args.hint)
    rules = {"before (tiles unless a tall subject)": replace(now, skip_tiles_without_hints=False), "now": now}
    root = args.shared / "data" / "expw_dev"
    by_photo: dict[str, list[dict]] = {}
    for row in read_expw_labels(root / "labels.csv"):
        by_photo.setdefault(row["path"], []).append(row)
    sets = {
        "expw_dev": [(root / p, by_photo[p]) for p in sorted(by_photo)[: args.limit]],
        "../shared/photos": [
            (p, None) for p in sorted((args.shared / "photos").iterdir()) if p.suffix.lower() in (".jpg", ".jpeg", ".png")
        ],
    }
    crops = []
    with FaceDetector() as plain:
        detector = CountingDetector(plain)
        for name, photos in sets.items():
            stats = {rule: {"runs": 0, "tiled": 0, "matched": 0, "faces": 0} for rule in rules}
            lost = lost_subjects = 0
            for path, labels in photos:
                photo = decode_file(path, now.max_side)
                found = {}
                for rule, settings in rules.items():
                    detector.runs = 0
                    faces = find_faces(detector, photo.rgb, settings)  # type: ignore[arg-type]
                    found[rule] = faces
                    s = stats[rule]
                    s["runs"] += detector.runs
                    s["tiled"] += detector.runs > 2
                    s["faces"] += len(faces)
                    if labels is not None:
                        dets = [{"box": [v * photo.scale for v in f.box]} for f in faces]
                        s["matched"] += sum(
                            m is not None for m in match_faces(labels, dets, photo.width, photo.height, threshold=0.4)
                        )
                before, after = found.values()
                tallest = max((f.box[3] - f.box[1] for f in before), default=0.0)
                for face in before:
                    if all(iou(face.box, g.box) < 0.3 for g in after):
                        lost += 1
                        if face.box[3] - face.box[1] >= BYSTANDER_SIZE * tallest:
                            lost_subjects += 1
                            if args.sheet:
                                crops.append(_crop(photo.rgb, face.box))
            labelled = sum(len(labels or []) for _, labels in photos)
            print(f"{name}: {len(photos)} photos" + (f", {labelled} labelled faces" if labelled else ""))
            for rule, s in stats.items():
                matched = f", labelled matched {s['matched']} ({100 * s['matched'] / labelled:.1f} %)" if labelled else ""
                print(
                    f"  {rule:38s} {s['runs'] / len(photos):5.2f} runs a photo, tiles on {s['tiled']} photos, {s['faces']} faces{matched}"
                )
            print(f"  faces only the rule before finds: {lost}, of them subjects: {lost_subjects}")
    if args.sheet and crops:
        sheet = Image.new("RGB", (128 * 6, 128 * ((len(crops) + 5) // 6)))
        for i, crop in enumerate(crops):
            sheet.paste(crop, (128 * (i % 6), 128 * (i // 6)))
        sheet.save(args.sheet)
        print(f"{len(crops)} subject faces saved to {args.sheet}")
    return 0


def _crop(rgb: np.ndarray, box: tuple[float, float, float, float]) -> Image.Image:
    w = box[2] - box[0]
    y0, x0 = int(max(0, box[1] - w)), int(max(0, box[0] - w))
    return Image.fromarray(np.ascontiguousarray(rgb[y0 : int(box[3] + w), x0 : int(box[2] + w)])).resize((128, 128))


if __name__ == "__main__":
    sys.exit(main())
