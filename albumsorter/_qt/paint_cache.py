"""Parts of a grid cell drawn once and then reused while the grid scrolls.

Every grid frame paints ~30 cells, and a cell's badges are a dozen antialiased shapes, each a Python call into Qt
with its own pens, fonts and metrics: that alone cost more than the rest of the frame. The badges of two photos with
the same counts, rating and flag look the same, so they are drawn once into a transparent pixmap (an "overlay")
and copied onto every cell that needs them: one call per cell instead of dozens.

The copy must land on the same device pixels as the shapes would have: the overlay is drawn at the target's
sub-pixel offset (part of the key) and copied to a whole logical pixel, which is a whole device pixel only at an
integer device pixel ratio and without a scaling transform; anywhere else (`overlay_ratio` is None) the caller
draws directly, as before.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPixmap, QTransform

T = TypeVar("T")
V = TypeVar("V")


class LruCache(Generic[V]):
    """A bounded dict: the least recently used entries go first once the entries' total cost (`cost(value)`,
    1 each by default) is over `capacity`."""

    def __init__(self, capacity: int, cost: Callable[[V], int] | None = None) -> None:
        self.capacity = capacity
        self.cost = cost or (lambda _value: 1)
        self.total = 0
        self._items: OrderedDict[Hashable, V] = OrderedDict()

    def get(self, key: Hashable) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: Hashable, value: V) -> V:
        old = self._items.pop(key, None)
        if old is not None:
            self.total -= self.cost(old)
        self._items[key] = value
        self.total += self.cost(value)
        while self.total > self.capacity and len(self._items) > 1:
            self.total -= self.cost(self._items.popitem(last=False)[1])
        return value

    def clear(self) -> None:
        self._items.clear()
        self.total = 0

    def __len__(self) -> int:
        return len(self._items)


def overlay_ratio(painter: QPainter) -> int | None:
    """The device pixel ratio an overlay is drawn at for this painter, or None where a copied overlay would not
    land on whole device pixels (a fractional ratio, a scaled or rotated painter)."""
    device = painter.device()
    ratio = device.devicePixelRatioF() if device is not None else 1.0
    transform = painter.worldTransform()
    if not float(ratio).is_integer() or transform.type().value > QTransform.TransformationType.TxTranslate.value:
        return None
    if not (float(transform.dx()).is_integer() and float(transform.dy()).is_integer()):
        return None
    return int(ratio)


def draw_overlay(
    painter: QPainter,
    target: QRectF,
    ratio: int,
    cache: LruCache[tuple[QPixmap | None, T]],
    key: tuple,
    draw: Callable[[QPainter, QRectF], tuple[bool, T]],
) -> T:
    """Copy the overlay `key` (+ the target's size and sub-pixel offset) onto `target`, drawing it first when the
    cache does not have it. `draw(painter, rect)` paints into `rect` and returns (anything drawn?, a value kept
    with the overlay, in the overlay's coordinates as the caller wants them back). Returns that value."""
    left, top = math.floor(target.x()), math.floor(target.y())
    local = target.translated(-left, -top)
    full_key = (*key, local.x(), local.y(), target.width(), target.height(), ratio)
    entry = cache.get(full_key)
    if entry is None:
        pixmap = QPixmap(math.ceil(local.right() * ratio) + 1, math.ceil(local.bottom() * ratio) + 1)
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(Qt.GlobalColor.transparent)
        overlay = QPainter(pixmap)
        overlay.setRenderHints(painter.renderHints())
        overlay.setFont(painter.font())
        drawn, value = draw(overlay, local)
        overlay.end()
        entry = cache.put(full_key, (pixmap if drawn else None, value))
    pixmap, value = entry
    if pixmap is not None:
        painter.drawPixmap(QPointF(left, top), pixmap)
    return value
