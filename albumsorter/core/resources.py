"""Where the app finds its bundled files (models, icons), from a checkout or a PyInstaller bundle."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def app_root() -> Path:
    """The folder that holds `models/` and `resources/`."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen)
    return Path(__file__).resolve().parents[2]


def models_dir() -> Path:
    """`$ALBUMSORTER_MODELS` if set, else the bundled `models/`."""
    override = os.environ.get("ALBUMSORTER_MODELS")
    return Path(override) if override else app_root() / "models"


def detector_model_path() -> Path:
    return models_dir() / "face_detector" / "blaze_face_full_range.tflite"


def expression_model_card_path() -> Path:
    """The default expression model's card; its `file` names the .tflite beside it."""
    return models_dir() / "expression" / "model.json"


def resources_dir() -> Path:
    return app_root() / "resources"
