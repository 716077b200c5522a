"""A catalog of real photos with people found in it, shared by the people tests (catalog, CLI, window).

Photos of two people photographed on different occasions (from ../shared/photos; identities in
scripts/people_identities.csv): Barack Obama in four photos (two with Joe Biden) and Angelina Jolie in four
(one with Brad Pitt). They are indexed and the people pass is run once per test session; each test works on a
copy of the catalog file (`people_catalog`)."""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass
from pathlib import Path

from albumsorter.core.geometry import iou
from tests.conftest import REPO, SHARED_PHOTOS, require_shared

PEOPLE_PHOTOS = (
    "ageitgey__examples_knn_examples_test_obama1.jpg",
    "ageitgey__examples_knn_examples_test_obama_and_biden.jpg",
    "ageitgey__examples_obama-1080p.jpg",
    "ageitgey__examples_two_people.jpg",
    "serengil__tests_unit_dataset_couple.jpg",
    "serengil__tests_unit_dataset_img11.jpg",
    "serengil__tests_unit_dataset_img2.jpg",
    "serengil__tests_unit_dataset_img7.jpg",
)
LABELS = REPO / "scripts" / "people_identities.csv"


@dataclass
class PeopleCatalog:
    folder: Path
    template: Path  # the catalog after indexing and one people pass; never changed by a test
    summary: object  # that pass's PeopleSummary


_built: dict[str, PeopleCatalog] = {}


def build_people_catalog(tmp_path_factory) -> PeopleCatalog:
    """Index PEOPLE_PHOTOS and find people in them, once per session (skips without ../shared)."""
    require_shared(SHARED_PHOTOS)
    if "catalog" not in _built:
        from albumsorter.core.catalog import Catalog
        from albumsorter.core.people.update import update_people_in_catalog
        from albumsorter.core.pipeline import Indexer, IndexOptions

        root = tmp_path_factory.mktemp("people")
        folder = root / "photos"
        folder.mkdir()
        for name in PEOPLE_PHOTOS:
            shutil.copy2(SHARED_PHOTOS / name, folder / name)
        template = root / "people.sqlite"
        with Catalog(template) as catalog:
            Indexer(catalog, IndexOptions(workers=1)).run(folder)
        summary = update_people_in_catalog(template, workers=1)
        _built["catalog"] = PeopleCatalog(folder, template, summary)
    return _built["catalog"]


def copy_catalog(built: PeopleCatalog, dest: Path) -> Path:
    target = dest / "catalog.sqlite"
    shutil.copy2(built.template, target)
    return target


def identities(catalog) -> dict[int, str]:
    """face id -> the labelled identity of each catalog face that matches a labelled box (IoU >= 0.5)."""
    with LABELS.open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["file"] in PEOPLE_PHOTOS]
    out = {}
    for photo in catalog.query(with_faces=True):
        for row in (r for r in rows if r["file"] == photo.name):
            box = tuple(float(row[k]) for k in ("left", "top", "right", "bottom"))
            best = max(photo.faces, key=lambda f: iou(f.box, box), default=None)
            if best is not None and iou(best.box, box) >= 0.5:
                out[best.id] = row["identity"]
    return out


def person_of(catalog, identity: str) -> int:
    """The one person the faces of `identity` are in (fails if they are split or unassigned)."""
    labels = identities(catalog)
    faces = {f.id: f for p in catalog.query(with_faces=True) for f in p.faces}
    persons = {faces[f].person_id for f, who in labels.items() if who == identity}
    assert len(persons) == 1 and None not in persons, (identity, persons)
    return persons.pop()
