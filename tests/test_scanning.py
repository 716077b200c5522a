"""Walking folders: recursion, hidden folders, content recognition, symlink loops."""

from __future__ import annotations

import os

from PIL import Image

from albumsorter.core.scanning import BROKEN_LINK_SIZE, looks_like_photo, walk_files


def test_walk_finds_files_recursively_and_skips_hidden_and_app_files(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / ".thumbnails").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "a" / "b" / "deep.png")
    Image.new("RGB", (8, 8)).save(tmp_path / ".thumbnails" / "hidden.png")
    Image.new("RGB", (8, 8)).save(tmp_path / ".hidden.png")
    (tmp_path / "catalog.sqlite").write_bytes(b"SQLite format 3\x00")
    Image.new("RGB", (8, 8)).save(tmp_path / "no_extension", "PNG")
    names = sorted(e.path.name for e in walk_files(tmp_path))
    assert names == ["deep.png", "no_extension"]
    assert looks_like_photo(tmp_path / "no_extension")


def test_symlink_loop_ends_and_broken_links_are_reported(tmp_path):
    (tmp_path / "sub").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "sub" / "x.jpg")
    os.symlink(tmp_path, tmp_path / "sub" / "loop")  # sub/loop -> root -> sub -> ...
    os.symlink(tmp_path / "missing.jpg", tmp_path / "dangling.jpg")
    entries = list(walk_files(tmp_path))
    assert [e.path.name for e in entries if e.size != BROKEN_LINK_SIZE] == ["x.jpg"]
    assert [e.path.name for e in entries if e.size == BROKEN_LINK_SIZE] == ["dangling.jpg"]
