"""What AlbumSorter says about a photo in XMP, what a sidecar says back, and how to settle a difference.

Pure data and arithmetic: no file access, no XMP library. Conventions shared with darktable, digiKam and Lightroom:

- a star rating is `xmp:Rating` 0-5; a reject is `xmp:Rating = -1` (darktable, Lightroom) and digiKam's
  `digiKam:PickLabel = 1`; a pick is `digiKam:PickLabel = 3`;
- AlbumSorter's keywords live under one root, `AlbumSorter|...`, in `lr:hierarchicalSubject`, and as their last
  component (`Happy`) in `dc:subject`, as Lightroom and darktable write hierarchical keywords;
- a face is an MWG region (`mwg-rs:Regions`): centre x, y and size w, h normalised to 0-1, relative to the image
  **as stored** (before EXIF orientation is applied: "Region metadata is applied to the stored image", MWG
  guidelines 2.0, 5.9), which is why conversions from AlbumSorter's upright boxes take the orientation.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT_KEYWORD = "AlbumSorter"
SEPARATOR = "|"  # lr:hierarchicalSubject's level separator
EXPRESSION_KEYWORD = f"{ROOT_KEYWORD}{SEPARATOR}Expression"
EVERYONE_SMILING_KEYWORD = f"{ROOT_KEYWORD}{SEPARATOR}Everyone smiling"

PICK_LABEL_REJECTED = 1  # digiKam's pick labels: 0 none, 1 rejected, 2 pending, 3 accepted
PICK_LABEL_ACCEPTED = 3
RATING_REJECTED = -1

PICKED = "picked"  # values of a photo's pick state; None = neither
REJECTED = "rejected"

Box = tuple[float, float, float, float]  # left, top, right, bottom in pixels (as albumsorter.core.face.Box)


class SidecarError(Exception):
    """A sidecar could not be read or written; the message is the reason for this photo, shown to the user."""


class SidecarStyle(enum.StrEnum):
    DARKTABLE = "darktable"  # IMG_0042.jpg.xmp (darktable, digiKam)
    ADOBE = "adobe"  # IMG_0042.xmp (Lightroom, Bridge, Capture One)


def is_own_keyword(keyword: str) -> bool:
    """Whether a hierarchical keyword is in AlbumSorter's subtree (AlbumSorter replaces those on every write)."""
    return keyword == ROOT_KEYWORD or keyword.startswith(ROOT_KEYWORD + SEPARATOR)


def expression_keywords(labels: Iterable[str], everyone_smiling: bool = False) -> tuple[str, ...]:
    """`AlbumSorter|Expression|Happy` for each distinct expression label (in first-seen order), and
    `AlbumSorter|Everyone smiling` when asked."""
    keywords: list[str] = []
    for label in labels:
        keyword = f"{EXPRESSION_KEYWORD}{SEPARATOR}{label.strip().capitalize()}"
        if label.strip() and keyword not in keywords:
            keywords.append(keyword)
    if everyone_smiling:
        keywords.append(EVERYONE_SMILING_KEYWORD)
    return tuple(keywords)


def _check_text(value: str | None, what: str) -> None:
    # exiv2 reads a text value starting with "type=" as an XMP type declaration, and XML cannot hold control characters.
    if value is None:
        return
    if value.startswith("type="):
        raise ValueError(f"{what} may not start with 'type=': {value!r}")
    if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
        raise ValueError(f"{what} contains a control character: {value!r}")


# --- orientation: AlbumSorter works upright, MWG regions refer to the stored image ---------------------------------


def stored_size(width: int, height: int, orientation: int) -> tuple[int, int]:
    """The stored image's size from its upright size: EXIF orientations 5-8 swap the sides."""
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _upright_to_stored(u: float, v: float, orientation: int) -> tuple[float, float]:
    """A normalised point of the upright image -> the same point of the stored image (EXIF orientation 1-8)."""
    return {
        1: (u, v),
        2: (1 - u, v),
        3: (1 - u, 1 - v),
        4: (u, 1 - v),
        5: (v, u),
        6: (v, 1 - u),
        7: (1 - v, 1 - u),
        8: (1 - v, u),
    }.get(orientation, (u, v))


def _stored_to_upright(s: float, t: float, orientation: int) -> tuple[float, float]:
    # Orientations 6 and 8 are each other's inverse; every other one is its own.
    inverse = {6: 8, 8: 6}.get(orientation, orientation)
    return _upright_to_stored(s, t, inverse)


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


@dataclass(frozen=True)
class FaceRegion:
    """One face as an MWG region: centre (x, y) and size (w, h), normalised to the stored image."""

    x: float
    y: float
    w: float
    h: float
    name: str | None = None  # the person, once AlbumSorter knows people
    description: str | None = None  # the expression, e.g. "Happy"

    def __post_init__(self) -> None:
        for value in (self.x, self.y, self.w, self.h):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"region coordinates must be normalised to 0-1, got {self}")
        _check_text(self.name, "a region's name")
        _check_text(self.description, "a region's description")

    @classmethod
    def from_box(
        cls, box: Box, width: int, height: int, orientation: int = 1, name: str | None = None, description: str | None = None
    ) -> FaceRegion:
        """From a box in the upright photo's pixels (`width` x `height`, as AlbumSorter stores faces) and the
        photo's EXIF orientation (see `photo_orientation`)."""
        left, top, right, bottom = box
        corners = [
            _upright_to_stored(_clamp(x / width), _clamp(y / height), orientation) for x, y in ((left, top), (right, bottom))
        ]
        xs, ys = [c[0] for c in corners], [c[1] for c in corners]
        return cls(
            x=(min(xs) + max(xs)) / 2,
            y=(min(ys) + max(ys)) / 2,
            w=max(xs) - min(xs),
            h=max(ys) - min(ys),
            name=name,
            description=description,
        )

    def to_box(self, width: int, height: int, orientation: int = 1) -> Box:
        """The region as a box in the upright photo's pixels (the inverse of `from_box`)."""
        corners = [
            _stored_to_upright(self.x - self.w / 2, self.y - self.h / 2, orientation),
            _stored_to_upright(self.x + self.w / 2, self.y + self.h / 2, orientation),
        ]
        xs, ys = [c[0] for c in corners], [c[1] for c in corners]
        return (min(xs) * width, min(ys) * height, max(xs) * width, max(ys) * height)

    def overlap(self, other: FaceRegion) -> float:
        """Intersection over union of two regions (0-1)."""
        ix = max(0.0, min(self.x + self.w / 2, other.x + other.w / 2) - max(self.x - self.w / 2, other.x - other.w / 2))
        iy = max(0.0, min(self.y + self.h / 2, other.y + other.h / 2) - max(self.y - self.h / 2, other.y - other.h / 2))
        union = self.w * self.h + other.w * other.h - ix * iy
        return ix * iy / union if union > 0 else 0.0


@dataclass(frozen=True)
class SidecarInfo:
    """What AlbumSorter says about one photo, as written into its sidecar.

    `rating` None means AlbumSorter has no rating for the photo: a rating another tool wrote is left as it is
    (0 is "no stars" and is written). `keywords` are full hierarchical paths under `AlbumSorter|`; they and
    `regions` replace whatever AlbumSorter wrote before. `image_size` is the stored (not rotated) pixel size,
    written as the regions' `mwg-rs:AppliedToDimensions`.
    """

    rating: int | None = None
    rejected: bool = False
    picked: bool = False
    keywords: tuple[str, ...] = ()
    regions: tuple[FaceRegion, ...] = ()
    image_size: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.rating is not None and not 0 <= self.rating <= 5:
            raise ValueError(f"a rating is 0-5 stars, not {self.rating}")
        if self.picked and self.rejected:
            raise ValueError("a photo cannot be both picked and rejected")
        for keyword in self.keywords:
            parts = keyword.split(SEPARATOR)
            if not keyword.startswith(ROOT_KEYWORD + SEPARATOR) or not all(p.strip() for p in parts):
                raise ValueError(f"AlbumSorter's keywords are paths under {ROOT_KEYWORD + SEPARATOR!r}, not {keyword!r}")
            _check_text(keyword, "a keyword")
        if self.image_size is not None and min(self.image_size) <= 0:
            raise ValueError(f"image size must be positive, not {self.image_size}")

    @property
    def says_anything(self) -> bool:
        """Whether there is anything to write (no sidecar is created for a photo with nothing to say)."""
        return self.rating is not None or self.rejected or self.picked or bool(self.keywords) or bool(self.regions)


@dataclass(frozen=True)
class XmpState:
    """What a sidecar (or the XMP embedded in a photo) says, foreign fields included."""

    path: Path  # the file read: the sidecar, or the photo for embedded XMP
    embedded: bool
    mtime: float  # the file's modification time (seconds since the epoch)
    rating: int | None = None  # 0-5 stars; None when absent, unreadable or a reject
    rejected: bool = False  # xmp:Rating -1 or digiKam:PickLabel 1
    picked: bool = False  # digiKam:PickLabel 3 (and not rejected)
    pick_label: int | None = None  # digiKam:PickLabel as written (2 = pending is kept, never written by AlbumSorter)
    keywords: tuple[str, ...] = ()  # dc:subject, every tool's
    hierarchical_keywords: tuple[str, ...] = ()  # lr:hierarchicalSubject, every tool's
    own_subjects: tuple[str, ...] = ()  # the dc:subject entries AlbumSorter added (and will replace)
    regions: tuple[FaceRegion, ...] = ()  # face regions other tools wrote (e.g. digiKam's named people)
    own_regions: tuple[FaceRegion, ...] = field(default=())  # face regions AlbumSorter wrote

    @property
    def pick(self) -> str | None:
        """PICKED, REJECTED or None: the value `resolve` compares for the pick state."""
        return REJECTED if self.rejected else PICKED if self.picked else None

    @property
    def own_keywords(self) -> tuple[str, ...]:
        return tuple(k for k in self.hierarchical_keywords if is_own_keyword(k))

    @property
    def foreign_keywords(self) -> tuple[str, ...]:
        """Other tools' keywords: their hierarchical ones, and flat ones that are no hierarchical keyword's leaf."""
        hierarchical = [k for k in self.hierarchical_keywords if not is_own_keyword(k)]
        leaves = {k.rsplit(SEPARATOR, 1)[-1] for k in self.hierarchical_keywords}
        flat = [k for k in self.keywords if k not in leaves and k not in self.own_subjects]
        return tuple(hierarchical + flat)


# --- settling a difference between the catalog and a sidecar -------------------------------------------------------


class Resolution(enum.Enum):
    IN_SYNC = "in sync"  # nothing to do
    WRITE_SIDECAR = "write sidecar"  # AlbumSorter's value is the later one (or the sidecar has none): write it
    TAKE_SIDECAR = "take sidecar"  # another tool changed the value later: take it into the catalog
    CONFLICT = "conflict"  # both changed and which came last cannot be known: report it, change nothing


class _Never:
    def __repr__(self) -> str:
        return "NEVER_WRITTEN"


NEVER_WRITTEN: object = _Never()  # `last_written` when AlbumSorter never wrote this field into this sidecar

# A file system's timestamps can be coarse (FAT: 2 s): a catalog change this close to the sidecar's time is not
# counted as certainly later.
MTIME_SLACK = 2.0


def resolve(
    catalog_value: Hashable,
    catalog_changed_at: float | None,
    sidecar_value: Hashable,
    sidecar_mtime: float | None,
    last_written: object = NEVER_WRITTEN,
) -> Resolution:
    """Which side wins for one field (rating, or the pick state) of one photo.

    `catalog_changed_at` is when the user last set the value in AlbumSorter (None: never, the value is a default).
    `sidecar_value` None means the sidecar says nothing; `sidecar_mtime` None means there is no sidecar (one that was
    deleted takes nothing away from the catalog). `last_written` is the value AlbumSorter last wrote into this
    sidecar (as `write_sidecar` returned it), or NEVER_WRITTEN. A sidecar's mtime is an upper bound of when its
    value changed (the file may have been saved again for another field), so a sidecar value only wins when the
    catalog's is unchanged since AlbumSorter's last write or never set; and the catalog only wins over a changed
    sidecar when it changed after the file was last saved.
    """
    if catalog_value == sidecar_value:
        return Resolution.IN_SYNC
    if sidecar_mtime is None:
        return Resolution.WRITE_SIDECAR
    catalog_later = catalog_changed_at is not None and catalog_changed_at > sidecar_mtime + MTIME_SLACK
    if last_written is not NEVER_WRITTEN:
        if sidecar_value == last_written:  # the sidecar still holds what AlbumSorter wrote: the catalog moved on
            return Resolution.WRITE_SIDECAR
        if catalog_value == last_written:  # another tool changed it since; the catalog did not
            return Resolution.TAKE_SIDECAR
        return Resolution.WRITE_SIDECAR if catalog_later else Resolution.CONFLICT
    if sidecar_value is None:
        return Resolution.WRITE_SIDECAR
    if catalog_changed_at is None:
        return Resolution.TAKE_SIDECAR
    return Resolution.WRITE_SIDECAR if catalog_later else Resolution.CONFLICT
