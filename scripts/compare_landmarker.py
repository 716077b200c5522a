"""The face landmarker run directly with LiteRT (the app's path) against MediaPipe Tasks' FaceLandmarker (the path
it replaced) on the same faces: landmark error, blink / smile score differences, pose angle differences, and time
per face of both on one CPU core.

    .venv/bin/python scripts/compare_landmarker.py [--shared ../shared] [--expw 300] [--repeats 3]

Faces: every face the app's detector finds in ../shared/photos, at least MIN_FACE_PX wide, plus the first N
hand-labelled faces of tests/data/eye_labels.csv (--expw, found as scripts/fit_eye_calibration.py finds them).
The MediaPipe path is the old one: a square crop of 1.6 x the box's long side, resized to 256 px, given to
MediaPipe's FaceLandmarker (its own face detector, then the mesh; the face nearest the crop's centre kept).
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from albumsorter.core.decoding import decode_file  # noqa: E402
from albumsorter.core.detection import DetectionSettings, find_faces  # noqa: E402
from albumsorter.core.face import Box, FaceResult  # noqa: E402
from albumsorter.core.faces import FaceDetector  # noqa: E402
from albumsorter.core.landmarker import (  # noqa: E402
    CROP_SIZE,
    FaceLandmarker,
    FaceMesh,
    face_crop,
    landmarker_model_path,
    read_verified_model,
)
from albumsorter.core.scorers.quality import MIN_FACE_PX, head_pose  # noqa: E402


class MediaPipeLandmarker:
    """The replaced path: MediaPipe Tasks' FaceLandmarker on a crop around the face (for comparison only)."""

    def __init__(self) -> None:
        sys.modules.setdefault("tensorflow", None)  # type: ignore[arg-type]  # MediaPipe need not import it
        import mediapipe as mp
        from mediapipe.tasks.python import vision

        self._mp = mp
        options = vision.FaceLandmarkerOptions(
            base_options=mp.tasks.BaseOptions(model_asset_buffer=read_verified_model(landmarker_model_path())),
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
            num_faces=2,
        )
        self._task = vision.FaceLandmarker.create_from_options(options)

    def mesh(self, image: np.ndarray, box: Box) -> FaceMesh | None:
        crop, x0, y0, k = face_crop(image, box)  # the same crop the old scorer gave MediaPipe
        result = self._task.detect(self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=crop))
        if not result.face_landmarks:
            return None
        centres = [np.mean([(p.x, p.y) for p in marks], axis=0) for marks in result.face_landmarks]
        best = int(np.argmin([np.sum((c - 0.5) ** 2) for c in centres]))
        n = CROP_SIZE
        points = np.array([(p.x * n * k + x0, p.y * n * k + y0, p.z * n * k) for p in result.face_landmarks[best]], np.float32)
        shapes = {c.category_name: float(c.score) for c in result.face_blendshapes[best]}
        matrix = np.asarray(result.facial_transformation_matrixes[best], dtype=np.float32).reshape(4, 4)
        return FaceMesh(points, shapes, matrix)

    def close(self) -> None:
        self._task.close()


def shared_faces(shared: Path, detector: FaceDetector, expw: int) -> list[tuple[str, np.ndarray, FaceResult]]:
    from scripts.fit_eye_calibration import LABELS, labelled_face

    out = []
    for path in sorted((shared / "photos").iterdir()):
        if path.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp"):
            rgb = decode_file(path, 1024).rgb
            out += [(path.name, rgb, f) for f in find_faces(detector, rgb, DetectionSettings()) if f.width >= MIN_FACE_PX]
    rows = [r for r in csv.DictReader(LABELS.open()) if r["label"] in ("open", "closed")][:expw]
    for row in rows:
        photo = decode_file(shared / row["file"], 1024)
        box = (*(float(row[k]) / photo.scale for k in ("left", "top", "right", "bottom")),)
        face = labelled_face(find_faces(detector, photo.rgb, DetectionSettings()), box)  # type: ignore[arg-type]
        if face.width >= MIN_FACE_PX:
            out.append((row["file"], photo.rgb, face))
    return out


def spread(label: str, values: list[float], unit: str = "") -> None:
    a = np.abs(np.array(values))
    print(f"  {label:34s} median {np.median(a):7.3f}{unit}  90 % {np.quantile(a, 0.9):7.3f}{unit}  max {a.max():7.3f}{unit}")


def timed_ms(fn, items, repeats: int) -> float:
    """Median over repeats of the mean ms a call (process CPU time: MediaPipe also computes in its own threads)."""
    means = []
    for _ in range(repeats):
        start = time.process_time()
        for item in items:
            fn(*item)
        means.append((time.process_time() - start) * 1000 / len(items))
    return statistics.median(means)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--expw", type=int, default=300, help="hand-labelled faces to add")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, inherited by MediaPipe's threads
    detector, new, old = FaceDetector(), FaceLandmarker(), MediaPipeLandmarker()
    faces = shared_faces(args.shared, detector, args.expw)
    point_err, blink, smile, yaw, pitch, roll, both, only_old, only_new = [], [], [], [], [], [], 0, 0, 0
    for _, rgb, face in faces:
        a = old.mesh(rgb, face.box)
        b = new.mesh(rgb, face.box)
        if a is None or b is None:
            only_old += b is None and a is not None
            only_new += a is None and b is not None
            continue
        both += 1
        point_err.append(float(np.linalg.norm(a.points[:, :2] - b.points[:, :2], axis=1).mean() / face.width * 100))
        blink += [a.blendshapes[k] - b.blendshapes[k] for k in ("eyeBlinkLeft", "eyeBlinkRight")]
        smile.append(sum(a.blendshapes[k] - b.blendshapes[k] for k in ("mouthSmileLeft", "mouthSmileRight")) / 2)
        pa, pb = head_pose(a.matrix), head_pose(b.matrix)
        yaw.append(pa["yaw"] - pb["yaw"])
        pitch.append(pa["pitch"] - pb["pitch"])
        roll.append(pa["roll"] - pb["roll"])
    print(f"{len(faces)} faces >= {MIN_FACE_PX} px: a mesh from both {both}, only MediaPipe {only_old}, only LiteRT {only_new}")
    print("MediaPipe Tasks vs LiteRT, |difference| per face:")
    spread("mean landmark distance", point_err, " % of box width")
    spread("eyeBlink score (per eye)", blink)
    spread("smile score", smile)
    spread("yaw", yaw, " deg")
    spread("pitch", pitch, " deg")
    spread("roll", roll, " deg")
    sample = [(rgb, face) for _, rgb, face in faces[:: max(1, len(faces) // 60)]]
    for _ in range(3):  # warm-up
        old.mesh(sample[0][0], sample[0][1].box)
        new.mesh(sample[0][0], sample[0][1].box)
    old_ms = timed_ms(lambda rgb, f: old.mesh(rgb, f.box), sample, args.repeats)
    new_ms = timed_ms(lambda rgb, f: new.mesh(rgb, f.box), sample, args.repeats)
    print(f"ms a face, one core, CPU time ({len(sample)} faces x {args.repeats}, median of the means):")
    print(f"  MediaPipe Tasks (crop + detector + mesh + blendshapes + geometry) {old_ms:6.2f}")
    print(f"  LiteRT (crop + detector + mesh + blendshapes + pose)             {new_ms:6.2f}")
    by_photo: dict[str, list[tuple[np.ndarray, FaceResult]]] = {}
    for name, rgb, face in faces:
        by_photo.setdefault(name, []).append((rgb, face))
    crowd = sorted(by_photo, key=lambda n: -len(by_photo[n]))[:2]
    print(f"the photos with most faces >= {MIN_FACE_PX} px, all their meshes, CPU ms a photo (median of {args.repeats}):")
    for name in crowd:
        items = by_photo[name]
        old_photo = timed_ms(lambda rgb, f: old.mesh(rgb, f.box), items, args.repeats) * len(items)
        new_photo = timed_ms(lambda rgb, f: new.mesh(rgb, f.box), items, args.repeats) * len(items)
        print(
            f"  {name}: {len(items)} faces, MediaPipe Tasks {old_photo:7.1f}, LiteRT {new_photo:7.1f}, gained {old_photo - new_photo:7.1f}"
        )
    print(f"80 faces at the per-face figures above: gained {80 * (old_ms - new_ms):.0f} ms")
    old.close()
    detector.close()


if __name__ == "__main__":
    main()
