"""A small album with bursts made from the public-domain samples in resources/samples (nothing from ../shared), for
the window's best-shot tests and the README's screenshots.

The burst is `group.jpg` (three faces) shot five times a second apart, as a hand-held camera would: a sharp frame,
a shifted one, one where the largest face blinks (its eyelids painted over where the Face Landmarker found its
eyes), a blurred one and a darker one. Beside it: the astronaut portrait and a messenger-style re-save of it (a
near-duplicate pair without capture times) and a photo without faces, alone.
"""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from albumsorter.core.resources import resources_dir
from tests.burst_fixtures import START, Frame, darken, save, window

SAMPLES = resources_dir() / "samples"


def eye_centres(path: Path) -> list[tuple[tuple[float, float], tuple[float, float], float]]:
    """(right eye, left eye, face width) in `path`'s pixels for each face whose eyes the quality scorer found,
    largest face first: the real detector and Face Landmarker on the real photo."""
    from albumsorter.core.analysis import Analyzer, load_scorer_specs
    from albumsorter.core.detection import DetectionSettings
    from albumsorter.core.scanning import FileEntry

    stat = path.stat()
    analyzer = Analyzer(load_scorer_specs()[1], DetectionSettings())
    try:
        found = analyzer.analyse(FileEntry(path, stat.st_size, stat.st_mtime_ns))
    finally:
        analyzer.close()
    out = []
    for face in found.faces:
        quality = face.results.get("quality")
        marks = quality.data.get("landmarks") if quality is not None else None
        if marks:
            out.append((tuple(marks["right_eye"]), tuple(marks["left_eye"]), face.box[2] - face.box[0]))
    return sorted(out, key=lambda e: -e[2])


def close_eyes(image: Image.Image, eyes: tuple[tuple[float, float], tuple[float, float], float]) -> Image.Image:
    """The face blinks: each eye covered by the skin just below it, with a dark line for the closed lids."""
    out = image.copy()
    draw = ImageDraw.Draw(out)
    pixels = np.asarray(image)
    *centres, width = eyes
    for x, y in centres:
        rx, ry = width * 0.11, width * 0.06
        sx, sy = int(x), int(y + width * 0.16)  # the cheek under the eye
        skin = tuple(int(v) for v in pixels[sy - 2 : sy + 3, sx - 2 : sx + 3].reshape(-1, 3).mean(axis=0))
        draw.ellipse((x - rx, y - ry, x + rx, y + ry), fill=skin)
        draw.arc((x - rx, y - ry * 1.2, x + rx, y + ry * 0.9), 20, 160, fill=(45, 30, 30), width=max(1, round(width * 0.02)))
    return out.filter(ImageFilter.GaussianBlur(0.6))  # the painted edges no sharper than the photo


def make_sample_burst(folder: Path, prefix: str = "burst") -> list[Frame]:
    """Five frames of group.jpg 1 s apart: sharp, shifted, blink, blurred, darkened (in that order)."""
    scene = Image.open(SAMPLES / "group.jpg").convert("RGB")
    sharp = window(scene, 0.0, 0.0)
    sharp_path = save(sharp, folder / f"{prefix}_0_sharp.jpg", START)
    blink = window(scene, 0.02, 0.0)
    blink_probe = save(blink, folder / f"{prefix}_probe.jpg", None)
    eyes = eye_centres(blink_probe)
    blink_probe.unlink()
    if eyes:
        blink = close_eyes(blink, eyes[0])
    specs = [
        ("shifted", window(scene, 0.04, 0.02)),
        ("blink", blink),
        ("blurred", window(scene, -0.03, 0.01).filter(ImageFilter.GaussianBlur(2.5))),
        ("darkened", darken(window(scene, 0.02, -0.03))),
    ]
    frames = [Frame(sharp_path, "sharp", START)]
    for i, (kind, image) in enumerate(specs, start=1):
        when = START + timedelta(seconds=i)
        frames.append(Frame(save(image, folder / f"{prefix}_{i}_{kind}.jpg", when), kind, when))
    return frames


def make_sample_album(folder: Path) -> dict[str, list[Frame]]:
    """The burst, the astronaut with a re-saved copy (no EXIF), and a photo without faces."""
    folder.mkdir(parents=True, exist_ok=True)
    portrait = Image.open(SAMPLES / "astronaut.jpg").convert("RGB")
    original = save(portrait, folder / "astronaut.jpg", None)
    buffer = io.BytesIO()
    portrait.resize((portrait.width * 3 // 4, portrait.height * 3 // 4), Image.Resampling.BILINEAR).save(
        buffer, "JPEG", quality=50
    )
    (folder / "astronaut_resaved.jpg").write_bytes(buffer.getvalue())
    coffee = folder / "coffee.heic"
    coffee.write_bytes((SAMPLES / "coffee.heic").read_bytes())
    return {
        "burst": make_sample_burst(folder),
        "copies": [Frame(original, "copy", None), Frame(folder / "astronaut_resaved.jpg", "copy", None)],
        "alone": [Frame(coffee, "alone", None)],
    }


def index_album(folder: Path, catalog_path: Path):
    """Index `folder` with the real pipeline (detection, quality and expression scorers, photo measures, groups)."""
    from albumsorter.core.catalog import Catalog
    from albumsorter.core.pipeline import Indexer, IndexOptions

    with Catalog(catalog_path) as catalog:
        return Indexer(catalog, IndexOptions(workers=1)).run(folder)
