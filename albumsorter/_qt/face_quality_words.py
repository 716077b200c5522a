"""What the quality scorer read on a face, in words (issue #11): its eyes (open, closed or can't tell), how much it
smiles, how sharp it is, where it looks, whether the photo's edge cuts it. The viewer's face detail shows the
full sentence next to the expression, the face list a few words, the compare view one line under each photo.

The thresholds are core.keeper's, so the words agree with the filters and the keeper score.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from albumsorter.core.catalog import FaceRecord
from albumsorter.core.keeper import EYES_OPEN_AT, SHARP_AT

QUALITY = "quality"  # the scorer kind (core.scorers.quality.KIND)
TURNED_AT = 25.0  # degrees of yaw or pitch from which a face is said to look away


def quality_data(face: FaceRecord) -> Mapping[str, Any] | None:
    result = face.results.get(QUALITY)
    return result.data if result is not None else None


def eyes_state(face: FaceRecord) -> str | None:
    """ "open", "closed", "unknown" (too small or turned away to read), or None without a quality result."""
    data = quality_data(face)
    if data is None:
        return None
    value = data.get("eyes_open")
    if value is None:
        return "unknown"
    return "open" if value >= EYES_OPEN_AT else "closed"


def is_blurred(face: FaceRecord) -> bool:
    data = quality_data(face)
    sharpness = data.get("sharpness") if data else None
    return sharpness is not None and sharpness < SHARP_AT


def short_words(face: FaceRecord) -> str:
    """For the face list: "eyes open", "eyes closed · blurred", "eyes ?" ("" without a quality result)."""
    state = eyes_state(face)
    if state is None:
        return ""
    words = [{"open": "eyes open", "closed": "eyes closed", "unknown": "eyes ?"}[state]]
    if is_blurred(face):
        words.append("blurred")
    return " · ".join(words)


def _eye_words(data: Mapping[str, Any]) -> str:
    value = data.get("eyes_open")
    if value is None:
        return "Eyes: can't tell (the face is too small, turned away, or its eyes were not found)."
    left, right = data.get("eye_left"), data.get("eye_right")
    if left is not None and right is not None and (left >= EYES_OPEN_AT) != (right >= EYES_OPEN_AT):
        closed = "left" if left < EYES_OPEN_AT else "right"
        return f"Eyes: the {closed} eye is closed ({1 - min(left, right):.0%} sure)."
    if value >= EYES_OPEN_AT:
        return f"Eyes: open ({value:.0%} sure)."
    return f"Eyes: closed ({1 - value:.0%} sure)."


def _pose_words(pose: Mapping[str, float] | None) -> str:
    if not pose:
        return ""
    yaw, pitch = float(pose.get("yaw", 0.0)), float(pose.get("pitch", 0.0))
    if abs(yaw) < TURNED_AT and abs(pitch) < TURNED_AT:
        return "Looks at the camera."
    parts = []
    if abs(yaw) >= TURNED_AT:
        parts.append(f"turned {abs(yaw):.0f}° {'right' if yaw > 0 else 'left'}")
    if abs(pitch) >= TURNED_AT:
        parts.append(f"looking {'up' if pitch > 0 else 'down'} {abs(pitch):.0f}°")
    return "Looks away: " + ", ".join(parts) + "."


def quality_note(face: FaceRecord) -> str:
    """The full sentence for the face detail ("" without a quality result)."""
    data = quality_data(face)
    if data is None:
        return ""
    lines = [_eye_words(data)]
    smile, sharpness = data.get("smile"), data.get("sharpness")
    details = []
    if smile is not None:
        details.append(f"Smile: {smile:.0%}.")
    if sharpness is not None:
        details.append(f"Sharpness: {sharpness:.2f} ({'sharp' if sharpness >= SHARP_AT else 'blurred'}).")
    if details:
        lines.append(" ".join(details))
    pose = _pose_words(data.get("pose"))
    if pose:
        lines.append(pose)
    if data.get("cut_off"):
        lines.append("Cut by the photo's edge.")
    return "\n".join(lines)
