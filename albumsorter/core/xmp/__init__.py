"""XMP sidecars: hand AlbumSorter's ratings, picks, expression keywords and faces on to darktable, digiKam and
Lightroom, and take in what they wrote.

AlbumSorter never writes into a photo. It writes a sidecar beside it (`IMG_0042.jpg.xmp`, or Lightroom's
`IMG_0042.xmp`), updating the one that exists in either naming, merging rather than replacing: every field another
tool wrote survives, and only AlbumSorter's own fields (rating, pick label, its `AlbumSorter|...` keywords, its
face regions) are replaced. Through exiv2 (pyexiv2), never hand-written XML.

Decisions: other tools' face regions (digiKam's named people) are kept, and AlbumSorter adds no region over a face
one of them already marks (overlap 0.5 or more); AlbumSorter's regions carry a marker in `mwg-rs:Extensions` so that
they, and only they, are replaced. Flat `dc:subject` names are ambiguous, so the ones AlbumSorter added are listed
in its own namespace (`albumsorter:AddedSubjects`). Where digiKam keeps `digiKam:TagsList` (which it reads first),
AlbumSorter's keywords join it too. A reject is `xmp:Rating -1` plus `digiKam:PickLabel 1`; digiKam's other labels
(2 = pending) are never touched.

    info = SidecarInfo(rating=4, picked=True, keywords=expression_keywords(["happy"], everyone_smiling=True),
                       regions=(FaceRegion.from_box(box, width, height, photo_orientation(path), description="Happy"),),
                       image_size=stored_size(width, height, photo_orientation(path)))
    written = write_sidecar(path, info, SidecarStyle.DARKTABLE)   # -> XmpState: remember written.rating / .pick
    state = read_sidecar(path) or read_embedded_xmp(path)         # -> XmpState | None
    resolve(catalog_rating, changed_at, state.rating, state.mtime, last_written)  # -> Resolution
"""

from albumsorter.core.xmp.files import photo_orientation, read_embedded_xmp, read_sidecar, write_sidecar
from albumsorter.core.xmp.model import (
    EVERYONE_SMILING_KEYWORD,
    EXPRESSION_KEYWORD,
    NEVER_WRITTEN,
    PICKED,
    REJECTED,
    ROOT_KEYWORD,
    FaceRegion,
    Resolution,
    SidecarError,
    SidecarInfo,
    SidecarStyle,
    XmpState,
    expression_keywords,
    is_own_keyword,
    resolve,
    stored_size,
)
from albumsorter.core.xmp.naming import existing_sidecar, folder_names, sidecar_path

__all__ = [
    "EVERYONE_SMILING_KEYWORD",
    "EXPRESSION_KEYWORD",
    "NEVER_WRITTEN",
    "PICKED",
    "REJECTED",
    "ROOT_KEYWORD",
    "FaceRegion",
    "Resolution",
    "SidecarError",
    "SidecarInfo",
    "SidecarStyle",
    "XmpState",
    "existing_sidecar",
    "expression_keywords",
    "folder_names",
    "is_own_keyword",
    "photo_orientation",
    "read_embedded_xmp",
    "read_sidecar",
    "resolve",
    "sidecar_path",
    "stored_size",
    "write_sidecar",
]
