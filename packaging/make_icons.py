"""Draw the AlbumSorter icon (project-made, no third-party artwork) into resources/icons/.

    python packaging/make_icons.py

Writes albumsorter.png (512 px, Linux .desktop and window icon), albumsorter.ico (Windows, 16-256 px)
and albumsorter.icns (macOS). Re-run after changing the drawing; the outputs are committed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

OUT = Path(__file__).resolve().parents[1] / "resources" / "icons"
S = 1024  # drawn at 1024 px, scaled down


def draw() -> Image.Image:
    img = Image.new("RGBA", (S, S), (0, 0, 0, 0))
    # background: rounded square, vertical teal -> indigo gradient
    grad = Image.new("RGBA", (S, S))
    gd = ImageDraw.Draw(grad)
    for y in range(S):
        t = y / (S - 1)
        gd.line([(0, y), (S, y)], fill=(int(32 + 40 * t), int(170 - 90 * t), int(180 + 30 * t), 255))
    mask = Image.new("L", (S, S), 0)
    ImageDraw.Draw(mask).rounded_rectangle((64, 64, S - 64, S - 64), radius=200, fill=255)
    img.paste(grad, (0, 0), mask)
    d = ImageDraw.Draw(img)
    # two photo cards behind each other, the front one tilted by drawing it as a polygon
    shadow = Image.new("RGBA", (S, S), (0, 0, 0, 0))
    ImageDraw.Draw(shadow).rounded_rectangle((250, 270, 800, 800), radius=40, fill=(0, 0, 0, 90))
    img.alpha_composite(shadow.filter(ImageFilter.GaussianBlur(18)))
    d.rounded_rectangle((300, 200, 820, 690), radius=36, fill=(225, 236, 244, 255))
    d.rounded_rectangle((210, 300, 760, 820), radius=36, fill=(255, 255, 255, 255))
    d.rounded_rectangle((250, 340, 720, 720), radius=20, fill=(255, 214, 64, 255))
    # the smiling face on the front card
    cx, cy, r = 485, 530, 150
    d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(255, 244, 214, 255), outline=(60, 50, 40, 255), width=14)
    for ex in (cx - 55, cx + 55):
        d.ellipse((ex - 16, cy - 60, ex + 16, cy - 20), fill=(60, 50, 40, 255))
    d.arc((cx - 90, cy - 70, cx + 90, cy + 95), start=25, end=155, fill=(60, 50, 40, 255), width=16)
    # a check mark badge: "worth keeping"
    bx, by, br = 760, 760, 120
    d.ellipse((bx - br, by - br, bx + br, by + br), fill=(46, 184, 92, 255), outline=(255, 255, 255, 255), width=16)
    d.line([(bx - 60, by + 5), (bx - 15, by + 50), (bx + 65, by - 45)], fill=(255, 255, 255, 255), width=30, joint="curve")
    return img


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    big = draw()
    big.resize((512, 512), Image.LANCZOS).save(OUT / "albumsorter.png", optimize=True)
    big.save(OUT / "albumsorter.ico", sizes=[(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)])
    big.resize((512, 512), Image.LANCZOS).save(OUT / "albumsorter.icns")
    for p in sorted(OUT.iterdir()):
        print(f"{p.stat().st_size / 1024:7.1f} KB  {p.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
