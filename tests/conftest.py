"""Shared fixtures. Data from ../shared is read in place (never copied into the repo); tests that need it
skip with a reason where it is absent, as on a user's fresh clone."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_PHOTOS = SHARED / "photos"
FERPLUS = SHARED / "data" / "ferplus"
EXPW = SHARED / "data" / "expw_dev"

# Photos of ../shared/photos used across tests: a couple, a group, a single smiling face, a crowd.
SAMPLE_PHOTOS = (
    "ageitgey__examples_obama-1080p.jpg",
    "ageitgey__examples_two_people.jpg",
    "serengil__tests_unit_dataset_couple.jpg",
    "serengil__tests_unit_dataset_selfie-many-people.jpg",
    "linzaer__imgs_3.jpg",
    "serengil__tests_unit_dataset_img2.jpg",
)


def exif_stored_as():
    """EXIF orientation -> the transpose that stores an upright image so that the orientation undoes it."""
    from PIL import Image

    t = Image.Transpose
    return {
        1: None,
        2: t.FLIP_LEFT_RIGHT,
        3: t.ROTATE_180,
        4: t.FLIP_TOP_BOTTOM,
        5: t.TRANSPOSE,
        6: t.ROTATE_90,
        7: t.TRANSVERSE,
        8: t.ROTATE_270,
    }


def require_shared(path: Path = SHARED) -> Path:
    if not path.exists():
        pytest.skip(f"needs {path} (the project's shared data), which is absent here")
    return path


def models_available() -> tuple[bool, str]:
    from albumsorter.core.resources import detector_model_path, expression_model_card_path

    for path in (detector_model_path(), expression_model_card_path()):
        if not path.exists():
            return False, f"model file missing: {path}"
    return True, ""


@pytest.fixture
def require_models() -> None:
    ok, why = models_available()
    if not ok:
        pytest.skip(why)


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path_factory, monkeypatch) -> None:
    """Never touch the real user's recent-folders state or data directory."""
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("ALBUMSORTER_STATE", str(state / "state.json"))
    monkeypatch.setenv("XDG_DATA_HOME", str(state / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(state / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(state / "cache"))


@pytest.fixture
def photo_folder(tmp_path) -> Path:
    """A small folder of real photos copied from ../shared/photos."""
    require_shared(SHARED_PHOTOS)
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in SAMPLE_PHOTOS:
        shutil.copy2(SHARED_PHOTOS / name, folder / name)
    return folder
