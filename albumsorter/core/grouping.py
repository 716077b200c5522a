"""Photos of the same moment: bursts (by capture time, confirmed by appearance) and near-duplicates (by
appearance alone: copies, edits, messenger re-saves without EXIF). Grouping is incremental: a new photo is
compared with the photos near it in time and with those that look alike, and joins one existing group or starts
its own; nothing already grouped moves.

What a photo contributes (`PhotoSignature`, computed once from the decoded photo and its file's EXIF):

- ``taken_at``: EXIF DateTimeOriginal + SubSecTimeOriginal as seconds on the camera's clock (no time zone: only
  differences between photos matter), None without EXIF.
- ``phash``: the 64-bit perceptual hash of `imagehash` (DCT of a 32 x 32 grey image): tolerant of resizing,
  re-compression, blur and brightness, not of a camera that moved a few per cent.
- ``thumb``: a 32 x 32 grey thumbnail. `similarity` is its best normalised correlation with another's over
  shifts of up to 4 pixels (12 % of the frame) after a slight blur. Measured on ../shared
  (`scripts/bench_quality.py --grouping`): the 54 photos moved by 3-10 %, blurred, darkened, or all three score
  >= 0.95 against themselves; 8 % zoomed >= 0.88; different photos score 0.35 in the median, 99 % of pairs
  below 0.77 (1,431 pairs) and 99.9 % below 0.84; among 200 expw_dev web photos (19,900 pairs) 99.9 % stay
  below 0.81, the worst being different people shot on the same white stock-photo background (up to 0.92).

Rules (`GroupingSettings`): a burst frame is at most `burst_gap_s` from a photo of the group (in time) and at
least `burst_similarity` alike: two different scenes shot two seconds apart are two groups. A near-duplicate
has a perceptual hash at most `duplicate_bits` apart AND a similarity of at least `duplicate_similarity` from a
photo of the group, whatever the times: re-saves, resizes, blurring and darkening (hash <= 2 bits, similarity
>= 0.999) are always found; strong brightening, crops and zooms only in part (up to 12-18 bits, 0.84-0.96),
and a meme with new text may stay apart, rather than risk grouping two different people photographed against
the same white background (8-12 bits, up to 0.92 in expw_dev).

User decisions: the catalog keeps each photo's group and whether the user put it there; a split or a merge
marks every photo of the groups it touches as user-placed (so "these are not together" is kept as well as "these
are"). `GroupIndex` starts from what is stored and only ever places photos it is given as new, so nothing the
user arranged moves; `group_all` regroups a whole library from scratch but keeps user-placed photos (`pinned`)
where the user put them. A new photo may still join a user's group when it matches a photo in it. A group's id
is the id of the photo that started it (or any id the catalog gives a user-made group).
"""

from __future__ import annotations

import bisect
import calendar
import io
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import cv2
import numpy as np
from PIL import Image

PhotoId = Hashable

EXIF_IFD = 0x8769
DATETIME_ORIGINAL, SUBSEC_ORIGINAL = 0x9003, 0x9291
DATETIME_DIGITIZED, SUBSEC_DIGITIZED = 0x9004, 0x9292

THUMB_SIDE = 32
MAX_SHIFT = 4  # thumbnail pixels: 12.5 % of the frame
THUMB_BLUR = 0.8  # sigma, thumbnail pixels: makes the correlation tolerant of sub-pixel shifts


@dataclass(frozen=True)
class GroupingSettings:
    burst_gap_s: float = 3.0
    burst_similarity: float = 0.85
    duplicate_bits: int = 12
    duplicate_similarity: float = 0.95


@dataclass(frozen=True)
class PhotoSignature:
    """What grouping needs of one photo; store `to_dict()` with the photo (about 1.1 KB)."""

    photo_id: PhotoId
    taken_at: float | None
    phash: int
    thumb: bytes  # THUMB_SIDE x THUMB_SIDE grey, row-major uint8

    def to_dict(self) -> dict:
        return {"taken_at": self.taken_at, "phash": f"{self.phash:016x}", "thumb": self.thumb.hex()}

    @classmethod
    def from_dict(cls, photo_id: PhotoId, data: Mapping) -> PhotoSignature:
        return cls(photo_id, data.get("taken_at"), int(data["phash"], 16), bytes.fromhex(data["thumb"]))

    def thumb_array(self) -> np.ndarray:
        return np.frombuffer(self.thumb, dtype=np.uint8).reshape(THUMB_SIDE, THUMB_SIDE)


@dataclass(frozen=True)
class Assignment:
    """Where a new photo goes: `group_id` is an existing group's id, or the photo's own id when it starts one."""

    photo_id: PhotoId
    group_id: PhotoId
    reason: str  # "burst", "duplicate" or "new"
    similarity: float | None = None  # to the closest photo of the group joined


def _exif_seconds(stamp: object, subsec: object) -> float | None:
    try:
        when = datetime.strptime(str(stamp).strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except (TypeError, ValueError):
        return None
    seconds = float(calendar.timegm(when.timetuple()))
    digits = "".join(ch for ch in str(subsec or "") if ch.isdigit())
    if digits:
        seconds += int(digits) / 10 ** len(digits)  # "5" = 0.5 s, "050" = 0.05 s
    return seconds


def capture_time(source: bytes | Image.Image) -> float | None:
    """Seconds (camera clock, sub-seconds included) from EXIF DateTimeOriginal (else DateTimeDigitized); None
    without them. Never the file's modification time or EXIF DateTime, which edits and copies change."""
    try:
        image = Image.open(io.BytesIO(source)) if isinstance(source, (bytes, bytearray)) else source
        exif_ifd = image.getexif().get_ifd(EXIF_IFD)
    except Exception:  # unreadable EXIF costs the time, not the photo
        return None
    for stamp_tag, subsec_tag in ((DATETIME_ORIGINAL, SUBSEC_ORIGINAL), (DATETIME_DIGITIZED, SUBSEC_DIGITIZED)):
        if exif_ifd.get(stamp_tag):
            seconds = _exif_seconds(exif_ifd.get(stamp_tag), exif_ifd.get(subsec_tag))
            if seconds is not None:
                return seconds
    return None


HASH_INPUT_SIDE = 64  # the photo is first reduced to this grey square (imagehash then reduces it to 32 x 32)


def _grey_square(rgb: np.ndarray, side: int) -> np.ndarray:
    grey = cv2.cvtColor(np.ascontiguousarray(rgb[:, :, :3]), cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
    return cv2.resize(grey, (side, side), interpolation=cv2.INTER_AREA).astype(np.uint8)


PHASH_SIDE, PHASH_BITS_SIDE = 32, 8  # imagehash.phash's defaults: a 32 x 32 DCT, its 8 x 8 lowest frequencies


def _dct_matrix(n: int) -> np.ndarray:
    """scipy.fftpack.dct's type II (unnormalised) as a matrix: X_k = 2 sum_n x_n cos(pi k (2n + 1) / 2N)."""
    k, i = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    return 2.0 * np.cos(np.pi * k * (2 * i + 1) / (2 * n))


_DCT = _dct_matrix(PHASH_SIDE)


def _phash(small: np.ndarray) -> int:
    """imagehash.phash, bit for bit (tests/test_grouping.py checks it against imagehash), without its scipy
    dependency, which the desktop installer leaves out: a Lanczos reduction to 32 x 32, a 2-D DCT, and one bit per
    low frequency, set where the coefficient is above their median (row-major, first bit most significant)."""
    pixels = np.asarray(
        Image.fromarray(small).convert("L").resize((PHASH_SIDE, PHASH_SIDE), Image.Resampling.LANCZOS), dtype=np.float64
    )
    low = (_DCT @ pixels @ _DCT.T)[:PHASH_BITS_SIDE, :PHASH_BITS_SIDE]
    bits = (low > np.median(low)).ravel()
    return int("".join("1" if b else "0" for b in bits), 2)


def perceptual_hash(rgb: np.ndarray) -> int:
    """imagehash's 64-bit pHash (computed here without it), from a 64 x 64 grey reduction (the same hash for any practical
    purpose, at a fraction of the cost of handing it a 1024-pixel photo)."""
    return _phash(_grey_square(rgb, HASH_INPUT_SIDE))


def thumbnail(rgb: np.ndarray) -> bytes:
    small = _grey_square(rgb, HASH_INPUT_SIDE)
    return cv2.resize(small, (THUMB_SIDE, THUMB_SIDE), interpolation=cv2.INTER_AREA).tobytes()


def signature(photo_id: PhotoId, rgb: np.ndarray, taken_at: float | None) -> PhotoSignature:
    """From the decoded photo (any size; the app's <= 1024 px decode) and `capture_time` of its file."""
    small = _grey_square(rgb, HASH_INPUT_SIDE)
    thumb = cv2.resize(small, (THUMB_SIDE, THUMB_SIDE), interpolation=cv2.INTER_AREA).tobytes()
    return PhotoSignature(photo_id, taken_at, _phash(small), thumb)


def _popcount(values: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(values)
    return np.unpackbits(values.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)


def hash_distance(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def similarity(a: PhotoSignature, b: PhotoSignature) -> float:
    """Best normalised correlation (-1..1) of the two thumbnails over shifts of up to MAX_SHIFT pixels."""
    ta = cv2.GaussianBlur(a.thumb_array().astype(np.float32), (0, 0), THUMB_BLUR)
    tb = cv2.GaussianBlur(b.thumb_array().astype(np.float32), (0, 0), THUMB_BLUR)
    inner = slice(MAX_SHIFT, THUMB_SIDE - MAX_SHIFT)
    best = -1.0
    for image, template in ((tb, ta[inner, inner]), (ta, tb[inner, inner])):
        if float(template.std()) < 1e-3:  # a flat frame correlates with nothing; equal flat frames are equal
            best = max(best, 1.0 if float(np.abs(ta - tb).mean()) < 2.0 else 0.0)
            continue
        best = max(best, float(cv2.matchTemplate(image, template, cv2.TM_CCOEFF_NORMED).max()))
    return best


@dataclass
class GroupIndex:
    """The photos already grouped, searchable by time and by hash; `add` places one new photo."""

    settings: GroupingSettings = field(default_factory=GroupingSettings)
    _members: dict[PhotoId, PhotoSignature] = field(default_factory=dict)
    _group_of: dict[PhotoId, PhotoId] = field(default_factory=dict)
    _times: list[tuple[float, int, PhotoId]] = field(default_factory=list)  # sorted (taken_at, order, id)
    _hashes: np.ndarray = field(default_factory=lambda: np.zeros(64, dtype=np.uint64))  # grows by doubling
    _hash_ids: list[PhotoId] = field(default_factory=list)

    @classmethod
    def from_stored(
        cls, members: Iterable[tuple[PhotoSignature, PhotoId]], settings: GroupingSettings | None = None
    ) -> GroupIndex:
        """From (signature, group id) pairs as the catalog stores them, user-placed photos included."""
        index = cls(settings or GroupingSettings())
        for sig, group_id in members:
            index._put(sig, group_id)
        return index

    def group_of(self, photo_id: PhotoId) -> PhotoId | None:
        return self._group_of.get(photo_id)

    def assignments(self) -> dict[PhotoId, PhotoId]:
        """Photo id -> group id, for every photo placed so far."""
        return dict(self._group_of)

    def groups(self) -> dict[PhotoId, list[PhotoId]]:
        out: dict[PhotoId, list[PhotoId]] = {}
        for photo_id, group_id in self._group_of.items():
            out.setdefault(group_id, []).append(photo_id)
        return out

    def _put(self, sig: PhotoSignature, group_id: PhotoId) -> None:
        if sig.photo_id in self._members:
            raise ValueError(f"photo {sig.photo_id!r} is already grouped")
        self._members[sig.photo_id] = sig
        self._group_of[sig.photo_id] = group_id
        if sig.taken_at is not None:
            bisect.insort(self._times, (sig.taken_at, len(self._members), sig.photo_id))
        if len(self._hash_ids) == len(self._hashes):
            self._hashes = np.concatenate([self._hashes, np.zeros_like(self._hashes)])
        self._hashes[len(self._hash_ids)] = np.uint64(sig.phash)
        self._hash_ids.append(sig.photo_id)

    def _near_in_time(self, taken_at: float) -> list[PhotoSignature]:
        gap = self.settings.burst_gap_s
        lo = bisect.bisect_left(self._times, (taken_at - gap, -1))
        hi = bisect.bisect_right(self._times, (taken_at + gap, len(self._members) + 1))
        return [self._members[photo_id] for _, _, photo_id in self._times[lo:hi]]

    def _alike_by_hash(self, phash: int) -> list[PhotoSignature]:
        if not self._hash_ids:
            return []
        stored = self._hashes[: len(self._hash_ids)] ^ np.uint64(phash)
        bits = _popcount(stored)
        return [self._members[self._hash_ids[i]] for i in np.flatnonzero(bits <= self.settings.duplicate_bits)]

    def match(self, sig: PhotoSignature) -> Assignment:
        """Where `sig` would go, without adding it: the best-matching group's photo, else a new group."""
        s = self.settings
        best: tuple[float, str, PhotoId] | None = None
        if sig.taken_at is not None:
            for other in self._near_in_time(sig.taken_at):
                score = similarity(sig, other)
                if score >= s.burst_similarity and (best is None or score > best[0]):
                    best = (score, "burst", other.photo_id)
        for other in self._alike_by_hash(sig.phash):
            score = similarity(sig, other)
            if score >= s.duplicate_similarity and (best is None or score > best[0]):
                best = (score, "duplicate", other.photo_id)
        if best is None:
            return Assignment(sig.photo_id, sig.photo_id, "new")
        score, reason, other_id = best
        return Assignment(sig.photo_id, self._group_of[other_id], reason, round(score, 4))

    def add(self, sig: PhotoSignature) -> Assignment:
        """Place a new photo: it joins the group of the photo it matches best (bursts and duplicates alike) or
        starts its own. Groups are never merged or split here; a photo that would bridge two groups joins the
        closer one."""
        assignment = self.match(sig)
        self._put(sig, assignment.group_id)
        return assignment

    def place(self, sig: PhotoSignature, group_id: PhotoId) -> None:
        """Put a photo where the user decided (a split or a merge), bypassing the rules."""
        self._put(sig, group_id)


def group_all(
    signatures: Iterable[PhotoSignature],
    pinned: Mapping[PhotoId, PhotoId] | None = None,
    settings: GroupingSettings | None = None,
) -> dict[PhotoId, PhotoId]:
    """Group a whole library: photo id -> group id. `pinned` (user-placed photos -> their groups) are kept as
    they are; the others are added in capture-time order (photos without a time last, by id), so the result does
    not depend on the order photos were indexed in."""
    pinned = dict(pinned or {})
    index = GroupIndex(settings or GroupingSettings())
    rest = []
    for sig in signatures:
        if sig.photo_id in pinned:
            index.place(sig, pinned[sig.photo_id])
        else:
            rest.append(sig)
    rest.sort(key=lambda s: (s.taken_at is None, s.taken_at or 0.0, str(s.photo_id)))
    for sig in rest:
        index.add(sig)
    return index.assignments()
