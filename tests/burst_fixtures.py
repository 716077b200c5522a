"""Bursts made from real photos of ../shared/photos, for the grouping and keeper tests.

A burst is what a hand-held camera gives: the same scene a second apart, each frame a slightly moved window on
it, one frame blurred (missed focus or shake), one darker. Frames carry EXIF DateTimeOriginal and
SubSecTimeOriginal written by Pillow, as a camera writes them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from tests.conftest import SHARED_PHOTOS, require_shared

EXIF_IFD, DATETIME_ORIGINAL, SUBSEC_ORIGINAL = 0x8769, 0x9003, 0x9291
START = datetime(2023, 7, 14, 15, 30, 0)

# Well-separated scenes: a couple (two large faces), two people, a group, a single portrait.
BURST_PHOTO = "serengil__tests_unit_dataset_couple.jpg"
SECOND_BURST_PHOTO = "ageitgey__examples_two_people.jpg"
SCENE_A = "linzaer__imgs_3.jpg"
SCENE_B = "serengil__tests_unit_dataset_img2.jpg"
NO_EXIF_PHOTO = "serengil__tests_unit_dataset_img22.jpg"


@dataclass(frozen=True)
class Frame:
    path: Path
    kind: str  # "sharp", "shifted", "blurred", "darkened", "copy", ...
    taken_at: datetime | None


def exif_with_time(when: datetime) -> Image.Exif:
    exif = Image.Exif()
    ifd = exif.get_ifd(EXIF_IFD)
    ifd[DATETIME_ORIGINAL] = when.strftime("%Y:%m:%d %H:%M:%S")
    ifd[SUBSEC_ORIGINAL] = f"{when.microsecond // 10000:02d}"
    return exif


def save(image: Image.Image, path: Path, when: datetime | None, quality: int = 92) -> Path:
    if when is None:
        image.save(path, "JPEG", quality=quality)
    else:
        image.save(path, "JPEG", quality=quality, exif=exif_with_time(when))
    return path


def window(image: Image.Image, dx: float, dy: float, keep: float = 0.88) -> Image.Image:
    """The part of the scene a frame sees: `keep` of each side, its corner moved by (dx, dy) of the width/height."""
    w, h = image.size
    cw, ch = round(w * keep), round(h * keep)
    x0 = round((w - cw) / 2 + dx * w)
    y0 = round((h - ch) / 2 + dy * h)
    return image.crop((x0, y0, x0 + cw, y0 + ch))


def blur_radius(image: Image.Image) -> float:
    """A blur of about 2.5 pixels at the app's 1024-pixel decode, whatever the photo's size."""
    return 2.5 * max(image.size) / 1024


def darken(image: Image.Image, factor: float = 0.45) -> Image.Image:
    return Image.fromarray((np.asarray(image, dtype=np.float32) * factor).astype(np.uint8))


def make_burst(folder: Path, name: str = BURST_PHOTO, start: datetime = START, prefix: str = "burst") -> list[Frame]:
    """Four frames 1 s apart: sharp, shifted, blurred (and shifted), darkened (and shifted)."""
    require_shared(SHARED_PHOTOS)
    scene = Image.open(SHARED_PHOTOS / name).convert("RGB")
    specs = [
        ("sharp", window(scene, 0.0, 0.0)),
        ("shifted", window(scene, 0.05, 0.02)),
        ("blurred", window(scene, -0.04, 0.01).filter(ImageFilter.GaussianBlur(blur_radius(scene)))),
        ("darkened", darken(window(scene, 0.02, -0.04))),
    ]
    frames = []
    for i, (kind, image) in enumerate(specs):
        when = start + timedelta(seconds=i, milliseconds=250 * i)
        frames.append(Frame(save(image, folder / f"{prefix}_{i}_{kind}.jpg", when), kind, when))
    return frames


def make_two_scenes(folder: Path, start: datetime = START + timedelta(minutes=5)) -> list[Frame]:
    """Two different photos shot 2 s apart (the photographer turned round)."""
    require_shared(SHARED_PHOTOS)
    frames = []
    for i, name in enumerate((SCENE_A, SCENE_B)):
        when = start + timedelta(seconds=2 * i)
        image = Image.open(SHARED_PHOTOS / name).convert("RGB")
        frames.append(Frame(save(image, folder / f"scene_{i}.jpg", when), f"scene_{i}", when))
    return frames


def make_copies_without_exif(folder: Path) -> list[Frame]:
    """A photo and a messenger-style re-save of it (half size, strong JPEG compression), neither with EXIF."""
    require_shared(SHARED_PHOTOS)
    image = Image.open(SHARED_PHOTOS / NO_EXIF_PHOTO).convert("RGB")
    original = save(image, folder / "copy_original.jpg", None)
    resaved = image.resize((image.width // 2, image.height // 2), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    resaved.save(buffer, "JPEG", quality=45)
    (folder / "copy_resaved.jpg").write_bytes(buffer.getvalue())
    return [Frame(original, "copy", None), Frame(folder / "copy_resaved.jpg", "copy", None)]
