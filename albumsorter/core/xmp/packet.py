"""XMP packets through exiv2 (pyexiv2): parse, merge AlbumSorter's fields into one, serialise.

Packets are handled as bytes (`pyexiv2.ImageData`), never through a path: exiv2 never opens a user's file, which
also spares Windows' non-ASCII path troubles. Two exiv2 behaviours shape this module:

- exiv2 treats a sidecar like an image and mirrors its XMP into EXIF and IPTC on reading, then back on writing:
  a keyword removed from `dc:subject` would come back from the IPTC copy, and the restored `dc:subject` would be
  encoded after its own items. The mirrors are cleared before any change (a sidecar holds only XMP).
- pyexiv2 can only write an array as `rdf:Seq`; a `Bag` (as `dc:subject` and `mwg-rs:RegionList` must be) is
  written as exiv2's `type=Bag` declaration followed by its numbered items, parents before children.

pyexiv2 keeps its error log in a global and the XMP toolkit is not thread-safe: every call holds `_LOCK`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from albumsorter.core.xmp.model import (
    PICK_LABEL_ACCEPTED,
    PICK_LABEL_REJECTED,
    RATING_REJECTED,
    ROOT_KEYWORD,
    SEPARATOR,
    FaceRegion,
    SidecarError,
    SidecarInfo,
    is_own_keyword,
)

NAMESPACE = "http://ns.albumsorter.org/xmp/1.0/"  # an identifier, not a web page (XMP namespaces need not resolve)
PREFIX = "albumsorter"

RATING = "Xmp.xmp.Rating"
PICK_LABEL = "Xmp.digiKam.PickLabel"
SUBJECT = "Xmp.dc.subject"
HIERARCHICAL = "Xmp.lr.hierarchicalSubject"
DIGIKAM_TAGS = "Xmp.digiKam.TagsList"  # digiKam's own hierarchical tags ("People/Anna"), an rdf:Seq
OWN_SUBJECTS = f"Xmp.{PREFIX}.AddedSubjects"  # which dc:subject entries AlbumSorter added (flat names are ambiguous)
REGIONS = "Xmp.mwg-rs.Regions"
DIMENSIONS = f"{REGIONS}/mwg-rs:AppliedToDimensions"
REGION_LIST = f"{REGIONS}/mwg-rs:RegionList"
OWN_MARK = f"mwg-rs:Extensions/{PREFIX}:Writer"  # inside a region: AlbumSorter wrote it (and replaces it)
_REGION_ITEM = re.compile(re.escape(REGION_LIST) + r"\[(\d+)\](/.*)?$")

# An XMP packet with nothing in it: the start of a new sidecar (exiv2 recognises a sidecar by its packet wrapper).
EMPTY_PACKET = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>'
    b'</x:xmpmeta><?xpacket end="w"?>'
)
DUPLICATE_FACE_OVERLAP = 0.5  # AlbumSorter adds no region over a face another tool already marked

_LOCK = threading.Lock()
_library: Any = None

Entries = dict[str, tuple[str, Any]]  # exiv2 key -> (type name, value) as pyexiv2 reads them


def _pyexiv2() -> Any:
    """pyexiv2, loaded once (call with _LOCK held): AlbumSorter's namespace registered, exiv2's warnings muted."""
    global _library
    if _library is None:
        try:
            import pyexiv2
        except ImportError as exc:  # a declared dependency; a broken installation still gets a readable reason
            raise SidecarError(f"the XMP library (pyexiv2) cannot be loaded: {exc}") from None
        pyexiv2.registerNs(NAMESPACE, PREFIX)
        _library = pyexiv2
    return _library


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def read_entries(data: bytes, *, image: bool = False) -> Entries | None:
    """The XMP of a sidecar packet or (image=True) of a photo's bytes; None when exiv2 does not know the format."""
    with _LOCK:
        lib = _pyexiv2()
        # A photo's odd maker notes are exiv2 warnings, which pyexiv2 would raise: only errors count there.
        lib.set_log_level(4 if image else 3)
        try:
            handle = lib.ImageData(data)
        except Exception as exc:
            if "unknown image type" in str(exc) and image:
                return None
            raise SidecarError(f"not readable as {'a photo' if image else 'XMP'} ({_reason(exc)})") from None
        try:
            detail = handle.read_xmp_detail()
        except Exception as exc:
            raise SidecarError(f"its XMP cannot be read ({_reason(exc)})") from None
        finally:
            handle.close()
    return {key: (item["typeName"], item["value"]) for key, item in detail.items()}


def merged_packet(existing: bytes | None, info: SidecarInfo) -> bytes | None:
    """`existing` (a sidecar's bytes; None for a new one) with AlbumSorter's fields set to `info` and every other
    field kept; None when nothing would change."""
    with _LOCK:
        lib = _pyexiv2()
        lib.set_log_level(3)
        try:
            handle = lib.ImageData(existing or EMPTY_PACKET)
        except Exception as exc:
            raise SidecarError(f"the existing sidecar is not valid XMP ({_reason(exc)}); it was left as it is") from None
        try:
            if handle.get_mime_type() != "application/rdf+xml":
                raise SidecarError(f"the existing sidecar is not an XMP file ({handle.get_mime_type()}); it was left as it is")
            detail = handle.read_xmp_detail()
            changes = plan({key: (item["typeName"], item["value"]) for key, item in detail.items()}, info)
            if not changes:
                return None
            handle.clear_exif()  # exiv2's in-memory mirrors of the XMP (see the module's docstring)
            handle.clear_iptc()
            handle.modify_xmp(changes)
            if not handle.read_xmp():  # exiv2 leaves the old bytes when no field is left: write an empty packet
                return EMPTY_PACKET
            return bytes(handle.get_bytes())
        except SidecarError:
            raise
        except Exception as exc:
            raise SidecarError(f"the sidecar could not be updated ({_reason(exc)}); it was left as it is") from None
        finally:
            handle.close()


# --- reading fields ------------------------------------------------------------------------------------------------


def _text(entries: Entries, key: str) -> str | None:
    entry = entries.get(key)
    return entry[1] if entry is not None and isinstance(entry[1], str) else None


def _number(entries: Entries, key: str) -> int | None:
    text = _text(entries, key)
    try:
        return round(float(text)) if text is not None else None
    except ValueError:
        return None


def _list(entries: Entries, key: str) -> list[str]:
    entry = entries.get(key)
    if entry is None:
        return []
    value = entry[1]
    return [v for v in value if v] if isinstance(value, list) else [value] if isinstance(value, str) and value else []


def rating_and_pick(entries: Entries) -> tuple[int | None, bool, bool, int | None]:
    """(stars 0-5 or None, rejected, picked, digiKam pick label)."""
    rating = _number(entries, RATING)
    label = _number(entries, PICK_LABEL)
    rejected = rating == RATING_REJECTED or label == PICK_LABEL_REJECTED
    stars = rating if rating is not None and 0 <= rating <= 5 else None
    return stars, rejected, label == PICK_LABEL_ACCEPTED and not rejected, label


def keywords(entries: Entries) -> tuple[list[str], list[str], list[str]]:
    """(dc:subject, lr:hierarchicalSubject, the dc:subject entries AlbumSorter added)."""
    return _list(entries, SUBJECT), _list(entries, HIERARCHICAL), _list(entries, OWN_SUBJECTS)


@dataclass
class _StoredRegion:
    index: int
    entries: list[tuple[str, str, Any]]  # (path below the item, type name, value), in exiv2's order
    own: bool
    region: FaceRegion | None  # None: not a face, or not readable as one


def _as_face(fields: dict[str, Any]) -> FaceRegion | None:
    if fields.get("/mwg-rs:Type", "Face") != "Face" or fields.get("/mwg-rs:Area/stArea:unit", "normalized") != "normalized":
        return None
    try:
        x, y, w, h = (float(fields[f"/mwg-rs:Area/stArea:{c}"]) for c in "xywh")
        return FaceRegion(
            x, y, w, h, name=fields.get("/mwg-rs:Name") or None, description=fields.get("/mwg-rs:Description") or None
        )
    except (KeyError, ValueError):
        return None


def stored_regions(entries: Entries) -> list[_StoredRegion]:
    """The regions of `mwg-rs:RegionList` in order, each with its raw entries."""
    grouped: dict[int, list[tuple[str, str, Any]]] = {}
    for key, (type_name, value) in entries.items():
        match = _REGION_ITEM.match(key)
        if match:
            grouped.setdefault(int(match.group(1)), []).append((match.group(2) or "", type_name, value))
    regions = []
    for index in sorted(grouped):
        fields = {path: value for path, _, value in grouped[index] if isinstance(value, str)}
        own = fields.get("/" + OWN_MARK) == ROOT_KEYWORD
        regions.append(_StoredRegion(index, grouped[index], own, _as_face(fields)))
    return regions


# --- planning a write ----------------------------------------------------------------------------------------------

Changes = dict[str, Any]  # exiv2 key -> new value (None deletes it), in the order pyexiv2 must apply them


def _put_array(changes: Changes, key: str, items: Iterable[str], kind: str = "Bag") -> None:
    items = list(items)
    if not items:
        changes[key] = None
        return
    changes[key] = f"type={kind}"
    for i, item in enumerate(items, 1):
        changes[f"{key}[{i}]"] = item


def _plan_rating(entries: Entries, info: SidecarInfo, changes: Changes) -> None:
    old_rating, old_label = _number(entries, RATING), _number(entries, PICK_LABEL)
    rating: int | None = old_rating
    label: int | None = old_label
    if info.rejected:
        rating, label = RATING_REJECTED, PICK_LABEL_REJECTED
    else:
        if info.rating is not None:
            rating = info.rating
        elif old_rating == RATING_REJECTED:
            rating = None  # no longer rejected, and AlbumSorter has no stars to put back
        if info.picked:
            label = PICK_LABEL_ACCEPTED
        elif old_label in (PICK_LABEL_ACCEPTED, PICK_LABEL_REJECTED):
            label = None  # AlbumSorter's flag was cleared; other labels (2 = pending) are digiKam's own
    for key, old, new in ((RATING, old_rating, rating), (PICK_LABEL, old_label, label)):
        if new != old or (new is not None and _text(entries, key) != str(new)):
            changes[key] = None if new is None else str(new)


def _plan_keywords(entries: Entries, info: SidecarInfo, changes: Changes) -> None:
    subject, hierarchical, own_subjects = keywords(entries)
    foreign_hierarchical = [k for k in hierarchical if not is_own_keyword(k)]
    new_hierarchical = foreign_hierarchical + [k for k in dict.fromkeys(info.keywords) if k not in foreign_hierarchical]
    foreign_subject = [s for s in subject if s not in own_subjects]
    leaves = dict.fromkeys(k.rsplit(SEPARATOR, 1)[-1] for k in info.keywords)
    added = [leaf for leaf in leaves if leaf not in foreign_subject]
    for key, old, new in (
        (HIERARCHICAL, hierarchical, new_hierarchical),
        (SUBJECT, subject, foreign_subject + added),
        (OWN_SUBJECTS, own_subjects, added),
    ):
        if old != new:
            _put_array(changes, key, new)
    # digiKam reads its own tag list before lr:hierarchicalSubject: where it keeps one, AlbumSorter's tags join it.
    if DIGIKAM_TAGS in entries:
        tags = _list(entries, DIGIKAM_TAGS)
        ours = [k.replace(SEPARATOR, "/") for k in dict.fromkeys(info.keywords)]
        foreign_tags = [t for t in tags if not is_own_keyword(t.replace("/", SEPARATOR))]
        new_tags = foreign_tags + [t for t in ours if t not in foreign_tags]
        if tags != new_tags:
            _put_array(changes, DIGIKAM_TAGS, new_tags, "Seq")


def _region_entries(region: FaceRegion) -> list[tuple[str, str]]:
    entries = [
        ("", "type=Struct"),
        ("/mwg-rs:Type", "Face"),
        ("/mwg-rs:Area", "type=Struct"),
        *((f"/mwg-rs:Area/stArea:{c}", f"{getattr(region, c):.6f}") for c in "xywh"),
        ("/mwg-rs:Area/stArea:unit", "normalized"),
    ]
    if region.name:
        entries.append(("/mwg-rs:Name", region.name))
    if region.description:
        entries.append(("/mwg-rs:Description", region.description))
    return [*entries, ("/mwg-rs:Extensions", "type=Struct"), ("/" + OWN_MARK, ROOT_KEYWORD)]


def _copy_entry(changes: Changes, key: str, type_name: str, value: Any) -> None:
    """One foreign entry under a new key, keeping its XMP type."""
    if type_name in ("XmpBag", "XmpSeq") and isinstance(value, list):
        changes[key] = "type=Bag" if type_name == "XmpBag" else "type=Seq"
        for i, item in enumerate(value, 1):
            changes[f"{key}[{i}]"] = item
    else:
        # Text (struct and array declarations included: exiv2 reads back its own `type="..."`) or a LangAlt's dict.
        # An rdf:Alt of plain text (no region field known to use one) would come back as one text.
        changes[key] = value


def _rounded(region: FaceRegion) -> tuple[Any, ...]:
    return (*(round(getattr(region, c), 6) for c in "xywh"), region.name, region.description)


def _plan_regions(entries: Entries, info: SidecarInfo, changes: Changes) -> None:
    stored = stored_regions(entries)
    foreign = [r for r in stored if not r.own]
    foreign_faces = [r.region for r in foreign if r.region is not None]
    wanted = [r for r in info.regions if all(r.overlap(f) < DUPLICATE_FACE_OVERLAP for f in foreign_faces)]
    first_own = next((i for i, r in enumerate(stored) if r.own), len(stored))
    tail = stored[first_own:]  # AlbumSorter's regions, and any foreign ones another tool put after them
    if all(r.own for r in tail) and [r.region and _rounded(r.region) for r in tail] == [_rounded(r) for r in wanted]:
        return  # already these regions, after every foreign one
    deleted: list[str] = []
    for region in tail:  # foreign ones among these move down
        deleted += [f"{REGION_LIST}[{region.index}]{path}" for path, _, _ in region.entries]
    if not foreign and not wanted:
        deleted += [key for key in entries if key == REGIONS or key.startswith(REGIONS + "/")]
        changes.update(dict.fromkeys(deleted))
        return
    sets: Changes = {}
    if REGIONS not in entries:
        sets[REGIONS] = "type=Struct"
    if info.image_size and (not foreign or DIMENSIONS not in entries):  # foreign regions keep the size they refer to
        deleted += [key for key in entries if key.startswith(DIMENSIONS)]
        sets[DIMENSIONS] = "type=Struct"
        sets[f"{DIMENSIONS}/stDim:w"], sets[f"{DIMENSIONS}/stDim:h"] = (str(n) for n in info.image_size)
        sets[f"{DIMENSIONS}/stDim:unit"] = "pixel"
    if REGION_LIST not in entries:
        sets[REGION_LIST] = "type=Bag"
    index = first_own  # exiv2 numbers the items 1..n, so the first in `tail` is item first_own + 1
    for region in tail:
        if not region.own:
            index += 1
            for path, type_name, value in region.entries:
                _copy_entry(sets, f"{REGION_LIST}[{index}]{path}", type_name, value)
    for face in wanted:
        index += 1
        sets.update((f"{REGION_LIST}[{index}]{path}", value) for path, value in _region_entries(face))
    changes.update((key, None) for key in deleted if key not in sets)
    changes.update(sets)


def plan(entries: Entries, info: SidecarInfo) -> Changes:
    """The exiv2 changes that make a packet say `info`, leaving every field AlbumSorter does not own as it is."""
    changes: Changes = {}
    _plan_rating(entries, info, changes)
    _plan_keywords(entries, info, changes)
    _plan_regions(entries, info, changes)
    return changes
