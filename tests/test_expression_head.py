"""The real-photo head (issue #12): the shipped file, how the scorer applies it on real faces, which head file
wins, and the fitting code (numpy) the app fine-tunes with."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from albumsorter.core.analysis import load_scorer_specs, run_scorers
from albumsorter.core.classes import CLASSES_8
from albumsorter.core.classify import ModelCard
from albumsorter.core.decoding import decode_file
from albumsorter.core.detection import DetectionSettings, find_faces
from albumsorter.core.expression_head import (
    ExpressionHead,
    LinearHead,
    active_head,
    fit_linear_head,
    fit_temperature,
    personal_head_path,
    shipped_head_path,
)
from albumsorter.core.faces import FaceDetector
from albumsorter.core.resources import expression_model_card_path
from albumsorter.core.scorers.expression import ExpressionScorer, expression_spec
from albumsorter.core.scorers.quality import QualityScorer
from tests.conftest import SHARED_PHOTOS, require_shared

pytestmark = pytest.mark.usefixtures("require_models")


@pytest.fixture(scope="module")
def card() -> ModelCard:
    return ModelCard.load(expression_model_card_path())


@pytest.fixture(scope="module")
def shipped(card) -> ExpressionHead:
    if not shipped_head_path().is_file():
        pytest.skip(f"no shipped head at {shipped_head_path()} (python -m training.real_photo_head --install)")
    return ExpressionHead.load(shipped_head_path())


def smiling_faces():
    """The decoded 1080p Obama photo (he smiles) and its face, through the app's detection."""
    photo = decode_file(require_shared(SHARED_PHOTOS) / "ageitgey__examples_obama-1080p.jpg", DetectionSettings().max_side)
    with FaceDetector() as detector:
        faces = find_faces(detector, photo.rgb, DetectionSettings())
    assert len(faces) == 1
    return photo, faces


def test_the_shipped_head_fits_the_shipped_cnn(card, shipped):
    assert shipped.base_model_id == card.id
    assert all(f.startswith("cnn:") for f in shipped.heads[-1].features), "the last head needs only the CNN"
    assert all(h.temperature > 0 for h in shipped.heads)
    assert abs(sum(shipped.prior.values()) - 1.0) < 1e-6
    # The app's expression scorer uses it, under a model id of its own (a new head re-scores, never re-detects).
    _, specs = load_scorer_specs()
    spec = next(s for s in specs if s.kind == "expression")
    assert spec.model_id == f"{card.id}+{shipped.id}"


def test_a_smile_is_read_as_happy(card, shipped):
    photo, faces = smiling_faces()
    result = ExpressionScorer(card, card.preprocessing, shipped).score(photo.rgb, faces, _context(photo))[0]
    assert result is not None and result.model_id == f"{card.id}+{shipped.id}"
    probs = np.array([result.data["probabilities"][c] for c in CLASSES_8])
    assert probs.sum() == pytest.approx(1.0, abs=1e-4)
    assert result.label == "happy" == CLASSES_8[int(probs.argmax())]
    assert set(result.data["cnn"]) == set(CLASSES_8) and result.data["head"] == "cnn"


def test_a_head_can_read_what_the_quality_scorer_measured(card, shipped):
    """In the app's order ("quality" first) a head over the quality scorer's smile reads faces that have one;
    the CNN-only head reads the others."""
    photo, faces = smiling_faces()
    cnn_only = shipped.heads[-1]
    names = (*cnn_only.features, "quality:smile")
    weights = np.hstack([cnn_only.weights, np.zeros((len(cnn_only.classes), 1))])
    with_smile = LinearHead(
        names,
        cnn_only.classes,
        weights,
        cnn_only.bias,
        np.append(cnn_only.mean, 0.0),
        np.append(cnn_only.scale, 1.0),
        cnn_only.temperature,
    )
    head = replace(shipped, heads=(with_smile, cnn_only))
    quality, expression = QualityScorer(), ExpressionScorer(card, card.preprocessing, head)
    try:
        run_scorers([quality, expression], photo, faces, {})
        alone = expression.score(photo.rgb, [replace(faces[0], results={})], _context(photo))[0]
    finally:
        quality.close()
    assert faces[0].results["quality"].data["smile"] is not None
    assert faces[0].results["expression"].data["head"] == "cnn+quality"
    assert alone is not None and alone.data["head"] == "cnn"
    # A zero weight on the smile: both heads agree.
    assert faces[0].results["expression"].data["probabilities"] == pytest.approx(alone.data["probabilities"], abs=1e-6)


def test_flip_averages_the_face_and_its_mirror_image(card):
    photo, faces = smiling_faces()
    scorer = ExpressionScorer(card, card.preprocessing)
    (face_input,) = scorer.inputs(photo.rgb, faces)
    both = scorer.cnn_log_probabilities([face_input, face_input[:, ::-1]], flip=False)
    averaged = scorer.cnn_log_probabilities([face_input], flip=True)
    np.testing.assert_allclose(averaged[0], both.mean(axis=0), atol=1e-5)


def test_the_users_own_head_wins_only_for_its_cnn(card):
    def active_id():
        head = active_head(card.id)
        return head.id if head else None

    without = active_id()  # the shipped head (None where none is installed)
    personal = replace(_toy_head(card.id), name="personal")
    personal.save(personal_head_path())  # the user data dir: a temporary one in tests (conftest)
    assert active_id() == personal.id
    assert expression_spec(card, card.preprocessing).model_id == f"{card.id}+{personal.id}"
    replace(personal, base_model_id="another-cnn").save(personal_head_path())
    assert active_id() == without, "a personal head made for another CNN must not be applied"
    personal_head_path().write_text("{ not json")
    assert active_id() == without, "a damaged personal head is skipped"


def test_a_prior_equal_to_the_training_prior_changes_nothing(card):
    head = _toy_head(card.id)
    row = {f"cnn:{c}": float(np.log(p)) for c, p in zip(CLASSES_8, np.full(8, 1 / 8))}
    p_plain = head.probabilities(row)[0]
    same = replace(head, prior={"happy": 0.5, "sad": 0.5}, train_prior={"happy": 0.5, "sad": 0.5})
    np.testing.assert_allclose(same.probabilities(row)[0], p_plain, atol=1e-9)
    shifted = replace(head, prior={"happy": 0.9, "sad": 0.1})
    assert shifted.probabilities(row)[0][CLASSES_8.index("happy")] > p_plain[CLASSES_8.index("happy")]


def test_head_files_round_trip(card, tmp_path):
    head = _toy_head(card.id)
    head.save(tmp_path / "head.json")
    again = ExpressionHead.load(tmp_path / "head.json")
    assert again.id == head.id and json.loads((tmp_path / "head.json").read_text())["format"].startswith(
        "albumsorter-expression-head"
    )


def test_fitting_recovers_a_known_logistic_model_and_its_temperature():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 3))
    true_w = np.array([[2.0, -1.0, 0.5], [-1.0, 2.0, 0.0], [0.0, 0.0, -2.0]])
    z = x @ true_w.T
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    y = np.array([rng.choice(3, p=row) for row in p])
    head = fit_linear_head(x, y, ("anger", "happy", "sad"), ("a", "b", "c"), l2=1e-5)
    raw = head.weights / head.scale  # per raw feature
    # Weights are identified up to a constant per feature across classes: compare differences to the first class.
    np.testing.assert_allclose(raw - raw[:1], true_w - true_w[:1], atol=0.25)
    assert fit_temperature(3.0 * z, y) == pytest.approx(3.0, rel=0.1)


def test_fine_tuning_stays_near_its_start_with_little_data():
    rng = np.random.default_rng(1)
    start = LinearHead(("a", "b"), ("happy", "sad"), np.array([[1.0, 0.0], [-1.0, 0.0]]), np.zeros(2), np.zeros(2), np.ones(2))
    x = rng.normal(size=(6, 2))
    y = rng.integers(0, 2, size=6)
    tuned = fit_linear_head(x, y, ("happy", "neutral", "sad"), ("a", "b"), l2=1.0, start=start)
    assert tuned.classes == ("happy", "neutral", "sad")
    np.testing.assert_allclose(tuned.weights[[0, 2]], start.weights, atol=0.3)


def _toy_head(base_model_id: str) -> ExpressionHead:
    names = tuple(f"cnn:{c}" for c in CLASSES_8)
    weights = np.eye(8)[[CLASSES_8.index("happy"), CLASSES_8.index("sad")]]
    head = LinearHead(names, ("happy", "sad"), weights, np.zeros(2), np.zeros(8), np.ones(8), 1.0)
    return ExpressionHead(base_model_id, (head,))


def _context(photo):
    from albumsorter.core.scorers.base import ScoringContext

    return ScoringContext(photo.scale, photo.width, photo.height)
