"""The keeper score: one number (0-1) per photo saying how good a frame it is, and the rank of each photo in its
group (1 = the keeper). The one place the formula lives.

    keeper = 0.30 x eyes open      (every face's eyes open)
           + 0.20 x smiling        (every face smiling)
           + 0.20 x faces sharp    (every face in focus)
           + 0.10 x nobody cut off (share of faces the photo's edge does not cut)
           + 0.10 x photo sharp    (the photo's sharpest part, core/photo_quality.py)
           + 0.10 x well exposed   (no clipped highlights / shadows, core/photo_quality.py)

"Every face" parts are the main faces only: faces at least a third as wide as the photo's largest face (a
stranger far behind does not decide the frame). For each such part the least good face counts half and the
average face half (``0.5 x min + 0.5 x mean``): one person blinking spoils a group photo, yet a photo where
everyone is a little better still ranks higher. Inputs come from the quality scorer (eyes_open, smile,
sharpness, cut_off per face) and from core/photo_quality.py (photo sharpness, exposure).

A part that cannot be judged (a photo without faces, faces too small for their eyes to be read) is left out and
the other weights are scaled up to sum to 1, so a landscape is scored on sharpness and exposure alone.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

WEIGHTS: dict[str, float] = {
    "eyes_open": 0.30,
    "smiling": 0.20,
    "faces_sharp": 0.20,
    "not_cut_off": 0.10,
    "photo_sharp": 0.10,
    "exposure": 0.10,
}
MAIN_FACE_SHARE = 1 / 3  # faces narrower than this share of the largest face are background
WORST_FACE_SHARE = 0.5  # in an "every face" part: 0.5 x the worst face + 0.5 x the mean


@dataclass(frozen=True)
class FaceQuality:
    """What the keeper needs of one face. `width` in any unit shared by the photo's faces (pixels)."""

    width: float
    eyes_open: float | None = None
    smile: float | None = None
    sharpness: float | None = None
    cut_off: bool = False

    @classmethod
    def from_data(cls, width: float, data: Mapping) -> FaceQuality:
        """From the quality scorer's stored `data` for the face."""
        return cls(width, data.get("eyes_open"), data.get("smile"), data.get("sharpness"), bool(data.get("cut_off", False)))


@dataclass(frozen=True)
class PhotoQuality:
    """What the keeper needs of one photo. `taken_at` (seconds) only breaks ties."""

    photo_id: Hashable
    faces: tuple[FaceQuality, ...]
    sharpness: float
    exposure: float
    taken_at: float | None = None


def main_faces(faces: Sequence[FaceQuality]) -> list[FaceQuality]:
    if not faces:
        return []
    largest = max(f.width for f in faces)
    return [f for f in faces if f.width >= MAIN_FACE_SHARE * largest]


def every_face(values: Sequence[float | None]) -> float | None:
    """0.5 x the worst + 0.5 x the mean of the values that exist; None when none does."""
    known = [float(v) for v in values if v is not None]
    if not known:
        return None
    return WORST_FACE_SHARE * min(known) + (1 - WORST_FACE_SHARE) * (sum(known) / len(known))


def keeper_parts(faces: Sequence[FaceQuality], sharpness: float, exposure: float) -> dict[str, float | None]:
    """Each part of the formula, 0-1, None when it cannot be judged (for showing why a photo scored so)."""
    main = main_faces(faces)
    return {
        "eyes_open": every_face([f.eyes_open for f in main]),
        "smiling": every_face([f.smile for f in main]),
        "faces_sharp": every_face([f.sharpness for f in main]),
        "not_cut_off": (sum(0.0 if f.cut_off else 1.0 for f in main) / len(main)) if main else None,
        "photo_sharp": float(sharpness),
        "exposure": float(exposure),
    }


def keeper_score(faces: Sequence[FaceQuality], sharpness: float, exposure: float) -> float:
    """The keeper score (0-1) of one photo; see the module docstring for the formula."""
    parts = keeper_parts(faces, sharpness, exposure)
    total_weight = sum(WEIGHTS[name] for name, value in parts.items() if value is not None)
    if total_weight <= 0:
        return 0.0
    score = sum(WEIGHTS[name] * value for name, value in parts.items() if value is not None) / total_weight
    return round(min(1.0, max(0.0, score)), 4)


def rank_in_group(photos: Sequence[PhotoQuality]) -> dict[Hashable, int]:
    """Photo id -> rank (1 = the keeper). Higher keeper score first; ties go to the sharper photo, then the
    earlier one, then the smaller id (as text), so the same photos always rank the same way."""

    return rank_scored([(p.photo_id, keeper_score(p.faces, p.sharpness, p.exposure), p.sharpness, p.taken_at) for p in photos])


def rank_scored(photos: Sequence[tuple[Hashable, float, float, float | None]]) -> dict[Hashable, int]:
    """The same ranking from (photo id, keeper score, sharpness, taken_at) already computed (as the catalog stores them)."""

    def key(p: tuple[Hashable, float, float, float | None]) -> tuple:
        photo_id, score, sharpness, taken_at = p
        return (-score, -sharpness, taken_at is None, taken_at or 0.0, str(photo_id))

    return {p[0]: rank for rank, p in enumerate(sorted(photos, key=key), start=1)}


# Thresholds for the window's badges and filters and `list --eyes-open / --sharp` (main faces only, as above).
EYES_OPEN_AT = 0.5  # the eye calibration's decision point
SHARP_AT = 0.5  # about a face blurred by one decoded pixel (core/photo_quality.py)


def everyone_eyes_open(faces: Sequence[FaceQuality]) -> bool:
    """No main face with its eyes judged closed, and at least one main face judged (a photo without readable
    eyes is not "eyes open")."""
    judged = [f.eyes_open for f in main_faces(faces) if f.eyes_open is not None]
    return bool(judged) and min(judged) >= EYES_OPEN_AT


def someone_eyes_closed(faces: Sequence[FaceQuality]) -> bool:
    return any(f.eyes_open is not None and f.eyes_open < EYES_OPEN_AT for f in main_faces(faces))


def is_sharp(faces: Sequence[FaceQuality], sharpness: float) -> bool:
    """The photo is sharp where it matters: every main face, or the photo itself when it has no faces."""
    main = [f.sharpness for f in main_faces(faces) if f.sharpness is not None]
    return min(main) >= SHARP_AT if main else sharpness >= SHARP_AT


def describe_weights() -> str:
    """The formula in one line, for help texts: 'eyes open 30 %, smiling 20 %, ...'."""
    names = {
        "eyes_open": "eyes open",
        "smiling": "smiling",
        "faces_sharp": "faces sharp",
        "not_cut_off": "nobody cut off",
        "photo_sharp": "photo sharp",
        "exposure": "well exposed",
    }
    return ", ".join(f"{names[k]} {round(v * 100)} %" for k, v in WEIGHTS.items())


__all__ = [
    "WEIGHTS",
    "FaceQuality",
    "PhotoQuality",
    "keeper_parts",
    "keeper_score",
    "rank_in_group",
    "everyone_eyes_open",
    "someone_eyes_closed",
    "is_sharp",
    "describe_weights",
]
