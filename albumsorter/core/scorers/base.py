"""What runs on a face: the face-scorer protocol.

A face scorer looks at the faces of one decoded photo and adds one `ScorerResult` per face under its `kind`.
The pipeline runs every registered scorer in order (later ones see earlier ones' results on the faces), and
the catalog stores each result in `face_results` keyed by face and kind with the scorer's `model_id`: when a
scorer's model id changes, only that kind is recomputed for stored faces, never the detection.

Adding a scorer is a new module with a class following `FaceScorer` and one `ScorerSpec` line in
`albumsorter/core/scorers/__init__.py`; the pipeline loop does not change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from albumsorter.core.face import FaceResult, ScorerResult


@dataclass(frozen=True)
class ScoringContext:
    """The photo the faces come from. `image` (given to `score`) is its decoded copy: `scale` full-resolution
    pixels per decoded pixel; `width` x `height` is the full-resolution upright size."""

    scale: float
    width: int
    height: int
    # Seconds by stage; a scorer may add its own sub-stages here (the expression scorer splits pre-processing
    # from classification, as the thesis reports them); otherwise its whole time counts under its kind.
    seconds: dict[str, float] = field(default_factory=dict)


@runtime_checkable
class FaceScorer(Protocol):
    kind: str
    model_id: str

    def score(self, image: np.ndarray, faces: Sequence[FaceResult], context: ScoringContext) -> list[ScorerResult | None]:
        """One result per face (None: nothing to say about that face, e.g. too small), in `faces` order.
        `faces` are in `image`'s pixel coordinates; points stored in results are full-resolution pixels."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ScorerSpec:
    """How to make a scorer: `create` runs once per worker thread (models are not thread-safe) and may raise
    the scorer's model error, which stops a run before any work (a missing model is reported, not skipped)."""

    kind: str
    create: Callable[[], FaceScorer]
    model_id: str  # known without loading the model, so staleness can be checked up front
