"""Reliability (issue #6): whatever is in a photo folder, each bad file is recorded with a clear reason and the
rest of the folder is indexed; nothing hangs, nothing stops the run.

One folder holds every hostile case and is indexed once (module fixture), so the suite stays quick; each case is
then checked on its own (parametrised). Dynamic cases (a file deleted, replaced or made unreadable while the run
reads it, the folder vanishing mid-run) patch the pipeline's file reading to make the race deterministic.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from albumsorter.core import analysis, pipeline
from albumsorter.core.catalog import Catalog, PhotoFilter
from albumsorter.core.decoding import hash_bytes
from albumsorter.core.geometry import iou
from albumsorter.core.pipeline import Indexer, IndexOptions
from tests.conftest import SHARED_PHOTOS, exif_stored_as, models_available, require_shared

FACE_PHOTO = "linzaer__imgs_3.jpg"  # small, several faces
SMALL_FACE_PHOTO = "ageitgey__examples_obama-240p.jpg"  # tiny file, one face: cheap copies
CROWD_SOURCES = (
    "ageitgey__examples_two_people.jpg",
    "serengil__tests_unit_dataset_couple.jpg",
    "ageitgey__examples_obama-1080p.jpg",
    "serengil__tests_unit_dataset_img2.jpg",
    FACE_PHOTO,
)

STORED_AS = exif_stored_as()

UNDECODABLE_NAME = b"latin1-\xe9t\xe9.jpg"  # not UTF-8: what old Windows/Samba archives hold


def need_models() -> None:
    ok, why = models_available()
    if not ok:
        pytest.skip(why)


def encode(image: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kw)
    return buf.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A ~60-byte PNG whose header declares width x height pixels: a decompression bomb."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def jpeg_with_corrupt_exif(image: Image.Image) -> bytes:
    """A JPEG whose APP1/Exif block claims 40 IFD entries with offsets far past its end."""
    garbage = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x28" + bytes(range(256))[:90] + b"\xff\xff\xff\xff" * 8
    return encode(image, "JPEG", quality=85, exif=garbage)


def crowd_image(face_count: int = 120, cell: int = 128) -> Image.Image:
    """A grid of real face crops (cut from ../shared/photos at test time): a photo with 100+ faces."""
    from albumsorter.core.decoding import decode_file
    from albumsorter.core.detection import DetectionSettings, find_faces
    from albumsorter.core.faces import FaceDetector

    crops = []
    with FaceDetector() as detector:
        for name in CROWD_SOURCES:
            photo = decode_file(SHARED_PHOTOS / name, 1024)
            img = Image.fromarray(photo.rgb)
            for f in find_faces(detector, photo.rgb, DetectionSettings()):
                left, top, right, bottom = f.box
                mw, mh = 0.35 * (right - left), 0.35 * (bottom - top)
                crops.append(img.crop((int(max(0, left - mw)), int(max(0, top - mh)), int(right + mw), int(bottom + mh))))
    assert len(crops) >= 5
    cols = 12
    rows = -(-face_count // cols)
    grid = Image.new("RGB", (cols * cell, rows * cell), (128, 128, 128))
    for k in range(face_count):
        c = crops[k % len(crops)].copy()
        c.thumbnail((cell - 6, cell - 6))
        x, y = (k % cols) * cell, (k // cols) * cell
        grid.paste(c, (x + 3 + (cell - 6 - c.width) // 2, y + 3 + (cell - 6 - c.height) // 2))
    return grid


def build_hostile_folder(folder: Path) -> None:
    require_shared(SHARED_PHOTOS)
    folder.mkdir()
    real = Image.open(SHARED_PHOTOS / FACE_PHOTO).convert("RGB")
    small = Image.open(SHARED_PHOTOS / SMALL_FACE_PHOTO).convert("RGB")
    shutil.copy2(SHARED_PHOTOS / FACE_PHOTO, folder / "good.jpg")
    (folder / "empty.jpg").write_bytes(b"")
    data = (SHARED_PHOTOS / FACE_PHOTO).read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (folder / "text.jpg").write_text("Shopping list: milk, eggs.\n" * 20)
    (folder / "webp_named.jpg").write_bytes(encode(real, "WEBP", quality=80))
    (folder / "cmyk.jpg").write_bytes(encode(real.convert("CMYK"), "JPEG", quality=85))
    grey16 = Image.fromarray(np.asarray(real.convert("L"), dtype=np.uint16) * 257)
    (folder / "grey16.png").write_bytes(encode(grey16, "PNG"))
    (folder / "grey.jpg").write_bytes(encode(real.convert("L"), "JPEG", quality=85))
    alpha = real.convert("RGBA")
    alpha.putalpha(Image.linear_gradient("L").resize(real.size))
    (folder / "alpha.png").write_bytes(encode(alpha, "PNG"))
    (folder / "anim.gif").write_bytes(
        encode(small.convert("P"), "GIF", save_all=True, append_images=[small.rotate(180).convert("P")])
    )
    (folder / "anim.webp").write_bytes(encode(small, "WEBP", save_all=True, append_images=[small.rotate(180)], duration=100))
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.from_pillow(small).save(folder / "phone.heic", quality=70)
    (folder / "exif_corrupt.jpg").write_bytes(jpeg_with_corrupt_exif(small))
    for o, transform in STORED_AS.items():
        exif = Image.Exif()
        exif[0x0112] = o
        stored = small if transform is None else small.transpose(transform)
        (folder / f"orient_{o}.jpg").write_bytes(encode(stored, "JPEG", quality=90, exif=exif.tobytes()))
    x = np.linspace(0, 255, 640, dtype=np.uint8)[None, :].repeat(400, 0)
    (folder / "no_faces.png").write_bytes(encode(Image.fromarray(np.dstack([x, x[::-1], np.full_like(x, 90)])), "PNG"))
    crowd_image().save(folder / "crowd.jpg", quality=85)
    (folder / "bomb.png").write_bytes(png_declaring(50_000, 50_000))
    (folder / "tiny.png").write_bytes(encode(Image.new("RGB", (1, 1), (200, 10, 10)), "PNG"))
    (folder / "sliver.png").write_bytes(encode(Image.new("RGB", (4000, 3), (20, 200, 10)), "PNG"))
    os.symlink(folder / "deleted-long-ago.jpg", folder / "dangling.jpg")
    (folder / "sub").mkdir()
    shutil.copy2(SHARED_PHOTOS / SMALL_FACE_PHOTO, folder / "sub" / "inner.jpg")
    os.symlink(folder, folder / "sub" / "loop")  # sub/loop -> the root: a symlink loop
    os.symlink("selfloop.jpg", folder / "sub" / "selfloop.jpg")  # a link to itself (ELOOP)
    os.mkfifo(folder / "fifo.jpg")  # reading it would block forever
    for name in ("with space.jpg", "ünïcödé 写真.jpg", "new\nline.jpg", "back\\slash.jpg", "co:lon.jpg", " lead-space.jpg"):
        shutil.copy2(SHARED_PHOTOS / SMALL_FACE_PHOTO, folder / name)
    shutil.copy2(SHARED_PHOTOS / SMALL_FACE_PHOTO, os.path.join(os.fsencode(folder), UNDECODABLE_NAME))
    (folder / "no_extension").write_bytes(encode(small, "PNG"))
    (folder / "notes.txt").write_text("not a photo and not named like one: ignored")


# name -> (expected status, regex the reason must match (errors) or None)
ERROR_CASES = {
    "empty.jpg": "empty file",
    "truncated.jpg": "corrupt or truncated",
    "text.jpg": "not an image",
    "bomb.png": "too large",
    "dangling.jpg": "broken symbolic link",
    "selfloop.jpg": "broken symbolic link",
}
OK_CASES = {
    "good.jpg": "JPEG",
    "webp_named.jpg": "WEBP",
    "cmyk.jpg": "JPEG",
    "grey16.png": "PNG",
    "grey.jpg": "JPEG",
    "alpha.png": "PNG",
    "anim.gif": "GIF",
    "anim.webp": "WEBP",
    "phone.heic": "HEIF",
    "exif_corrupt.jpg": "JPEG",
    "no_faces.png": "PNG",
    "crowd.jpg": "JPEG",
    "tiny.png": "PNG",
    "sliver.png": "PNG",
    "inner.jpg": "JPEG",
    "with space.jpg": "JPEG",
    "ünïcödé 写真.jpg": "JPEG",
    "new\nline.jpg": "JPEG",
    "back\\slash.jpg": "JPEG",
    "co:lon.jpg": "JPEG",
    " lead-space.jpg": "JPEG",
    os.fsdecode(UNDECODABLE_NAME): "JPEG",
    "no_extension": "PNG",
    **{f"orient_{o}.jpg": "JPEG" for o in STORED_AS},
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    need_models()
    root = tmp_path_factory.mktemp("hostile")
    folder = root / "photos"
    build_hostile_folder(folder)
    with Catalog(root / "catalog.sqlite") as catalog:
        summary = Indexer(catalog, IndexOptions(workers=2)).run(folder)
        photos = {p.name: p for p in catalog.query(PhotoFilter(include_gone=True), with_faces=True)}
        photos.update({p.name: p for p in catalog.query(PhotoFilter(errors=True))})
        yield folder, catalog, summary, photos


def test_the_run_finishes_and_indexes_everything_else(hostile):
    folder, catalog, summary, photos = hostile
    assert not summary.cancelled
    assert set(photos) == set(ERROR_CASES) | set(OK_CASES), "every candidate recorded once; fifo, notes.txt, loops skipped"
    assert sorted(Path(p).name for p, _ in summary.errors) == sorted(ERROR_CASES)
    assert summary.indexed == len(OK_CASES)
    assert catalog.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # The symlink loop did not index the sub-folder twice.
    assert catalog.conn.execute("SELECT COUNT(*) FROM photos WHERE path LIKE '%inner.jpg'").fetchone()[0] == 1


@pytest.mark.parametrize("name", sorted(ERROR_CASES))
def test_bad_file_is_recorded_with_a_clear_reason(hostile, name):
    photo = hostile[3][name]
    assert photo.status == "error"
    assert photo.error and "\n" not in photo.error and len(photo.error) < 300
    assert re.search(ERROR_CASES[name], photo.error), photo.error


@pytest.mark.parametrize("name", sorted(OK_CASES))
def test_unusual_but_valid_photo_is_indexed(hostile, name):
    folder, catalog, _, photos = hostile
    photo = photos[name]
    assert photo.status == "ok" and photo.error is None
    fmt = catalog.conn.execute("SELECT format FROM photos WHERE id = ?", (photo.id,)).fetchone()[0]
    assert fmt == OK_CASES[name]
    assert Path(photo.path).exists() or Path(photo.path).is_symlink()
    for face in photo.faces:
        left, top, right, bottom = face.box
        assert 0 <= left < right <= photo.width + 1 and 0 <= top < bottom <= photo.height + 1


def test_faces_are_found_in_odd_formats_and_names(hostile):
    photos = hostile[3]
    for name in (
        "good.jpg",
        "webp_named.jpg",
        "cmyk.jpg",
        "grey16.png",
        "grey.jpg",
        "alpha.png",
        "phone.heic",
        "exif_corrupt.jpg",
        "ünïcödé 写真.jpg",
        os.fsdecode(UNDECODABLE_NAME),
        "anim.gif",
        "anim.webp",
    ):
        assert photos[name].face_count >= 1, name
    assert photos["no_faces.png"].face_count == 0 and photos["tiny.png"].face_count == 0


def test_a_photo_with_more_than_100_faces(hostile):
    photo = hostile[3]["crowd.jpg"]
    assert photo.face_count >= 100
    ids = [f.id for f in photo.faces]
    assert len(ids) == len(set(ids)) == photo.face_count
    # No two stored faces are the same face.
    boxes = [f.box for f in photo.faces]
    assert max(iou(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :]) < 0.5


def test_every_exif_orientation_gives_upright_size_and_boxes(hostile):
    photos = hostile[3]
    upright = photos["orient_1.jpg"]
    assert upright.face_count == 1
    for o in range(2, 9):
        photo = photos[f"orient_{o}.jpg"]
        assert (photo.width, photo.height) == (upright.width, upright.height), o
        assert photo.face_count == 1, o
        assert iou(photo.faces[0].box, upright.faces[0].box) > 0.6, o


def test_undecodable_file_name_round_trips_through_the_catalog(hostile):
    folder, catalog, _, photos = hostile
    photo = photos[os.fsdecode(UNDECODABLE_NAME)]
    assert os.fsencode(photo.path) == os.path.join(os.fsencode(folder), UNDECODABLE_NAME)
    assert Path(photo.path).read_bytes() == (SHARED_PHOTOS / SMALL_FACE_PHOTO).read_bytes()
    assert catalog.set_pick_by_path([photo.path], 1) == []
    assert catalog.photo(photo.id).pick == 1
    catalog.set_pick([photo.id], 0)


def test_second_run_skips_everything_including_errors(hostile):
    folder, catalog, _, _ = hostile
    again = Indexer(catalog, IndexOptions(workers=2)).run(folder)
    # Broken links are looked at again each run (no read, so it costs nothing): the link may have been fixed.
    links = {"dangling.jpg", "selfloop.jpg"}
    assert again.indexed == 0 and sorted(Path(p).name for p, _ in again.errors) == sorted(links)
    assert again.unchanged == len(OK_CASES) + len(ERROR_CASES) - len(links)


# --- files that change under the run --------------------------------------------------------------


@pytest.fixture
def small_folder(tmp_path):
    require_shared(SHARED_PHOTOS)
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(4):
        shutil.copy2(SHARED_PHOTOS / SMALL_FACE_PHOTO, folder / f"p{i}.jpg")
        with open(folder / f"p{i}.jpg", "ab") as fh:  # distinct content, still a valid JPEG
            fh.write(bytes([i]) * (i + 1))
    return folder


def patch_reads(monkeypatch, before_read):
    """Call `before_read(path)` just before the pipeline reads each file."""
    real = pipeline.read_file

    def read_file(path):
        before_read(Path(path))
        return real(path)

    monkeypatch.setattr(pipeline, "read_file", read_file)  # content-hash checks for moved photos
    monkeypatch.setattr(analysis, "read_file", read_file)  # the analysis of each photo


def index(catalog: Catalog, folder: Path):
    return Indexer(catalog, IndexOptions(workers=1, batch_size=1)).run(folder)


def test_file_deleted_while_the_run_reads_it(small_folder, tmp_path, monkeypatch, require_models):
    patch_reads(monkeypatch, lambda p: p.unlink() if p.name == "p1.jpg" else None)
    with Catalog(tmp_path / "c.sqlite") as catalog:
        summary = index(catalog, small_folder)
        assert [(Path(p).name, r) for p, r in summary.errors] == [("p1.jpg", "file disappeared before it could be read")]
        assert summary.indexed == 3
        monkeypatch.undo()
        again = index(catalog, small_folder)  # the next run notices it is gone
        assert again.gone == 1 and catalog.count() == 3


def test_file_replaced_while_the_run_reads_it(small_folder, tmp_path, monkeypatch, require_models):
    replacement = tmp_path / "replacement.jpg"
    Image.open(SHARED_PHOTOS / FACE_PHOTO).save(replacement, quality=80)

    def replace(path: Path) -> None:
        if path.name == "p2.jpg" and not (tmp_path / "done").exists():
            (tmp_path / "done").touch()
            # A half-written file first (an editor saving in place), then the whole new photo.
            path.write_bytes(replacement.read_bytes()[:500])

    patch_reads(monkeypatch, replace)
    with Catalog(tmp_path / "c.sqlite") as catalog:
        first = index(catalog, small_folder)
        assert [Path(p).name for p, _ in first.errors] == ["p2.jpg"]
        monkeypatch.undo()
        shutil.copyfile(replacement, small_folder / "p2.jpg")
        second = index(catalog, small_folder)
        assert second.indexed == 1 and not second.errors
        photo = catalog.query(PhotoFilter(name_contains="p2.jpg"))[0]
        stored_hash = catalog.conn.execute("SELECT content_hash FROM photos WHERE id = ?", (photo.id,)).fetchone()[0]
        assert photo.status == "ok" and stored_hash == hash_bytes((small_folder / "p2.jpg").read_bytes())


def _deny(path: Path):
    """Make `path` unreadable: chmod 000, or - as root, where chmod does not stop reading - simulate it."""
    if os.geteuid() != 0:
        path.chmod(0)
        return None
    real = Path.read_bytes

    def read_bytes(self):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    return read_bytes


def test_unreadable_file_is_an_error_and_the_rest_is_indexed(small_folder, tmp_path, monkeypatch, require_models):
    locked = small_folder / "p3.jpg"
    fake = _deny(locked)
    if fake is not None:
        monkeypatch.setattr(Path, "read_bytes", fake)  # running as root: chmod 000 would not stop reading
    try:
        with Catalog(tmp_path / "c.sqlite") as catalog:
            summary = index(catalog, small_folder)
            assert [(Path(p).name, r) for p, r in summary.errors] == [("p3.jpg", "permission denied")]
            assert summary.indexed == 3
    finally:
        locked.chmod(0o644)


def test_transient_read_errors_are_retried_on_the_next_run(small_folder, tmp_path, monkeypatch, require_models):
    locked = small_folder / "p3.jpg"
    fake = _deny(locked)
    if fake is not None:
        monkeypatch.setattr(Path, "read_bytes", fake)
    with Catalog(tmp_path / "c.sqlite") as catalog:
        assert len(index(catalog, small_folder).errors) == 1
        monkeypatch.undo()
        locked.chmod(0o644)  # the user fixes the permissions: mtime unchanged
        index(catalog, small_folder)
        assert catalog.stats()["errors"] == 0 and catalog.count() == 4


def test_folder_disappears_mid_run(small_folder, tmp_path, monkeypatch, require_models):
    """An unplugged drive: the run ends normally, what was stored stays, nothing is marked gone."""
    reads = []

    def unplug(path: Path) -> None:
        reads.append(path.name)
        if len(reads) == 3 and small_folder.exists():
            shutil.rmtree(small_folder)

    patch_reads(monkeypatch, unplug)
    with Catalog(tmp_path / "c.sqlite") as catalog:
        summary = index(catalog, small_folder)
        assert summary.indexed == 2 and len(summary.errors) == 2
        assert all("disappeared" in r for _, r in summary.errors)
        assert catalog.stats()["gone"] == 0 and catalog.count() == 2
        assert catalog.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # Run again while the folder is still missing: a clear error, stored results untouched.
        monkeypatch.undo()
        with pytest.raises(NotADirectoryError):
            index(catalog, small_folder)
        assert catalog.count() == 2 and catalog.stats()["gone"] == 0


def test_cli_lists_a_photo_whose_name_is_not_utf8(tmp_path):
    import subprocess
    import sys

    from albumsorter.core.catalog import IndexedPhoto

    path = os.fsdecode(os.path.join(os.fsencode(tmp_path), UNDECODABLE_NAME))
    with Catalog(tmp_path / "c.sqlite") as catalog:
        catalog.record_photo(IndexedPhoto(path, 1, 1, "h", "JPEG", 10, 10, None, "det", []))
    for extra in ([], ["--json"]):
        proc = subprocess.run(
            [sys.executable, "-m", "albumsorter", "list", "--catalog", str(tmp_path / "c.sqlite"), *extra],
            capture_output=True,
            timeout=120,
            env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"},
        )
        assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-500:]
        assert b"latin1-" in proc.stdout
