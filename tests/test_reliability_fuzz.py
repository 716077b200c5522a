"""Reliability (issue #6): the decode path under byte mutation - the short, fixed version of
tests/fuzz/fuzz_decode.py (run that for minutes; this runs a few hundred inputs in seconds).

Anything but a DecodedPhoto or a PhotoError out of `decode` is a bug. Findings of the long runs are kept here as
regression tests, rebuilt from synthetic images (no ../shared data in the repository).
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from albumsorter.core.decoding import PhotoError, decode
from tests.fuzz.fuzz_decode import MAX_SIDE, make_seeds, mutate, mutation_ops

SEEDS = make_seeds()


def decode_or_photo_error(data: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns about odd tags; only exceptions matter
        try:
            photo = decode(data, MAX_SIDE)
        except PhotoError as exc:
            assert str(exc) and "\n" not in str(exc)
            return
    assert photo.rgb.dtype == np.uint8 and photo.rgb.ndim == 3 and photo.rgb.shape[2] == 3
    assert max(photo.rgb.shape[:2]) <= MAX_SIDE and photo.width > 0 and photo.height > 0


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_seeds_decode(name):
    photo = decode(SEEDS[name], MAX_SIDE)
    assert photo.rgb.size > 0


@settings(max_examples=300, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(SEEDS)), mutation_ops())
def test_mutated_photos_decode_or_raise_photo_error(name, ops):
    decode_or_photo_error(mutate(SEEDS[name], ops))


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_every_truncation_point_of_each_format(name):
    data = SEEDS[name]
    for end in sorted({1, 2, 4, 8, 16, 32, 64, 128, len(data) // 4, len(data) // 2, len(data) - 1}):
        decode_or_photo_error(data[:end])


def test_heic_with_a_huge_ispe_size_is_a_photo_error():
    """Fuzz finding (Hypothesis engine, 2026-11-27): a HEIC whose 'ispe' box declares 64 x 16,777,280 pixels while
    its clean aperture says 48 x 28 opens fine, then libheif's security limit raised RuntimeError out of decode."""
    pillow_heif = pytest.importorskip("pillow_heif")
    x = np.linspace(0, 255, 48, dtype=np.uint8)[None, :].repeat(28, 0)
    buf = io.BytesIO()
    pillow_heif.from_pillow(Image.fromarray(np.dstack([x, x, 255 - x]))).save(buf, quality=50)
    data = bytearray(buf.getvalue())
    i = data.find(b"ispe")
    assert i > 0
    data[i + 12] = 1  # height 0x40 -> 0x01000040
    with pytest.raises(PhotoError, match="corrupt or truncated"):
        decode(bytes(data), MAX_SIDE)


def test_tiny_bmp_declaring_a_huge_side_is_refused_at_once():
    """Fuzz finding (atheris, 2026-11-27): a 300-byte RLE BMP declaring 8,388,656 x 28 pixels (under the pixel
    limit) spent 4-25 s in Pillow's Python RLE decoder before failing. Now refused from its header."""
    import struct
    import time

    info = struct.pack("<IiiHHIIiiII", 40, 8_388_656, 28, 1, 24, 1, 0, 2835, 2835, 0, 0)  # 24 bpp, "RLE8"
    pixels = b"\x13" * 54 + b"\x00" * 194  # a few runs, then "end of line" escapes: each pads a 25 MB row
    data = b"BM" + struct.pack("<IHHI", 54 + len(pixels), 0, 0, 54) + info + pixels
    t = time.monotonic()
    with pytest.raises(PhotoError, match="too large"):
        decode(data, MAX_SIDE)
    assert time.monotonic() - t < 1.0
