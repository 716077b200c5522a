"""The keeper score and the rank in a group (core/keeper.py): the formula's behaviour, and real bursts made
from ../shared/photos analysed by the real detector, quality scorer and photo scores."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from albumsorter.core import keeper
from albumsorter.core.decoding import decode_file
from albumsorter.core.detection import DetectionSettings, find_faces
from albumsorter.core.faces import FaceDetector
from albumsorter.core.grouping import capture_time
from albumsorter.core.keeper import (
    FaceQuality,
    PhotoQuality,
    everyone_eyes_open,
    is_sharp,
    keeper_parts,
    keeper_score,
    rank_in_group,
    someone_eyes_closed,
)
from albumsorter.core.landmarker import landmarker_model_path
from albumsorter.core.photo_quality import exposure, photo_sharpness
from albumsorter.core.scorers.base import ScoringContext
from albumsorter.core.scorers.quality import QualityScorer
from tests.burst_fixtures import BURST_PHOTO, SECOND_BURST_PHOTO, make_burst

# --- the formula ---------------------------------------------------------------------------------------------


def good_face(width: float = 100.0, **changes) -> FaceQuality:
    values = {"eyes_open": 0.95, "smile": 0.8, "sharpness": 0.9, "cut_off": False} | changes
    return FaceQuality(width, **values)


def test_weights_sum_to_one_and_are_documented():
    assert sum(keeper.WEIGHTS.values()) == pytest.approx(1.0)
    for weight in keeper.WEIGHTS.values():
        assert f"{weight:.2f} x" in keeper.__doc__
    assert keeper.describe_weights().startswith("eyes open 30 %")


def test_perfect_and_hopeless_photos_span_the_scale():
    perfect = [FaceQuality(100, 1.0, 1.0, 1.0, False)] * 3
    hopeless = [FaceQuality(100, 0.0, 0.0, 0.0, True)] * 3
    assert keeper_score(perfect, 1.0, 1.0) == 1.0
    assert keeper_score(hopeless, 0.0, 0.0) == 0.0


def test_one_blinking_face_costs_more_than_its_share_of_the_average():
    group = [good_face() for _ in range(4)]
    one_blinks = group[:3] + [good_face(eyes_open=0.05)]
    drop = keeper_score(group, 0.9, 1.0) - keeper_score(one_blinks, 0.9, 1.0)
    average_only = keeper.WEIGHTS["eyes_open"] * (0.95 - 0.05) / 4
    assert drop > 1.5 * average_only


def test_background_faces_do_not_decide_the_frame():
    couple = [good_face(200), good_face(190)]
    with_stranger = couple + [good_face(40, eyes_open=0.02, smile=0.0, sharpness=0.1, cut_off=True)]
    assert keeper_score(with_stranger, 0.9, 1.0) == keeper_score(couple, 0.9, 1.0)


def test_parts_that_cannot_be_judged_are_left_out():
    parts = keeper_parts([], 0.8, 0.6)
    assert parts["eyes_open"] is None and parts["smiling"] is None
    assert keeper_score([], 0.8, 0.6) == pytest.approx(0.7)  # sharpness and exposure alone, equally weighted
    unreadable_eyes = [good_face(eyes_open=None)]
    assert keeper_parts(unreadable_eyes, 0.9, 1.0)["eyes_open"] is None
    assert 0.0 < keeper_score(unreadable_eyes, 0.9, 1.0) <= 1.0


def test_ranks_are_deterministic_and_ties_go_to_the_sharper_then_earlier_photo():
    faces = (good_face(),)
    photos = [
        PhotoQuality("c", faces, 0.9, 1.0, taken_at=12.0),
        PhotoQuality("a", faces, 0.9, 1.0, taken_at=10.0),
        PhotoQuality("b", faces, 0.9, 1.0, taken_at=10.0),
        PhotoQuality("d", (good_face(eyes_open=0.1),), 0.9, 1.0, taken_at=9.0),
    ]
    expected = {"a": 1, "b": 2, "c": 3, "d": 4}
    for order in itertools.permutations(photos):
        assert rank_in_group(order) == expected


def test_filters_look_at_the_main_faces():
    couple = [good_face(200), good_face(190)]
    assert everyone_eyes_open(couple) and not someone_eyes_closed(couple) and is_sharp(couple, 0.9)
    blinking = [good_face(200), good_face(190, eyes_open=0.1)]
    assert not everyone_eyes_open(blinking) and someone_eyes_closed(blinking)
    stranger = couple + [good_face(30, eyes_open=0.1, sharpness=0.1)]
    assert everyone_eyes_open(stranger) and is_sharp(stranger, 0.9)
    assert not everyone_eyes_open([good_face(eyes_open=None)])  # nothing readable is not "eyes open"
    assert not is_sharp([good_face(sharpness=0.2)], 0.9) and is_sharp([], 0.9) and not is_sharp([], 0.2)


# --- real bursts ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def analyser():
    if not landmarker_model_path().exists():
        pytest.skip(f"model file missing: {landmarker_model_path()}")
    detector, scorer = FaceDetector(), QualityScorer()

    def analyse(path: Path) -> PhotoQuality:
        data = path.read_bytes()
        decoded = decode_file(path, 1024)
        faces = find_faces(detector, decoded.rgb, DetectionSettings())
        results = scorer.score(decoded.rgb, faces, ScoringContext(decoded.scale, decoded.width, decoded.height))
        qualities = tuple(FaceQuality.from_data(f.width, r.data) for f, r in zip(faces, results) if r is not None)
        return PhotoQuality(path.name, qualities, photo_sharpness(decoded.rgb), exposure(decoded.rgb), capture_time(data))

    yield analyse
    scorer.close()
    detector.close()


@pytest.mark.shared
@pytest.mark.parametrize("scene", [BURST_PHOTO, SECOND_BURST_PHOTO])
def test_the_keeper_is_never_the_blurred_frame(analyser, tmp_path, scene):
    frames = make_burst(tmp_path, scene)
    photos = {frame.kind: analyser(frame.path) for frame in frames}
    assert all(len(p.faces) >= 2 for p in photos.values()), "the burst's people are found in every frame"
    ranks = rank_in_group(list(photos.values()))
    scores = {kind: keeper_score(p.faces, p.sharpness, p.exposure) for kind, p in photos.items()}
    print(scene, {kind: (scores[kind], ranks[p.photo_id]) for kind, p in photos.items()})
    assert ranks[photos["blurred"].photo_id] != 1
    assert scores["blurred"] < scores["sharp"] and scores["blurred"] < scores["shifted"]
    assert photos["blurred"].sharpness < photos["sharp"].sharpness
    assert keeper_parts(photos["blurred"].faces, 0, 0)["faces_sharp"] < keeper_parts(photos["sharp"].faces, 0, 0)["faces_sharp"]
    assert photos["darkened"].exposure < photos["sharp"].exposure
