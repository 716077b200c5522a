"""Photos and faces as JSON-able dicts: one definition for `list --json` and the batch job's output."""

from __future__ import annotations

from typing import Any

from albumsorter.core.catalog.records import PhotoRecord, PickState
from albumsorter.core.face import ScorerResult
from albumsorter.core.subjects import is_uncertain


def photo_to_json(photo: PhotoRecord) -> dict[str, Any]:
    """The fields scripts rely on (`albumsorter list --json`, the batch job's Parquet rows): names are a contract."""
    return {
        "path": photo.path,
        "status": photo.status,
        "error": photo.error,
        "width": photo.width,
        "height": photo.height,
        "taken_at": photo.taken_at,
        "pick": PickState(photo.pick).name.lower(),
        "face_count": photo.face_count,
        "smile_count": photo.smile_count,
        "all_smile": photo.all_smile,
        "smile_score": round(photo.smile_score, 4),
        "rating": photo.rating,
        "sharpness": _round(photo.sharpness),
        "exposure": _round(photo.exposure),
        "keeper_score": _round(photo.keeper_score),
        "group": {"id": photo.group_id, "size": photo.group_size, "rank": photo.group_rank} if photo.group_size >= 2 else None,
        "faces": [
            {
                "id": f.id,
                "box": {k: round(v, 1) for k, v in zip(("left", "top", "right", "bottom"), f.box)},
                "score": round(f.score, 4),
                "label": f.label,
                "predicted_label": f.predicted_label,
                "corrected": f.corrected,
                "probabilities": {k: round(v, 4) for k, v in f.probabilities.items()},
                "uncertain": is_uncertain(f.probabilities) if f.expression else False,
                "ignored": f.ignored,
                "subject": f.subject,
                "added": f.manual,
                "person": {"id": f.person_id, "name": f.person_name} if f.person_id is not None else None,
                **_quality_fields(f.results.get("quality")),
            }
            for f in photo.faces
        ],
    }


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def _quality_fields(result: ScorerResult | None) -> dict[str, Any]:
    """Per face: eyes open (None: too small or turned away to judge), smile, sharpness, head pose, cut off."""
    data = result.data if result is not None else {}
    pose = data.get("pose")
    return {
        "eyes_open": _round(data.get("eyes_open")),
        "smile": _round(data.get("smile")),
        "sharpness": _round(data.get("sharpness")),
        "pose": {k: _round(pose.get(k), 1) for k in ("yaw", "pitch", "roll")} if pose else None,
        "cut_off": bool(data.get("cut_off", False)),
    }
