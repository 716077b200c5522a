"""Speed and calibration figures of the quality scorer and the photo scores (issue #11), on ../shared.

    .venv/bin/python scripts/bench_quality.py                 # ms per face crop on one core, per-photo costs
    .venv/bin/python scripts/bench_quality.py --sharpness     # blur ratios of real faces, sharp vs blurred
    .venv/bin/python scripts/bench_quality.py --min-size      # eye judgement on labelled faces shrunk to N px
    .venv/bin/python scripts/bench_quality.py --grouping      # photo similarity: same scene moved/blurred vs different

Timings run pinned to one CPU core (os.sched_setaffinity, inherited by any library threads), after a warm-up.
Run it on an otherwise idle machine (`nice` changes nothing when the core is free).
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def pin_to_one_core() -> int | None:
    if not hasattr(os, "sched_setaffinity"):
        return None
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return core


def photos(shared: Path) -> list[Path]:
    return sorted(p for p in (shared / "photos").iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp"))


def bench_speed(shared: Path, repeats: int) -> None:

    from albumsorter.core.decoding import decode_file
    from albumsorter.core.detection import DetectionSettings, find_faces
    from albumsorter.core.faces import FaceDetector
    from albumsorter.core.grouping import signature
    from albumsorter.core.landmarker import face_crop
    from albumsorter.core.photo_quality import exposure, photo_sharpness, region_sharpness
    from albumsorter.core.scorers.base import ScoringContext
    from albumsorter.core.scorers.quality import MIN_FACE_PX, QualityScorer

    detector, scorer = FaceDetector(), QualityScorer()
    decoded = {p.name: decode_file(p, 1024) for p in photos(shared)}
    faces = {name: find_faces(detector, d.rgb, DetectionSettings()) for name, d in decoded.items()}
    judged = [(name, f) for name, fs in faces.items() for f in fs if f.width >= MIN_FACE_PX]
    print(f"{len(decoded)} photos, {sum(len(f) for f in faces.values())} faces, {len(judged)} at least {MIN_FACE_PX} px wide")

    first_name, first_face = judged[0]
    for _ in range(5):  # warm-up: the first calls allocate
        scorer.mesh_in_image(decoded[first_name].rgb, first_face.box)

    def timed(fn, items) -> tuple[list[float], list[float]]:
        """Wall-clock and CPU ms (the whole process) per call. On a busy machine the CPU figure is the one to
        trust; on an idle one the two agree."""
        wall, cpu = [], []
        for _ in range(repeats):
            for item in items:
                start, start_cpu = time.perf_counter(), time.process_time()
                fn(*item)
                wall.append((time.perf_counter() - start) * 1000)
                cpu.append((time.process_time() - start_cpu) * 1000)
        return wall, cpu

    def show(label: str, timing: tuple[list[float], list[float]]) -> None:
        wall, cpu = sorted(timing[0]), sorted(timing[1])
        print(f"  {label:44s} {statistics.median(wall):6.2f} / {statistics.fmean(wall):6.2f} / {statistics.median(cpu):6.2f}")

    ctx = {n: ScoringContext(d.scale, d.width, d.height) for n, d in decoded.items()}
    print("\nper face crop (one core), ms: wall median / wall mean / CPU median")

    show("face crop (1.6 x the box, 256 px)", timed(lambda n, f: face_crop(decoded[n].rgb, f.box), judged))
    show(
        "landmarker (crop, detector, mesh, blendshapes, pose)",
        timed(lambda n, f: scorer.mesh_in_image(decoded[n].rgb, f.box), judged),
    )
    show("face sharpness", timed(lambda n, f: region_sharpness(decoded[n].rgb, f.box), judged))
    show("whole face (all of the above + eyes)", timed(lambda n, f: scorer.face_data(decoded[n].rgb, f, ctx[n]), judged))

    small = [(n, f) for n, fs in faces.items() for f in fs if f.width < MIN_FACE_PX]
    if small:
        show(
            "face below the minimum (sharpness, cut-off)",
            timed(lambda n, f: scorer.face_data(decoded[n].rgb, f, ctx[n]), small),
        )

    print("\nper photo (one core, the 1024-px decode), ms: wall median / wall mean / CPU median")
    items = [(n,) for n in decoded]
    show("photo sharpness", timed(lambda n: photo_sharpness(decoded[n].rgb), items))
    show("exposure", timed(lambda n: exposure(decoded[n].rgb), items))
    show("grouping signature (phash + thumbnail)", timed(lambda n: signature(n, decoded[n].rgb, None), items))

    print("\nthe quality scorer on the photos with most faces (one core), ms a photo: wall / CPU")
    for name in sorted(faces, key=lambda n: -len(faces[n]))[:3]:
        fs = faces[name]
        wall, cpu = timed(lambda n, fs: scorer.score(decoded[n].rgb, fs, ctx[n]), [(name, fs)])
        judged_here = sum(f.width >= MIN_FACE_PX for f in fs)
        print(f"  {name}: {len(fs)} faces ({judged_here} judged) {statistics.median(wall):8.1f} / {statistics.median(cpu):8.1f}")
    scorer.close()
    detector.close()


def bench_sharpness(shared: Path) -> None:
    """Blur ratio (0 crisp .. 1 blurred) of labelled expw_dev faces, as decoded and blurred by 1, 2, 3 px."""
    import cv2
    import numpy as np

    from albumsorter.core.decoding import decode_file
    from albumsorter.core.photo_quality import blur_ratio, to_grey

    rows = list(csv.DictReader((REPO / "tests" / "data" / "eye_labels.csv").open()))[::3]
    table = []
    for row in rows:
        d = decode_file(shared / row["file"], 1024)
        left, top, right, bottom = (int(round(float(row[k]) / d.scale)) for k in ("left", "top", "right", "bottom"))
        grey = to_grey(d.rgb)
        ratios = []
        for sigma in (0, 1, 2, 3):
            g = cv2.GaussianBlur(grey, (0, 0), sigma) if sigma else grey
            ratios.append(blur_ratio(g[max(0, top) : bottom, max(0, left) : right]))
        table.append([right - left, *ratios])
    a = np.array(table)
    print("face width  faces  blur ratio: as decoded / blurred 1 px / 2 px / 3 px (median)")
    for lo, hi in ((0, 40), (40, 80), (80, 160), (160, 10_000)):
        m = (a[:, 0] >= lo) & (a[:, 0] < hi)
        if m.any():
            print(f"  {lo:4d}-{hi:<5d} {m.sum():5d}   " + " / ".join(f"{v:.2f}" for v in np.median(a[m, 1:], axis=0)))


def bench_min_size(shared: Path) -> None:
    """Labelled faces at least 80 px wide, shrunk so that they are N px wide: how often is a face found, and how
    well are closed eyes told from open ones (AUC), against the same face at full size."""
    import cv2
    import numpy as np

    import albumsorter.core.scorers.quality as quality
    from albumsorter.core.decoding import decode_file
    from albumsorter.core.detection import DetectionSettings, find_faces
    from albumsorter.core.faces import FaceDetector
    from albumsorter.core.scorers.base import ScoringContext
    from albumsorter.core.scorers.quality import QualityScorer
    from scripts.fit_eye_calibration import labelled_face

    quality.MIN_FACE_PX = 1  # measure below the threshold too
    scorer, detector = QualityScorer(), FaceDetector()
    sizes = (0, 64, 48, 40, 32, 28, 24, 20)
    results: dict[int, list[tuple[bool, float | None]]] = {s: [] for s in sizes}
    for row in csv.DictReader((REPO / "tests" / "data" / "eye_labels.csv").open()):
        if row["label"] not in ("open", "closed"):
            continue
        d = decode_file(shared / row["file"], 1024)
        box = (*(float(row[k]) / d.scale for k in ("left", "top", "right", "bottom")),)
        face = labelled_face(find_faces(detector, d.rgb, DetectionSettings()), detector, d.rgb, box)  # type: ignore[arg-type]
        if face.width < 80:
            continue
        for size in sizes:
            f = 1.0 if size == 0 else size / face.width
            img = d.rgb if size == 0 else cv2.resize(d.rgb, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
            data = scorer.face_data(img, face.scaled(f), ScoringContext(d.scale / f, d.width, d.height))
            results[size].append((row["label"] == "closed", data["eyes_open"]))
    print("face width  judged  AUC(closed)  precision  recall   (0 = as decoded)")
    for size, pairs in results.items():
        known = [(c, p) for c, p in pairs if p is not None]
        closed = np.array([c for c, _ in known])
        prob = np.array([p for _, p in known])
        ranks = prob.argsort().argsort() + 1.0
        n1, n0 = (~closed).sum(), closed.sum()
        auc = (ranks[~closed].sum() - n1 * (n1 + 1) / 2) / (n1 * n0) if n0 and n1 else float("nan")
        said = prob < 0.5
        precision = (said & closed).sum() / max(1, said.sum())
        recall = (said & closed).sum() / max(1, closed.sum())
        print(f"  {size:4d}      {len(known) / len(pairs):5.1%}   {auc:.3f}        {precision:.2f}       {recall:.2f}")
    scorer.close()
    detector.close()


def bench_grouping(shared: Path) -> None:
    """Thumbnail similarity and hash distance: each photo against its own moved / blurred / darkened / re-saved /
    cropped copy, and different photos against each other (../shared/photos and 200 expw_dev photos)."""
    import itertools

    import cv2
    import numpy as np

    from albumsorter.core.decoding import decode_file
    from albumsorter.core.grouping import hash_distance, signature, similarity

    images = [decode_file(p, 1024).rgb for p in photos(shared)]
    sigs = [signature(i, rgb, None) for i, rgb in enumerate(images)]

    def moved(rgb, fx, fy):
        h, w = rgb.shape[:2]
        return cv2.warpAffine(rgb, np.float32([[1, 0, fx * w], [0, 1, fy * h]]), (w, h), borderMode=cv2.BORDER_REFLECT)

    def resaved(rgb):
        small = cv2.cvtColor(
            cv2.resize(rgb, (rgb.shape[1] // 2, rgb.shape[0] // 2), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2BGR
        )
        return cv2.cvtColor(cv2.imdecode(cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 40])[1], 1), cv2.COLOR_BGR2RGB)

    changes = {
        "moved 3 %": lambda r: moved(r, 0.03, 0.01),
        "moved 6 %": lambda r: moved(r, 0.06, 0.02),
        "moved 10 %": lambda r: moved(r, 0.10, 0.03),
        "blurred (4 px)": lambda r: cv2.GaussianBlur(r, (0, 0), 4),
        "darkened x0.4": lambda r: (r * 0.4).astype(np.uint8),
        "moved 5 % + blurred + darkened": lambda r: (cv2.GaussianBlur(moved(r, 0.05, 0.02), (0, 0), 3) * 0.5).astype(np.uint8),
        "half size, JPEG q40": resaved,
        "brightened x1.6": lambda r: np.clip(r * 1.6, 0, 255).astype(np.uint8),
        "cropped 5 % on one side": lambda r: np.ascontiguousarray(r[:, int(r.shape[1] * 0.05) :]),
        "zoomed 8 %": lambda r: cv2.resize(
            r[int(r.shape[0] * 0.04) : int(r.shape[0] * 0.96), int(r.shape[1] * 0.04) : int(r.shape[1] * 0.96)],
            (r.shape[1], r.shape[0]),
        ),
    }
    print(f"{len(images)} photos: the same photo changed -> similarity min / 5 %, hash distance max / 95 %")
    for name, change in changes.items():
        other = [signature(i, np.ascontiguousarray(change(rgb)), None) for i, rgb in enumerate(images)]
        sims = [similarity(a, b) for a, b in zip(sigs, other)]
        bits = [hash_distance(a.phash, b.phash) for a, b in zip(sigs, other)]
        print(f"  {name:32s} {min(sims):.3f} / {np.quantile(sims, 0.05):.3f}    {max(bits):3d} / {np.quantile(bits, 0.95):3.0f}")
    for label, group in (("different ../shared photos", sigs), ("different expw_dev photos", None)):
        if group is None:
            files = sorted((shared / "data" / "expw_dev" / "Images").iterdir())[::6][:200]
            group = [signature(i, decode_file(p, 1024).rgb, None) for i, p in enumerate(files)]
        pairs = list(itertools.combinations(group, 2))
        sims = np.array([similarity(a, b) for a, b in pairs])
        bits = np.array([hash_distance(a.phash, b.phash) for a, b in pairs])
        print(
            f"{label}: {len(pairs)} pairs; similarity median {np.median(sims):.2f}, 99 % {np.quantile(sims, 0.99):.2f}, "
            f"99.9 % {np.quantile(sims, 0.999):.2f}, max {sims.max():.3f}; hash distance <= 12: {(bits <= 12).sum()} pairs, "
            f"of which similarity >= 0.95: {((bits <= 12) & (sims >= 0.95)).sum()}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sharpness", action="store_true")
    parser.add_argument("--min-size", action="store_true")
    parser.add_argument("--grouping", action="store_true")
    args = parser.parse_args()
    core = pin_to_one_core()
    print(f"pinned to CPU core {core}" if core is not None else "not pinned (no sched_setaffinity)")
    if args.sharpness:
        bench_sharpness(args.shared)
    elif args.min_size:
        bench_min_size(args.shared)
    elif args.grouping:
        bench_grouping(args.shared)
    else:
        bench_speed(args.shared, args.repeats)


if __name__ == "__main__":
    main()
