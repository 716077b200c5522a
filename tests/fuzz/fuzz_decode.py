"""Fuzz the decode path: mutated JPEG/PNG/WebP/HEIC/GIF/TIFF bytes must give a DecodedPhoto or a PhotoError.

Anything else escaping `albumsorter.core.decoding.decode` is a bug: in the app it would be reported as an
"internal error" at best, and it means a code path nobody thought about.

    python -m tests.fuzz.fuzz_decode --seconds 240            # atheris (libFuzzer) if installed, else Hypothesis
    python -m tests.fuzz.fuzz_decode --seconds 240 --engine hypothesis

Seeds are made at run time from a real photo of ../shared/photos (a synthetic gradient where that is absent),
shrunk to a few dozen pixels so each decode is fast, and encoded into every format we index (never committed).
Findings (distinct exception type + raising line) are written to --findings as JSON, each with the input.
The test suite runs a short, fixed Hypothesis version of this (tests/test_reliability_fuzz.py).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import random
import sys
import time
import traceback
from pathlib import Path

import numpy as np

SHARED_PHOTOS = Path(__file__).resolve().parents[3] / "shared" / "photos"
SEED_PHOTO = "ageitgey__examples_two_people.jpg"
MAX_SIDE = 64  # decode target, small: the fuzzer is after parser paths, not pixel throughput


def _base_image():
    from PIL import Image

    src = SHARED_PHOTOS / SEED_PHOTO
    if src.exists():
        image = Image.open(src).convert("RGB")
        image.thumbnail((48, 48))
        return image
    x = np.linspace(0, 255, 48, dtype=np.uint8)[None, :].repeat(32, 0)
    y = np.linspace(0, 255, 32, dtype=np.uint8)[:, None].repeat(48, 1)
    return Image.fromarray(np.dstack([x, y, 255 - x]))


def make_seeds() -> dict[str, bytes]:
    """Small, valid files of each format we index, with EXIF (orientation 6 + a date) where the format has it."""
    from PIL import Image

    image = _base_image()
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x0132] = "2024:07:14 18:30:05"
    exif_bytes = exif.tobytes()
    seeds: dict[str, bytes] = {}

    def put(name, img, fmt, **kw):
        buf = io.BytesIO()
        img.save(buf, fmt, **kw)
        seeds[name] = buf.getvalue()

    put("jpeg_exif", image, "JPEG", quality=80, exif=exif_bytes)
    put("jpeg_progressive", image, "JPEG", quality=70, progressive=True)
    put("jpeg_cmyk", image.convert("CMYK"), "JPEG", quality=70)
    put("png_rgba", image.convert("RGBA"), "PNG")
    put("png_16bit", Image.fromarray(np.asarray(image.convert("L"), dtype=np.uint16) * 257), "PNG")
    put("png_palette", image.convert("P"), "PNG", transparency=0)
    put("webp_lossy", image, "WEBP", quality=60, exif=exif_bytes)
    put("webp_anim", image, "WEBP", save_all=True, append_images=[image.rotate(90)], duration=100)
    put("gif_anim", image.convert("P"), "GIF", save_all=True, append_images=[image.rotate(90).convert("P")])
    put("tiff_lzw", image, "TIFF", compression="tiff_lzw")
    put("bmp", image, "BMP")
    try:
        import pillow_heif

        buf = io.BytesIO()
        pillow_heif.from_pillow(image).save(buf, quality=50)
        seeds["heic"] = buf.getvalue()
    except Exception:  # pragma: no cover - pillow-heif is a declared dependency
        pass
    return seeds


# --- mutation (the Hypothesis engine; atheris uses libFuzzer's own mutators) ------------------------


def mutate(data: bytes, ops: list[tuple[int, int, int]]) -> bytes:
    """Apply (kind, position, value) byte mutations: flip, set, insert, delete a run, truncate, duplicate a run,
    set an interesting integer (0, 0xff, 0x7fff, 0xffff) - the ones that break headers and length fields."""
    buf = bytearray(data)
    for kind, pos, value in ops:
        if not buf:
            break
        i = pos % len(buf)
        k = kind % 7
        if k == 0:
            buf[i] ^= 1 << (value % 8)
        elif k == 1:
            buf[i] = value % 256
        elif k == 2:
            buf[i:i] = bytes([value % 256]) * (1 + value % 16)
        elif k == 3:
            del buf[i : i + 1 + value % 64]
        elif k == 4:
            del buf[max(1, i) :]
        elif k == 5:
            buf[i:i] = buf[i : i + 1 + value % 64]
        else:
            big = (0, 0xFF, 0x7FFF, 0xFFFF, 0x10000, 0x7FFFFFFF)[value % 6]
            buf[i : i + 2] = (big & 0xFFFF).to_bytes(2, "big" if value % 2 else "little")
    return bytes(buf)


def mutation_ops():
    from hypothesis import strategies as st

    return st.lists(st.tuples(st.integers(0, 6), st.integers(0, 1 << 20), st.integers(0, 255)), min_size=1, max_size=8)


# --- the property ---------------------------------------------------------------------------------


class Findings:
    def __init__(self) -> None:
        self.by_key: dict[str, dict] = {}
        self.runs = 0

    def check(self, data: bytes) -> None:
        from albumsorter.core.decoding import PhotoError, decode

        self.runs += 1
        try:
            photo = decode(data, MAX_SIDE)
            assert photo.rgb.dtype == np.uint8 and photo.rgb.ndim == 3 and photo.rgb.shape[2] == 3
            assert photo.width > 0 and photo.height > 0 and max(photo.rgb.shape[:2]) <= MAX_SIDE
        except PhotoError as exc:
            if "\n" in str(exc) or not str(exc):
                self._record(AssertionError(f"PhotoError reason is not one line: {str(exc)!r}"), data)
        except Exception as exc:  # the finding
            self._record(exc, data)

    def _record(self, exc: BaseException, data: bytes) -> None:
        tb = traceback.extract_tb(exc.__traceback__)
        where = f"{Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else "?"
        key = f"{type(exc).__name__} at {where}"
        if key not in self.by_key:
            self.by_key[key] = {
                "exception": f"{type(exc).__name__}: {str(exc)[:300]}",
                "where": where,
                "traceback": traceback.format_exception(type(exc), exc, exc.__traceback__)[-6:],
                "input_b64": base64.b64encode(data).decode(),
                "count": 0,
            }
            print(f"FINDING {key}: {str(exc)[:200]}", file=sys.stderr, flush=True)
        self.by_key[key]["count"] += 1


def run_hypothesis(seconds: float, findings: Findings, seed: int = 0) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    seeds = list(make_seeds().values())
    deadline = time.monotonic() + seconds

    @settings(max_examples=10**9, deadline=None, database=None, derandomize=False, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(seeds), mutation_ops())
    def prop(data, ops):
        if time.monotonic() > deadline:
            raise _TimeUp
        findings.check(mutate(data, ops))

    random.seed(seed)
    try:
        prop()
    except _TimeUp:
        pass


class _TimeUp(BaseException):
    pass


def run_atheris(seconds: float, findings: Findings, workdir: Path, on_done) -> None:
    import atheris

    with atheris.instrument_imports():
        import PIL.BmpImagePlugin
        import PIL.GifImagePlugin
        import PIL.Image  # noqa: F401 - instrument Pillow's Python parsers for coverage feedback
        import PIL.ImageOps
        import PIL.JpegImagePlugin  # noqa: F401,E401
        import PIL.PngImagePlugin
        import PIL.TiffImagePlugin
        import PIL.WebPImagePlugin  # noqa: F401,E401
    corpus = workdir / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for name, data in make_seeds().items():
        (corpus / name).write_bytes(data)
    # Findings are collected, not raised, so one run reports every distinct bug instead of stopping at the first.
    # libFuzzer ends the process with C exit() (no Python atexit), so the report is written here at the deadline.
    deadline = time.monotonic() + seconds

    def one(data: bytes) -> None:
        findings.check(data)
        if time.monotonic() > deadline:
            on_done()
            os._exit(1 if findings.by_key else 0)

    args = [
        sys.argv[0],
        str(corpus),
        f"-max_total_time={int(seconds) + 60}",
        "-rss_limit_mb=3072",
        "-timeout=20",
        "-max_len=65536",
        f"-artifact_prefix={workdir}/",
    ]
    atheris.Setup(args, one)
    atheris.Fuzz()


def main(argv: list[str] | None = None) -> int:
    import warnings

    warnings.simplefilter("ignore")  # Pillow warns about every odd tag; only exceptions matter here
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=240)
    parser.add_argument("--engine", choices=("auto", "atheris", "hypothesis"), default="auto")
    parser.add_argument("--findings", type=Path, default=Path("fuzz-findings.json"))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/albumsorter-fuzz"))
    args = parser.parse_args(argv)
    engine = args.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401

            engine = "atheris"
        except ImportError:
            engine = "hypothesis"
    findings = Findings()
    start = time.monotonic()

    def report() -> None:
        out = {
            "engine": engine,
            "seconds": round(time.monotonic() - start, 1),
            "inputs": findings.runs,
            "findings": findings.by_key,
        }
        args.findings.write_text(json.dumps(out, indent=2))
        print(
            f"{engine}: {findings.runs} inputs in {out['seconds']} s, {len(findings.by_key)} distinct findings "
            f"-> {args.findings}",
            file=sys.stderr,
        )

    if engine == "atheris":
        run_atheris(args.seconds, findings, args.workdir, report)
    else:
        run_hypothesis(args.seconds, findings)
        report()
    return 1 if findings.by_key else 0


if __name__ == "__main__":
    raise SystemExit(main())
