"""Reading photos: formats by content, EXIF orientation, HEIC, broken files, draft decoding."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from albumsorter.core.decoding import PhotoError, decode, decode_file, sniff
from tests.conftest import SHARED_PHOTOS, exif_stored_as, require_shared

_STORED_AS = exif_stored_as()


def gradient_photo(w=320, h=200) -> Image.Image:
    x = np.linspace(0, 255, w, dtype=np.uint8)[None, :].repeat(h, 0)
    y = np.linspace(0, 255, h, dtype=np.uint8)[:, None].repeat(w, 1)
    return Image.fromarray(np.dstack([x, y, 255 - x]))


def jpeg_bytes(image: Image.Image, orientation: int = 1, **kw) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x0132] = "2024:07:14 18:30:05"
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=95, exif=exif.tobytes(), **kw)
    return buf.getvalue()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_decodes_upright(orientation):
    upright = gradient_photo()
    stored = upright if _STORED_AS[orientation] is None else upright.transpose(_STORED_AS[orientation])
    photo = decode(jpeg_bytes(stored, orientation), max_side=None)
    assert (photo.width, photo.height) == upright.size
    assert photo.rgb.shape == (upright.height, upright.width, 3)
    assert np.abs(photo.rgb.astype(int) - np.asarray(upright, dtype=int)).mean() < 3
    assert photo.taken_at == "2024-07-14T18:30:05"


def test_large_jpeg_is_decoded_in_draft_mode_to_the_requested_size():
    big = gradient_photo(4000, 3000)
    photo = decode(jpeg_bytes(big), max_side=1000)
    assert max(photo.rgb.shape[:2]) == 1000
    assert (photo.width, photo.height) == (4000, 3000)
    assert photo.scale == pytest.approx(4.0)


def test_rotated_draft_keeps_upright_full_size():
    stored = gradient_photo(4000, 3000).transpose(Image.Transpose.ROTATE_90)
    photo = decode(jpeg_bytes(stored, 6), max_side=1000)
    assert (photo.width, photo.height) == (4000, 3000)
    assert photo.rgb.shape[1] == 1000 and photo.scale == pytest.approx(4.0)


def test_heic_is_read():
    pillow_heif = pytest.importorskip("pillow_heif")
    buf = io.BytesIO()
    heif = pillow_heif.from_pillow(gradient_photo())
    heif.save(buf, quality=90)
    data = buf.getvalue()
    assert sniff(data[:32]) == "HEIF"
    photo = decode(data, max_side=None)
    assert photo.format == "HEIF" and (photo.width, photo.height) == (320, 200)


@pytest.mark.parametrize("mode", ["CMYK", "L", "LA", "RGBA", "P", "I;16"])
def test_unusual_modes_become_rgb(mode):
    image = gradient_photo().convert("L" if mode == "I;16" else "RGB")
    image = image.convert(mode) if mode != "I;16" else Image.fromarray(np.asarray(image, dtype=np.uint16) * 257)
    buf = io.BytesIO()
    image.save(buf, "TIFF" if mode in ("CMYK", "I;16") else "PNG")
    photo = decode(buf.getvalue(), max_side=None)
    assert photo.rgb.dtype == np.uint8 and photo.rgb.shape == (200, 320, 3)


def test_gif_first_frame():
    frames = [Image.new("RGB", (40, 30), c) for c in ((255, 0, 0), (0, 255, 0))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    photo = decode(buf.getvalue(), max_side=None)
    assert photo.format == "GIF" and photo.rgb[5, 5, 0] > 200 and photo.rgb[5, 5, 1] < 50


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty file"),
        (b"just some text, not a photo\n" * 10, "not an image"),
    ],
)
def test_bad_files_give_a_reason(data, reason):
    with pytest.raises(PhotoError, match=reason):
        decode(data, max_side=None)


def test_truncated_jpeg_is_an_error():
    data = jpeg_bytes(gradient_photo(800, 600))
    with pytest.raises(PhotoError, match="corrupt or truncated"):
        decode(data[: len(data) // 3], max_side=None)


def test_decompression_bomb_is_refused():
    # A tiny PNG whose header declares 50,000 x 50,000 pixels.
    import struct
    import zlib

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 50000, 50000, 8, 2, 0, 0, 0)) + chunk(b"IEND", b"")
    with pytest.raises(PhotoError, match="too large"):
        decode(data, max_side=2048)


def test_webp_named_jpg_is_recognised_by_content():
    require_shared(SHARED_PHOTOS)
    webps = [p for p in SHARED_PHOTOS.glob("*.jpg") if sniff(p.read_bytes()[:32]) == "WEBP"]
    assert webps, "../shared/photos is documented to hold a WebP named .jpg"
    photo = decode_file(webps[0], max_side=1024)
    assert photo.format == "WEBP" and photo.rgb.size > 0
