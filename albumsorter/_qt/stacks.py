"""Groups of bursts and near-duplicates shown as stacks in the grid (issue #11).

A collapsed stack is one cell: the best-ranked photo of the group among those the filters let through (the
keeper, unless a filter leaves it out), with the group's size on a badge. An expanded stack shows every matching
member of the group, in rank order, where the stack stood. Ungrouped photos are shown as they are. With no filter,
collapsed stacks show exactly what `PhotoFilter(keepers=True)` does: the keepers and the photos without a group.

`StackRows` is the grid model's row source while stacks are on: it runs in the catalog session's read lane (the
model's query, then the stacking in Python), never on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from albumsorter.core.catalog import Catalog, PhotoFilter, PhotoRecord


def in_group(rec: PhotoRecord) -> bool:
    """Part of a group of two or more photos."""
    return rec.group_id is not None and rec.group_size >= 2


def rank_key(rec: PhotoRecord) -> tuple:
    return (rec.group_rank if rec.group_rank is not None else 1_000_000, rec.path)


def stack(records: Sequence[PhotoRecord], expanded: Iterable[int] = ()) -> list[PhotoRecord]:
    """The rows the grid shows for `records` (in the filter's order): each group where its first photo stood, as
    its best-ranked photo alone (collapsed) or all of its photos by rank (expanded, group id in `expanded`)."""
    opened = set(expanded)
    members: dict[int, list[PhotoRecord]] = {}
    for rec in records:
        if in_group(rec):
            members.setdefault(rec.group_id, []).append(rec)  # type: ignore[arg-type]
    rows: list[PhotoRecord] = []
    placed: set[int] = set()
    for rec in records:
        if not in_group(rec):
            rows.append(rec)
            continue
        group = rec.group_id
        if group in placed:
            continue
        placed.add(group)  # type: ignore[arg-type]
        ranked = sorted(members[group], key=rank_key)  # type: ignore[index]
        rows.extend(ranked if group in opened else ranked[:1])
    return rows


@dataclass(frozen=True)
class StackRows:
    """The grid model's row source with stacks on: `base` (photo_model.query_rows: (catalog, filter) -> (rows,
    counts...)) with its rows stacked. `expanded`: the groups shown open."""

    base: Callable[[Catalog, PhotoFilter], tuple]
    expanded: frozenset[int] = field(default_factory=frozenset)

    def __call__(self, catalog: Catalog, flt: PhotoFilter) -> tuple:
        rows, *counts = self.base(catalog, flt)
        return (stack(rows, self.expanded), *counts)

    def toggled(self, group_id: int) -> StackRows:
        return StackRows(self.base, self.expanded ^ {group_id})


def stacks_of(model) -> StackRows | None:
    """The stacks the grid model shows (None: stacks are off)."""
    source = getattr(model, "row_source", None)
    return source if isinstance(source, StackRows) else None
