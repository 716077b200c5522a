"""Paints one grid cell: the thumbnail, the file name and small badges (faces, smiles, stars, pick/reject).

Every colour comes from the palette (window/text for badges, highlight for selection and picks) so the
grid reads well in light and dark themes; only "rejected" uses a fixed red, drawn with a contrasting
outline. Icons are painted as vector shapes (no emoji font needed, crisp at any device pixel ratio).

Badges stay inside the thumbnail, however narrow (a portrait at 96 px is 64 px wide): when the face and smile
badges do not fit side by side they become one "smiling/faces" badge, then a smaller one. Long file names get
two lines at the small sizes, the second elided on the left, so the end of the name (the number) stays.

Painting is per cell per frame (~30 cells a frame while scrolling), so what does not change from frame to frame is
kept: the face / star / pick badges as overlays drawn once per look (paint_cache.py), the name's lines per photo.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from albumsorter._qt.best_shot_badges import paint_best_shot_badges
from albumsorter._qt.paint_cache import LruCache, draw_overlay, overlay_ratio
from albumsorter._qt.photo_model import display
from albumsorter.core.catalog import PICK_PICKED, PICK_REJECTED, STATUS_ERROR

REJECT_RED = QColor(200, 40, 40)
PADDING = 6
TWO_LINE_NAMES_UP_TO = 128  # thumbnail sizes at which a long name gets a second line
BADGE_OVERLAYS = 512  # distinct badge looks kept (counts x rating x flag x thumbnail shape)
NAMES_KEPT = 20000  # photos whose name lines are kept
THUMBNAIL_OVERLAY_BYTES = 48 * 1024 * 1024  # thumbnails kept at their drawn size: a few screens of them
PLACEHOLDERS = 64

# Qt's flags are Python enums in PySide6: combining them costs a few microseconds, so once, not per cell.
_SELECTED, _HOVERED, _FOCUSED = (
    QStyle.StateFlag.State_Selected,
    QStyle.StateFlag.State_MouseOver,
    QStyle.StateFlag.State_HasFocus,
)
_NAME_ALIGN = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
_BADGE_TEXT_ALIGN = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft


def name_lines(name: str, fm: QFontMetrics, width: int, lines: int) -> list[str]:
    """The name in at most `lines` lines of `width` pixels: whole if it fits; else the first line filled and the
    last elided on the left (the end of a name, its number and extension, tells photos apart)."""
    if fm.horizontalAdvance(name) <= width or lines < 2:
        return [fm.elidedText(name, Qt.TextElideMode.ElideMiddle, width)]
    cut = 1
    while cut < len(name) and fm.horizontalAdvance(name[: cut + 1]) <= width:
        cut += 1
    return [name[:cut], fm.elidedText(name[cut:], Qt.TextElideMode.ElideLeft, width)]


def _draw_thumbnail(painter: QPainter, pix: QPixmap, target: QRectF, rejected: bool) -> None:
    if rejected:
        painter.setOpacity(0.35)
    painter.drawPixmap(target, pix, QRectF(pix.rect()))
    painter.setOpacity(1.0)


def _draw_placeholder(painter: QPainter, pal: QPalette, target: QRectF, failed: bool) -> None:
    """Where the thumbnail will be (or cannot be)."""
    painter.setPen(Qt.PenStyle.NoPen)
    bg = QColor(pal.color(QPalette.ColorRole.Mid))
    bg.setAlpha(90)
    painter.setBrush(bg)
    painter.drawRoundedRect(target, 4, 4)
    painter.setPen(pal.color(QPalette.ColorRole.Text))
    painter.drawText(target, Qt.AlignmentFlag.AlignCenter, "⚠ unreadable" if failed else "…")


def _drawn(_painted: None) -> tuple[bool, None]:
    """What draw_overlay wants back from a drawing that always paints and keeps nothing."""
    return True, None


def _pixmap_bytes(entry: tuple[QPixmap | None, object]) -> int:
    pixmap = entry[0]
    return pixmap.width() * pixmap.height() * 4 if pixmap is not None else 0


class PhotoDelegate(QStyledItemDelegate):
    def __init__(self, parent=None, thumb_size: int = 160) -> None:
        super().__init__(parent)
        self.thumb_size = thumb_size
        self._badge_overlays: LruCache[tuple[QPixmap | None, tuple[float | None, QFont]]] = LruCache(BADGE_OVERLAYS)
        self._names: LruCache[str] = LruCache(NAMES_KEPT)
        self._thumbnails: LruCache[tuple[QPixmap | None, None]] = LruCache(THUMBNAIL_OVERLAY_BYTES, cost=_pixmap_bytes)
        self._placeholders: LruCache[tuple[QPixmap | None, None]] = LruCache(PLACEHOLDERS)

    def set_thumb_size(self, size: int) -> None:
        self.thumb_size = size

    def name_line_count(self) -> int:
        return 2 if self.thumb_size <= TWO_LINE_NAMES_UP_TO else 1

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        text_h = QFontMetrics(option.font).height() * self.name_line_count()
        return QSize(self.thumb_size + 2 * PADDING, self.thumb_size + 2 * PADDING + text_h + 2)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        # The model is asked directly (not through QModelIndex.data, which PySide6 6.12 mishandles for None).
        model = index.model()
        if not hasattr(model, "record") or not 0 <= index.row() < model.rowCount():
            return
        rec = model.record(index.row())
        pal: QPalette = option.palette
        state = option.state
        selected, hovered, focused = bool(state & _SELECTED), bool(state & _HOVERED), bool(state & _FOCUSED)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        cell = QRectF(option.rect).adjusted(1.5, 1.5, -1.5, -1.5)
        if selected:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(pal.color(QPalette.ColorRole.Highlight))
            painter.drawRoundedRect(cell, 6, 6)
        elif hovered:
            painter.setPen(Qt.PenStyle.NoPen)
            c = QColor(pal.color(QPalette.ColorRole.Highlight))
            c.setAlpha(50)
            painter.setBrush(c)
            painter.drawRoundedRect(cell, 6, 6)
        if focused:
            pen = QPen(
                pal.color(QPalette.ColorRole.Highlight).lighter(130) if selected else pal.color(QPalette.ColorRole.Highlight), 1.5
            )
            pen.setStyle(Qt.PenStyle.DashLine if not selected else Qt.PenStyle.SolidLine)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(cell, 6, 6)

        size = self.thumb_size
        area = QRectF(option.rect.x() + (option.rect.width() - size) / 2, option.rect.y() + PADDING, size, size)
        thumbs = getattr(model, "thumbnails", None)
        pix = thumbs.pixmap(rec.path) if thumbs is not None else None
        ratio = overlay_ratio(painter)
        if pix is not None and not pix.isNull():
            w, h = pix.width(), pix.height()
            s = min(size / w, size / h)
            target = QRectF(area.x() + (size - w * s) / 2, area.y() + (size - h * s) / 2, w * s, h * s)
            rejected = rec.pick == PICK_REJECTED
            if ratio is None:
                _draw_thumbnail(painter, pix, target, rejected)
            else:  # scaled once, then copied while the cell stays in view
                key = ("thumbnail", pix.cacheKey(), rejected)
                draw_overlay(
                    painter, target, ratio, self._thumbnails, key, lambda p, r: _drawn(_draw_thumbnail(p, pix, r, rejected))
                )
        else:
            target = area.adjusted(size * 0.1, size * 0.1, -size * 0.1, -size * 0.1)
            failed = bool(
                (thumbs.failed.get(rec.path) if thumbs is not None else None)
                or (rec.error if rec.status == STATUS_ERROR else None)
            )
            if ratio is None:
                _draw_placeholder(painter, pal, target, failed)
            else:
                key = ("placeholder", failed, painter.font().key(), pal.cacheKey())
                draw_overlay(
                    painter, target, ratio, self._placeholders, key, lambda p, r: _drawn(_draw_placeholder(p, pal, r, failed))
                )

        face_row = self._paint_badges_once(painter, pal, rec, target, ratio)
        # Stacks, closed eyes, blurred faces (issue #11), beside the face badges.
        paint_best_shot_badges(painter, pal, rec, target, QRectF(option.rect), model, index.row(), face_row)

        text_rect = QRect(
            option.rect.x() + PADDING,
            int(area.bottom()) + 2,
            option.rect.width() - 2 * PADDING,
            option.rect.bottom() - int(area.bottom()) - 2,
        )
        painter.setPen(pal.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text))
        painter.drawText(text_rect, _NAME_ALIGN, self._name_text(rec, option.font, text_rect.width()))
        painter.restore()

    def _name_text(self, rec, font: QFont, width: int) -> str:
        """The name as drawn under the thumbnail (its lines, joined), worked out once per photo, width and font."""
        key = (rec.path, width, self.name_line_count(), font.key())
        text = self._names.get(key)
        if text is None:
            lines = name_lines(display(rec.name), QFontMetrics(font), width, self.name_line_count())
            text = self._names.put(key, "\n".join(lines))
        return text

    # --- badges ---

    def _paint_badges_once(
        self, painter: QPainter, pal: QPalette, rec, target: QRectF, ratio: int | None
    ) -> tuple[float | None, QFont]:
        """The face, star and pick badges, copied from an overlay drawn once per look (see paint_cache.py);
        returns `face_row` (where the face badges end, their font) for the best-shot badges."""
        if ratio is None:  # copied pixels would not line up: draw the shapes here
            painter.save()
            self._paint_badges(painter, pal, rec, target)
            painter.restore()
            return self.face_row
        look = (rec.status == STATUS_ERROR, rec.face_count, rec.smile_count, rec.rating, rec.pick)
        key = (*look, painter.font().key(), pal.cacheKey())

        def draw(overlay: QPainter, rect: QRectF) -> tuple[bool, tuple[float | None, QFont]]:
            self._paint_badges(overlay, pal, rec, rect)
            right, font = self.face_row
            drawn = rec.status == STATUS_ERROR or bool(rec.face_count or rec.rating or rec.pick)
            return drawn, (None if right is None else right - rect.left(), font)

        offset, font = draw_overlay(painter, target, ratio, self._badge_overlays, key, draw)
        return (None if offset is None else target.left() + offset, font)

    def _paint_badges(self, painter: QPainter, pal: QPalette, rec, target: QRectF) -> None:
        painter.setClipRect(target)  # nothing sticks out of a narrow portrait
        base = QFont(painter.font())
        bg = QColor(pal.color(QPalette.ColorRole.Window))
        bg.setAlpha(225)
        fg = pal.color(QPalette.ColorRole.WindowText)
        all_smile = rec.face_count > 0 and rec.smile_count == rec.face_count
        sbg = QColor(pal.color(QPalette.ColorRole.Highlight)) if all_smile else bg
        sfg = pal.color(QPalette.ColorRole.HighlightedText) if all_smile else fg
        if rec.status == STATUS_ERROR:
            layouts = [[("error", None, bg, fg)]]
        elif rec.face_count:
            both = [(str(rec.face_count), "person", bg, fg)] + (
                [(str(rec.smile_count), "smile", sbg, sfg)] if rec.smile_count else []
            )
            layouts = [both, [(f"{rec.smile_count}/{rec.face_count}", "smile", sbg, sfg)]]
        else:
            layouts = []
        # The widest layout that fits, at the normal size, else at a smaller one.
        for scale in (0.85, 0.72):
            font = QFont(base)
            font.setPointSizeF(max(6.0, base.pointSizeF() * scale))
            font.setBold(True)
            fm = QFontMetrics(font)
            h = fm.height() + 4
            fitting = [b for b in layouts if self._row_width(fm, h, b) <= target.width() - 8]
            if fitting or not layouts or scale == 0.72:
                break
        painter.setFont(font)
        badges = fitting[0] if fitting else (layouts[-1] if layouts else [])
        x, y = target.left() + 4, target.bottom() - h - 4
        for text, icon, b_bg, b_fg in badges:
            x = self._badge(painter, x, y, h, b_bg, b_fg, fm, text, icon) + 3
        self.face_row = (x - 3 if badges else None, font)  # where the best-shot badges may start, and their size
        d = h + 2
        if rec.rating:
            stars = "★" * rec.rating
            room = target.width() - 8 - (d + 4 if rec.pick else 0)
            if fm.horizontalAdvance(stars) + 10 > room:
                stars = f"★{rec.rating}"
            self._badge(painter, target.left() + 4, target.top() + 4, h, bg, fg, fm, stars, None)
        if rec.pick:
            r = QRectF(target.right() - d - 4, target.top() + 4, d, d)
            painter.setPen(QPen(pal.color(QPalette.ColorRole.Base), 1.5))
            if rec.pick == PICK_PICKED:
                painter.setBrush(pal.color(QPalette.ColorRole.Highlight))
                painter.drawEllipse(r)
                painter.setPen(
                    QPen(
                        pal.color(QPalette.ColorRole.HighlightedText),
                        max(1.5, d / 9),
                        Qt.PenStyle.SolidLine,
                        Qt.PenCapStyle.RoundCap,
                    )
                )
                path = QPainterPath(QPointF(r.left() + d * 0.28, r.top() + d * 0.52))
                path.lineTo(r.left() + d * 0.44, r.top() + d * 0.68)
                path.lineTo(r.left() + d * 0.73, r.top() + d * 0.33)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawPath(path)
            else:
                painter.setBrush(REJECT_RED)
                painter.drawEllipse(r)
                painter.setPen(QPen(QColor("white"), max(1.5, d / 9), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
                m = d * 0.32
                painter.drawLine(QPointF(r.left() + m, r.top() + m), QPointF(r.right() - m, r.bottom() - m))
                painter.drawLine(QPointF(r.right() - m, r.top() + m), QPointF(r.left() + m, r.bottom() - m))

    @staticmethod
    def _badge_width(fm: QFontMetrics, h: float, text: str, icon: str | None) -> float:
        return fm.horizontalAdvance(text) + (h * 0.8 if icon else 0) + 10

    def _row_width(self, fm: QFontMetrics, h: float, badges: list) -> float:
        return sum(self._badge_width(fm, h, text, icon) for text, icon, _bg, _fg in badges) + 3 * (len(badges) - 1)

    def _badge(self, painter, x, y, h, bg, fg, fm, text, icon) -> float:
        icon_w = h * 0.8 if icon else 0
        w = self._badge_width(fm, h, text, icon)
        r = QRectF(x, y, w, h)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(bg)
        painter.drawRoundedRect(r, h / 2, h / 2)
        if icon:
            ir = QRectF(x + 5, y + h * 0.15, h * 0.7, h * 0.7)
            painter.setPen(QPen(fg, 1.2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            if icon == "person":
                head = QRectF(ir.center().x() - ir.width() * 0.2, ir.top(), ir.width() * 0.4, ir.width() * 0.4)
                painter.setBrush(fg)
                painter.setPen(Qt.PenStyle.NoPen)
                painter.drawEllipse(head)
                body = QRectF(ir.left() + ir.width() * 0.1, ir.top() + ir.height() * 0.5, ir.width() * 0.8, ir.height() * 0.9)
                painter.drawChord(body, 0, 180 * 16)
            else:
                painter.drawEllipse(ir)
                painter.drawArc(
                    ir.adjusted(ir.width() * 0.25, ir.height() * 0.2, -ir.width() * 0.25, -ir.height() * 0.25), 200 * 16, 140 * 16
                )
                painter.setBrush(fg)
                e = ir.width() * 0.09
                painter.drawEllipse(QPointF(ir.left() + ir.width() * 0.36, ir.top() + ir.height() * 0.38), e, e)
                painter.drawEllipse(QPointF(ir.left() + ir.width() * 0.64, ir.top() + ir.height() * 0.38), e, e)
        painter.setPen(fg)
        painter.drawText(QRectF(x + 5 + icon_w, y, w - icon_w - 8, h), _BADGE_TEXT_ALIGN, text)
        return x + w
