"""Photos and faces as JSON-able dicts: one definition for `list --json` and the batch job's output."""

from __future__ import annotations

from typing import Any

from albumsorter.core.catalog.records import PhotoRecord, PickState
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
            }
            for f in photo.faces
        ],
    }
