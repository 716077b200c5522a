"""Where training keeps caches and runs, and where ../shared lives."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def cache_dir() -> Path:
    """Per-user cache for decoded data sets and eye positions; never inside the repository.

    `$ALBUMSORTER_TRAINING_CACHE` overrides ~/.cache/albumsorter-training.
    """
    override = os.environ.get("ALBUMSORTER_TRAINING_CACHE")
    path = Path(override) if override else Path.home() / ".cache" / "albumsorter-training"
    path.mkdir(parents=True, exist_ok=True)
    return path


def shared_dir() -> Path:
    """The read-only ../shared folder beside the repository (data and the thesis)."""
    return REPO_ROOT.parent / "shared"


def default_runs_dir() -> Path:
    """Run folders go to training/runs/ (git-ignored) unless --run-dir says otherwise."""
    return REPO_ROOT / "training" / "runs"
