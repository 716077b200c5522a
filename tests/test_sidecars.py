"""XMP sidecars (albumsorter.core.xmp): what AlbumSorter writes, exiv2 (and exiftool / the exiv2 command, where
installed) reads back; other tools' sidecars keep every field; originals are never written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from PIL import Image

from albumsorter.core.xmp import (
    EVERYONE_SMILING_KEYWORD,
    NEVER_WRITTEN,
    PICKED,
    REJECTED,
    FaceRegion,
    Resolution,
    SidecarError,
    SidecarInfo,
    SidecarStyle,
    expression_keywords,
    folder_names,
    packet,
    photo_orientation,
    read_embedded_xmp,
    read_sidecar,
    resolve,
    sidecar_path,
    stored_size,
    write_sidecar,
)
from albumsorter.core.xmp import files as xmp_files
from tests.conftest import SHARED_PHOTOS, exif_stored_as, require_shared

pyexiv2 = pytest.importorskip("pyexiv2")

EXIFTOOL = shutil.which("exiftool")
EXIV2 = shutil.which("exiv2")
REAL_PHOTO = SHARED_PHOTOS / "ageitgey__examples_two_people.jpg"

# --- other tools' sidecars, as they write them ---------------------------------------------------------------------

DARKTABLE_SIDECAR = """<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/" xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/" xmlns:darktable="http://darktable.sf.net/"
   exif:DateTimeOriginal="2023:07:14 18:22:05" exif:GPSLatitude="48,51.3972N" exif:GPSLongitude="2,17.7654E"
   xmp:Rating="3" xmp:Label="Red" xmpMM:DerivedFrom="{name}"
   darktable:import_timestamp="63823456789000000" darktable:change_timestamp="63823456999000000"
   darktable:export_timestamp="-1" darktable:print_timestamp="-1" darktable:xmp_version="5"
   darktable:raw_params="0" darktable:auto_presets_applied="1" darktable:history_end="2"
   darktable:iop_order_version="4" darktable:history_basic_hash="8f3a0e42c6d1b7a0a4f0d2c9e1b3a5c7"
   darktable:history_current_hash="1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f">
   <darktable:colorlabels><rdf:Seq><rdf:li>0</rdf:li><rdf:li>2</rdf:li></rdf:Seq></darktable:colorlabels>
   <darktable:masks_history><rdf:Seq/></darktable:masks_history>
   <darktable:history>
    <rdf:Seq>
     <rdf:li darktable:num="0" darktable:operation="exposure" darktable:enabled="1" darktable:modversion="6"
      darktable:params="0000000000000000cdcccc3e00000000" darktable:multi_name="" darktable:multi_priority="0"
      darktable:blendop_version="13" darktable:blendop_params="gz11eJxjYIAACQYYOOHEgAZY0QVwggZ7CB6pfNoAAEq8BRE="/>
     <rdf:li darktable:num="1" darktable:operation="colorbalancergb" darktable:enabled="1" darktable:modversion="5"
      darktable:params="gz12eJxjYGBgYAFiBgYAAAkAAQ==" darktable:multi_name="punchy" darktable:multi_priority="1"
      darktable:blendop_version="13" darktable:blendop_params="gz11eJxjYIAACQYYOOHEgAZY0QVwggZ7CB6pfNoAAEq8BRE="/>
    </rdf:Seq>
   </darktable:history>
   <dc:creator><rdf:Seq><rdf:li>Ana Photographer</rdf:li></rdf:Seq></dc:creator>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">Sunset at the pier</rdf:li></rdf:Alt></dc:title>
   <dc:subject><rdf:Bag><rdf:li>beach</rdf:li><rdf:li>Happy</rdf:li><rdf:li>family</rdf:li></rdf:Bag></dc:subject>
   <lr:hierarchicalSubject><rdf:Bag><rdf:li>places|beach</rdf:li><rdf:li>people|family</rdf:li></rdf:Bag></lr:hierarchicalSubject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""

DIGIKAM_SIDECAR = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:digiKam="http://www.digikam.org/ns/1.0/"
    xmlns:MicrosoftPhoto="http://ns.microsoft.com/photo/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/" xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"
    xmlns:stDim="http://ns.adobe.com/xap/1.0/sType/Dimensions#" xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#"
    xmlns:MP="http://ns.microsoft.com/photo/1.2/" xmlns:MPRI="http://ns.microsoft.com/photo/1.2/t/RegionInfo#"
    xmlns:MPReg="http://ns.microsoft.com/photo/1.2/t/Region#"
   xmp:Rating="4" MicrosoftPhoto:Rating="75" digiKam:ColorLabel="4" digiKam:PickLabel="2">
   <digiKam:TagsList><rdf:Seq><rdf:li>People/Anna Müller</rdf:li><rdf:li>Places/Beach</rdf:li></rdf:Seq></digiKam:TagsList>
   <dc:subject><rdf:Bag><rdf:li>Anna Müller</rdf:li><rdf:li>Beach</rdf:li></rdf:Bag></dc:subject>
   <lr:hierarchicalSubject><rdf:Bag><rdf:li>People|Anna Müller</rdf:li><rdf:li>Places|Beach</rdf:li></rdf:Bag></lr:hierarchicalSubject>
   <mwg-rs:Regions rdf:parseType="Resource">
    <mwg-rs:AppliedToDimensions stDim:w="{w}" stDim:h="{h}" stDim:unit="pixel"/>
    <mwg-rs:RegionList>
     <rdf:Bag>
      <rdf:li><rdf:Description mwg-rs:Name="Anna Müller" mwg-rs:Type="Face">
       <mwg-rs:Area stArea:x="0.25" stArea:y="0.3" stArea:w="0.2" stArea:h="0.3" stArea:unit="normalized"/>
      </rdf:Description></rdf:li>
      <rdf:li><rdf:Description mwg-rs:Name="Ben" mwg-rs:Type="Face" mwg-rs:Rotation="-0.02">
       <mwg-rs:Area stArea:x="0.7" stArea:y="0.4" stArea:w="0.15" stArea:h="0.2" stArea:unit="normalized"/>
       <mwg-rs:Extensions rdf:parseType="Resource">
        <digiKam:FaceSource>Recognition</digiKam:FaceSource>
       </mwg-rs:Extensions>
      </rdf:Description></rdf:li>
     </rdf:Bag>
    </mwg-rs:RegionList>
   </mwg-rs:Regions>
   <MP:RegionInfo rdf:parseType="Resource">
    <MPRI:Regions><rdf:Bag>
     <rdf:li MPReg:Rectangle="0.15, 0.15, 0.2, 0.3" MPReg:PersonDisplayName="Anna Müller"/>
    </rdf:Bag></MPRI:Regions>
   </MP:RegionInfo>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>
"""

LIGHTROOM_SIDECAR = """<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0-c000 1.000000, 0000/00/00-00:00:00">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/" xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"
    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
   xmp:Rating="2" xmp:Label="Green" xmp:MetadataDate="2024-05-02T10:11:12+02:00"
   photoshop:DateCreated="2024-05-01T17:03:44" crs:Version="16.3" crs:ProcessVersion="15.4"
   crs:WhiteBalance="As Shot" crs:Exposure2012="+0.35" crs:Contrast2012="+12" crs:HasSettings="True"
   xmpMM:DocumentID="xmp.did:5c1f0c1a-36a2-4d42-b0e4-6d3c2a1f9e11">
   <crs:ToneCurvePV2012><rdf:Seq><rdf:li>0, 0</rdf:li><rdf:li>128, 140</rdf:li><rdf:li>255, 255</rdf:li></rdf:Seq></crs:ToneCurvePV2012>
   <crs:Look rdf:parseType="Resource">
    <crs:Name>Adobe Color</crs:Name>
    <crs:Amount>1.000000</crs:Amount>
    <crs:Parameters rdf:parseType="Resource"><crs:Version>16.3</crs:Version><crs:ConvertToGrayscale>False</crs:ConvertToGrayscale></crs:Parameters>
   </crs:Look>
   <xmpMM:History><rdf:Seq>
    <rdf:li stEvt:action="saved" stEvt:instanceID="xmp.iid:0b0a" stEvt:when="2024-05-02T10:11:12+02:00"
     stEvt:softwareAgent="Adobe Photoshop Lightroom Classic 13.3 (Windows)" stEvt:changed="/metadata"/>
   </rdf:Seq></xmpMM:History>
   <dc:subject><rdf:Bag><rdf:li>holiday</rdf:li><rdf:li>Lisbon</rdf:li></rdf:Bag></dc:subject>
   <lr:hierarchicalSubject><rdf:Bag><rdf:li>Trips|2024|Lisbon</rdf:li></rdf:Bag></lr:hierarchicalSubject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""

OWN_KEYS = (
    packet.RATING,
    packet.PICK_LABEL,
    packet.SUBJECT,
    packet.HIERARCHICAL,
    packet.DIGIKAM_TAGS,
    packet.REGIONS,
    "Xmp.albumsorter.",
)


def _is_own_key(key: str) -> bool:
    return any(
        key == k or key.startswith(k + "/") or key.startswith(k + "[") or (k.endswith(".") and key.startswith(k))
        for k in OWN_KEYS
    )


def exiv2_read(path: Path) -> dict:
    """A fresh read through exiv2's own file access (pyexiv2.Image on the path), as another program would."""
    image = pyexiv2.Image(str(path))
    try:
        return image.read_xmp()
    finally:
        image.close()


def exiftool_read(path: Path) -> dict:
    out = subprocess.run(
        [EXIFTOOL, "-j", "-struct", "-G1", "-n", "-XMP:all", str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)[0]


def exiv2_cli_types(path: Path) -> dict[str, str]:
    out = subprocess.run([EXIV2, "-PXky", str(path)], capture_output=True, text=True, check=True)
    return dict(line.split()[:2] for line in out.stdout.splitlines() if line.strip())


def make_photo(folder: Path, name: str = "IMG_0042.jpg", size: tuple[int, int] = (120, 80), orientation: int = 1) -> Path:
    """A JPEG made here (no ../shared needed); with an EXIF orientation when asked."""
    folder.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", size, (90, 140, 200))
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    path = folder / name
    image.save(path, "JPEG", quality=90, exif=exif)
    return path


def snapshot(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def happy_info(**overrides) -> SidecarInfo:
    values: dict = dict(
        rating=4,
        picked=True,
        keywords=expression_keywords(["happy", "neutral"], everyone_smiling=False),
        regions=(FaceRegion(0.3, 0.4, 0.1, 0.15, description="Happy"), FaceRegion(0.8, 0.5, 0.08, 0.1, description="Neutral")),
        image_size=(120, 80),
    )
    values.update(overrides)
    return SidecarInfo(**values)


# --- what pyexiv2 can do with a standalone sidecar --------------------------------------------------------------


def test_pyexiv2_opens_a_standalone_sidecar_by_path_and_from_bytes(tmp_path):
    sidecar = tmp_path / "IMG_0042.jpg.xmp"
    sidecar.write_text(DARKTABLE_SIDECAR.replace("{name}", "IMG_0042.jpg"), encoding="utf-8")
    by_path = exiv2_read(sidecar)
    from_bytes = pyexiv2.ImageData(sidecar.read_bytes())
    try:
        assert from_bytes.get_mime_type() == "application/rdf+xml"
        assert from_bytes.read_xmp() == by_path
    finally:
        from_bytes.close()
    assert by_path["Xmp.xmp.Rating"] == "3"
    assert by_path["Xmp.darktable.history[2]/darktable:operation"] == "colorbalancergb"


def test_exiv2_mirrors_would_resurrect_removed_keywords_without_clearing(tmp_path):
    """Why packet.merged_packet clears exiv2's EXIF/IPTC mirrors: without it a removed keyword comes back."""
    data = DARKTABLE_SIDECAR.replace("{name}", "x.jpg").encode()
    naive = pyexiv2.ImageData(data)
    try:
        naive.modify_xmp({"Xmp.dc.subject": None})
        assert pyexiv2.ImageData(naive.get_bytes()).read_xmp()["Xmp.dc.subject"] == ["beach", "Happy", "family"]
    finally:
        naive.close()
    merged = packet.merged_packet(data, SidecarInfo(rating=1))
    assert merged is not None and pyexiv2.ImageData(merged).read_xmp()["Xmp.dc.subject"] == ["beach", "Happy", "family"]


# --- round trips ---------------------------------------------------------------------------------------------------


def test_a_new_sidecar_round_trips_through_exiv2(tmp_path):
    photo = make_photo(tmp_path)
    info = happy_info(keywords=expression_keywords(["happy", "neutral"], everyone_smiling=True))
    written = write_sidecar(photo, info)
    sidecar = tmp_path / "IMG_0042.jpg.xmp"
    assert written is not None and written.path == sidecar and sidecar.is_file()

    xmp = exiv2_read(sidecar)
    assert xmp["Xmp.xmp.Rating"] == "4"
    assert xmp["Xmp.digiKam.PickLabel"] == "3"
    assert xmp["Xmp.lr.hierarchicalSubject"] == [
        "AlbumSorter|Expression|Happy",
        "AlbumSorter|Expression|Neutral",
        EVERYONE_SMILING_KEYWORD,
    ]
    assert xmp["Xmp.dc.subject"] == ["Happy", "Neutral", "Everyone smiling"]
    base = "Xmp.mwg-rs.Regions/mwg-rs:RegionList"
    assert xmp[f"{base}[1]/mwg-rs:Type"] == "Face"
    assert xmp[f"{base}[1]/mwg-rs:Description"] == "Happy"
    assert [float(xmp[f"{base}[1]/mwg-rs:Area/stArea:{c}"]) for c in "xywh"] == [0.3, 0.4, 0.1, 0.15]
    assert xmp[f"{base}[2]/mwg-rs:Area/stArea:unit"] == "normalized"
    assert xmp["Xmp.mwg-rs.Regions/mwg-rs:AppliedToDimensions/stDim:w"] == "120"
    assert xmp["Xmp.mwg-rs.Regions/mwg-rs:AppliedToDimensions/stDim:h"] == "80"

    state = read_sidecar(photo)
    assert state is not None
    assert (state.rating, state.picked, state.rejected, state.pick) == (4, True, False, PICKED)
    assert state.own_keywords == info.keywords and state.foreign_keywords == ()
    assert state.own_regions == info.regions and state.regions == ()
    assert written == state


@pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is not installed (an independent XMP reader)")
def test_exiftool_reads_what_albumsorter_writes(tmp_path):
    photo = make_photo(tmp_path)
    write_sidecar(photo, happy_info(regions=(FaceRegion(0.3, 0.4, 0.1, 0.15, name="Zoë", description="Happy"),)))
    tags = exiftool_read(tmp_path / "IMG_0042.jpg.xmp")
    assert tags["XMP-xmp:Rating"] == 4
    assert tags["XMP-digiKam:PickLabel"] == 3
    assert tags["XMP-dc:Subject"] == ["Happy", "Neutral"]
    assert tags["XMP-lr:HierarchicalSubject"] == ["AlbumSorter|Expression|Happy", "AlbumSorter|Expression|Neutral"]
    region_info = tags["XMP-mwg-rs:RegionInfo"]
    assert region_info["AppliedToDimensions"] == {"W": 120, "H": 80, "Unit": "pixel"}
    (region,) = region_info["RegionList"]
    assert (region["Type"], region["Name"], region["Description"]) == ("Face", "Zoë", "Happy")
    assert region["Area"] == {"X": 0.3, "Y": 0.4, "W": 0.1, "H": 0.15, "Unit": "normalized"}


@pytest.mark.skipif(EXIV2 is None, reason="the exiv2 command is not installed")
def test_the_exiv2_command_reads_keyword_lists_as_bags(tmp_path):
    photo = make_photo(tmp_path)
    write_sidecar(photo, happy_info(rejected=True, picked=False))
    types = exiv2_cli_types(tmp_path / "IMG_0042.jpg.xmp")
    assert types["Xmp.dc.subject"] == "XmpBag"  # pyexiv2 alone would write an rdf:Seq
    assert types["Xmp.lr.hierarchicalSubject"] == "XmpBag"
    values = subprocess.run(
        [EXIV2, "-PXkv", str(tmp_path / "IMG_0042.jpg.xmp")], capture_output=True, text=True, check=True
    ).stdout
    assert any(line.split() == ["Xmp.xmp.Rating", "-1"] for line in values.splitlines())
    assert any(line.split() == ["Xmp.digiKam.PickLabel", "1"] for line in values.splitlines())


def test_a_reject_and_its_undoing(tmp_path):
    photo = make_photo(tmp_path)
    state = write_sidecar(photo, SidecarInfo(rating=3, rejected=True))
    assert state is not None and (state.rating, state.rejected, state.pick_label, state.pick) == (None, True, 1, REJECTED)
    assert exiv2_read(state.path)["Xmp.xmp.Rating"] == "-1"  # darktable's and Lightroom's reject
    state = write_sidecar(photo, SidecarInfo())  # unflagged, no stars known: the reject goes, nothing else appears
    assert state is not None and (state.rating, state.rejected, state.picked, state.pick_label) == (None, False, False, None)
    assert "Xmp.xmp.Rating" not in exiv2_read(state.path) and "Xmp.digiKam.PickLabel" not in exiv2_read(state.path)


def test_nothing_to_say_creates_no_sidecar_and_an_unchanged_one_is_not_rewritten(tmp_path):
    photo = make_photo(tmp_path)
    assert write_sidecar(photo, SidecarInfo()) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["IMG_0042.jpg"]
    first = write_sidecar(photo, happy_info())
    assert first is not None
    before = snapshot(first.path)
    again = write_sidecar(photo, happy_info())
    assert again == first and snapshot(first.path) == before


# --- other tools' sidecars -----------------------------------------------------------------------------------------


def _foreign_fields(path: Path) -> dict:
    return {k: v for k, v in exiv2_read(path).items() if not _is_own_key(k)}


def _foreign_regions(path: Path) -> list[list]:
    return [sorted(r.entries) for r in packet.stored_regions(packet.read_entries(path.read_bytes()) or {}) if not r.own]


def test_a_darktable_sidecar_keeps_every_field_through_two_writes(tmp_path):
    photo = make_photo(tmp_path)
    sidecar = tmp_path / "IMG_0042.jpg.xmp"
    sidecar.write_text(DARKTABLE_SIDECAR.replace("{name}", photo.name), encoding="utf-8")
    foreign = _foreign_fields(sidecar)
    exiftool_before = exiftool_read(sidecar) if EXIFTOOL else None
    assert "Xmp.darktable.history[1]/darktable:blendop_params" in foreign and "Xmp.xmp.Label" in foreign

    write_sidecar(photo, happy_info())
    state = write_sidecar(photo, happy_info(keywords=expression_keywords(["sad"]), rating=5))
    assert state is not None
    assert _foreign_fields(sidecar) == foreign
    assert state.hierarchical_keywords == ("places|beach", "people|family", "AlbumSorter|Expression|Sad")
    # "Happy" was darktable's own flat keyword before AlbumSorter wrote one: it stays, and is not AlbumSorter's to remove
    assert state.keywords == ("beach", "Happy", "family", "Sad") and state.own_subjects == ("Sad",)
    assert state.rating == 5 and state.picked
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".xmp"] == ["IMG_0042.jpg.xmp"]
    if exiftool_before is not None:  # an independent reader sees every foreign tag unchanged
        after = exiftool_read(sidecar)
        own = {"XMP-xmp:Rating", "XMP-digiKam:PickLabel", "XMP-dc:Subject", "XMP-lr:HierarchicalSubject", "XMP-mwg-rs:RegionInfo"}
        changed = {k for k in set(exiftool_before) | set(after) if exiftool_before.get(k) != after.get(k)}
        assert changed - own - {k for k in changed if k.startswith(("System:", "XMP-albumsorter:"))} == set()


def test_keywords_are_replaced_not_duplicated(tmp_path):
    photo = make_photo(tmp_path)
    for _ in range(3):
        state = write_sidecar(photo, happy_info())
    assert state is not None
    assert state.keywords == ("Happy", "Neutral")
    assert state.hierarchical_keywords == ("AlbumSorter|Expression|Happy", "AlbumSorter|Expression|Neutral")
    state = write_sidecar(photo, happy_info(keywords=()))
    assert state is not None and state.keywords == () and state.hierarchical_keywords == ()
    assert "Xmp.dc.subject" not in exiv2_read(state.path)


def test_a_digikam_sidecar_keeps_its_people_and_labels(tmp_path):
    photo = make_photo(tmp_path)
    sidecar = tmp_path / "IMG_0042.jpg.xmp"
    sidecar.write_text(DIGIKAM_SIDECAR.replace("{w}", "120").replace("{h}", "80"), encoding="utf-8")
    foreign, foreign_regions = _foreign_fields(sidecar), _foreign_regions(sidecar)
    anna_again = FaceRegion(0.25, 0.3, 0.2, 0.3, description="Happy")  # AlbumSorter found Anna's face too
    new_face = FaceRegion(0.5, 0.8, 0.1, 0.1, description="Surprise")

    state = write_sidecar(photo, happy_info(picked=False, rating=None, regions=(anna_again, new_face)))
    assert state is not None
    assert _foreign_fields(sidecar) == foreign and _foreign_regions(sidecar) == foreign_regions
    assert state.pick_label == 2 and state.rating == 4  # digiKam's "pending" label and its stars: AlbumSorter has no say
    assert [r.name for r in state.regions] == ["Anna Müller", "Ben"]
    assert state.own_regions == (new_face,)  # no second box over a face digiKam already marked
    assert state.foreign_keywords == ("People|Anna Müller", "Places|Beach")
    tags = ["People/Anna Müller", "Places/Beach", "AlbumSorter/Expression/Happy", "AlbumSorter/Expression/Neutral"]
    assert exiv2_read(sidecar)["Xmp.digiKam.TagsList"] == tags  # digiKam reads its own list first

    state = write_sidecar(photo, happy_info(picked=True, regions=(), keywords=expression_keywords(["sad"])))
    assert state is not None and state.own_regions == () and [r.name for r in state.regions] == ["Anna Müller", "Ben"]
    assert exiv2_read(sidecar)["Xmp.digiKam.TagsList"] == [*tags[:2], "AlbumSorter/Expression/Sad"]
    assert state.pick_label == 3
    assert _foreign_fields(sidecar) == foreign
    assert _foreign_regions(sidecar) == foreign_regions


def test_a_foreign_region_added_after_albumsorters_keeps_all_its_fields(tmp_path):
    """Another tool appends a face after AlbumSorter's: rewriting AlbumSorter's renumbers it, losing nothing."""
    photo = make_photo(tmp_path)
    state = write_sidecar(photo, happy_info())
    assert state is not None
    base = f"{packet.REGION_LIST}[3]"
    tool = pyexiv2.Image(str(state.path))
    try:
        tool.modify_xmp(
            {
                base: "type=Struct",
                f"{base}/mwg-rs:Name": "Carla",
                f"{base}/mwg-rs:Type": "Face",
                f"{base}/mwg-rs:Area": "type=Struct",
                **{f"{base}/mwg-rs:Area/stArea:{c}": v for c, v in zip("xywh", ("0.1", "0.1", "0.05", "0.05"))},
                f"{base}/mwg-rs:Extensions": "type=Struct",
                f"{base}/mwg-rs:Extensions/digiKam:Tags": "type=Bag",
                f"{base}/mwg-rs:Extensions/digiKam:Tags[1]": "friends",
                f"{base}/mwg-rs:Extensions/digiKam:Tags[2]": "school",
                f"{base}/mwg-rs:Description": {'lang="x-default"': "at school"},
            }
        )
    finally:
        tool.close()
    carla_before = _foreign_regions(state.path)
    assert len(carla_before) == 1

    state = write_sidecar(photo, happy_info(regions=(FaceRegion(0.6, 0.6, 0.1, 0.1, description="Sad"),)))
    assert state is not None
    assert [r.name for r in state.regions] == ["Carla"] and [r.description for r in state.own_regions] == ["Sad"]
    assert _foreign_regions(state.path) == carla_before
    xmp = exiv2_read(state.path)
    assert xmp[f"{packet.REGION_LIST}[1]/mwg-rs:Extensions/digiKam:Tags"] == ["friends", "school"]
    if EXIV2:
        assert exiv2_cli_types(state.path)[f"{packet.REGION_LIST}[1]/mwg-rs:Extensions/digiKam:Tags"] == "XmpBag"


def test_a_lightroom_sidecar_in_adobe_naming_is_updated_in_place(tmp_path):
    photo = make_photo(tmp_path)
    adobe = tmp_path / "IMG_0042.xmp"
    adobe.write_text(LIGHTROOM_SIDECAR, encoding="utf-8")
    foreign = _foreign_fields(adobe)
    assert foreign["Xmp.crs.Look/crs:Parameters/crs:Version"] == "16.3"
    state = write_sidecar(photo, happy_info(), SidecarStyle.DARKTABLE)  # the existing one wins over the style
    assert state is not None and state.path == adobe
    assert sorted(p.name for p in tmp_path.iterdir()) == ["IMG_0042.jpg", "IMG_0042.xmp"]
    assert _foreign_fields(adobe) == foreign
    assert state.foreign_keywords == ("Trips|2024|Lisbon", "holiday")
    assert read_sidecar(photo) == state


# --- naming --------------------------------------------------------------------------------------------------------


def test_both_naming_styles_and_the_existing_sidecar_wins(tmp_path):
    photo = make_photo(tmp_path)
    listed_before = folder_names(tmp_path)
    assert sidecar_path(photo, "darktable") == tmp_path / "IMG_0042.jpg.xmp"
    assert sidecar_path(photo, SidecarStyle.ADOBE) == tmp_path / "IMG_0042.xmp"
    state = write_sidecar(photo, happy_info(), "adobe")
    assert state is not None and state.path == tmp_path / "IMG_0042.xmp"
    assert sidecar_path(photo, "darktable") == tmp_path / "IMG_0042.xmp"
    assert sidecar_path(photo, "darktable", listed_before) == tmp_path / "IMG_0042.xmp"  # a listing made before it
    write_sidecar(photo, happy_info(rating=1), "darktable", listed_before)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["IMG_0042.jpg", "IMG_0042.xmp"]
    assert read_sidecar(photo).rating == 1  # type: ignore[union-attr]

    other = make_photo(tmp_path / "b")
    (tmp_path / "b" / "IMG_0042.JPG.XMP").write_text(DARKTABLE_SIDECAR.replace("{name}", other.name), encoding="utf-8")
    assert sidecar_path(other, "adobe") == tmp_path / "b" / "IMG_0042.JPG.XMP"  # matched whatever its case
    both = make_photo(tmp_path / "c")
    (tmp_path / "c" / "IMG_0042.xmp").write_text(LIGHTROOM_SIDECAR, encoding="utf-8")
    (tmp_path / "c" / "IMG_0042.jpg.xmp").write_text(DARKTABLE_SIDECAR.replace("{name}", both.name), encoding="utf-8")
    assert sidecar_path(both, "adobe") == tmp_path / "c" / "IMG_0042.jpg.xmp"


def test_an_adobe_name_shared_with_a_raw_file_is_left_alone(tmp_path):
    photo = make_photo(tmp_path)
    (tmp_path / "IMG_0042.CR2").write_bytes(b"raw")
    (tmp_path / "IMG_0042.xmp").write_text(LIGHTROOM_SIDECAR, encoding="utf-8")  # the raw file's
    before = snapshot(tmp_path / "IMG_0042.xmp")
    assert read_sidecar(photo) is None
    state = write_sidecar(photo, happy_info(), "adobe")
    assert state is not None and state.path == tmp_path / "IMG_0042.jpg.xmp"
    assert snapshot(tmp_path / "IMG_0042.xmp") == before
    png = make_photo(tmp_path, "IMG_0042.png")  # two photos of one stem never share one sidecar either
    assert sidecar_path(png, "adobe", folder_names(tmp_path)) == tmp_path / "IMG_0042.png.xmp"


ODD_NAMES = ["holiday photo 1.jpg", "Zoë's «café» 日本 🎉.jpg", 'say "cheese".jpg', "-dash #1 %20 [x].jpg", "no_extension"]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_odd_file_names_round_trip(tmp_path, name):
    if sys.platform == "win32" and '"' in name:
        pytest.skip("Windows does not allow quotes in file names")
    photo = make_photo(tmp_path, name)
    info = happy_info(regions=(FaceRegion(0.5, 0.5, 0.2, 0.2, name='Zoë "Q" O\'Brien <&>', description="Happy"),))
    state = write_sidecar(photo, info)
    assert state is not None and state.path == tmp_path / (name + ".xmp")
    assert read_sidecar(photo) == state and state.own_regions == info.regions
    assert exiv2_read(state.path)[f"{packet.REGION_LIST}[1]/mwg-rs:Name"] == 'Zoë "Q" O\'Brien <&>'


# --- refusals ------------------------------------------------------------------------------------------------------


def test_a_sidecar_that_is_a_link_is_refused(tmp_path):
    photo = make_photo(tmp_path / "photos")
    outside = tmp_path / "elsewhere.xmp"
    outside.write_text(DARKTABLE_SIDECAR.replace("{name}", "x"), encoding="utf-8")
    before = snapshot(outside)
    try:
        (tmp_path / "photos" / "IMG_0042.jpg.xmp").symlink_to(outside)
    except OSError as exc:  # Windows without the privilege to make links
        pytest.skip(f"cannot make a symbolic link here: {exc}")
    with pytest.raises(SidecarError, match="link"):
        write_sidecar(photo, happy_info())
    with pytest.raises(SidecarError, match="link"):
        read_sidecar(photo)
    assert snapshot(outside) == before
    dangling = make_photo(tmp_path / "dangling")
    (tmp_path / "dangling" / "IMG_0042.jpg.xmp").symlink_to(tmp_path / "nowhere.xmp")
    with pytest.raises(SidecarError, match="link"):
        write_sidecar(dangling, happy_info())
    assert not (tmp_path / "nowhere.xmp").exists()


def test_a_broken_sidecar_is_reported_and_left_as_it_is(tmp_path):
    photo = make_photo(tmp_path)
    sidecar = tmp_path / "IMG_0042.jpg.xmp"
    for content in (
        b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF",
        b"\x00\x01garbage\xff" * 50,
        b"<html><body>not xmp</body></html>",
    ):
        sidecar.write_bytes(content)
        before = snapshot(sidecar)
        with pytest.raises(SidecarError, match="IMG_0042.jpg.xmp|sidecar"):
            write_sidecar(photo, happy_info())
        assert snapshot(sidecar) == before
        with pytest.raises(SidecarError):
            read_sidecar(photo)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["IMG_0042.jpg", "IMG_0042.jpg.xmp"]  # no temporary left


def test_an_empty_sidecar_file_is_filled(tmp_path):
    photo = make_photo(tmp_path)
    (tmp_path / "IMG_0042.jpg.xmp").write_bytes(b"")
    assert read_sidecar(photo).rating is None  # type: ignore[union-attr]
    state = write_sidecar(photo, happy_info())
    assert state is not None and state.rating == 4


def _unprivileged(action):
    """Run `action` where permissions apply: as root (containers, CI images) in a forked child as `nobody`."""
    if os.geteuid() != 0:
        try:
            action()
            return None
        except SidecarError as exc:
            return str(exc)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read_end)
        message = ""
        try:
            os.setgid(65534)
            os.setuid(65534)
            action()
        except SidecarError as exc:
            message = str(exc)
        except BaseException as exc:
            message = f"UNEXPECTED {type(exc).__name__}: {exc}"
        os.write(write_end, message.encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        message = pipe.read().decode()
    os.waitpid(pid, 0)
    assert not message.startswith("UNEXPECTED"), message
    return message or None


@pytest.fixture
def shared_tmp(tmp_path):
    """A folder `nobody` can reach (pytest's tmp_path is private to root)."""
    if sys.platform == "win32":
        pytest.skip("folder permissions are POSIX")
    if os.geteuid() != 0:
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix="albumsorter-sidecars-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for path in folder.rglob("*"):
            if path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(folder)


def test_a_read_only_folder_gives_a_clear_error_and_loses_nothing(shared_tmp):
    folder = shared_tmp / "photos"
    photo = make_photo(folder)
    existing = make_photo(folder, "IMG_0043.jpg")
    (folder / "IMG_0043.jpg.xmp").write_text(DARKTABLE_SIDECAR.replace("{name}", existing.name), encoding="utf-8")
    (folder / "IMG_0043.jpg.xmp").chmod(0o666)  # the file could be written: only the folder is read-only
    before = snapshot(folder / "IMG_0043.jpg.xmp")
    listing = sorted(os.listdir(folder))
    folder.chmod(0o555)
    try:
        assert "permission denied" in (_unprivileged(lambda: write_sidecar(photo, happy_info())) or "")
        message = _unprivileged(lambda: write_sidecar(existing, happy_info())) or ""
        assert "IMG_0043" in message or str(folder) in message
        assert "permission denied" in message
        assert _unprivileged(lambda: read_sidecar(existing)) is None  # reading still works
    finally:
        folder.chmod(0o755)
    assert sorted(os.listdir(folder)) == listing and snapshot(folder / "IMG_0043.jpg.xmp") == before


def test_a_read_only_sidecar_is_left_as_it_is(shared_tmp):
    photo = make_photo(shared_tmp / "photos")
    (shared_tmp / "photos").chmod(0o777)
    sidecar = shared_tmp / "photos" / "IMG_0042.jpg.xmp"
    sidecar.write_text(DARKTABLE_SIDECAR.replace("{name}", photo.name), encoding="utf-8")
    sidecar.chmod(0o444)
    before = snapshot(sidecar)
    assert "read-only" in (_unprivileged(lambda: write_sidecar(photo, happy_info())) or "")
    assert snapshot(sidecar) == before


# --- concurrency ---------------------------------------------------------------------------------------------------


def test_a_save_by_another_tool_during_the_merge_is_merged_not_lost(tmp_path, monkeypatch):
    photo = make_photo(tmp_path)
    sidecar = tmp_path / "IMG_0042.jpg.xmp"
    sidecar.write_text(DARKTABLE_SIDECAR.replace("{name}", photo.name), encoding="utf-8")
    real_merge = packet.merged_packet
    calls = []

    def darktable_saves_meanwhile(existing, info):
        calls.append(1)
        merged = real_merge(existing, info)
        if len(calls) == 1:  # darktable saves a new colour label between AlbumSorter's read and its rename
            text = sidecar.read_text(encoding="utf-8").replace("<rdf:li>2</rdf:li>", "<rdf:li>2</rdf:li><rdf:li>4</rdf:li>")
            sidecar.write_text(text, encoding="utf-8")
            os.utime(sidecar, ns=(sidecar.stat().st_atime_ns, sidecar.stat().st_mtime_ns + 5_000_000))
        return merged

    monkeypatch.setattr(xmp_files.packet, "merged_packet", darktable_saves_meanwhile)
    state = write_sidecar(photo, happy_info())
    assert len(calls) == 2 and state is not None and state.rating == 4
    assert exiv2_read(sidecar)["Xmp.darktable.colorlabels"] == ["0", "2", "4"]


def test_threads_write_sidecars_side_by_side(tmp_path):
    photos = [make_photo(tmp_path, f"IMG_{i:04d}.jpg") for i in range(12)]
    errors: list[BaseException] = []

    def work(chunk):
        try:
            for photo in chunk:
                for rating in (1, 2, 3):
                    write_sidecar(photo, happy_info(rating=rating))
                assert read_sidecar(photo).rating == 3  # type: ignore[union-attr]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(photos[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(list(tmp_path.glob("*.xmp"))) == 12 and not list(tmp_path.glob(".albumsorter-*"))


# --- originals ------------------------------------------------------------------------------------------------------


def _exercise(photo: Path, orientation: int) -> None:
    assert photo_orientation(photo) == orientation
    write_sidecar(photo, happy_info(keywords=expression_keywords(["happy"], True)))
    write_sidecar(photo, happy_info(rejected=True, picked=False), "adobe")
    read_sidecar(photo)
    read_embedded_xmp(photo)


def test_a_real_photo_is_byte_identical_after_everything(tmp_path):
    require_shared(REAL_PHOTO)
    photo = tmp_path / "two people.jpg"
    shutil.copy2(REAL_PHOTO, photo)
    before = snapshot(photo)
    _exercise(photo, 1)
    assert snapshot(photo) == before
    assert (tmp_path / "two people.jpg.xmp").is_file()


def test_a_made_photo_with_orientation_and_embedded_xmp_is_byte_identical(tmp_path):
    plain = make_photo(tmp_path, "made.jpg", orientation=6)
    source = pyexiv2.ImageData(plain.read_bytes())  # the test's own fixture: a photo Lightroom had rated 2 stars
    try:
        source.modify_xmp({"Xmp.xmp.Rating": "2", "Xmp.dc.subject": ["Lisbon"], "Xmp.lr.hierarchicalSubject": ["Trips|Lisbon"]})
        photo = tmp_path / "rated.jpg"
        photo.write_bytes(source.get_bytes())
    finally:
        source.close()
    before = snapshot(photo)
    embedded = read_embedded_xmp(photo)
    assert embedded is not None and embedded.embedded and embedded.path == photo
    assert (embedded.rating, embedded.keywords, embedded.hierarchical_keywords) == (2, ("Lisbon",), ("Trips|Lisbon",))
    assert embedded.mtime == photo.stat().st_mtime
    _exercise(photo, 6)
    assert snapshot(photo) == before
    assert read_embedded_xmp(plain) is None  # no XMP in it at all


# --- regions and orientation ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_regions_refer_to_the_stored_image_as_mwg_says(tmp_path, orientation):
    upright = Image.new("RGB", (90, 60), (0, 0, 0))
    box = (10, 5, 30, 35)  # a red face in the upright photo, as AlbumSorter stores faces
    upright.paste((255, 0, 0), box)
    transpose = exif_stored_as()[orientation]
    stored = upright.transpose(transpose) if transpose is not None else upright
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.png"
    stored.save(path, exif=exif)

    found = photo_orientation(path)
    assert found == orientation
    region = FaceRegion.from_box(box, 90, 60, found, description="Happy")
    raw = Image.open(path).convert("RGB")  # as stored, orientation not applied
    assert raw.size == stored_size(90, 60, orientation)
    w, h = raw.size
    inside = [
        (region.x, region.y),
        (region.x - region.w * 0.45, region.y - region.h * 0.45),
        (region.x + region.w * 0.45, region.y + region.h * 0.45),
    ]
    assert all(raw.getpixel((int(x * w), int(y * h))) == (255, 0, 0) for x, y in inside)
    outside = (region.x + region.w * 0.6, region.y)
    assert raw.getpixel((min(w - 1, int(outside[0] * w)), int(outside[1] * h))) == (0, 0, 0)
    assert region.to_box(90, 60, found) == pytest.approx(box)


def test_region_and_info_validation():
    with pytest.raises(ValueError):
        FaceRegion(1.2, 0.5, 0.1, 0.1)
    with pytest.raises(ValueError):
        FaceRegion(0.5, 0.5, 0.1, 0.1, name="type=Bag")
    with pytest.raises(ValueError):
        SidecarInfo(rating=6)
    with pytest.raises(ValueError):
        SidecarInfo(picked=True, rejected=True)
    with pytest.raises(ValueError):
        SidecarInfo(keywords=("Happy",))  # not under AlbumSorter|
    assert expression_keywords(["happy", "Happy", "sad"]) == ("AlbumSorter|Expression|Happy", "AlbumSorter|Expression|Sad")
    assert FaceRegion(0.5, 0.5, 0.2, 0.2).overlap(FaceRegion(0.5, 0.5, 0.2, 0.2)) == pytest.approx(1.0)
    assert FaceRegion(0.2, 0.2, 0.1, 0.1).overlap(FaceRegion(0.8, 0.8, 0.1, 0.1)) == 0.0


# --- settling a difference ------------------------------------------------------------------------------------------

T0 = 1_700_000_000.0


@pytest.mark.parametrize(
    ("catalog", "changed_at", "sidecar", "mtime", "last_written", "expected"),
    [
        (3, T0, 3, T0 + 50, 3, Resolution.IN_SYNC),
        (4, T0 + 100, 3, T0 + 50, 3, Resolution.WRITE_SIDECAR),  # the user changed it in AlbumSorter after writing
        (3, T0, 5, T0 + 50, 3, Resolution.TAKE_SIDECAR),  # darktable changed it later; the catalog did not move
        (4, T0 + 100, 5, T0 + 50, 3, Resolution.WRITE_SIDECAR),  # both moved; AlbumSorter's change is the later one
        (4, T0 + 40, 5, T0 + 50, 3, Resolution.CONFLICT),  # both moved, order unknown: reported, not guessed
        (4, T0 + 51, 5, T0 + 50, 3, Resolution.CONFLICT),  # within the file system's time resolution
        (None, None, 2, T0, NEVER_WRITTEN, Resolution.TAKE_SIDECAR),  # the other tool's rating fills an empty catalog
        (4, T0, None, T0 + 50, NEVER_WRITTEN, Resolution.WRITE_SIDECAR),  # the sidecar says nothing
        (4, T0 + 100, 2, T0, NEVER_WRITTEN, Resolution.WRITE_SIDECAR),  # set in AlbumSorter after the sidecar was saved
        (4, T0, 2, T0 + 100, NEVER_WRITTEN, Resolution.CONFLICT),  # both set independently, the file is newer: unknown
        (4, T0, 3, None, 3, Resolution.WRITE_SIDECAR),  # the sidecar was deleted: nothing is taken away
        (PICKED, T0, REJECTED, T0 + 50, PICKED, Resolution.TAKE_SIDECAR),  # the pick state works the same way
    ],
)
def test_resolve(catalog, changed_at, sidecar, mtime, last_written, expected):
    assert resolve(catalog, changed_at, sidecar, mtime, last_written) is expected


def test_resolve_with_a_real_sidecar_changed_by_another_tool(tmp_path):
    photo = make_photo(tmp_path)
    written = write_sidecar(photo, happy_info(rating=3))
    assert written is not None
    tool = pyexiv2.Image(str(written.path))  # darktable sets 5 stars
    try:
        tool.modify_xmp({"Xmp.xmp.Rating": "5"})
    finally:
        tool.close()
    state = read_sidecar(photo)
    assert state is not None and state.rating == 5
    assert resolve(3, written.mtime - 10, state.rating, state.mtime, written.rating) is Resolution.TAKE_SIDECAR
    assert resolve(written.pick, written.mtime - 10, state.pick, state.mtime, written.pick) is Resolution.IN_SYNC
