"""The identity face scorer (kind "identity"): one 128-d embedding per face big enough to recognise.

It follows the face-scorer contract (`score(image, faces, context)`), but it is meant for the separate people
pass after indexing, not for indexing itself: it costs ~60-150 ms a face and holds the GIL (see
`people.background`, which decodes each photo at the size its faces need and runs this in worker processes).

A result's `data` is JSON: {"vector": base64 of 128 little-endian float32, "face_px": width embedded at};
a face too small to recognise gets label "too_small" and no vector, so it is not retried until the model
id changes.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import numpy as np

from albumsorter.core.face import FaceResult, ScorerResult
from albumsorter.core.people.embedding import DIMENSIONS, MIN_FACE_PX, MODEL_ID, FaceEmbedder
from albumsorter.core.scorers.base import ScorerSpec, ScoringContext

KIND = "identity"
LABEL_TOO_SMALL = "too_small"


def encode_vector(vector: np.ndarray) -> str:
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")


def decode_vector(text: str) -> np.ndarray:
    vector = np.frombuffer(base64.b64decode(text), dtype="<f4")
    if vector.shape != (DIMENSIONS,):
        raise ValueError(f"a face vector has {vector.size} values, expected {DIMENSIONS}")
    return vector.astype(np.float32)


def vector_of(result: ScorerResult | None) -> np.ndarray | None:
    """The embedding an identity result carries, or None (too small, another kind, no result)."""
    if result is None or result.kind != KIND or "vector" not in result.data:
        return None
    return decode_vector(result.data["vector"])


class IdentityScorer:
    """Face scorer of kind "identity". One instance per worker (process, ideally)."""

    kind = KIND
    model_id = MODEL_ID

    def __init__(self, embedder: FaceEmbedder | None = None, min_face_px: int = MIN_FACE_PX) -> None:
        self._embedder = embedder or FaceEmbedder()
        self.min_face_px = min_face_px

    def score(
        self, image: np.ndarray, faces: Sequence[FaceResult], context: ScoringContext | None = None
    ) -> list[ScorerResult | None]:
        """`faces` in `image` pixels; the face size that counts is the one in `image` (decode larger for more).

        A face too small gets a "too_small" result rather than None, so that the people pass, which computes
        what is missing, does not decode its photo again on every run."""
        sizes = [min(face.width, face.height) for face in faces]
        wanted = [i for i, size in enumerate(sizes) if size >= self.min_face_px]
        vectors = self._embedder.embed(image, [faces[i].box for i in wanted])
        results: list[ScorerResult | None] = [
            ScorerResult(KIND, MODEL_ID, LABEL_TOO_SMALL, {"face_px": int(round(size))}) for size in sizes
        ]
        for i, vector in zip(wanted, vectors):
            results[i] = ScorerResult(KIND, MODEL_ID, None, {"vector": encode_vector(vector), "face_px": int(round(sizes[i]))})
        return results

    def close(self) -> None:
        pass  # dlib frees its models with the object


def identity_spec() -> ScorerSpec:
    """The identity scorer as a spec. Not for `default_scorer_specs`: it belongs in the people pass."""
    return ScorerSpec(KIND, IdentityScorer, MODEL_ID)
