"""How a face is shown, the same in the viewer's photo and in its face list: whether it counts, how sure the model
is, its colour and its words, and the menu that acts on it.

One visual language: a face that counts is boxed in its mood's colour (green positive, yellow neutral or
surprised, red negative), solid when the model is sure and dashed when its top two expressions are close
("uncertain"); a face in the background (a bystander) is thin and faded; an ignored face is grey and dashed.
Faces are numbered in reading order (the catalog stores them so).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtGui import QColor, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

from albumsorter._qt.shortcuts import expression_key
from albumsorter.core.catalog import FaceRecord
from albumsorter.core.classes import CLASSES_8, group_of
from albumsorter.core.subjects import Strictness, is_smiling, is_uncertain

# Face boxes are drawn over the photo, not over the window, so they use fixed colours with a dark outline.
GROUP_COLOURS = {"positive": QColor(60, 200, 90), "neutral": QColor(240, 190, 40), "negative": QColor(235, 70, 60)}
IGNORED_GREY = QColor(165, 165, 165)
UNKNOWN_GREY = QColor(160, 160, 160)

BYSTANDER_NOTE = (
    "In the background (much smaller than the main faces, or cut by the edge): it doesn't count for "
    '"everyone smiling" or the photo\'s smile score.'
)

READING, NOT_SMILING_FIRST, LEAST_SURE_FIRST = "reading", "not-smiling", "least-sure"
FACE_ORDERS = ((READING, "Reading order"), (NOT_SMILING_FIRST, "Not smiling first"), (LEAST_SURE_FIRST, "Least sure first"))


@dataclass(frozen=True)
class FaceLook:
    """What the window says about one face of a photo."""

    number: int  # 1-based, in reading order
    label: str | None
    probability: float  # the model's probability of `label` (0 for a correction, which is what the user said)
    counts: bool  # counts for "everyone smiling" and the photo's scores
    ignored: bool  # the user said: not a person in this photo
    bystander: bool  # in the background (much smaller than the main faces): does not count
    uncertain: bool  # the model's top two expressions are close
    smiling: bool  # at the strictness in use
    corrected: bool
    manual: bool  # drawn by the user


def look_of(face: FaceRecord, index: int, strictness: Strictness = Strictness.NORMAL) -> FaceLook:
    probs = face.probabilities
    has_probs = any(probs.values())
    label = face.label
    return FaceLook(
        number=index + 1,
        label=label,
        probability=0.0 if face.corrected else float(probs.get(label or "", 0.0)),
        counts=face.subject,
        ignored=face.ignored,
        bystander=not face.subject and not face.ignored,
        uncertain=has_probs and not face.corrected and is_uncertain(probs),
        smiling=is_smiling(label, probs.get("happy") if has_probs else None, face.corrected, strictness),
        corrected=face.corrected,
        manual=face.manual,
    )


def looks_of(faces: list[FaceRecord], strictness: Strictness = Strictness.NORMAL) -> list[FaceLook]:
    return [look_of(f, i, strictness) for i, f in enumerate(faces)]


def face_colour(look: FaceLook) -> QColor:
    if look.ignored:
        return QColor(IGNORED_GREY)
    return QColor(GROUP_COLOURS[group_of(look.label)]) if look.label else QColor(UNKNOWN_GREY)


def expression_words(look: FaceLook) -> str:
    """ "happy 98 %", "happy? 51 %" (uncertain), "happy ✎" (the user's correction)."""
    label = look.label or "?"
    if look.corrected:
        return f"{label} ✎"
    return f"{label}{'?' if look.uncertain else ''} {look.probability:.0%}"


def tag_text(look: FaceLook, full: bool) -> str:
    """The tag on the photo: the number and, when there is room (or the face is selected), the expression."""
    if look.ignored:
        return f"{look.number}  ignored" if full else f"{look.number}"
    return f"{look.number}  {expression_words(look)}" if full else f"{look.number}"


def status_words(look: FaceLook) -> str:
    """Why a face counts or not, in a few words (the face list's second column)."""
    if look.ignored:
        return "ignored"
    if look.bystander:
        return "background"
    if look.manual:
        return "added by you"
    return ""


def sort_key(order: str) -> Callable[[FaceLook], tuple]:
    """The face list's orders. Faces that do not count go last in the two problem-first orders."""
    if order == NOT_SMILING_FIRST:
        return lambda look: (not look.counts, look.smiling, not look.uncertain, look.number)
    if order == LEAST_SURE_FIRST:
        return lambda look: (not look.counts, look.corrected, look.probability, look.number)
    return lambda look: (look.number,)


def face_note(face: FaceRecord, look: FaceLook) -> str:
    """The full story of one face, for the detail under the list (never cut off)."""
    probs = face.probabilities
    ranked = sorted(probs.items(), key=lambda kv: kv[1], reverse=True)
    lines = [f"Face {look.number}: {look.label or 'no expression'}"]
    if look.corrected:
        model = face.predicted_label
        said = f"{model} ({probs.get(model or '', 0.0):.0%})" if model else "nothing"
        lines.append(f"Your correction. The model said {said}; your label is kept whatever the model says later.")
    elif look.uncertain and len(ranked) >= 2:
        lines.append(f"The model is unsure: {ranked[0][0]} {ranked[0][1]:.0%}, {ranked[1][0]} {ranked[1][1]:.0%}.")
    if look.manual:
        lines.append("You added this face (the detector missed it); it always counts.")
    if look.ignored:
        lines.append("Ignored: not a person in this photo. It doesn't count for the photo's smiles.")
    elif look.bystander:
        lines.append(BYSTANDER_NOTE)
    return "\n".join(lines)


def face_menu(
    parent: QWidget,
    face: FaceRecord,
    look: FaceLook,
    correct: Callable[[int, str | None], None],
    ignore: Callable[[int, bool], None],
    remove: Callable[[int], None],
    zoom: Callable[[], None] | None = None,
) -> QMenu:
    """Set the expression (the 8 classes, checked one current, with their Alt+digit keys), back to the model's,
    ignore / count again, remove (a face the user added), zoom to it."""
    menu = QMenu(parent)
    menu.setTitle("Face")
    header = menu.addAction(f"Face {look.number}: {look.label or 'unknown'}" + (" (your correction)" if face.corrected else ""))
    header.setEnabled(False)
    menu.addSeparator()
    for i, c in enumerate(CLASSES_8):
        act = menu.addAction(c.capitalize())
        act.setShortcut(QKeySequence(expression_key(i + 1)))  # shown beside the item, as in the F1 help
        act.setCheckable(True)
        act.setChecked(face.label == c)
        act.setData(c)
        act.triggered.connect(lambda _=False, c=c: correct(face.id, c))
    model = face.predicted_label
    back = menu.addAction(
        "Use the model's expression" + (f" ({model} {face.probabilities.get(model, 0.0):.0%})" if model else "")
    )
    back.setShortcut(QKeySequence(expression_key(0)))
    back.setEnabled(face.corrected)
    back.triggered.connect(lambda _=False: correct(face.id, None))
    menu.addSeparator()
    if face.ignored:
        act = menu.addAction("Count this face again")
    else:
        act = menu.addAction("Ignore this face (not a person in this photo)")
    act.setShortcut(QKeySequence("I"))
    act.triggered.connect(lambda _=False: ignore(face.id, not face.ignored))
    if face.manual:
        rm = menu.addAction("Remove this face (you added it)")
        rm.setShortcut(QKeySequence("Delete"))
        rm.triggered.connect(lambda _=False: remove(face.id))
    if zoom is not None:
        menu.addSeparator()
        menu.addAction("Zoom to this face").triggered.connect(lambda _=False: zoom())
    return menu
