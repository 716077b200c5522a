"""Who counts in a photo: reading order of faces, subjects versus bystanders, and how sure a smile is.

"Everyone smiling" should mean the people the photo is of, not a tiny passer-by in the background. A face is a
bystander when it is much smaller than the photo's largest face, or small and cut by the photo's edge; a face
the user ignored never counts, and a face the user added always counts. All of it is derived from stored
faces on every write (never stored by a model), so a change of rule re-applies to every catalog.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from albumsorter.core.face import Box

# A face under this share of the largest face's height is a bystander (a portrait with people far behind).
BYSTANDER_SIZE = 0.4
# A face touching the photo's edge that is also under this share is a passer-by cut off by the frame.
EDGE_BYSTANDER_SIZE = 0.6
EDGE_MARGIN = 0.01  # of the photo's side: a box this close to the edge touches it


class Strictness(enum.StrEnum):
    """How sure "smiling" must be, for "everyone smiling" and the smile count."""

    RELAXED = "relaxed"  # happy is the most likely expression, or at least 0.35 likely (a faint smile counts too)
    NORMAL = "normal"  # happy is the model's most likely expression
    STRICT = "strict"  # happy with probability at least 0.8


HAPPY_AT_LEAST = {Strictness.RELAXED: 0.35, Strictness.STRICT: 0.8}
UNCERTAIN_MARGIN = 0.25  # top two probabilities closer than this: the face is shown as uncertain


@dataclass(frozen=True)
class FaceFacts:
    box: Box
    ignored: bool = False
    manual: bool = False


def touches_edge(box: Box, width: float, height: float) -> bool:
    mx, my = EDGE_MARGIN * width, EDGE_MARGIN * height
    return box[0] <= mx or box[1] <= my or box[2] >= width - mx or box[3] >= height - my


def subject_flags(faces: Sequence[FaceFacts], width: float | None, height: float | None) -> list[bool]:
    """Per face: does it count for the photo's smile scores and "everyone smiling"?"""
    heights = [f.box[3] - f.box[1] for f in faces if not f.ignored]
    largest = max(heights, default=0.0)
    flags = []
    for f in faces:
        if f.ignored:
            flags.append(False)
            continue
        if f.manual or largest <= 0:
            flags.append(True)
            continue
        share = (f.box[3] - f.box[1]) / largest
        cut = bool(width and height) and touches_edge(f.box, float(width or 0), float(height or 0))
        flags.append(share >= BYSTANDER_SIZE and not (cut and share < EDGE_BYSTANDER_SIZE))
    return flags


ROW_TOLERANCE = 0.6  # of a face's height: vertical centres this close belong to one row of people


def reading_order(boxes: Sequence[Box]) -> list[int]:
    """Indices of `boxes` in reading order: rows top to bottom, each row left to right. A face joins the current
    row when its vertical centre is within ROW_TOLERANCE face heights (its own and the row's, averaged) of the row's
    mean centre: people standing in a line are rarely level."""
    order = sorted(range(len(boxes)), key=lambda i: (boxes[i][1] + boxes[i][3]) / 2)
    rows: list[list[int]] = []
    for i in order:
        centre, height = (boxes[i][1] + boxes[i][3]) / 2, boxes[i][3] - boxes[i][1]
        if rows:
            row = rows[-1]
            row_centre = sum((boxes[j][1] + boxes[j][3]) / 2 for j in row) / len(row)
            row_height = sum(boxes[j][3] - boxes[j][1] for j in row) / len(row)
            if abs(centre - row_centre) <= ROW_TOLERANCE * (row_height + height) / 2:
                row.append(i)
                continue
        rows.append([i])
    return [i for row in rows for i in sorted(row, key=lambda j: boxes[j][0])]


def is_smiling(label: str | None, p_happy: float | None, corrected: bool, strictness: Strictness = Strictness.NORMAL) -> bool:
    """A corrected face is what the user said; otherwise the model's output judged at this strictness."""
    if corrected or strictness == Strictness.NORMAL or p_happy is None:
        return label == "happy"
    if strictness == Strictness.RELAXED:  # a superset of Normal
        return label == "happy" or p_happy >= HAPPY_AT_LEAST[strictness]
    return p_happy >= HAPPY_AT_LEAST[strictness]


def is_uncertain(probabilities: dict[str, float]) -> bool:
    """The model's top two expressions are close: show the face as unsure, not as a plain smile."""
    top = sorted(probabilities.values(), reverse=True)[:2]
    return len(top) == 2 and top[0] - top[1] < UNCERTAIN_MARGIN
