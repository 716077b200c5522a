#!/usr/bin/env python3
"""Eye centres for the thesis crop: BlazeFace's key points vs the Face Landmarker's (issue #11), on expw_dev.

    nice -n 10 .venv/bin/python scripts/compare_eye_sources.py [--data-root ../shared/data/expw_dev]
        [--model models/expression/model.json] [--split all] [--limit N] [--out FILE.json]

The thesis pre-processing (`face_input` with `PreprocessConfig(enabled=True)`: rotation by the eye line, the
1.7 / 1.3 / 3.2 crop, CLAHE) needs two eye centres. The app takes them from BlazeFace's key points; the quality
scorer also finds them with the Face Landmarker (the mean of each eye's contour, faces >= its MIN_FACE_PX). Here
both feed the same pre-processing on the same faces and the same CNN, so the difference is the eyes alone.

Faces come through the app's own pipeline, as `python -m training evaluate --dataset expw` cuts them: decode at
the app's size, `find_faces` (cached per detection settings by training/datasets/expw.py), labelled boxes matched
at IoU >= 0.4. `QualityScorer.score` runs on the matched faces of the decoded photo as the pipeline runs it, and
its stored eye centres (full-resolution pixels) are brought back to decoded pixels. Where it gives none (face
too small, no mesh, a neighbour's mesh), the BlazeFace eyes are used, as the app would have to.

Pre-processing is forced on (the model card's other settings kept): the shipped model is trained with it off,
so its "on" figures are below its own; pass a card trained with pre-processing on where one exists. The CNN is
read alone (no real-photo head: that head is fitted on the pre-processing-off inputs). Prints 7-class (contempt
left out of the argmax; ExpW has none) and 3-class accuracy per eye source, McNemar's test between them, how
often the landmarker gave eyes, and how far apart the two sources put the eyes, in inter-eye distances.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from albumsorter.core.classes import CLASSES_8, grouping_matrix  # noqa: E402
from albumsorter.core.classify import ExpressionClassifier, ModelCard  # noqa: E402
from albumsorter.core.decoding import decode_file  # noqa: E402
from albumsorter.core.detection import DetectionSettings  # noqa: E402
from albumsorter.core.face import FaceResult, Landmarks  # noqa: E402
from albumsorter.core.preprocess import PreprocessConfig, eye_line_angle, face_input  # noqa: E402
from albumsorter.core.scorers.base import ScoringContext  # noqa: E402
from albumsorter.core.scorers.quality import MIN_FACE_PX, QualityScorer  # noqa: E402
from training.compare import mcnemar  # noqa: E402
from training.datasets.base import one_hot  # noqa: E402
from training.datasets.expw import _detections, match_faces, split_photos  # noqa: E402

SOURCES = ("blazeface", "landmarker")
CONTEMPT = CLASSES_8.index("contempt")


def face_of(box: tuple, right_eye: tuple, left_eye: tuple) -> FaceResult:
    """A FaceResult from the cached detection (the cache keeps only the eyes; the quality scorer reads the box)."""
    mid = ((right_eye[0] + left_eye[0]) / 2, (right_eye[1] + left_eye[1]) / 2)
    return FaceResult(box, 1.0, Landmarks(right_eye, left_eye, mid, mid, right_eye, left_eye))


def landmarker_eyes(face: FaceResult, scale: float) -> tuple[tuple, tuple] | None:
    """The quality scorer's eye centres of a face, in decoded pixels (it stores full-resolution ones)."""
    quality = face.results.get("quality")
    marks = quality.data.get("landmarks") if quality is not None else None
    if not marks:
        return None
    return tuple(v / scale for v in marks["right_eye"]), tuple(v / scale for v in marks["left_eye"])


def collect(root: Path, split: str, seed: int, limit: int | None, config: PreprocessConfig, plain: PreprocessConfig) -> dict:
    """Per matched labelled face: label, the three inputs (BlazeFace eyes, landmarker eyes, pre-processing
    off), both eye pairs (decoded pixels), the box width, and whether the landmarker gave eyes."""
    photos, by_photo = split_photos(root, split, seed, limit)
    detections = _detections(root, photos)
    settings = DetectionSettings()
    quality = QualityScorer()
    out: dict[str, list] = {k: [] for k in ("label", "blazeface", "landmarker", "off", "eyes_b", "eyes_l", "width", "has_l")}
    n_labelled = 0
    t0 = time.time()
    try:
        for n, photo in enumerate(photos):
            det = detections[photo]
            matches = match_faces(by_photo[photo], det["faces"], *det["size"])
            n_labelled += len(matches)
            pairs = [(face, det["faces"][m]) for face, m in zip(by_photo[photo], matches) if m is not None]
            if not pairs:
                continue
            decoded = decode_file(root / photo, settings.max_side)
            faces = []
            for _label, d in pairs:
                box = tuple(v / decoded.scale for v in d["box"])
                right_eye, left_eye = (tuple(v / decoded.scale for v in p) for p in d["keypoints"][:2])
                faces.append(face_of(box, right_eye, left_eye))
            context = ScoringContext(decoded.scale, decoded.width, decoded.height)
            for face, result in zip(faces, quality.score(decoded.rgb, faces, context)):
                if result is not None:
                    face.results[result.kind] = result
            for (label, _d), face in zip(pairs, faces):
                blaze = (face.landmarks.right_eye, face.landmarks.left_eye)
                marked = landmarker_eyes(face, decoded.scale)
                eyes = marked or blaze
                out["label"].append(label["label"])
                out["blazeface"].append(face_input(decoded.rgb, config, face.box, *blaze))
                out["landmarker"].append(face_input(decoded.rgb, config, face.box, *eyes))
                out["off"].append(face_input(decoded.rgb, plain, face.box, *blaze))
                out["eyes_b"].append(blaze)
                out["eyes_l"].append(eyes)
                out["width"].append(face.width)
                out["has_l"].append(marked is not None)
            if n and n % 200 == 0:
                print(f"  {n}/{len(photos)} photos, {time.time() - t0:.0f} s", flush=True)
    finally:
        quality.close()
    data = {k: np.array(v) for k, v in out.items()}
    data["n_labelled"] = n_labelled
    data["photos"] = len(photos)
    return data


def correct_7(true8: np.ndarray, probs8: np.ndarray) -> np.ndarray:
    """Right or wrong with contempt left out of the argmax (ExpW has no contempt)."""
    probs = probs8.copy()
    probs[:, CONTEMPT] = -1.0
    return probs.argmax(axis=1) == true8


def correct_3(true8: np.ndarray, probs8: np.ndarray) -> np.ndarray:
    m = grouping_matrix(3)
    return (probs8 @ m).argmax(axis=1) == m[true8].argmax(axis=1)


def paired_difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Accuracy of b minus a and its standard error on paired outcomes."""
    n = len(a)
    d = b.astype(float) - a.astype(float)
    return float(d.mean()), float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0


def eye_geometry(eyes_b: np.ndarray, eyes_l: np.ndarray) -> dict:
    """How far apart the two sources put the eyes, in BlazeFace inter-eye distances (faces with both)."""
    iod_b = np.linalg.norm(eyes_b[:, 1] - eyes_b[:, 0], axis=1)
    iod_l = np.linalg.norm(eyes_l[:, 1] - eyes_l[:, 0], axis=1)
    per_eye = np.linalg.norm(eyes_l - eyes_b, axis=2) / iod_b[:, None]  # (N, 2)
    mean_eye = per_eye.mean(axis=1)
    mid_b, mid_l = eyes_b.mean(axis=1), eyes_l.mean(axis=1)
    angle = np.array(
        [
            (eye_line_angle(tuple(mark[0]), tuple(mark[1])) - eye_line_angle(tuple(blaze[0]), tuple(blaze[1])) + 180) % 360 - 180
            for blaze, mark in zip(eyes_b, eyes_l)
        ]
    )
    return {
        "faces": int(len(eyes_b)),
        "mean_eye_difference_iod": float(mean_eye.mean()),
        "median_eye_difference_iod": float(np.median(mean_eye)),
        "p90_eye_difference_iod": float(np.percentile(mean_eye, 90)),
        "share_over_0.25_iod": float((mean_eye > 0.25).mean()),
        "right_eye_mean_iod": float(per_eye[:, 0].mean()),
        "left_eye_mean_iod": float(per_eye[:, 1].mean()),
        "midpoint_shift_x_iod": float(((mid_l - mid_b)[:, 0] / iod_b).mean()),
        "midpoint_shift_y_iod": float(((mid_l - mid_b)[:, 1] / iod_b).mean()),
        "iod_ratio_landmarker_over_blazeface_median": float(np.median(iod_l / iod_b)),
        "abs_angle_difference_deg_mean": float(np.abs(angle).mean()),
        "abs_angle_difference_deg_median": float(np.median(np.abs(angle))),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data" / "expw_dev")
    parser.add_argument("--model", type=Path, default=REPO / "models" / "expression" / "model.json", help="a model card")
    parser.add_argument("--split", default="all", choices=("all", "train", "valid", "test"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="first N photos only (a quick check)")
    parser.add_argument("--out", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if not (args.data_root / "labels.csv").is_file():
        print(f"{args.data_root}: no labels.csv (expw_dev is in ../shared/data)", file=sys.stderr)
        return 2

    card = ModelCard.load(args.model)
    config = PreprocessConfig.from_dict({**card.preprocessing.to_dict(), "enabled": True})
    plain = PreprocessConfig.from_dict({**card.preprocessing.to_dict(), "enabled": False})
    print(f"model {card.id} (card pre-processing {'on' if card.preprocessing.enabled else 'off'}; forced on here)")
    t0 = time.time()
    data = collect(args.data_root, args.split, args.seed, args.limit, config, plain)
    n = len(data["label"])
    print(f"{data['photos']} photos, {data['n_labelled']} labelled faces, {n} matched; {time.time() - t0:.0f} s")
    if n == 0:
        return 1
    classifier = ExpressionClassifier(card, num_threads=1)
    true8 = one_hot(list(data["label"])).argmax(axis=1)
    probs = {k: classifier.predict(data[k]) for k in (*SOURCES, "off")}
    has_l = data["has_l"].astype(bool)
    big = data["width"] >= MIN_FACE_PX

    figures: dict = {
        "model": card.id,
        "data_root": str(args.data_root),
        "split": args.split,
        "photos": int(data["photos"]),
        "labelled_faces": int(data["n_labelled"]),
        "faces": n,
        "landmarker_eyes": int(has_l.sum()),
        "faces_at_least_min_px": int(big.sum()),
        "landmarker_eyes_of_faces_at_least_min_px": int((has_l & big).sum()),
        "eye_geometry": eye_geometry(data["eyes_b"][has_l], data["eyes_l"][has_l]),
        "accuracy": {},
        "mcnemar": {},
    }
    print(
        f"landmarker eyes: {has_l.sum()}/{n} faces = {has_l.mean():.1%} "
        f"({(has_l & big).sum()}/{big.sum()} of the faces >= {MIN_FACE_PX} px wide); the rest use BlazeFace's"
    )
    g = figures["eye_geometry"]
    print(
        f"eye positions, landmarker vs BlazeFace ({g['faces']} faces with both), in inter-eye distances: mean "
        f"{g['mean_eye_difference_iod']:.3f}, median {g['median_eye_difference_iod']:.3f}, 90th pct "
        f"{g['p90_eye_difference_iod']:.3f}, > 0.25: {g['share_over_0.25_iod']:.1%}; midpoint shift "
        f"x {g['midpoint_shift_x_iod']:+.3f} y {g['midpoint_shift_y_iod']:+.3f}; inter-eye distance ratio "
        f"(median) {g['iod_ratio_landmarker_over_blazeface_median']:.3f}; |eye-line angle difference| mean "
        f"{g['abs_angle_difference_deg_mean']:.2f} deg, median {g['abs_angle_difference_deg_median']:.2f} deg"
    )
    for grouping, correct in (("7", correct_7), ("3", correct_3)):
        right = {k: correct(true8, p) for k, p in probs.items()}
        figures["accuracy"][grouping] = {k: float(v.mean()) for k, v in right.items()}
        figures["accuracy"][grouping + "_landmarker_faces"] = {k: float(v[has_l].mean()) for k, v in right.items()}
        test = mcnemar(right["blazeface"], right["landmarker"])
        diff, se = paired_difference(right["blazeface"], right["landmarker"])
        test |= {"difference": diff, "se": se}
        figures["mcnemar"][grouping] = test
        acc = figures["accuracy"][grouping]
        sub = figures["accuracy"][grouping + "_landmarker_faces"]
        print(
            f"{grouping} classes, n = {n}: BlazeFace eyes {acc['blazeface']:.2%}, landmarker eyes "
            f"{acc['landmarker']:.2%} (difference {diff:+.2%} +- {1.96 * se:.2%}); McNemar chi2 = {test['chi2']:.3f}, "
            f"p = {test['p']:.4g} (only BlazeFace right {test['a_only_right']}, only landmarker right "
            f"{test['b_only_right']}); on the {has_l.sum()} faces with landmarker eyes {sub['blazeface']:.2%} vs "
            f"{sub['landmarker']:.2%}; pre-processing off (the card's crop) {acc['off']:.2%}"
        )
    if args.out:
        args.out.write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
