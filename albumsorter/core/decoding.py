"""Reading photos: recognise by content, decode once at the resolution detection needs, upright.

Everything returned is in the coordinates of the photo as a person sees it upright (EXIF orientation
applied). The file is read once into memory: its bytes are hashed (for move/rename detection) and
decoded from the same buffer, so a photo is never read or decoded twice.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

try:  # HEIC/HEIF, as phones write them
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - pillow-heif is a declared dependency; HEIC photos then fail one by one
    pass

# Formats we index; anything else Pillow can open (e.g. PDF, ICO) is not a photo.
PHOTO_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "TIFF", "BMP", "GIF", "HEIF", "AVIF"})

# Refuse decompression bombs instead of eating the user's memory: 50,000 x 50,000 declared pixels is an
# error, while a 200-megapixel panorama still opens.
MAX_PIXELS = 250_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# And no side longer than JPEG's and GIF's own limit: a 300-byte RLE BMP declaring 8,388,656 x 28 pixels (under
# MAX_PIXELS) kept Pillow's Python RLE decoder busy for 4-25 s before failing (found by tests/fuzz/fuzz_decode.py).
MAX_SIDE = 65_535

EXIF_ORIENTATION = 0x0112
EXIF_DATETIME_ORIGINAL = 0x9003
EXIF_DATETIME = 0x0132


class PhotoError(Exception):
    """A file that cannot be indexed as a photo; the message is the reason shown to the user."""

    def __init__(self, reason: str) -> None:
        # One line, always: library messages (libheif's end in a newline) are shown in lists and logs.
        super().__init__(" ".join(str(reason).split()))


class ReadError(PhotoError):
    """The file could not be read (permissions, vanished, I/O): the next run tries again, since fixing it
    (chmod, re-attaching a drive) need not change the file's size or time."""


@dataclass(frozen=True)
class DecodedPhoto:
    rgb: np.ndarray  # H x W x 3 uint8, upright, at most the requested long side
    width: int  # full-resolution upright size
    height: int
    format: str
    content_hash: str
    taken_at: str | None  # ISO 8601 from EXIF, if present
    scale: float  # full-resolution pixels per decoded pixel


def hash_bytes(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _taken_at(image: Image.Image) -> str | None:
    try:
        exif = image.getexif()
        raw = exif.get_ifd(0x8769).get(EXIF_DATETIME_ORIGINAL) or exif.get(EXIF_DATETIME)
        if not raw:
            return None
        return datetime.strptime(str(raw).strip("\x00 "), "%Y:%m:%d %H:%M:%S").isoformat()
    except Exception:  # a corrupt EXIF block must not cost the photo
        return None


def _orientation(image: Image.Image) -> int:
    try:
        value = int(image.getexif().get(EXIF_ORIENTATION, 1))
        return value if 1 <= value <= 8 else 1
    except Exception:
        return 1


def _open(data: bytes) -> Image.Image:
    if not data:
        raise PhotoError("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoError(f"image too large to decode safely ({exc})") from None
    except UnidentifiedImageError:
        raise PhotoError("not an image (unrecognised content)") from None
    except Exception as exc:
        raise PhotoError(f"unreadable image: {exc}") from None
    if image.format not in PHOTO_FORMATS:
        raise PhotoError(f"unsupported image format {image.format}")
    if image.width * image.height > MAX_PIXELS or max(image.width, image.height) > MAX_SIDE:
        raise PhotoError(f"image too large to decode safely ({image.width}x{image.height} pixels)")
    return image


def _to_rgb(image: Image.Image) -> Image.Image:
    """Any mode (CMYK, 16-bit, palette, grey, alpha) to 8-bit RGB; transparency over white."""
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(image, dtype=np.float64)
        peak = arr.max() or 1.0
        return Image.fromarray((arr * (255.0 / max(peak, 255.0 if peak <= 255 else peak))).astype(np.uint8)).convert("RGB")
    if image.mode == "F":
        arr = np.asarray(image, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) / ((hi - lo) or 1.0) * 255.0
        return Image.fromarray(arr.astype(np.uint8)).convert("RGB")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def read_file(path: Path | str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise ReadError("file disappeared before it could be read") from None
    except PermissionError:
        raise ReadError("permission denied") from None
    except IsADirectoryError:
        raise PhotoError("is a folder, not a file") from None
    except OSError as exc:
        raise ReadError(f"cannot read file: {exc.strerror or exc}") from None


_REDUCED = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}
# EXIF orientation -> the array operation that makes the photo upright (ImageOps.exif_transpose's table)
_UPRIGHT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: a.transpose(1, 0, 2)[:, ::-1],
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: a.transpose(1, 0, 2)[::-1],
}


def _plain_jpeg(data: bytes, image: Image.Image, reduction: int, orientation: int) -> np.ndarray | None:
    """A complete colour JPEG decoded by OpenCV's libjpeg-turbo at the same DCT reduction, straight into an array:
    the same pixels as Pillow's, without Pillow's copy out to NumPy (4-8 ms a 12 MP photo, issue #11). None for
    anything else (grey, CMYK, multi-picture, no end marker: a truncated file), which Pillow decodes or rejects."""
    if image.format != "JPEG" or image.mode != "RGB" or not data.rstrip(b"\0").endswith(b"\xff\xd9"):
        return None
    bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), _REDUCED[reduction] | cv2.IMREAD_IGNORE_ORIENTATION)
    if bgr is None or bgr.ndim != 3 or bgr.shape[:2] != (image.height, image.width):  # the draft's size
        return None
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    upright = _UPRIGHT.get(orientation)
    return rgb if upright is None else np.ascontiguousarray(upright(rgb))


# A draft decode leaves 0.9-1.8 x max_side. The last step down is OpenCV's area averaging (as smooth as Pillow's
# reducing resize, at half the cost), except for a mild one (a 3:2 or 16:9 12-MP photo drafted to 1061 or 1155
# pixels): there bilinear sampling differs from it by 0.14 grey levels on average and costs 1 ms instead of 7-11
# (area averaging has no fast path for a ratio that is not a whole number; issue #11).
MILD_REDUCTION = 0.8


def decode(data: bytes, max_side: int | None) -> DecodedPhoto:
    """Decode photo bytes upright, at no more than `max_side` pixels on the long side (None: full size).

    JPEGs are decoded in draft mode (DCT scaling), so a 12 MP photo needed at 2 MP costs a fraction of a
    full decode. Raises PhotoError with a user-facing reason for anything that is not a usable photo.
    """
    content_hash = hash_bytes(data)
    image = _open(data)
    fmt = image.format
    orientation = _orientation(image)
    taken_at = _taken_at(image)
    full_w, full_h = image.size
    if orientation in (5, 6, 7, 8):
        up_w, up_h = full_h, full_w
    else:
        up_w, up_h = full_w, full_h
    try:
        reduction = 1
        if max_side and fmt in ("JPEG", "MPO") and max(full_w, full_h) > max_side:
            # Largest DCT reduction that still leaves at least ~90% of max_side (Pillow's draft rule).
            need = max_side * 0.9 / max(full_w, full_h)
            request = (int(full_w * need) + 1, int(full_h * need) + 1)
            fits = min(full_w // request[0], full_h // request[1])
            reduction = next(s for s in (8, 4, 2, 1) if fits >= s)
            image.draft("RGB", request)
        rgb: np.ndarray | None = _plain_jpeg(data, image, reduction, orientation)
        if rgb is None:
            image.seek(0)  # GIF/WebP animations: the first frame
            image.load()
            image = ImageOps.exif_transpose(image) if orientation != 1 else image
            rgb = np.asarray(_to_rgb(image), dtype=np.uint8)
        if max_side and max(rgb.shape[:2]) > max_side:
            factor = max_side / max(rgb.shape[:2])
            size = (max(1, round(rgb.shape[1] * factor)), max(1, round(rgb.shape[0] * factor)))
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if factor < MILD_REDUCTION else cv2.INTER_LINEAR)
    except PhotoError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        raise PhotoError(f"corrupt or truncated image: {exc}") from None
    except RuntimeError as exc:  # pillow-heif/libheif on corrupt HEIC data (found by tests/fuzz/fuzz_decode.py)
        raise PhotoError(f"corrupt or truncated image: {exc or type(exc).__name__}") from None
    except MemoryError:
        raise PhotoError("image too large to decode in memory") from None
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.size == 0:
        raise PhotoError("decoded to an empty image")
    return DecodedPhoto(
        rgb=rgb,
        width=up_w,
        height=up_h,
        format=fmt or "",
        content_hash=content_hash,
        taken_at=taken_at,
        scale=up_w / rgb.shape[1],
    )


def decode_file(path: Path | str, max_side: int | None = None) -> DecodedPhoto:
    return decode(read_file(path), max_side)


def load_upright_rgb(path: Path | str, max_side: int | None = None) -> np.ndarray:
    """The photo upright as an RGB array (full resolution unless `max_side`)."""
    return decode_file(path, max_side).rgb


def sniff(head: bytes) -> str | None:
    """Recognise a photo format from its first bytes (not the extension); None if it is not one."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[:2] == b"BM":
        return "BMP"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[4:8] == b"ftyp" and head[8:12] in (
        b"heic",
        b"heix",
        b"hevc",
        b"hevx",
        b"heim",
        b"heis",
        b"mif1",
        b"msf1",
        b"avif",
        b"avis",
    ):
        return "HEIF"
    return None
