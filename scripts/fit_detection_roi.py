#!/usr/bin/env python3
"""Where the Face Landmarker's short-range detector puts a face's box against the app's detection box (issue #11):
the medians become landmarker.DETECTION_TO_ROI, which lets faces of at least ROI_FROM_DETECTION_PX take their
region of interest straight from the detection.

    nice -n 10 .venv/bin/python scripts/fit_detection_roi.py [--shared ../shared] [--photos 300]

For every face the app finds (decode at 1024 px, `find_faces`) in the first N expw_dev photos, at least
ROI_FROM_DETECTION_PX wide: the short-range detector on the landmarker's crop, its box mapped back to the photo.
Prints the centre offset (dx, dy) in units of the detection box's long side and the ratio of the two boxes' sides,
median and interquartile range; then, with the shipped constants, how far the mesh with the region from the
detection lies from the one with the short-range detector's (landmarks in % of the box width, blink and smile
scores, head pose in degrees) and the time of each a face.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from albumsorter.core import landmarker as lm  # noqa: E402
from albumsorter.core.decoding import decode_file  # noqa: E402
from albumsorter.core.detection import DetectionSettings, find_faces  # noqa: E402
from albumsorter.core.face import FaceResult  # noqa: E402
from albumsorter.core.faces import FaceDetector  # noqa: E402
from albumsorter.core.scorers.quality import head_pose  # noqa: E402
from training.datasets.expw import read_expw_labels  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--photos", type=int, default=300)
    args = parser.parse_args()
    root = args.shared / "data" / "expw_dev"
    photos = sorted({row["path"] for row in read_expw_labels(root / "labels.csv")})[: args.photos]
    landmarker, detector = lm.FaceLandmarker(), FaceDetector()
    offsets = []
    agreement: dict[str, list[float]] = {
        k: [] for k in ("landmarks %", "eyeBlinkLeft", "eyeBlinkRight", "smile", "yaw", "pitch", "roll")
    }
    meshes = {"short-range": 0, "detection": 0}
    seconds = {"short-range": 0.0, "detection": 0.0}
    for name in photos:
        photo = decode_file(root / name, DetectionSettings().max_side)
        for face in find_faces(detector, photo.rgb, DetectionSettings()):
            box = face.box
            if box[2] - box[0] < lm.ROI_FROM_DETECTION_PX:
                continue
            crop, x0, y0, k = lm.face_crop(photo.rgb, box)
            best = landmarker.face_in_crop(crop)
            if best is None:
                continue
            compare(landmarker, photo.rgb, face, agreement, meshes, seconds)
            short = [v * k + o for v, o in zip(best.box, (x0, y0, x0, y0))]
            side = max(box[2] - box[0], box[3] - box[1])
            offsets.append(
                (
                    ((short[0] + short[2]) - (box[0] + box[2])) / 2 / side,
                    ((short[1] + short[3]) - (box[1] + box[3])) / 2 / side,
                    max(short[2] - short[0], short[3] - short[1]) / side,
                )
            )
    values = np.array(offsets)
    median = np.median(values, axis=0)
    spread = np.percentile(values, 75, axis=0) - np.percentile(values, 25, axis=0)
    print(f"{len(values)} faces of {len(photos)} expw_dev photos (at least {lm.ROI_FROM_DETECTION_PX:g} px wide)")
    print(
        f"DETECTION_TO_ROI = ({median[0]:.4f}, {median[1]:.4f}, {median[2]:.4f})  # dx, dy, ratio; IQR {np.round(spread, 4).tolist()}"
    )
    per_face = {k: round(1000 * v / len(values), 2) for k, v in seconds.items()}
    print(f"with the shipped DETECTION_TO_ROI {lm.DETECTION_TO_ROI}: meshes {meshes}, ms a face {per_face}")
    for name, diffs in agreement.items():
        print(
            f"  {name:14s} |from detection - short-range|: median {np.median(diffs):.3f}, "
            f"90th pct {np.percentile(diffs, 90):.3f}, max {np.max(diffs):.3f}"
        )
    return 0


def compare(
    landmarker: lm.FaceLandmarker, rgb: np.ndarray, face: FaceResult, agreement: dict, meshes: dict, seconds: dict
) -> None:
    """The mesh with the region from the short-range detector and from the detection (the shipped constants)."""
    t = time.perf_counter()
    short = landmarker.mesh(rgb, face.box)
    seconds["short-range"] += time.perf_counter() - t
    t = time.perf_counter()
    direct = landmarker.mesh(rgb, face.box, (face.landmarks.right_eye, face.landmarks.left_eye))
    seconds["detection"] += time.perf_counter() - t
    meshes["short-range"] += short is not None
    meshes["detection"] += direct is not None
    if short is None or direct is None:
        return
    width = face.box[2] - face.box[0]
    agreement["landmarks %"].append(100 * float(np.median(np.hypot(*(short.points[:, :2] - direct.points[:, :2]).T))) / width)
    for name in ("eyeBlinkLeft", "eyeBlinkRight"):
        agreement[name].append(abs(short.blendshapes[name] - direct.blendshapes[name]))
    smile = [(m.blendshapes["mouthSmileLeft"] + m.blendshapes["mouthSmileRight"]) / 2 for m in (short, direct)]
    agreement["smile"].append(abs(smile[0] - smile[1]))
    a, b = head_pose(short.matrix), head_pose(direct.matrix)
    for name in ("yaw", "pitch", "roll"):
        agreement[name].append(abs(a[name] - b[name]))


if __name__ == "__main__":
    sys.exit(main())
