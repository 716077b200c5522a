"""The expression scorer: thesis pre-processing (or the plain square crop), the expression CNN, and the
real-photo head on top of it (core/expression_head.py) when one is installed for this CNN.

Stores the 8 AffectNet-class probabilities and the most likely class as the label; the 6- and 3-class
groupings are derived from these, never stored. With a head, `data` also keeps the CNN's own probabilities
(``cnn``; the geometric mean with the mirror image's when the head flips) and which head read the face
(``head``: its inputs, e.g. "cnn"). A head may read what the "quality" scorer measured with the Face
Landmarker (its smile score; its blendshapes where it stores them), so that scorer runs first; a face without
them (too small for the landmarker, say) gets the next head, down to the CNN-only one.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import numpy as np

from albumsorter.core.classes import CLASSES_8
from albumsorter.core.classify import ExpressionClassifier, ModelCard
from albumsorter.core.expression_head import ExpressionHead, active_head, cnn_features, quality_features
from albumsorter.core.face import FaceResult, ScorerResult
from albumsorter.core.preprocess import PreprocessConfig, face_input
from albumsorter.core.scorers.base import ScorerSpec, ScoringContext

KIND = "expression"
QUALITY_KIND = "quality"  # the scorer whose result carries what the Face Landmarker measured


def expression_result(model_id: str, probabilities: Sequence[float] | np.ndarray, extra: Mapping | None = None) -> ScorerResult:
    """A result from 8 probabilities in CLASSES_8 order (plus any extra data)."""
    probs = [float(p) for p in probabilities]
    label = CLASSES_8[int(np.argmax(probs))]
    data = {"probabilities": {c: round(p, 6) for c, p in zip(CLASSES_8, probs)}, **(extra or {})}
    return ScorerResult(KIND, model_id, label, data)


def landmarker_features(face: FaceResult) -> dict[str, float]:
    """What the quality scorer measured on a face that a head may read (its smile score, and its blendshapes
    where it stores them); empty when it has no result or found no face mesh."""
    quality = face.results.get(QUALITY_KIND)
    return quality_features(quality.data) if quality is not None else {}


def head_name(features: Sequence[str]) -> str:
    """Which inputs a head reads, e.g. "cnn+quality" (stored with each result, so one can tell faces apart)."""
    kinds = {"cnn": "cnn", "quality": "quality", "bs": "blendshapes"}
    return "+".join(dict.fromkeys(kinds.get(name.partition(":")[0], name) for name in features))


def expression_model_id(card: ModelCard, head: ExpressionHead | None) -> str:
    """The CNN's id, plus the head's when one is applied: a new head re-scores stored faces, never re-detects."""
    return card.id if head is None else f"{card.id}+{head.id}"


class ExpressionScorer:
    kind = KIND

    def __init__(self, card: ModelCard, preprocess: PreprocessConfig, head: ExpressionHead | None = None) -> None:
        self.head = head
        self.model_id = expression_model_id(card, head)
        self.preprocess = preprocess
        self.classifier = ExpressionClassifier(card, num_threads=1)

    def inputs(self, image: np.ndarray, faces: Sequence[FaceResult]) -> list[np.ndarray]:
        """The network's input per face (the pipeline times this as its pre-processing stage)."""
        return [face_input(image, self.preprocess, f.box, f.landmarks.right_eye, f.landmarks.left_eye) for f in faces]

    def cnn_log_probabilities(self, inputs: list[np.ndarray], flip: bool) -> np.ndarray:
        """(N, 8) log-probabilities of the CNN (CLASSES_8 order); with `flip`, averaged over each face and its
        mirror image (one batch of 2N)."""
        if not inputs:
            return np.zeros((0, len(CLASSES_8)))
        batch = np.stack(inputs)
        if flip:
            batch = np.concatenate([batch, batch[:, :, ::-1]])
        log_p = np.log(np.clip(self.classifier.predict(batch).astype(np.float64), 1e-6, 1.0))
        return (log_p[: len(inputs)] + log_p[len(inputs) :]) / 2 if flip else log_p

    def classify(self, inputs: list[np.ndarray], faces: Sequence[FaceResult] = ()) -> list[ScorerResult | None]:
        if not inputs:
            return []
        if self.head is None:
            return [expression_result(self.model_id, p) for p in self.classifier.predict(np.stack(inputs))]
        cnn = self.cnn_log_probabilities(inputs, self.head.flip)
        results: list[ScorerResult | None] = []
        for i, log_p in enumerate(cnn):
            features = cnn_features(log_p)
            if i < len(faces):
                features.update(landmarker_features(faces[i]))
            cnn_probs = np.exp(log_p) / np.exp(log_p).sum()
            extra = {"cnn": {c: round(float(p), 4) for c, p in zip(CLASSES_8, cnn_probs)}}
            out = self.head.probabilities(features)
            if out is None:  # no head for these features: the CNN's own reading
                results.append(expression_result(self.model_id, cnn_probs, {**extra, "head": None}))
                continue
            probs, used = out
            results.append(expression_result(self.model_id, probs, {**extra, "head": head_name(used.features)}))
        return results

    def score(self, image: np.ndarray, faces: Sequence[FaceResult], context: ScoringContext) -> list[ScorerResult | None]:
        t = time.perf_counter()
        inputs = self.inputs(image, faces)
        t = _tick(context.seconds, "preprocess", t)
        results = self.classify(inputs, faces)
        _tick(context.seconds, "classify", t)
        return results

    def close(self) -> None:
        pass


def _tick(seconds: dict[str, float], stage: str, since: float) -> float:
    now = time.perf_counter()
    seconds[stage] = seconds.get(stage, 0.0) + now - since
    return now


def expression_spec(card: ModelCard, preprocess: PreprocessConfig, head: ExpressionHead | None | bool = True) -> ScorerSpec:
    """The expression scorer of `card`. `head`: True = the active head for this CNN (the user's own, else the
    shipped one; core/expression_head.py), False/None = the CNN alone, or a given head."""
    chosen = active_head(card.id) if head is True else (head if isinstance(head, ExpressionHead) else None)
    return ScorerSpec(KIND, lambda: ExpressionScorer(card, preprocess, chosen), expression_model_id(card, chosen))
