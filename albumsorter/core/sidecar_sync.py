"""Keeping the catalog and the photos' XMP sidecars in step: AlbumSorter's ratings, picks, expression keywords and
faces go out to darktable, digiKam and Lightroom; their later ratings, rejects and pick labels come in.

Writing is opt-in (`albumsorter sidecars write`, or the window's "write sidecars as I work" setting, which calls
`sync_photo_sidecar` after each pick, reject, rating or correction). Both directions settle the rating and the pick
field by field with `xmp.resolve`: a value another tool changed after AlbumSorter's last write is taken into the
catalog, never overwritten; where both sides changed and which came last cannot be known, the photo is reported as
a conflict and neither side changes. Keywords and face regions under `AlbumSorter|` are AlbumSorter's own: written
from the catalog every time, never read back.

Where a photo has no sidecar, the XMP inside it (Lightroom's "write metadata to file", phones) is the other side,
and a new sidecar starts from what it says. Other tools' keywords are not stored in the catalog (AlbumSorter has no
keywords of its own to put them in, and they stay in the sidecar, where their tool keeps them): a read reports
which photos carry them.

Per-photo failures (a read-only folder, a broken sidecar) are collected in the summary; a run never stops for one.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from albumsorter.core.catalog import Catalog, FaceRecord, PhotoFilter, PhotoRecord, PhotoStatus, PickState
from albumsorter.core.catalog.db import is_under
from albumsorter.core.catalog.sidecar_state import SidecarSyncState
from albumsorter.core.xmp import (
    NEVER_WRITTEN,
    PICKED,
    REJECTED,
    FaceRegion,
    Resolution,
    SidecarError,
    SidecarInfo,
    SidecarStyle,
    XmpState,
    existing_sidecar,
    expression_keywords,
    folder_names,
    photo_orientation,
    read_embedded_xmp,
    read_sidecar,
    resolve,
    stored_size,
    write_sidecar,
)
from albumsorter.core.xmp.model import PICK_LABEL_ACCEPTED, PICK_LABEL_REJECTED

RATING, PICK = "rating", "pick"  # the two fields both sides may change
_CHUNK = 200  # photos whose faces are loaded at once

NameOf = Callable[[FaceRecord], "str | None"]  # a face's name for its region; default: the person's name, if named


@dataclass(frozen=True)
class FieldDifference:
    """One field of one photo where the catalog and the XMP said different things: taken in, or a conflict."""

    path: str  # the photo
    field: str  # RATING or PICK
    catalog: int | str | None  # stars (None: no rating), or PICKED / REJECTED / None (unflagged)
    sidecar: int | str | None
    source: str  # the file read: the sidecar, or the photo itself for embedded XMP

    def describe(self, value: int | str | None) -> str:
        if self.field == RATING:
            return "no rating" if value is None else f"{value} star{'s' * (value != 1)}"
        return str(value) if value is not None else "unflagged"


@dataclass
class SidecarSummary:
    """What a write or read did, photo by photo."""

    written: list[str] = field(default_factory=list)  # photos whose sidecar was created or updated
    unchanged: int = 0  # sidecars that already said it all (write), or had not changed since the last sync (read)
    taken: list[FieldDifference] = field(default_factory=list)  # other tools' later values, now in the catalog
    conflicts: list[FieldDifference] = field(default_factory=list)  # both changed: reported, nothing changed
    errors: list[tuple[str, str]] = field(default_factory=list)  # (photo, reason)
    read: int = 0  # read: sidecars (or photos' XMP) read because they changed since the last sync
    catalog_newer: int = 0  # read: photos whose catalog value is the later one (a write would hand it on)
    without_xmp: int = 0  # read: photos with no sidecar and no XMP inside
    foreign_keywords: dict[str, tuple[str, ...]] = field(default_factory=dict)  # read: photo -> other tools' keywords

    @property
    def ok(self) -> bool:
        return not self.errors


# --- what AlbumSorter says about a photo ---------------------------------------------------------------------------


def _pick_value(pick: int | None) -> str | None:
    return {PickState.PICKED: PICKED, PickState.REJECTED: REJECTED}.get(PickState(pick)) if pick is not None else None


def _pick_state(value: str | None) -> PickState:
    return {PICKED: PickState.PICKED, REJECTED: PickState.REJECTED}.get(value or "", PickState.UNFLAGGED)


def sidecar_info(photo: PhotoRecord, *, rating_set: bool | None = None, name: NameOf | None = None) -> SidecarInfo:
    """What AlbumSorter says about `photo` (a record with its faces, as `Catalog.photo` gives it).

    The rating is None (another tool's is left alone) when the photo has none: `rating_set` is the catalog's
    `SidecarSyncState.rating_set` (0 stars nobody set is no rating); without it, 0 stars count as none. Keywords
    are the expressions of the faces that count (subjects, not ignored) and "Everyone smiling" when every one of
    them smiles; each face not ignored is a region described by its expression, named by `name` (default: the name of the
    person the face is, where the user named them).
    """
    has_rating = photo.rating != 0 if rating_set is None else rating_set
    pick = _pick_value(photo.pick)
    subjects = [f for f in photo.faces if f.subject and not f.ignored]
    everyone_smiling = bool(subjects) and all(f.label == "happy" for f in subjects)
    keywords = expression_keywords((f.label for f in subjects if f.label), everyone_smiling=everyone_smiling)
    shown = [f for f in photo.faces if not f.ignored]
    regions: tuple[FaceRegion, ...] = ()
    image_size = None
    if shown and photo.width and photo.height:
        orientation = photo_orientation(photo.path)  # regions refer to the image as stored, before rotation
        regions = tuple(
            FaceRegion.from_box(
                f.box,
                photo.width,
                photo.height,
                orientation,
                name=name(f) if name is not None else f.person_name,
                description=f.label.capitalize() if f.label else None,
            )
            for f in shown
        )
        image_size = stored_size(photo.width, photo.height, orientation)
    return SidecarInfo(
        rating=photo.rating if has_rating else None,
        rejected=pick == REJECTED,
        picked=pick == PICKED,
        keywords=keywords,
        regions=regions,
        image_size=image_size,
    )


# --- settling the two fields ---------------------------------------------------------------------------------------


def _stars_hidden(sync: SidecarSyncState) -> bool:
    """AlbumSorter's last write was a reject: xmp:Rating -1, so the sidecar could not hold the catalog's stars."""
    return sync.sidecar_pick == PickState.REJECTED and sync.sidecar_rating is None


def _sidecar_pick(state: XmpState, sync: SidecarSyncState) -> str | None:
    """The pick state the XMP says. A reject AlbumSorter wrote is `xmp:Rating -1` plus digiKam's pick label 1;
    where one tool lifted its half since (darktable gave stars again, digiKam accepted the photo), the photo is no
    longer rejected, although the other half still says so."""
    if state.rejected and _stars_hidden(sync):
        if state.pick_label == PICK_LABEL_REJECTED and state.rating is not None:
            return None
        if state.pick_label == PICK_LABEL_ACCEPTED:
            return PICKED
    return state.pick


def _resolve_rating(sync: SidecarSyncState, state: XmpState | None) -> Resolution:
    catalog = sync.rating if sync.rating_set else None
    if state is None:
        return Resolution.WRITE_SIDECAR if catalog is not None else Resolution.IN_SYNC
    if state.rating is None:  # the XMP states no stars (none, or hidden under a reject): nothing to take
        return Resolution.IN_SYNC if catalog is None or state.rejected else Resolution.WRITE_SIDECAR
    last: object = sync.sidecar_rating if sync.sidecar_rating is not None else NEVER_WRITTEN
    if _stars_hidden(sync):
        last = catalog  # the stars the reject hid were the catalog's: new stars there are another tool's change
    return resolve(catalog, sync.rating_changed_at, state.rating, state.mtime, last)


def _resolve_pick(sync: SidecarSyncState, state: XmpState | None) -> Resolution:
    catalog = _pick_value(sync.pick)
    if state is None:
        return Resolution.WRITE_SIDECAR if catalog is not None else Resolution.IN_SYNC
    last: object = _pick_value(sync.sidecar_pick) if sync.sidecar_pick is not None else NEVER_WRITTEN
    return resolve(catalog, sync.pick_changed_at, _sidecar_pick(state, sync), state.mtime, last)


@dataclass(frozen=True)
class _Plan:
    rating: Resolution
    pick: Resolution

    @property
    def conflict(self) -> bool:
        return Resolution.CONFLICT in (self.rating, self.pick)


def _settle(
    catalog: Catalog, photo: PhotoRecord, sync: SidecarSyncState, state: XmpState | None, summary: SidecarSummary
) -> _Plan:
    """Resolve both fields; take other tools' later values into the catalog; report conflicts."""
    plan = _Plan(_resolve_rating(sync, state), _resolve_pick(sync, state))
    if state is None:
        return plan
    catalog_values = {RATING: sync.rating if sync.rating_set else None, PICK: _pick_value(sync.pick)}
    their_pick = _sidecar_pick(state, sync)
    sidecar_values = {RATING: state.rating, PICK: their_pick}
    for name, resolution in ((RATING, plan.rating), (PICK, plan.pick)):
        if resolution not in (Resolution.TAKE_SIDECAR, Resolution.CONFLICT):
            continue
        difference = FieldDifference(photo.path, name, catalog_values[name], sidecar_values[name], str(state.path))
        if resolution is Resolution.CONFLICT:
            summary.conflicts.append(difference)
        elif name == RATING and state.rating is not None:
            catalog.take_sidecar_rating(photo.id, state.rating, state.mtime)
            summary.taken.append(difference)
        elif name == PICK:
            catalog.take_sidecar_pick(photo.id, _pick_state(their_pick), state.mtime)
            summary.taken.append(difference)
    return plan


# --- one photo -----------------------------------------------------------------------------------------------------


class _Folders:
    """Each photo folder listed once per run (the listing names many photos' sidecars)."""

    def __init__(self) -> None:
        self._names: dict[Path, list[str]] = {}

    def names(self, photo: Path) -> list[str]:
        if photo.parent not in self._names:
            self._names[photo.parent] = folder_names(photo.parent)
        return self._names[photo.parent]


def _check_photo(path: Path) -> None:
    if not path.is_file():
        raise SidecarError("the photo is no longer there (moved or deleted since indexing: index the folder again)")


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        status = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    return (status.st_ino, status.st_size, status.st_mtime_ns)


def _write_one(
    catalog: Catalog,
    photo: PhotoRecord,
    sync: SidecarSyncState,
    style: SidecarStyle,
    folders: _Folders,
    summary: SidecarSummary,
    name: NameOf | None,
) -> None:
    path = Path(photo.path)
    _check_photo(path)
    names = folders.names(path)
    info = sidecar_info(photo, rating_set=sync.rating_set, name=name)
    state = read_sidecar(path, names)
    if state is None and not info.says_anything:
        return  # nothing to hand on, and no sidecar to update
    if state is None:
        try:
            state = read_embedded_xmp(path)  # a new sidecar starts from what the photo itself says
        except SidecarError:
            state = None  # XMP inside the photo that exiv2 cannot read: the sidecar starts from AlbumSorter's values
    if state is not None and state.mtime == sync.sidecar_mtime:
        # Not saved since both sides last agreed: nothing in it is newer, so the catalog's values stand (this also
        # settles a half-lifted reject a read already interpreted, whose markers still disagree until this write).
        plan = _Plan(Resolution.WRITE_SIDECAR, Resolution.WRITE_SIDECAR)
    else:
        plan = _settle(catalog, photo, sync, state, summary)
    rating, pick = info.rating, _pick_value(photo.pick)
    if state is not None:  # a field the other side won (or that is in conflict) is written as that side says it
        if plan.rating in (Resolution.TAKE_SIDECAR, Resolution.CONFLICT):
            rating = state.rating
        if plan.pick in (Resolution.TAKE_SIDECAR, Resolution.CONFLICT):
            pick = _sidecar_pick(state, sync)
    info = SidecarInfo(
        rating=rating,
        rejected=pick == REJECTED,
        picked=pick == PICKED,
        keywords=info.keywords,
        regions=info.regions,
        image_size=info.image_size,
    )
    before = _identity(state.path) if state is not None and not state.embedded else None
    written = write_sidecar(path, info, style, names)
    if written is None:
        return
    if before is not None and _identity(written.path) == before:
        summary.unchanged += 1
    else:
        summary.written.append(photo.path)
    catalog.record_sidecar_sync(
        photo.id,
        sync.sidecar_rating if plan.rating is Resolution.CONFLICT else written.rating,
        sync.sidecar_pick if plan.pick is Resolution.CONFLICT else _pick_state(written.pick),
        None if plan.conflict else written.mtime,
    )


def _read_one(catalog: Catalog, photo: PhotoRecord, sync: SidecarSyncState, folders: _Folders, summary: SidecarSummary) -> None:
    path = Path(photo.path)
    _check_photo(path)
    names = folders.names(path)
    source = existing_sidecar(path, names) or path
    try:
        mtime = os.stat(source, follow_symlinks=False).st_mtime
    except OSError as exc:
        raise SidecarError(f"cannot read {source.name}: {exc.strerror or exc}") from None
    if sync.sidecar_mtime is not None and mtime == sync.sidecar_mtime:
        summary.unchanged += 1  # not saved since both sides last agreed: nothing new to take
        return
    state = read_sidecar(path, names) if source != path else read_embedded_xmp(path)
    summary.read += state is not None
    if state is None:
        summary.without_xmp += 1
        catalog.record_sidecar_sync(photo.id, sync.sidecar_rating, sync.sidecar_pick, mtime)  # not read again until saved
        return
    if state.foreign_keywords:
        summary.foreign_keywords[photo.path] = state.foreign_keywords
    plan = _settle(catalog, photo, sync, state, summary)
    if Resolution.WRITE_SIDECAR in (plan.rating, plan.pick):
        summary.catalog_newer += 1
    agreed = (Resolution.IN_SYNC, Resolution.TAKE_SIDECAR)
    catalog.record_sidecar_sync(
        photo.id,
        state.rating if plan.rating in agreed else sync.sidecar_rating,
        _pick_state(_sidecar_pick(state, sync)) if plan.pick in agreed else sync.sidecar_pick,
        None if plan.conflict else state.mtime,
    )


# --- whole catalogs ------------------------------------------------------------------------------------------------


def _photos(
    catalog: Catalog, photo_ids: Iterable[int] | None, under: Path | str | None, with_faces: bool
) -> Iterator[tuple[PhotoRecord, SidecarSyncState]]:
    """The indexed photos (all, those of `photo_ids`, or those under a folder) with their sync states."""
    if photo_ids is not None:  # a few photos (the window's one): no scan of the whole catalog
        records = [catalog.photo(i) for i in dict.fromkeys(photo_ids)]
        photos = [p for p in records if p is not None and p.status == PhotoStatus.OK]
    else:
        photos = catalog.query(PhotoFilter(sort="path"))
    if under is not None:
        prefix = str(Path(os.path.abspath(under)))
        photos = [p for p in photos if is_under(p.path, prefix)]
    for start in range(0, len(photos), _CHUNK):
        chunk = photos[start : start + _CHUNK]
        ids = [p.id for p in chunk]
        faces = catalog.faces_for(ids) if with_faces and photo_ids is None else None
        states = catalog.sidecar_states(ids)
        for photo in chunk:
            if faces is not None:
                photo = dataclasses.replace(photo, faces=faces.get(photo.id, []))
            if photo.id in states:
                yield photo, states[photo.id]


def _guarded(summary: SidecarSummary, photo: PhotoRecord, action: Callable[..., None], *args: object) -> None:
    try:
        action(*args)
    except (SidecarError, OSError, ValueError) as exc:  # this photo only; the run goes on
        summary.errors.append((photo.path, str(exc) or type(exc).__name__))


def write_sidecars(
    catalog: Catalog,
    style: SidecarStyle | str = SidecarStyle.DARKTABLE,
    photo_ids: Iterable[int] | None = None,
    *,
    under: Path | str | None = None,
    name: NameOf | None = None,
) -> SidecarSummary:
    """Write or update the sidecar of every indexed photo with something to say (or of `photo_ids`, or those under
    a folder), in `style` where a photo has none yet. Other tools' later values are taken, not overwritten."""
    style = SidecarStyle(style)
    summary, folders = SidecarSummary(), _Folders()
    for photo, sync in _photos(catalog, photo_ids, under, with_faces=True):
        _guarded(summary, photo, _write_one, catalog, photo, sync, style, folders, summary, name)
    return summary


def read_sidecars(catalog: Catalog, photo_ids: Iterable[int] | None = None, *, under: Path | str | None = None) -> SidecarSummary:
    """Take other tools' ratings, rejects and pick labels from the photos' sidecars (or the XMP inside a photo
    without one) where they changed later than AlbumSorter's; report conflicts and other tools' keywords."""
    summary, folders = SidecarSummary(), _Folders()
    for photo, sync in _photos(catalog, photo_ids, under, with_faces=False):
        _guarded(summary, photo, _read_one, catalog, photo, sync, folders, summary)
    return summary


def sync_photo_sidecar(
    catalog: Catalog, photo_id: int, style: SidecarStyle | str = SidecarStyle.DARKTABLE, *, name: NameOf | None = None
) -> SidecarSummary:
    """After the user picked, rejected, rated or corrected one photo (the "write sidecars as I work" setting):
    write its sidecar now. Cheap (one photo, one sidecar); errors come back in the summary, never raised."""
    return write_sidecars(catalog, style, [photo_id], name=name)
