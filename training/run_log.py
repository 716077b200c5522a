"""The progress log of a run folder (train.log), written by training and by evaluation."""

from __future__ import annotations

import time
from pathlib import Path


def log(run_dir: Path | None, message: str) -> None:
    """Print and append to the run's train.log (the progress a user watches)."""
    line = f"[{time.strftime('%H:%M:%S')}] {message}"
    print(line, flush=True)
    if run_dir is not None:
        with open(run_dir / "train.log", "a", encoding="utf-8") as f:
            f.write(line + "\n")
