"""Fit the eyes-open calibration of the quality scorer on hand-labelled faces (tests/data/eye_labels.csv).

    .venv/bin/python scripts/fit_eye_calibration.py [--shared ../shared] [--write]

Each labelled face (label open or closed; "unsure" faces are skipped) is decoded as the app decodes it (at most
1024 px) and found as the app finds it (`labelled_face`: the app's detection overlapping the labelled box, else the
labelled box), then given to `QualityScorer` exactly as in the app (with the detection's eye points); faces at least
80 px wide are also shrunk to 64, 48 and 40 px (the image reduced with INTER_AREA, the face found again by the
app's detection in it: its own box and eye points) so that the calibration sees small faces too. Each judged eye becomes one row with its face's label; a logistic regression (L2, Newton steps, numpy
only) on `EyeCalibration.features` gives P(eye open). A face is "closed" when its less open judged eye is
below 0.5, which is what the scorer stores as `eyes_open`.

Printed (and written into the JSON with --write): precision / recall of "closed" from 5-fold cross-validation
(folds by face, repeated 5 times), per face size, and in-sample. --write replaces
models/face_landmarker/eye_calibration.json.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from albumsorter.core.decoding import decode_file  # noqa: E402
from albumsorter.core.detection import DetectionSettings, find_faces  # noqa: E402
from albumsorter.core.face import Box, FaceResult, Landmarks  # noqa: E402
from albumsorter.core.faces import FaceDetector  # noqa: E402
from albumsorter.core.geometry import iou  # noqa: E402
from albumsorter.core.scorers.quality import (  # noqa: E402
    MIN_FACE_PX,
    EyeCalibration,
    QualityScorer,
    calibration_path,
    head_pose,
    judged_eyes,
    raw_eye_features,
)

LABELS = REPO / "tests" / "data" / "eye_labels.csv"
SHRINK_TO = (64, 48, 40)
SHRINK_FROM = 80
L2 = 1.0
MATCH_IOU = 0.3  # as analysis.landmarks_for_box


def matching_detection(detected: list[FaceResult], box: Box) -> FaceResult | None:
    """The detection that overlaps `box` most, if it overlaps enough."""
    best = max(detected, key=lambda f: iou(f.box, box), default=None)
    return best if best is not None and iou(best.box, box) >= MATCH_IOU else None


def labelled_face(detected: list[FaceResult], box: Box) -> FaceResult:
    """A hand-labelled face as the app would score it: the detection that overlaps the labelled box most, if it
    overlaps enough (the landmarker's crop is built on the app's box); else the labelled box itself (no key points:
    the landmarker's short-range detector finds the eyes)."""
    best = matching_detection(detected, box)
    if best is not None:
        return best
    centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    return FaceResult(box, 1.0, Landmarks.from_points([centre] * 6))


def face_rows(shared: Path, scorer: QualityScorer, detector: FaceDetector) -> list[dict]:
    """One record per (labelled face, size): face id, label, size, and the judged eyes' raw features."""
    rows: list[dict] = []
    labels = [r for r in csv.DictReader(LABELS.open()) if r["label"] in ("open", "closed")]
    decoded: dict = {}
    for face_id, row in enumerate(labels):
        if row["file"] not in decoded:
            photo = decode_file(shared / row["file"], 1024)
            decoded = {row["file"]: (photo, find_faces(detector, photo.rgb, DetectionSettings()))}
        photo, detected = decoded[row["file"]]
        box = tuple(float(row[k]) / photo.scale for k in ("left", "top", "right", "bottom"))
        face = labelled_face(detected, box)
        width = face.width
        sizes = [None] + [s for s in SHRINK_TO if width >= SHRINK_FROM]
        for size in sizes:
            factor = 1.0 if size is None else size / width
            image = photo.rgb
            if size is not None:
                dsize = (max(1, round(image.shape[1] * factor)), max(1, round(image.shape[0] * factor)))
                image = cv2.resize(image, dsize, interpolation=cv2.INTER_AREA)
            scaled = face.scaled(factor)
            from_detection = matching_detection(detected, box) is not None
            if size is not None:  # what the app finds in the smaller photo: its box and eye points
                own = matching_detection(find_faces(detector, image, DetectionSettings()), scaled.box)
                scaled, from_detection = (own, True) if own is not None else (scaled, False)
            face_px = scaled.width
            if face_px < MIN_FACE_PX:
                continue
            eyes = (scaled.landmarks.right_eye, scaled.landmarks.left_eye) if from_detection else None
            mesh = scorer.mesh_in_image(image, scaled.box, eyes)
            if mesh is None:
                continue
            pose = head_pose(mesh.matrix)
            left, right = judged_eyes(pose["yaw"], pose["pitch"])
            raw = raw_eye_features(mesh)
            eyes = []
            if left:
                eyes.append(EyeCalibration.features(raw["blink_left"], raw["ear_left"], face_px))
            if right:
                eyes.append(EyeCalibration.features(raw["blink_right"], raw["ear_right"], face_px))
            if eyes:
                rows.append({"face": face_id, "closed": row["label"] == "closed", "size": size or "native", "eyes": eyes})
        if face_id % 100 == 0:
            print(f"  {face_id}/{len(labels)} faces", file=sys.stderr, flush=True)
    return rows


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = L2) -> tuple[float, np.ndarray]:
    """L2-regularised logistic regression on standardised features; returns raw-scale (intercept, weights)."""
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    xs = np.c_[np.ones(len(x)), (x - mean) / std]
    beta = np.zeros(xs.shape[1])
    penalty = l2 * np.diag(np.r_[0.0, np.ones(xs.shape[1] - 1)])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-xs @ beta))
        gradient = xs.T @ (p - y) + penalty @ beta
        hessian = (xs * (p * (1 - p))[:, None]).T @ xs + penalty
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    weights = beta[1:] / std
    return float(beta[0] - (weights * mean).sum()), weights


def design(rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Eye rows labelled P(open): y = 1 for an eye of an open face."""
    x = [eye for r in rows for eye in r["eyes"]]
    y = [0.0 if r["closed"] else 1.0 for r in rows for _ in r["eyes"]]
    return np.array(x, dtype=np.float64), np.array(y)


def face_says_closed(intercept: float, weights: np.ndarray, row: dict) -> bool:
    z = intercept + np.array(row["eyes"]) @ weights
    return bool((1.0 / (1.0 + np.exp(-z))).min() < 0.5)


def counts(pairs: list[tuple[bool, bool]]) -> dict:
    tp = sum(1 for said, truth in pairs if said and truth)
    fp = sum(1 for said, truth in pairs if said and not truth)
    fn = sum(1 for said, truth in pairs if not said and truth)
    return {
        "closed_faces": tp + fn,
        "faces": len(pairs),
        "precision": round(tp / (tp + fp), 3) if tp + fp else None,
        "recall": round(tp / (tp + fn), 3) if tp + fn else None,
    }


def cross_validate(rows: list[dict], folds: int = 5, repeats: int = 5) -> dict:
    faces = sorted({r["face"] for r in rows})
    closed = {r["face"]: r["closed"] for r in rows}
    by_size: dict[str, list[tuple[bool, bool]]] = {}
    for repeat in range(repeats):
        rng = np.random.default_rng(repeat)
        fold_of = {}
        for label in (True, False):  # stratified: closed faces spread over the folds
            group = [f for f in faces if closed[f] == label]
            rng.shuffle(group)
            fold_of.update({f: i % folds for i, f in enumerate(group)})
        for k in range(folds):
            intercept, weights = fit_logistic(*design([r for r in rows if fold_of[r["face"]] != k]))
            for r in rows:
                if fold_of[r["face"]] == k:
                    by_size.setdefault(str(r["size"]), []).append((face_says_closed(intercept, weights, r), r["closed"]))
    return {size: counts(pairs) for size, pairs in sorted(by_size.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--cache", type=Path, help="reuse (or write) the extracted features here (.json)")
    parser.add_argument("--write", action="store_true", help=f"write {calibration_path()}")
    args = parser.parse_args()
    if args.cache and args.cache.exists():
        rows = json.loads(args.cache.read_text())
    else:
        scorer, detector = QualityScorer(), FaceDetector()
        try:
            rows = face_rows(args.shared, scorer, detector)
        finally:
            scorer.close()
            detector.close()
        if args.cache:
            args.cache.write_text(json.dumps(rows))
    intercept, weights = fit_logistic(*design(rows))
    native = [r for r in rows if r["size"] == "native"]
    result = {
        "intercept": round(intercept, 5),
        "weights": {name: round(float(w), 5) for name, w in zip(EyeCalibration.FEATURES, weights)},
        "fitted_on": {
            "labels": str(LABELS.relative_to(REPO)),
            "labels_sha256": hashlib.sha256(LABELS.read_bytes()).hexdigest(),
            "faces_native": len(native),
            "closed_native": sum(r["closed"] for r in native),
            "eye_rows": int(sum(len(r["eyes"]) for r in rows)),
            "shrunk_to": list(SHRINK_TO),
            "l2": L2,
        },
        "cross_validated": cross_validate(rows),
        "in_sample_native": counts([(face_says_closed(intercept, weights, r), r["closed"]) for r in native]),
    }
    digest = hashlib.sha256(json.dumps([result["intercept"], result["weights"]]).encode()).hexdigest()[:8]
    result = {"id": f"eyes-{digest}", **result}
    print(json.dumps(result, indent=2))
    if args.write:
        calibration_path().write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {calibration_path()}", file=sys.stderr)


if __name__ == "__main__":
    main()
