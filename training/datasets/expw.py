"""ExpW-style data: labels.csv of face boxes inside whole photos, run through the app's own pipeline.

labels.csv: relative_path, label, face_id, box_left, box_top, box_right, box_bottom, box_confidence,
img_width, img_height. Each photo is decoded upright, the app's FaceDetector runs on it, and every
labelled face is matched to the detection with the highest IoU (>= MATCH_IOU; labelled boxes running
past the border are clipped first). Decoding size, tiled detection and the face crops are the app's own
(`decode_file` at `DetectionSettings.max_side`, `find_faces`, `face_input` on the decoded photo), so the
figures are those of the app; unmatched detections are ignored. Unmatched labelled
faces are left out (their share is the detection miss rate reported as "detection recall").
Detections are cached per photo set in the cache dir. Splits are 80/10/10 by photo (--seed).
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np

from albumsorter.core.decoding import decode_file
from albumsorter.core.detection import DetectionSettings
from albumsorter.core.geometry import iou
from albumsorter.core.preprocess import PreprocessConfig, face_input
from training.datasets.base import FaceSet, one_hot, split_indices
from training.datasets.photos import clip_box, stack_inputs
from training.paths import cache_dir

MATCH_IOU = 0.4


def read_expw_labels(path: Path) -> list[dict]:
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            rows.append(
                {
                    "path": row["relative_path"],
                    "label": row["label"],
                    "face_id": row.get("face_id", ""),
                    "box": tuple(float(row[k]) for k in ("box_left", "box_top", "box_right", "box_bottom")),
                }
            )
    return rows


def _detections(root: Path, photos: list[str]) -> dict[str, dict]:
    """{photo: {"size": (w, h), "scale": s, "faces": [{"box", "score", "keypoints"}]}} in full-resolution upright
    pixels, from the cache or from the app's own decoding and tiled detection."""
    from albumsorter.core.detection import DetectionSettings, find_faces
    from albumsorter.core.resources import detector_model_path

    settings = DetectionSettings()
    model = detector_model_path()
    key = hashlib.sha1(f"{root.resolve()}|{model.stat().st_size}|{model.stat().st_mtime_ns}|{settings.id}".encode()).hexdigest()[
        :12
    ]
    cache = cache_dir() / f"expw-detections-{key}.json"
    known = json.loads(cache.read_text()) if cache.is_file() else {}
    missing = [p for p in photos if p not in known]
    if missing:
        from albumsorter.core.faces import FaceDetector

        with FaceDetector(min_confidence=settings.min_confidence) as detector:
            for i, photo in enumerate(missing):
                decoded = decode_file(root / photo, settings.max_side)
                faces = [f.scaled(decoded.scale) for f in find_faces(detector, decoded.rgb, settings)]
                known[photo] = {
                    "size": [decoded.width, decoded.height],
                    "scale": decoded.scale,
                    "faces": [
                        {
                            "box": list(f.box),
                            "score": f.score,
                            "keypoints": [list(f.landmarks.right_eye), list(f.landmarks.left_eye)],
                        }
                        for f in faces
                    ],
                }
                if i and i % 200 == 0:
                    print(f"  detected faces in {i}/{len(missing)} photos", flush=True)
        tmp = cache.with_suffix(".tmp")
        tmp.write_text(json.dumps(known))
        tmp.replace(cache)
    return known


def match_faces(
    labelled: list[dict], detections: list[dict], width: int, height: int, threshold: float = MATCH_IOU
) -> list[int | None]:
    """Index of the matching detection per labelled face (greedy by IoU, one detection per face), or None."""
    pairs = []
    for i, face in enumerate(labelled):
        box = clip_box(face["box"], width, height)
        for j, det in enumerate(detections):
            overlap = iou(box, tuple(det["box"]))
            if overlap >= threshold:
                pairs.append((overlap, i, j))
    result: list[int | None] = [None] * len(labelled)
    used = set()
    for _overlap, i, j in sorted(pairs, reverse=True):  # best overlap first
        if result[i] is None and j not in used:
            result[i] = j
            used.add(j)
    return result


def split_photos(root: Path, split: str, seed: int = 0, limit: int | None = None) -> tuple[list[str], dict[str, list[dict]]]:
    """The photos of one split (80/10/10 by photo, seeded; "all" for every photo) and each photo's labelled faces."""
    rows = read_expw_labels(Path(root) / "labels.csv")
    photos = sorted({r["path"] for r in rows})
    if split != "all":
        photos = [photos[i] for i in split_indices(len(photos), (0.8, 0.1, 0.1), seed)[split]]
    if limit is not None:
        photos = photos[:limit]
    by_photo: dict[str, list[dict]] = {}
    for r in rows:
        by_photo.setdefault(r["path"], []).append(r)
    return photos, by_photo


def load_expw(
    root: Path, split: str, seed: int = 0, limit: int | None = None, preprocess: PreprocessConfig | None = None
) -> FaceSet:
    """Matched faces of one split as prepared inputs; faces.info holds detection recall."""
    if preprocess is None:
        raise ValueError("ExpW faces are cut from photos: give the model's PreprocessConfig")
    root = Path(root)
    photos, by_photo = split_photos(root, split, seed, limit)
    detections = _detections(root, photos)
    inputs, labels, ids = [], [], []
    n_labelled = n_matched = 0
    for photo in photos:
        det = detections[photo]
        width, height = det["size"]
        matches = match_faces(by_photo[photo], det["faces"], width, height)
        n_labelled += len(matches)
        if not any(m is not None for m in matches):
            continue
        # The app cuts faces from the photo as decoded for detection: the same pixels here.
        decoded = decode_file(root / photo, DetectionSettings().max_side)
        for face, m in zip(by_photo[photo], matches):
            if m is None:
                continue
            d = det["faces"][m]
            box = tuple(v / decoded.scale for v in d["box"])
            right_eye, left_eye = (tuple(v / decoded.scale for v in point) for point in d["keypoints"][:2])
            inputs.append(face_input(decoded.rgb, preprocess, box=box, right_eye=right_eye, left_eye=left_eye))
            labels.append(face["label"])
            ids.append(f"{photo}#{face['face_id']}")
            n_matched += 1
    faces = FaceSet(
        stack_inputs(inputs, preprocess.size, preprocess.channels),
        one_hot(labels) if labels else np.zeros((0, 8), np.float32),
        ids=ids,
        prepared=True,
    )
    faces.info["photos"] = len(photos)
    faces.info["labelled faces"] = n_labelled
    faces.info["detection recall"] = f"{n_matched}/{n_labelled} = {n_matched / max(1, n_labelled):.4f} (IoU >= {MATCH_IOU})"
    faces.info["detection_recall"] = round(n_matched / max(1, n_labelled), 4)
    return faces
