"""BlazeFace run directly with LiteRT (core/blazeface.py, core/faces.py): the model's input and output handled the
way MediaPipe's face detector handles them, checked against MediaPipe's own graph on real photos (issue #11: the
graph cost ~2.5 ms a call and threads of its own)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from albumsorter.core import blazeface
from albumsorter.core.decoding import decode_file
from albumsorter.core.detection import DetectionSettings, find_faces, tiles_could_only_add_bystanders
from albumsorter.core.faces import DetectorError, FaceDetector
from albumsorter.core.geometry import iou
from albumsorter.core.resources import detector_model_path, expression_model_card_path
from tests.conftest import SHARED_PHOTOS

pytestmark = pytest.mark.usefixtures("require_models")

SAMPLES = Path(__file__).resolve().parents[1] / "resources" / "samples"


def test_anchors_are_the_grids_of_mediapipes_two_face_detectors():
    full = blazeface.FULL_RANGE.anchors  # 48 x 48, 4 px apart, one a cell
    assert full.shape == (2304, 2) and blazeface.FULL_RANGE.count == 2304
    assert tuple(full[0]) == (2.0, 2.0) and tuple(full[1]) == (6.0, 2.0) and tuple(full[48]) == (2.0, 6.0)
    assert tuple(full[-1]) == (190.0, 190.0)
    short = blazeface.SHORT_RANGE.anchors  # 16 x 16 with 2 a cell, then 8 x 8 with 6 a cell
    assert short.shape == (896, 2) and tuple(short[0]) == tuple(short[1]) == (4.0, 4.0) and tuple(short[2]) == (12.0, 4.0)
    assert tuple(short[512]) == tuple(short[517]) == (8.0, 8.0) and tuple(short[-1]) == (120.0, 120.0)


def test_weighted_nms_merges_overlapping_detections_by_score():
    scores = np.array([0.6, 0.9, 0.8])
    boxes = np.array([[10, 10, 50, 50], [12, 12, 52, 52], [100, 100, 140, 140]], dtype=float)
    points = np.repeat(boxes[:, None, :2], 6, axis=1)
    merged = blazeface.weighted_nms(scores, boxes, points, 0.3)
    assert [m[0] for m in merged] == [0.9, 0.8]  # the best score of each group, best first
    expected = (0.9 * boxes[1] + 0.6 * boxes[0]) / 1.5
    assert np.allclose(merged[0][1], expected) and np.allclose(merged[0][2][0], expected[:2])
    assert np.allclose(merged[1][1], boxes[2])


def test_a_wide_photo_is_letterboxed_in_the_middle_and_mapped_back():
    photo = np.full((50, 100, 3), 255, dtype=np.uint8)
    model_input = np.zeros((192, 192, 3), dtype=np.float32)
    place = blazeface.letterbox(photo, model_input)
    assert (place.left, place.top) == (0, 48) and place.sx == place.sy == 1.92
    assert np.all(model_input[:47] == -1.0) and np.all(model_input[145:] == -1.0) and np.allclose(model_input[49:143, :190], 1.0)
    (face,) = blazeface.to_photo([(0.9, np.array([19.2, 57.6, 96.0, 134.4]), np.zeros((6, 2)))], place, 100, 50)
    assert np.allclose(face.box, (10.0, 5.0, 50.0, 45.0))


def photos() -> list[Path]:
    found = [SAMPLES / "group.jpg", SAMPLES / "astronaut.jpg"]
    if SHARED_PHOTOS.is_dir():
        found += sorted(p for p in SHARED_PHOTOS.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    return found


def import_mediapipe():
    """MediaPipe Tasks (a dependency kept for this comparison), without letting it import TensorFlow (seconds: it
    only decorates its docs with it when it is installed, as it is for training)."""
    import sys

    blocked = "tensorflow" not in sys.modules
    if blocked:
        sys.modules["tensorflow"] = None  # type: ignore[assignment]  # makes `import tensorflow` fail fast
    try:
        import mediapipe
        from mediapipe.tasks.python import vision
    finally:
        if blocked:
            del sys.modules["tensorflow"]
    return mediapipe, vision


def mediapipe_faces(rgb: np.ndarray) -> list[tuple[tuple[float, ...], float, tuple[float, float]]]:
    """(box, score, right eye) of every face MediaPipe's own face detector finds with the same model and options."""
    mp, vision = import_mediapipe()
    options = vision.FaceDetectorOptions(
        base_options=mp.tasks.BaseOptions(model_asset_buffer=detector_model_path().read_bytes()), min_detection_confidence=0.5
    )
    with vision.FaceDetector.create_from_options(options) as task:
        result = task.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb)))
    h, w = rgb.shape[:2]
    out = []
    for det in result.detections:
        bb = det.bounding_box  # clipped to the photo, as ours
        box = (max(0, bb.origin_x), max(0, bb.origin_y), min(w, bb.origin_x + bb.width), min(h, bb.origin_y + bb.height))
        out.append((box, det.categories[0].score, (det.keypoints[0].x * w, det.keypoints[0].y * h)))
    return out


def test_the_same_faces_as_mediapipe_on_real_photos():
    """Every face either finds clearly (score >= 0.6, >= 40 px: scores differ in the third decimal, which moves
    borderline ones across 0.5) is found by the other at the same place (MediaPipe rounds its boxes to whole
    pixels); ../shared/photos when present."""
    checked = 0
    with FaceDetector() as detector:
        for path in photos():
            rgb = decode_file(path, 1024).rgb
            ours = [(f.box, f.score, f.landmarks.right_eye) for f in detector.detect(rgb)]
            theirs = mediapipe_faces(rgb)
            for mine, other in ((ours, theirs), (theirs, ours)):
                for box, score, eye in mine:
                    if score < 0.6 or box[2] - box[0] < 40:
                        continue
                    match = max(other, key=lambda o: iou(o[0], box), default=None)
                    assert match is not None and iou(match[0], box) >= 0.75, f"{path.name}: {box} not found by the other"
                    width = box[2] - box[0]
                    assert abs(match[2][0] - eye[0]) < 0.1 * width and abs(match[2][1] - eye[1]) < 0.1 * width
                    checked += 1
    assert checked >= 4


def test_another_model_is_refused_with_a_clear_error():
    card = expression_model_card_path()
    not_a_detector = card.parent / __import__("json").loads(card.read_text())["file"]
    with pytest.raises(DetectorError, match="not a BlazeFace model with a 192 x 192 input"):
        FaceDetector(not_a_detector)


class CountingDetector:
    """The app's detector, counting its runs."""

    def __init__(self, detector: FaceDetector) -> None:
        self.detector, self.calls = detector, 0

    def detect(self, rgb):
        self.calls += 1
        return self.detector.detect(rgb)

    def detect_with_candidates(self, rgb, score):
        self.calls += 1
        return self.detector.detect_with_candidates(rgb, score)


APP = DetectionSettings()
EVERY_TILE = DetectionSettings(skip_tiles_behind_subjects=False, skip_tiles_without_hints=False)


def runs_and_faces(detector: FaceDetector, rgb: np.ndarray, settings: DetectionSettings = APP) -> tuple[int, list]:
    """(detector runs, faces) of `find_faces` on one photo."""
    counting = CountingDetector(detector)
    faces = find_faces(counting, rgb, settings)  # type: ignore[arg-type]
    return counting.calls, faces


def test_tiles_are_skipped_only_when_they_could_add_nothing_but_bystanders():
    """A portrait's face is tall enough that faces only tiles find would be bystanders: two runs (whole photo,
    padded) and the same faces as with every tile; a group photo's faces are small: its tiles run."""
    with FaceDetector() as detector:
        # The astronaut's head and shoulders, enlarged to 1024 px: the face is ~28 % of the photo's side.
        astronaut = decode_file(SAMPLES / "astronaut.jpg", 1024).rgb
        (face,) = find_faces(detector, astronaut, DetectionSettings())
        cx, cy = round((face.box[0] + face.box[2]) / 2), round((face.box[1] + face.box[3]) / 2)
        crop = astronaut[max(0, cy - 170) : cy + 210, max(0, cx - 190) : cx + 190]
        portrait = cv2.resize(crop, (1024, round(1024 * crop.shape[0] / crop.shape[1])), interpolation=cv2.INTER_CUBIC)
        faces = detector.detect(portrait)
        assert tiles_could_only_add_bystanders(faces, portrait.shape[1], portrait.shape[0], DetectionSettings())
        runs, skipped = runs_and_faces(detector, portrait)
        assert runs == 2 and len(skipped) == 1
        assert [f.box for f in runs_and_faces(detector, portrait, EVERY_TILE)[1]] == [f.box for f in skipped]

        runs, faces = runs_and_faces(detector, decode_file(SAMPLES / "group.jpg", 1024).rgb)
        assert runs > 2 and len(faces) >= 3


def test_weaker_candidates_come_from_the_same_run_and_leave_the_faces_as_they_were():
    group = decode_file(SAMPLES / "group.jpg", 1024).rgb
    with FaceDetector() as detector:
        faces, candidates = detector.detect_with_candidates(group, 0.1)
        assert [(f.box, f.score) for f in faces] == [(f.box, f.score) for f in detector.detect(group)]
        assert candidates and all(0.1 <= c.score < detector.min_confidence for c in candidates)
        assert detector.detect_with_candidates(group, None)[1] == []


def test_tiles_are_skipped_when_the_whole_photo_hints_at_no_more_faces():
    """The astronaut alone (one face, nothing else face-like, not tall enough to skip the tiles behind it): two
    runs, and every tile would have added nothing. The group sample's whole-photo pass finds two of its three
    people, with weak candidates beside them: the tiles run and find the third."""
    with FaceDetector() as detector:
        astronaut = decode_file(SAMPLES / "astronaut.jpg", 1024).rgb
        h, w = astronaut.shape[:2]
        assert DetectionSettings().tile_side(w, h) is not None
        assert not tiles_could_only_add_bystanders(detector.detect(astronaut), w, h, DetectionSettings())
        runs, alone = runs_and_faces(detector, astronaut)
        assert runs == 2 and len(alone) == 1
        assert [f.box for f in runs_and_faces(detector, astronaut, EVERY_TILE)[1]] == [f.box for f in alone]

        group = decode_file(SAMPLES / "group.jpg", 1024).rgb
        assert len(detector.detect(group)) == 2
        runs, faces = runs_and_faces(detector, group)
        assert runs > 2 and len(faces) == 3 == len(runs_and_faces(detector, group, EVERY_TILE)[1])
