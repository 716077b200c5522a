"""The expression scorer: thesis pre-processing (or the plain square crop) and the expression CNN.

Stores the 8 AffectNet-class probabilities and the most likely class as the label; the 6- and 3-class
groupings are derived from these, never stored.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from albumsorter.core.classes import CLASSES_8
from albumsorter.core.classify import ExpressionClassifier, ModelCard
from albumsorter.core.face import FaceResult, ScorerResult
from albumsorter.core.preprocess import PreprocessConfig, face_input
from albumsorter.core.scorers.base import ScorerSpec, ScoringContext

KIND = "expression"


def expression_result(model_id: str, probabilities: Sequence[float]) -> ScorerResult:
    """A result from 8 probabilities in CLASSES_8 order."""
    probs = [float(p) for p in probabilities]
    label = CLASSES_8[int(np.argmax(probs))]
    return ScorerResult(KIND, model_id, label, {"probabilities": {c: round(p, 6) for c, p in zip(CLASSES_8, probs)}})


class ExpressionScorer:
    kind = KIND

    def __init__(self, card: ModelCard, preprocess: PreprocessConfig) -> None:
        self.model_id = card.id
        self.preprocess = preprocess
        self.classifier = ExpressionClassifier(card, num_threads=1)

    def inputs(self, image: np.ndarray, faces: Sequence[FaceResult]) -> list[np.ndarray]:
        """The network's input per face (the pipeline times this as its pre-processing stage)."""
        return [face_input(image, self.preprocess, f.box, f.landmarks.right_eye, f.landmarks.left_eye) for f in faces]

    def classify(self, inputs: list[np.ndarray]) -> list[ScorerResult | None]:
        if not inputs:
            return []
        return [expression_result(self.model_id, p) for p in self.classifier.predict(np.stack(inputs))]

    def score(self, image: np.ndarray, faces: Sequence[FaceResult], context: ScoringContext) -> list[ScorerResult | None]:
        t = time.perf_counter()
        inputs = self.inputs(image, faces)
        t = _tick(context.seconds, "preprocess", t)
        results = self.classify(inputs)
        _tick(context.seconds, "classify", t)
        return results

    def close(self) -> None:
        pass


def _tick(seconds: dict[str, float], stage: str, since: float) -> float:
    now = time.perf_counter()
    seconds[stage] = seconds.get(stage, 0.0) + now - since
    return now


def expression_spec(card: ModelCard, preprocess: PreprocessConfig) -> ScorerSpec:
    return ScorerSpec(KIND, lambda: ExpressionScorer(card, preprocess), card.id)
