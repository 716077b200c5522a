"""Regenerate resources/samples/ (the photos the self-test indexes) from scikit-image's public sample data.

The source photos come from the scikit-image wheel (BSD-3 package; the photos themselves are public domain
or CC0, see resources/samples/README.md). The wheel is only unpacked, never installed:

    pip download --no-deps --dest /tmp/skimage-wheel "scikit-image==0.26.0"
    python packaging/make_samples.py /tmp/skimage-wheel/scikit_image-0.26.0-*.whl

Writes astronaut.jpg (one smiling face), group.jpg (three faces pasted by this script onto a background it
draws) and coffee.heic (no face; proves the HEIC decoder is bundled), plus expected.json for the self-test.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

OUT = Path(__file__).resolve().parents[1] / "resources" / "samples"


def _load(wheel: zipfile.ZipFile, name: str) -> Image.Image:
    return Image.open(io.BytesIO(wheel.read(f"skimage/data/{name}"))).convert("RGB")


def _background(w: int, h: int) -> Image.Image:
    """A plain studio-like backdrop drawn here (no third-party pixels): vertical gradient plus soft blobs."""
    y = np.linspace(0.0, 1.0, h)[:, None, None]
    top, bottom = np.array([168, 186, 206]), np.array([92, 104, 122])
    arr = (top * (1 - y) + bottom * y).repeat(w, axis=1).astype(np.uint8)
    img = Image.fromarray(arr, "RGB")
    draw = ImageDraw.Draw(img)
    for cx, cy, r, c in ((160, 120, 90, (190, 200, 214)), (820, 90, 120, (180, 192, 210)), (520, 520, 160, (80, 90, 104))):
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=c)
    return img.filter(ImageFilter.GaussianBlur(24))


def _paste(canvas: Image.Image, part: Image.Image, scale: float, at: tuple[int, int], mirror: bool = False) -> None:
    part = part.resize((round(part.width * scale), round(part.height * scale)), Image.LANCZOS)
    if mirror:
        part = ImageOps.mirror(part)
    # feather the edges so the paste reads as a photo, not a pasted rectangle
    mask = Image.new("L", part.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((6, 6, part.width - 7, part.height - 7), radius=18, fill=255)
    canvas.paste(part, at, mask.filter(ImageFilter.GaussianBlur(5)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("wheel", type=Path, help="scikit-image wheel (any platform: only skimage/data/ is read)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    import pillow_heif

    pillow_heif.register_heif_opener()
    args.out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(args.wheel) as wheel:
        astronaut = _load(wheel, "astronaut.png")  # 512x512, NASA, public domain
        camera = _load(wheel, "camera.png")  # 512x512 grey, CC0 (Lav Varshney)
        coffee = _load(wheel, "coffee.png")  # 600x400, CC0 (Rachel Michetti)

    astronaut.save(args.out / "astronaut.jpg", quality=85, optimize=True, progressive=True)

    group = _background(960, 540)
    head_a = astronaut.crop((120, 0, 340, 300))  # Eileen Collins, head and shoulders
    head_c = camera.crop((100, 30, 360, 330))  # the cameraman, head and camera
    _paste(group, head_a, 1.0, (40, 200))
    _paste(group, head_c, 0.9, (370, 100))
    _paste(group, head_a, 0.8, (700, 260), mirror=True)
    group.save(args.out / "group.jpg", quality=85, optimize=True, progressive=True)

    coffee.resize((450, 300), Image.LANCZOS).save(args.out / "coffee.heic", quality=70)

    expected = {
        "astronaut.jpg": {"faces": 1, "smiling": 1, "source": "scikit-image astronaut.png (NASA, public domain)"},
        "group.jpg": {
            "faces": 3,
            "smiling": 2,
            "source": "composed by packaging/make_samples.py from astronaut.png and camera.png",
        },
        "coffee.heic": {"faces": 0, "source": "scikit-image coffee.png (CC0), re-encoded as HEIC"},
    }
    (args.out / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
    for p in sorted(args.out.iterdir()):
        print(f"{p.stat().st_size / 1024:7.1f} KB  {p.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
