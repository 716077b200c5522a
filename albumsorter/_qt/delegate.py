"""Paints one grid cell: the thumbnail, the file name and small badges (faces, smiles, pick/reject).

Every colour comes from the palette (window/text for badges, highlight for selection and picks) so the
grid reads well in light and dark themes; only "rejected" uses a fixed red, drawn with a contrasting
outline. Icons are painted as vector shapes (no emoji font needed, crisp at any device pixel ratio).
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from albumsorter._qt.photo_model import display
from albumsorter.core.catalog import PICK_PICKED, PICK_REJECTED, STATUS_ERROR

REJECT_RED = QColor(200, 40, 40)
PADDING = 6


class PhotoDelegate(QStyledItemDelegate):
    def __init__(self, parent=None, thumb_size: int = 160) -> None:
        super().__init__(parent)
        self.thumb_size = thumb_size

    def set_thumb_size(self, size: int) -> None:
        self.thumb_size = size

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        text_h = QFontMetrics(option.font).height()
        return QSize(self.thumb_size + 2 * PADDING, self.thumb_size + 2 * PADDING + text_h + 2)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        # The model is asked directly (not through QModelIndex.data, which PySide6 6.12 mishandles for None).
        model = index.model()
        if not hasattr(model, "record") or not 0 <= index.row() < model.rowCount():
            return
        rec = model.record(index.row())
        pal: QPalette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        focused = bool(option.state & QStyle.StateFlag.State_HasFocus)
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
        if pix is not None and not pix.isNull():
            w, h = pix.width(), pix.height()
            s = min(size / w, size / h)
            target = QRectF(area.x() + (size - w * s) / 2, area.y() + (size - h * s) / 2, w * s, h * s)
            if rec.pick == PICK_REJECTED:
                painter.setOpacity(0.35)
            painter.drawPixmap(target, pix, QRectF(pix.rect()))
            painter.setOpacity(1.0)
        else:
            target = area.adjusted(size * 0.1, size * 0.1, -size * 0.1, -size * 0.1)
            painter.setPen(Qt.PenStyle.NoPen)
            bg = QColor(pal.color(QPalette.ColorRole.Mid))
            bg.setAlpha(90)
            painter.setBrush(bg)
            painter.drawRoundedRect(target, 4, 4)
            failed = (thumbs.failed.get(rec.path) if thumbs is not None else None) or (
                rec.error if rec.status == STATUS_ERROR else None
            )
            painter.setPen(pal.color(QPalette.ColorRole.Text))
            painter.drawText(target, Qt.AlignmentFlag.AlignCenter, "⚠ unreadable" if failed else "…")

        painter.save()
        self._paint_badges(painter, pal, rec, target)
        painter.restore()

        text_rect = QRect(
            option.rect.x() + PADDING,
            int(area.bottom()) + 2,
            option.rect.width() - 2 * PADDING,
            option.rect.bottom() - int(area.bottom()) - 2,
        )
        painter.setPen(pal.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text))
        name = QFontMetrics(option.font).elidedText(display(rec.name), Qt.TextElideMode.ElideMiddle, text_rect.width())
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, name)
        painter.restore()

    # --- badges ---

    def _paint_badges(self, painter: QPainter, pal: QPalette, rec, target: QRectF) -> None:
        font = QFont(painter.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        font.setBold(True)
        painter.setFont(font)
        fm = QFontMetrics(font)
        h = fm.height() + 4
        x = target.left() + 4
        y = target.bottom() - h - 4
        bg = QColor(pal.color(QPalette.ColorRole.Window))
        bg.setAlpha(225)
        fg = pal.color(QPalette.ColorRole.WindowText)
        if rec.status == STATUS_ERROR:
            x = self._badge(painter, x, y, h, bg, fg, fm, "error", None)
        elif rec.face_count:
            x = self._badge(painter, x, y, h, bg, fg, fm, str(rec.face_count), "person")
            if rec.smile_count:
                all_smile = rec.smile_count == rec.face_count
                sbg = QColor(pal.color(QPalette.ColorRole.Highlight)) if all_smile else bg
                sfg = pal.color(QPalette.ColorRole.HighlightedText) if all_smile else fg
                self._badge(painter, x + 3, y, h, sbg, sfg, fm, str(rec.smile_count), "smile")
        if rec.pick:
            d = h + 2
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

    def _badge(self, painter, x, y, h, bg, fg, fm, text, icon) -> float:
        icon_w = h * 0.8 if icon else 0
        w = fm.horizontalAdvance(text) + icon_w + 10
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
        painter.drawText(
            QRectF(x + 5 + icon_w, y, w - icon_w - 8, h), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text
        )
        return x + w
