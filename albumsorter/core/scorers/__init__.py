"""The face scorers the pipeline runs on every face, in order (see `base` for the protocol)."""

from __future__ import annotations

from albumsorter.core.classify import ModelCard
from albumsorter.core.preprocess import PreprocessConfig
from albumsorter.core.scorers.base import FaceScorer, ScorerSpec, ScoringContext
from albumsorter.core.scorers.expression import expression_spec
from albumsorter.core.scorers.quality import quality_spec

__all__ = ["FaceScorer", "ScorerSpec", "ScoringContext", "default_scorer_specs"]


def default_scorer_specs(card: ModelCard, preprocess: PreprocessConfig) -> list[ScorerSpec]:
    """Every scorer indexing runs, in the order they run (later ones may read earlier results)."""
    return [quality_spec(), expression_spec(card, preprocess)]
