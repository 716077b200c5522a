"""The catalog and XMP sidecars in step (albumsorter.core.sidecar_sync, `albumsorter sidecars write|read`): on a
real catalog file and real photos (the bundled samples), read back through exiv2 as darktable / digiKam would."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from albumsorter.core.catalog import Catalog, PickState
from albumsorter.core.sidecar_sync import PICK, RATING, read_sidecars, sidecar_info, sync_photo_sidecar, write_sidecars
from albumsorter.core.xmp import PICKED, REJECTED, read_sidecar
from tests.conftest import REPO
from tests.factories import face, photo
from tests.test_sidecars import DARKTABLE_SIDECAR, _foreign_fields, exiv2_read, shared_tmp  # noqa: F401 (a fixture)

pyexiv2 = pytest.importorskip("pyexiv2")

SAMPLES = REPO / "resources" / "samples"
REGION_LIST = "Xmp.mwg-rs.Regions/mwg-rs:RegionList"
ODD_NAME = "Zoë's «party» #1 (copy).jpg"


def _size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


def _fingerprints(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.suffix.lower() != ".xmp"}


def _regions(xmp: dict) -> list[str | None]:
    """The descriptions of the regions in a sidecar read by exiv2, in order."""
    count = 0
    while f"{REGION_LIST}[{count + 1}]/mwg-rs:Type" in xmp:
        count += 1
    return [xmp.get(f"{REGION_LIST}[{i}]/mwg-rs:Description") for i in range(1, count + 1)]


def _later(path: Path, seconds: float = 60.0) -> float:
    """Another tool saved the file after AlbumSorter's last change (mtime moved on, as on a real later save)."""
    when = time.time() + seconds
    os.utime(path, (when, when))
    return path.stat().st_mtime


def _as_another_tool(path: Path, changes: dict, seconds: float = 60.0) -> float:
    """darktable / digiKam save the sidecar: exiv2 writes the changes into the file, later than anything so far."""
    image = pyexiv2.Image(str(path))
    try:
        image.modify_xmp(changes)
    finally:
        image.close()
    return _later(path, seconds)


class Album:
    """Real photos (the bundled samples) in a folder, recorded in a real catalog file with made-up faces."""

    def __init__(self, root: Path) -> None:
        self.folder = root / "photos"
        self.folder.mkdir(parents=True)
        for name in ("astronaut.jpg", "group.jpg"):
            shutil.copy2(SAMPLES / name, self.folder / name)
        shutil.copy2(SAMPLES / "astronaut.jpg", self.folder / ODD_NAME)
        shutil.copy2(SAMPLES / "group.jpg", self.folder / "plain.jpg")
        self.catalog_path = root / "catalog.sqlite"
        self.catalog = Catalog(self.catalog_path)
        w, h = _size(self.folder / "astronaut.jpg")
        gw, gh = _size(self.folder / "group.jpg")
        self.astronaut = self.record("astronaut.jpg", [face((180, 60, 300, 220), "happy")], w, h)
        self.odd = self.record(ODD_NAME, [face((180, 60, 300, 220), "sad")], w, h)
        self.group = self.record(
            "group.jpg",
            [
                face((100, 100, 200, 230), "happy"),
                face((400, 110, 500, 240), "happy"),
                face((700, 100, 800, 230), "anger"),
                face((880, 300, 900, 320), "surprise"),  # a tiny face far behind: a bystander
            ],
            gw,
            gh,
        )
        self.plain = self.record("plain.jpg", [], gw, gh)  # nothing to say: no sidecar

    def record(self, name: str, faces: list, width: int, height: int) -> int:
        return self.catalog.record_photo(photo(str(self.folder / name), faces, width=width, height=height))

    def path(self, name: str) -> Path:
        return self.folder / name

    def sidecar(self, name: str) -> Path:
        return self.folder / (name + ".xmp")

    def faces(self, photo_id: int) -> list:
        record = self.catalog.photo(photo_id)
        assert record is not None
        return record.faces


@pytest.fixture
def album(tmp_path):
    album = Album(tmp_path)
    yield album
    album.catalog.close()


def test_write_then_read_round_trips_through_exiv2(album):
    originals = _fingerprints(album.folder)
    album.catalog.set_rating([album.astronaut], 4)
    album.catalog.set_pick([album.astronaut], PickState.PICKED)
    album.catalog.set_pick([album.group], PickState.REJECTED)

    summary = write_sidecars(album.catalog)
    assert summary.ok and summary.conflicts == [] and summary.taken == []
    assert sorted(summary.written) == sorted(str(album.path(n)) for n in ("astronaut.jpg", "group.jpg", ODD_NAME))
    assert not album.sidecar("plain.jpg").exists()  # nothing to say about it

    astronaut = exiv2_read(album.sidecar("astronaut.jpg"))
    assert (astronaut["Xmp.xmp.Rating"], astronaut["Xmp.digiKam.PickLabel"]) == ("4", "3")
    assert astronaut["Xmp.lr.hierarchicalSubject"] == ["AlbumSorter|Expression|Happy", "AlbumSorter|Everyone smiling"]
    assert astronaut["Xmp.dc.subject"] == ["Happy", "Everyone smiling"]
    assert _regions(astronaut) == ["Happy"]
    assert astronaut[f"{REGION_LIST}[1]/mwg-rs:Type"] == "Face"
    assert [float(astronaut[f"{REGION_LIST}[1]/mwg-rs:Area/stArea:{c}"]) for c in "wh"] == pytest.approx([120 / 512, 160 / 512])

    group = exiv2_read(album.sidecar("group.jpg"))
    assert (group["Xmp.xmp.Rating"], group["Xmp.digiKam.PickLabel"]) == ("-1", "1")  # a reject, for both kinds of tool
    assert group["Xmp.lr.hierarchicalSubject"] == ["AlbumSorter|Expression|Happy", "AlbumSorter|Expression|Anger"]
    assert _regions(group) == ["Happy", "Happy", "Anger", "Surprise"]  # the bystander is a face, but not a keyword

    odd = exiv2_read(album.sidecar(ODD_NAME))
    assert "Xmp.xmp.Rating" not in odd and "Xmp.digiKam.PickLabel" not in odd  # never rated: no stars said
    assert odd["Xmp.lr.hierarchicalSubject"] == ["AlbumSorter|Expression|Sad"]

    again = read_sidecars(album.catalog)
    assert again.ok and again.taken == [] and again.conflicts == []
    assert (again.unchanged, again.without_xmp) == (3, 1)  # plain.jpg has no sidecar, and no XMP inside
    assert write_sidecars(album.catalog).written == []  # everything already said
    assert _fingerprints(album.folder) == originals  # the photos were never written


def test_ignored_faces_give_no_region_and_no_keyword(album):
    anger = album.faces(album.group)[2]
    assert anger.label == "anger"
    album.catalog.set_ignored(anger.id, True)
    record = album.catalog.photo(album.group)
    assert record is not None
    info = sidecar_info(record)
    assert info.keywords == ("AlbumSorter|Expression|Happy", "AlbumSorter|Everyone smiling")
    assert [r.description for r in info.regions] == ["Happy", "Happy", "Surprise"]
    assert sidecar_info(record, name=lambda f: "Anna" if f.id == record.faces[0].id else None).regions[0].name == "Anna"

    write_sidecars(album.catalog)
    group = exiv2_read(album.sidecar("group.jpg"))
    assert group["Xmp.lr.hierarchicalSubject"] == ["AlbumSorter|Expression|Happy", "AlbumSorter|Everyone smiling"]
    assert _regions(group) == ["Happy", "Happy", "Surprise"]
    assert "Xmp.xmp.Rating" not in group  # no rating set: none written


def test_a_foreign_darktable_sidecar_keeps_its_fields_and_its_rating_comes_in(album):
    sidecar = album.sidecar("astronaut.jpg")
    sidecar.write_text(DARKTABLE_SIDECAR.replace("{name}", "astronaut.jpg"), encoding="utf-8")  # xmp:Rating 3
    foreign = _foreign_fields(sidecar)
    album.catalog.set_pick([album.astronaut], PickState.PICKED)

    summary = write_sidecars(album.catalog)
    assert summary.ok and str(album.path("astronaut.jpg")) in summary.written
    assert [(d.field, d.catalog, d.sidecar) for d in summary.taken] == [(RATING, None, 3)]  # AlbumSorter had none
    assert _foreign_fields(sidecar) == foreign  # darktable's history, labels, title, GPS... all there
    xmp = exiv2_read(sidecar)
    assert (xmp["Xmp.xmp.Rating"], xmp["Xmp.digiKam.PickLabel"]) == ("3", "3")
    assert xmp["Xmp.lr.hierarchicalSubject"] == [
        "places|beach",
        "people|family",
        "AlbumSorter|Expression|Happy",
        "AlbumSorter|Everyone smiling",
    ]
    assert sorted(p.name for p in album.folder.iterdir() if p.name.startswith("astronaut")) == [
        "astronaut.jpg",
        "astronaut.jpg.xmp",
    ]
    record = album.catalog.photo(album.astronaut)
    assert record is not None and record.rating == 3

    read = read_sidecars(album.catalog)
    assert read.taken == [] and read.conflicts == []
    assert read.foreign_keywords == {}  # unchanged since the write: not read again
    album.catalog.record_sidecar_sync(album.astronaut, 3, PickState.PICKED, None)  # forget the file time: read it again
    read = read_sidecars(album.catalog)
    assert read.foreign_keywords == {str(album.path("astronaut.jpg")): ("places|beach", "people|family")}


def test_a_later_rating_and_reject_in_the_sidecar_are_taken_by_read(album):
    album.catalog.set_rating([album.astronaut, album.group], 4)
    write_sidecars(album.catalog)
    _as_another_tool(album.sidecar("astronaut.jpg"), {"Xmp.xmp.Rating": "2"})
    mtime = _as_another_tool(album.sidecar("group.jpg"), {"Xmp.xmp.Rating": "-1"})  # darktable's reject

    summary = read_sidecars(album.catalog)
    assert summary.ok and summary.conflicts == []
    assert (summary.read, summary.unchanged, summary.without_xmp) == (2, 1, 1)  # the two saved since; plain.jpg has none
    taken = {(Path(d.path).name, d.field): (d.catalog, d.sidecar) for d in summary.taken}
    assert taken == {("astronaut.jpg", RATING): (4, 2), ("group.jpg", PICK): (None, REJECTED)}
    astronaut, group = album.catalog.photo(album.astronaut), album.catalog.photo(album.group)
    assert astronaut is not None and group is not None
    assert astronaut.rating == 2 and group.pick == PickState.REJECTED and group.rating == 4  # the reject hid no stars here
    states = album.catalog.sidecar_states([album.group])
    assert states[album.group].pick_changed_at == mtime  # changed when the sidecar was saved

    assert read_sidecars(album.catalog).unchanged == 4  # nothing new since
    write = write_sidecars(album.catalog)
    assert write.taken == [] and write.conflicts == []
    assert exiv2_read(album.sidecar("astronaut.jpg"))["Xmp.xmp.Rating"] == "2"  # the other tool's value stays
    assert exiv2_read(album.sidecar("group.jpg"))["Xmp.digiKam.PickLabel"] == "1"  # and digiKam now sees the reject too


def test_a_conflict_is_reported_and_changes_nothing(album):
    album.catalog.set_rating([album.astronaut], 4)
    write_sidecars(album.catalog)
    sidecar = album.sidecar("astronaut.jpg")
    _as_another_tool(sidecar, {"Xmp.xmp.Rating": "2"}, seconds=3600)
    album.catalog.set_rating([album.astronaut], 5)  # both changed; the sidecar's time says nothing certain about order
    before = sidecar.read_bytes()

    for run in (read_sidecars, write_sidecars):
        summary = run(album.catalog)
        assert [(Path(d.path).name, d.field, d.catalog, d.sidecar) for d in summary.conflicts] == [
            ("astronaut.jpg", RATING, 5, 2)
        ]
        assert summary.taken == [] and summary.ok
        record = album.catalog.photo(album.astronaut)
        assert record is not None and record.rating == 5
        assert sidecar.read_bytes() == before
    assert read_sidecars(album.catalog).conflicts  # still reported until settled

    album.catalog.set_rating([album.astronaut], 2)  # the user settles it
    summary = read_sidecars(album.catalog)
    assert summary.conflicts == [] and summary.taken == []


def test_a_reject_lifted_in_darktable_is_taken_and_hidden_stars_come_back(album):
    album.catalog.set_rating([album.astronaut], 3)
    album.catalog.set_pick([album.astronaut], PickState.REJECTED)
    write_sidecars(album.catalog)
    sidecar = album.sidecar("astronaut.jpg")
    xmp = exiv2_read(sidecar)
    assert (xmp["Xmp.xmp.Rating"], xmp["Xmp.digiKam.PickLabel"]) == ("-1", "1")  # the 3 stars are hidden by the reject

    _as_another_tool(sidecar, {"Xmp.xmp.Rating": "5"})  # darktable knows no pick labels: it only gives stars
    summary = read_sidecars(album.catalog)
    taken = {d.field: (d.catalog, d.sidecar) for d in summary.taken}
    assert taken == {RATING: (3, 5), PICK: (REJECTED, None)} and summary.conflicts == []
    record = album.catalog.photo(album.astronaut)
    assert record is not None and (record.rating, record.pick) == (5, PickState.UNFLAGGED)
    write_sidecars(album.catalog)
    xmp = exiv2_read(sidecar)
    assert xmp["Xmp.xmp.Rating"] == "5" and "Xmp.digiKam.PickLabel" not in xmp  # no half-reject left behind

    album.catalog.set_pick([album.astronaut], PickState.REJECTED)  # rejected in AlbumSorter, then unflagged again
    write_sidecars(album.catalog)
    album.catalog.set_pick([album.astronaut], PickState.UNFLAGGED)
    write_sidecars(album.catalog)
    assert exiv2_read(sidecar)["Xmp.xmp.Rating"] == "5"  # the stars come back from the catalog


def test_xmp_inside_a_photo_comes_in_and_starts_its_sidecar(album):
    lightroomed = album.path("plain.jpg")  # a copy made for this test: a user's photo is never written
    image = pyexiv2.Image(str(lightroomed))
    try:
        image.modify_xmp({"Xmp.xmp.Rating": "5", "Xmp.dc.subject": ["Lisbon"]})
    finally:
        image.close()
    before = lightroomed.read_bytes()

    summary = read_sidecars(album.catalog)
    assert [(Path(d.path).name, d.field, d.sidecar, Path(d.source).name) for d in summary.taken] == [
        ("plain.jpg", RATING, 5, "plain.jpg")
    ]
    assert summary.foreign_keywords == {str(lightroomed): ("Lisbon",)}
    assert summary.without_xmp == 3
    assert read_sidecars(album.catalog).unchanged == 4  # not read again until saved again

    album.catalog.set_pick([album.plain], PickState.PICKED)
    write_sidecars(album.catalog)
    state = read_sidecar(lightroomed)
    assert state is not None and (state.rating, state.pick) == (5, PICKED)
    assert lightroomed.read_bytes() == before


def test_the_window_writes_one_photos_sidecar_as_the_user_works(album):
    album.catalog.set_pick([album.group], PickState.PICKED)
    summary = sync_photo_sidecar(album.catalog, album.group, "adobe")
    assert summary.ok and summary.written == [str(album.path("group.jpg"))]
    assert sorted(p.name for p in album.folder.glob("*.xmp")) == ["group.xmp"]  # no other photo's sidecar
    album.catalog.set_rating([album.group], 2)
    assert sync_photo_sidecar(album.catalog, album.group).written == [str(album.path("group.jpg"))]
    assert sorted(p.name for p in album.folder.glob("*.xmp")) == ["group.xmp"]  # the existing one, whatever the style
    assert exiv2_read(album.folder / "group.xmp")["Xmp.xmp.Rating"] == "2"
    assert sync_photo_sidecar(album.catalog, album.group).unchanged == 1
    assert sync_photo_sidecar(album.catalog, 999).written == []  # no such photo: nothing, no error


def test_a_broken_sidecar_is_an_error_for_that_photo_only(album):
    broken = album.sidecar("astronaut.jpg")
    broken.write_bytes(b"<html><body>not xmp</body></html>")
    album.catalog.set_rating([album.astronaut, album.group], 1)
    summary = write_sidecars(album.catalog)
    assert [Path(p).name for p, _ in summary.errors] == ["astronaut.jpg"]
    assert "astronaut.jpg.xmp" in summary.errors[0][1] and "XMP" in summary.errors[0][1]
    assert broken.read_bytes() == b"<html><body>not xmp</body></html>"
    assert str(album.path("group.jpg")) in summary.written
    album.path(ODD_NAME).unlink()  # gone since indexing
    summary = write_sidecars(album.catalog)
    assert sorted(Path(p).name for p, _ in summary.errors) == sorted(["astronaut.jpg", ODD_NAME])
    assert "no longer there" in dict(summary.errors)[str(album.path(ODD_NAME))]


# --- a read-only folder --------------------------------------------------------------------------------------------


def _write_as_nobody(catalog_path: Path) -> dict:
    """`write_sidecars` where folder permissions apply: as root (containers, CI images) in a forked child running
    as `nobody` with its own catalog connection (SQLite connections never cross a fork)."""

    def run() -> dict:
        with Catalog(catalog_path) as catalog:
            summary = write_sidecars(catalog)
        return {"written": summary.written, "unchanged": summary.unchanged, "errors": summary.errors}

    if os.geteuid() != 0:
        return run()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read_end)
        try:
            os.setgid(65534)
            os.setuid(65534)
            result = run()
        except BaseException as exc:
            result = {"unexpected": f"{type(exc).__name__}: {exc}"}
        os.write(write_end, json.dumps(result).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        result = json.loads(pipe.read().decode())
    os.waitpid(pid, 0)
    assert "unexpected" not in result, result
    return result


def test_a_read_only_folder_gives_an_error_per_photo_and_loses_nothing(shared_tmp):  # noqa: F811 (the fixture)
    album = Album(shared_tmp / "album")
    album.catalog.set_rating([album.astronaut], 4)
    write_sidecars(album.catalog)
    album.catalog.set_rating([album.astronaut], 5)
    album.catalog.set_pick([album.group], PickState.PICKED)
    album.catalog.close()
    (shared_tmp / "album").chmod(0o777)  # the catalog's folder stays writable, for nobody too
    for path in (shared_tmp / "album").glob("catalog.sqlite*"):
        path.chmod(0o666)
    for sidecar in album.folder.glob("*.xmp"):
        sidecar.chmod(0o666)  # the files could be written: only the folder is read-only
    listing = sorted(os.listdir(album.folder))
    sidecars = {p.name: p.read_bytes() for p in album.folder.glob("*.xmp")}
    photos = _fingerprints(album.folder)
    album.folder.chmod(0o555)
    try:
        result = _write_as_nobody(album.catalog_path)
    finally:
        album.folder.chmod(0o755)
    failed = dict(result["errors"])
    assert (result["written"], result["unchanged"]) == ([], 1)  # the third photo's sidecar already says it all
    assert sorted(Path(p).name for p in failed) == ["astronaut.jpg", "group.jpg"]
    assert all("permission denied" in reason for reason in failed.values())
    assert sorted(os.listdir(album.folder)) == listing  # no sidecar, no temporary file
    assert {p.name: p.read_bytes() for p in album.folder.glob("*.xmp")} == sidecars and _fingerprints(album.folder) == photos

    with Catalog(album.catalog_path) as catalog:  # the catalog kept everything; the next write hands it on
        record = catalog.photo(album.astronaut)
        assert record is not None and record.rating == 5
        summary = write_sidecars(catalog)
        assert summary.ok and summary.conflicts == []
    assert exiv2_read(album.sidecar("astronaut.jpg"))["Xmp.xmp.Rating"] == "5"
    assert exiv2_read(album.sidecar("group.jpg"))["Xmp.digiKam.PickLabel"] == "3"


# --- the command line, end to end ----------------------------------------------------------------------------------


def _albumsorter(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "albumsorter", *args], cwd=REPO, capture_output=True, text=True, env=env, timeout=600
    )


def test_the_sidecars_commands_end_to_end(tmp_path, require_models):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("astronaut.jpg", "group.jpg"):
        shutil.copy2(SAMPLES / name, folder / name)
    (folder / "group.jpg.xmp").write_text(DARKTABLE_SIDECAR.replace("{name}", "group.jpg"), encoding="utf-8")
    originals = _fingerprints(folder)
    catalog = str(tmp_path / "catalog.sqlite")

    index = _albumsorter("index", str(folder), "--catalog", catalog, "--workers", "1", "--read-sidecars")
    assert index.returncode == 0, index.stderr
    assert "Sidecars:   1 read, 0 unchanged since the last sync, 1 photos without XMP" in index.stdout
    assert "Taken:      1 values" in index.stdout and f"rating {folder / 'group.jpg'}: no rating -> 3 stars" in index.stdout
    assert "Keywords:   1 photos carry 3 keywords of other tools" in index.stdout

    for command in (("rate", str(folder / "astronaut.jpg"), "4"), ("reject", str(folder / "group.jpg"))):
        assert _albumsorter(*command, "--catalog", catalog).returncode == 0
    write = _albumsorter("sidecars", "write", "--catalog", catalog, "--style", "adobe")
    assert write.returncode == 0, write.stderr
    assert "Sidecars:   2 written, 0 already up to date" in write.stdout
    assert sorted(p.name for p in folder.glob("*.xmp")) == ["astronaut.xmp", "group.jpg.xmp"]  # the existing one kept
    astronaut = exiv2_read(folder / "astronaut.xmp")
    assert astronaut["Xmp.xmp.Rating"] == "4" and "AlbumSorter|Expression|Happy" in astronaut["Xmp.lr.hierarchicalSubject"]
    assert _regions(astronaut) == ["Happy"]  # the real detector found the astronaut, and the model her smile
    group = exiv2_read(folder / "group.jpg.xmp")
    assert (group["Xmp.xmp.Rating"], group["Xmp.digiKam.PickLabel"], group["Xmp.xmp.Label"]) == ("-1", "1", "Red")
    assert len(_regions(group)) == 3

    _as_another_tool(folder / "astronaut.xmp", {"Xmp.xmp.Rating": "1"})
    read = _albumsorter("sidecars", "read", "--catalog", catalog)
    assert read.returncode == 0, read.stderr
    assert f"rating {folder / 'astronaut.jpg'}: 4 stars -> 1 star (from astronaut.xmp)" in read.stdout
    listed = json.loads(_albumsorter("list", "--catalog", catalog, "--json").stdout)
    assert {Path(p["path"]).name: (p["rating"], p["pick"]) for p in listed} == {
        "astronaut.jpg": (1, "unflagged"),
        "group.jpg": (3, "rejected"),
    }

    (folder / "group.jpg.xmp").write_bytes(b"\x00 not xmp")
    failed = _albumsorter("sidecars", "write", "--catalog", catalog)
    assert failed.returncode == 1
    assert f"error: {folder / 'group.jpg'}:" in failed.stderr and "Errors:     1 photos failed" in failed.stdout
    assert _fingerprints(folder) == originals
