"""Reliability (issue #6): originals are only ever read; export never overwrites and never writes outside its
destination, whatever the file names are.

`../x.jpg` cannot be a real file name, but backslashes, colons, newlines, leading dots, trailing dots and spaces,
undecodable bytes and 250-byte names can, and each must land as one new file directly inside the destination.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from albumsorter.core.catalog import PICK_PICKED, PICK_REJECTED, Catalog, PhotoFilter
from albumsorter.core.export import copy_new, export_photos, safe_name
from albumsorter.core.pipeline import Indexer, IndexOptions
from tests.conftest import SHARED_PHOTOS, require_shared

SMALL = "ageitgey__examples_obama-240p.jpg"

HOSTILE_NAMES = [
    "back\\slash.jpg",
    "..\\..\\escape.jpg",
    "C:\\Windows\\x.jpg",
    "co:lon.jpg",
    "new\nline.jpg",
    "tab\there.jpg",
    ".leading-dot.jpg",
    "..double-dot.jpg",
    "...",
    "trailing dot.jpg.",
    "trailing space.jpg ",
    " leading space.jpg",
    'quote"star*pipe|?<>.jpg',
    "ünïcödé 写真.jpg",
    "é" * 123 + ".jpg",  # 250 bytes: the renamed copy must be shortened, not fail
    "x" * 251 + ".jpg",  # 255 bytes, the longest name there is
    os.fsdecode(b"latin1-\xe9t\xe9.jpg"),  # not UTF-8
]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(root: Path, skip: Path | None = None) -> dict[str, tuple[str, int]]:
    """Every file under `root` (not following links): content hash and mtime."""
    out = {}
    for dirpath, _, files in os.walk(root):
        if skip is not None and Path(dirpath).resolve().is_relative_to(skip.resolve()):
            continue
        for f in files:
            p = Path(dirpath) / f
            if p.is_file() and not p.is_symlink():
                out[os.fsencode(p).hex()] = (sha(p), p.stat().st_mtime_ns)
    return out


@pytest.fixture
def sources(tmp_path) -> list[Path]:
    require_shared(SHARED_PHOTOS)
    folder = tmp_path / "src"
    folder.mkdir()
    paths = []
    for i, name in enumerate(HOSTILE_NAMES):
        path = Path(os.path.join(os.fsencode(folder), os.fsencode(name)).decode("utf-8", "surrogateescape"))
        shutil.copy2(SHARED_PHOTOS / SMALL, path)
        with open(path, "ab") as fh:
            fh.write(bytes([i]))  # each file its own content
        paths.append(path)
    return paths


def test_export_with_hostile_names_stays_inside_the_destination(sources, tmp_path):
    dest = tmp_path / "out"
    outside = tmp_path / "outside"
    outside.mkdir()
    before = snapshot(tmp_path)
    for _ in range(2):  # the second export must create renamed copies, never overwrite
        result = export_photos(sources, dest)
        assert not result.failed, result.failed
        assert len(result.copied) == len(sources)
        for src, target in result.copied:
            target = Path(target)
            assert target.parent == dest.resolve() and target.name not in ("", ".", "..")
            assert "/" not in target.name and "\\" not in target.name and "\n" not in target.name
            assert not target.name.startswith(".")
            assert len(os.fsencode(target.name)) <= 255
            assert sha(target) == sha(Path(src))
    assert len(list(dest.iterdir())) == 2 * len(sources)
    assert snapshot(tmp_path, skip=dest) == before, "nothing outside the destination was written or changed"
    assert list(outside.iterdir()) == []


def test_export_never_overwrites_and_never_follows_a_link_out(sources, tmp_path):
    dest = tmp_path / "out"
    dest.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    src = sources[3]  # co:lon.jpg -> co_lon.jpg
    (dest / "co_lon.jpg").write_bytes(b"the user's own file")
    (dest / "co_lon (1).jpg").write_bytes(b"another one")
    os.symlink(outside / "planted.jpg", dest / "co_lon (2).jpg")  # a dangling link pointing out of dest
    target = copy_new(src, dest)
    assert target.name == "co_lon (3).jpg" and sha(target) == sha(src)
    assert (dest / "co_lon.jpg").read_bytes() == b"the user's own file"
    assert (dest / "co_lon (1).jpg").read_bytes() == b"another one"
    assert list(outside.iterdir()) == [], "export followed a symlink out of the destination"


def test_export_reports_a_vanished_source_and_goes_on(sources, tmp_path):
    sources[0].unlink()
    result = export_photos(sources, tmp_path / "out")
    assert [Path(s).name for s, _ in result.failed] == [sources[0].name]
    assert result.failed[0][1] and len(result.copied) == len(sources) - 1
    assert len(list((tmp_path / "out").iterdir())) == len(sources) - 1


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=0, max_size=300))
def test_safe_name_is_always_one_plain_name(name):
    cleaned = safe_name(name)
    assert cleaned and cleaned not in (".", "..")
    assert not any(c in cleaned for c in "/\\\0\n\r:")
    assert Path("/dest", cleaned).parent == Path("/dest")


def test_originals_are_untouched_by_indexing_picking_and_exporting(photo_folder, sources, tmp_path, require_models):
    for src in [s for s in sources if not s.name.startswith(".")][:6]:  # hidden names are not indexed
        shutil.copy2(src, photo_folder / src.name)
    before = snapshot(photo_folder)
    with Catalog(tmp_path / "c.sqlite") as catalog:
        Indexer(catalog, IndexOptions(workers=2)).run(photo_folder)
        photos = catalog.query(with_faces=True)
        assert len(photos) == 12
        catalog.set_pick([p.id for p in photos], PICK_PICKED)
        catalog.set_pick([photos[0].id], PICK_REJECTED)
        for p in photos:
            for f in p.faces:
                catalog.set_correction(f.id, "happy")
        picked = [p.path for p in catalog.query(PhotoFilter(picks=["picked"]))]
        result = export_photos(picked, tmp_path / "book")
        assert len(result.copied) == 11 and not result.failed
        # Exporting into the photo folder itself only adds copies next to the originals.
        export_photos(picked[:2], photo_folder)
        Indexer(catalog, IndexOptions(workers=2)).run(photo_folder)  # and indexing again reads only
    after = snapshot(photo_folder)
    assert {k: v for k, v in after.items() if k in before} == before
    assert len(after) == len(before) + 2
