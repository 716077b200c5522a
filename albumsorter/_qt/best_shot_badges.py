"""The grid's best-shot badges (issue #11), painted by PhotoDelegate after its own: a stack of cards with the
group's size on the top photo of a stack, the rank ("2/5") on the other photos of an open stack, and two warnings:
someone's eyes are closed, the faces (or, without faces, the photo) are blurred.

They sit in the bottom-right corner, right to left, beside the delegate's face badges; what does not fit there
moves up a row, so nothing sticks out of a narrow portrait at 96 px (the tooltip says it all in words). The
warnings are filled amber circles with a white symbol, readable on any photo and in both themes; the stack badge
uses the palette like the face badges. Where the stack badge was painted is remembered (`stack_badge_at`), so a
click on it can open or close the stack.
"""

from __future__ import annotations

import weakref

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPalette, QPen, QRegion

from albumsorter._qt.stacks import in_group, stacks_of
from albumsorter.core.catalog import STATUS_ERROR, PhotoRecord

WARNING_AMBER = QColor(214, 110, 20)
EYES_CLOSED, BLURRY, STACK, RANK = "eyes-closed", "blurry", "stack", "rank"

_stack_badges: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> {photo id: badge rect}


def is_blurry(rec: PhotoRecord) -> bool:
    """Measured, and not sharp where it matters (core.keeper.is_sharp: every main face, or the photo itself)."""
    return rec.status != STATUS_ERROR and rec.keeper_score is not None and not rec.sharp


def best_shot_words(rec: PhotoRecord) -> list[str]:
    """The same, in words (tooltips and screen readers)."""
    words = []
    if in_group(rec):
        words.append(f"{'keeper' if rec.group_rank == 1 else f'number {rec.group_rank}'} of a group of {rec.group_size}")
    if rec.eyes_closed_any:
        words.append("someone's eyes closed")
    if is_blurry(rec):
        words.append("faces blurred" if rec.face_count else "blurred")
    return words


def stack_badge_at(model, photo_id: int) -> QRectF | None:
    """Where the stack badge of this photo was last painted (viewport pixels), if it has one."""
    return _stack_badges.get(model, {}).get(photo_id)


def badges_for(model, row: int, rec: PhotoRecord) -> list[str]:
    """What to paint for the photo in `row`, rightmost first."""
    badges = []
    stacks = stacks_of(model)
    if stacks is not None and in_group(rec):
        previous = model.record(row - 1) if row > 0 else None
        top = previous is None or previous.group_id != rec.group_id
        badges.append(STACK if top else RANK)
    if rec.eyes_closed_any:
        badges.append(EYES_CLOSED)
    if is_blurry(rec):
        badges.append(BLURRY)
    return badges


def paint_best_shot_badges(painter: QPainter, pal: QPalette, rec: PhotoRecord, target: QRectF, cell: QRectF, model, row: int,
                           face_row: tuple[float | None, QFont] | None = None) -> None:  # fmt: skip
    """Paint the badges of `rec` over its thumbnail `target` (cell: the whole grid cell). `face_row`: where the
    delegate's bottom row of face badges ends (None: no such row) and the font of its badges (the same size here)."""
    hits = _stack_badges.setdefault(model, {})
    hits.pop(rec.id, None)
    badges = badges_for(model, row, rec)
    if not badges:
        return
    painter.save()
    face_row_right, font = face_row if face_row is not None else (None, None)
    if font is None:
        font = QFont(painter.font())
        font.setPointSizeF(max(6.0, font.pointSizeF() * (0.85 if target.width() >= 110 else 0.72)))
        font.setBold(True)
    painter.setFont(font)
    fm = QFontMetrics(font)
    h = fm.height() + 4
    stacks = stacks_of(model)
    expanded = STACK in badges and stacks is not None and rec.group_id in stacks.expanded
    if STACK in badges:
        _paint_cards(painter, pal, target, cell, open_=expanded)
    painter.setClipRect(target)
    limit_left = (face_row_right + 3) if face_row_right is not None else target.left() + 4
    pick_bottom = target.top() + 4 + h + 2 + 2 if rec.pick else target.top() + 2
    x, y = target.right() - 4, target.bottom() - h - 4
    for badge in badges:
        text = _text(badge, rec)
        w = h if not text else fm.horizontalAdvance(text) + h * 0.8 + 10
        if x - w < limit_left:  # no room left in this row: the next one up, from the right again
            x, y, limit_left = target.right() - 4, y - h - 3, target.left() + 4
            if y < pick_bottom:
                break
        rect = QRectF(x - w, y, w, h)
        if badge in (STACK, RANK):
            _paint_stack_badge(painter, pal, rect, text, badge == STACK, expanded)
            if badge == STACK:
                hits[rec.id] = rect
        else:
            _paint_warning(painter, pal, rect, badge)
        x -= w + 3
    painter.restore()


def _text(badge: str, rec: PhotoRecord) -> str:
    if badge == STACK:
        return str(rec.group_size)
    if badge == RANK:
        return f"{rec.group_rank or '?'}/{rec.group_size}"
    return ""


def _paint_cards(painter: QPainter, pal: QPalette, target: QRectF, cell: QRectF, open_: bool) -> None:
    """Two cards peeking out above and to the right of the thumbnail: this is a stack."""
    painter.save()
    painter.setClipRegion(QRegion(cell.toAlignedRect()) - QRegion(target.toAlignedRect()))
    colour = QColor(pal.color(QPalette.ColorRole.Highlight) if open_ else pal.color(QPalette.ColorRole.WindowText))
    for step, alpha in ((3.0, 150), (6.0, 90)):
        c = QColor(colour)
        c.setAlpha(alpha)
        painter.setPen(QPen(c, 1.2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(target.translated(step, -step), 2, 2)
    painter.restore()


def _paint_stack_badge(painter: QPainter, pal: QPalette, rect: QRectF, text: str, top: bool, expanded: bool) -> None:
    h = rect.height()
    if top and expanded:
        bg, fg = QColor(pal.color(QPalette.ColorRole.Highlight)), pal.color(QPalette.ColorRole.HighlightedText)
    else:
        bg, fg = QColor(pal.color(QPalette.ColorRole.Window)), pal.color(QPalette.ColorRole.WindowText)
        bg.setAlpha(225)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(bg)
    painter.drawRoundedRect(rect, h / 2, h / 2)
    icon = QRectF(rect.left() + 5, rect.top() + h * 0.22, h * 0.55, h * 0.5)
    painter.setPen(QPen(fg, 1.2))
    painter.setBrush(bg)
    for dx in (h * 0.2, 0.0):  # two cards, the front one drawn last
        painter.drawRoundedRect(icon.translated(dx, -dx * 0.6 + h * 0.08), 1.5, 1.5)
    painter.setPen(fg)
    painter.drawText(
        QRectF(rect.left() + 5 + h * 0.8, rect.top(), rect.width() - h * 0.8 - 8, h),
        Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
        text,
    )


def _paint_warning(painter: QPainter, pal: QPalette, rect: QRectF, badge: str) -> None:
    """A filled amber circle with a white symbol: closed eyelids with lashes, or a blurred dot."""
    painter.setPen(QPen(pal.color(QPalette.ColorRole.Base), 1.2))
    painter.setBrush(WARNING_AMBER)
    painter.drawEllipse(rect)
    c, r = rect.center(), rect.width() / 2
    white = QColor("white")
    if badge == EYES_CLOSED:
        pen = QPen(white, max(1.4, r / 5), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        lid = QPainterPath(QPointF(c.x() - r * 0.6, c.y() - r * 0.15))
        lid.quadTo(QPointF(c.x(), c.y() + r * 0.55), QPointF(c.x() + r * 0.6, c.y() - r * 0.15))
        painter.drawPath(lid)
        for k in (-0.35, 0.0, 0.35):  # lashes
            base = QPointF(c.x() + k * r, c.y() + r * (0.2 if k else 0.27))
            painter.drawLine(base, QPointF(base.x() + k * r * 0.4, base.y() + r * 0.3))
    else:  # a ring with its ghosts beside it: out of focus, or shaken
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for dx, alpha in ((-0.3, 110), (0.3, 110), (0.0, 255)):
            w = QColor(white)
            w.setAlpha(alpha)
            painter.setPen(QPen(w, max(1.2, r / 6)))
            painter.drawEllipse(QPointF(c.x() + dx * r, c.y()), r * 0.36, r * 0.36)
