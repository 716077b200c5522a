"""What the user asks to see, as SQL: photo filters and sort orders over the `photos` table (alias `p`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from albumsorter.core.catalog.people_store import person_clause
from albumsorter.core.catalog.records import PhotoStatus, PickState
from albumsorter.core.classes import GROUPS_3, canonical_class
from albumsorter.core.subjects import HAPPY_AT_LEAST, Strictness

SORTS = {
    "name": "p.path COLLATE NOCASE",
    "path": "p.path",
    "smile": "p.smile_score",
    "date": "COALESCE(p.taken_at, '')",
    "faces": "p.face_count",
    "rating": "p.rating",
    "keeper": "COALESCE(p.keeper_score, -1)",
}
DESCENDING_BY_DEFAULT = ("smile", "faces", "rating", "keeper")


@dataclass
class PhotoFilter:
    """What the user asks to see. Empty filter = every indexed photo (gone ones excluded)."""

    emotions: Sequence[str] = ()  # any face (or every face, with all_faces) has one of these labels
    groups: Sequence[str] = ()  # positive / neutral / negative, same semantics
    all_faces: bool = False
    min_faces: int | None = None
    max_faces: int | None = None
    min_smiles: int | None = None
    everyone_smiling: str | None = None  # relaxed / normal / strict: every subject smiles, judged this strictly
    min_rating: int | None = None  # at least this many stars
    eyes_open: bool = False  # every subject's eyes judged open
    eyes_closed: bool = False  # someone's eyes judged closed
    sharp: bool = False  # faces (or the photo, without faces) in focus
    keepers: bool = False  # only the best photo of each group of bursts / near-duplicates
    picks: Sequence[str] = ()  # picked / rejected / unflagged
    errors: bool = False  # only photos that failed
    include_gone: bool = False
    name_contains: str | None = None
    person: int | str | None = None  # a person in the photo: their id, or a name (any person of that name)
    sort: str = "name"  # name | smile | date | faces | path
    descending: bool | None = None  # default: smile and faces descend, others ascend
    limit: int | None = None

    def labels(self) -> list[str]:
        labels = {canonical_class(e) for e in self.emotions}
        for g in self.groups:
            if g not in GROUPS_3:
                raise ValueError(f"unknown group {g!r}; expected one of {', '.join(GROUPS_3)}")
            labels.update(GROUPS_3[g])
        return sorted(labels)

    def order_by(self) -> str:
        sort = SORTS.get(self.sort)
        if sort is None:
            raise ValueError(f"unknown sort {self.sort!r}; expected one of {', '.join(SORTS)}")
        desc = self.descending if self.descending is not None else self.sort in DESCENDING_BY_DEFAULT
        return f"{sort} {'DESC' if desc else 'ASC'}, p.path"

    def where(self) -> tuple[str, list[Any]]:
        """The WHERE clause (without the keyword) and its parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.errors:
            clauses.append(f"p.status = '{PhotoStatus.ERROR}'")
        elif self.include_gone:
            clauses.append(f"p.status IN ('{PhotoStatus.OK}', '{PhotoStatus.GONE}')")
        else:
            clauses.append(f"p.status = '{PhotoStatus.OK}'")
        labels = self.labels()
        if labels:
            marks = ",".join("?" * len(labels))
            if self.all_faces:  # every face that counts (subjects), ignored faces and bystanders aside
                clauses.append(
                    f"p.face_count > 0 AND NOT EXISTS (SELECT 1 FROM face_labels fl WHERE fl.photo_id = p.id AND fl.subject "
                    f"AND (fl.effective_label IS NULL OR fl.effective_label NOT IN ({marks})))"
                )
            else:
                clauses.append(
                    f"EXISTS (SELECT 1 FROM face_labels fl WHERE fl.photo_id = p.id AND NOT fl.ignored AND fl.effective_label IN ({marks}))"
                )
            params.extend(labels)
        if self.everyone_smiling:
            clauses.append(everyone_smiling_sql(Strictness(self.everyone_smiling)))
        for wanted, clause in (
            (self.eyes_open, "p.eyes_open_all = 1"),
            (self.eyes_closed, "p.eyes_closed_any = 1"),
            (self.sharp, "p.sharp = 1"),
            (self.keepers, "(p.group_size < 2 OR p.group_rank = 1)"),
        ):
            if wanted:
                clauses.append(clause)
        if self.min_rating is not None:
            clauses.append("p.rating >= ?")
            params.append(int(self.min_rating))
        for column, op, value in (
            ("face_count", ">=", self.min_faces),
            ("face_count", "<=", self.max_faces),
            ("smile_count", ">=", self.min_smiles),
        ):
            if value is not None:
                clauses.append(f"p.{column} {op} ?")
                params.append(int(value))
        if self.picks:
            states = [int(PickState.from_name(name)) for name in self.picks]
            clauses.append(f"p.pick IN ({','.join('?' * len(states))})")
            params.extend(states)
        if self.name_contains:
            clauses.append("p.path LIKE ? ESCAPE '\\'")
            escaped = self.name_contains.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params.append(f"%{escaped}%")
        if self.person is not None and str(self.person).strip():
            sql, values = person_clause(self.person)
            clauses.append(sql)
            params.extend(values)
        return " AND ".join(clauses), params


def everyone_smiling_sql(strictness: Strictness) -> str:
    """Every subject of the photo smiles (see core.subjects.is_smiling: corrections are taken as said)."""
    if strictness == Strictness.NORMAL:
        smiling = "fl.effective_label = 'happy'"
    else:
        threshold = HAPPY_AT_LEAST[strictness]
        model_says = f"COALESCE(fl.p_happy, 0) >= {threshold}"
        if strictness == Strictness.RELAXED:  # a superset of Normal: the label, or a faint smile
            model_says = f"(fl.effective_label = 'happy' OR {model_says})"
        smiling = f"(CASE WHEN fl.corrected THEN fl.effective_label = 'happy' ELSE {model_says} END)"
    return f"p.face_count > 0 AND NOT EXISTS (SELECT 1 FROM face_labels fl WHERE fl.photo_id = p.id AND fl.subject AND NOT {smiling})"
