"""People in the catalog, on real photos and the real embedding model: the people pass, naming, merging, moving a
face, "not this person", all of it across re-indexing (re-detection moves the boxes) and a new embedding model;
the person filter combined with the others, the JSON field, the XMP region name, and the command line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import defaultdict

import pytest

from albumsorter.core.catalog import Catalog, PhotoFilter
from albumsorter.core.detection import DetectionSettings
from albumsorter.core.json_records import photo_to_json
from albumsorter.core.people.embedding import MIN_FACE_PX, MODEL_ID
from albumsorter.core.people.scorer import KIND
from albumsorter.core.people.update import MODEL_META, suggestions, update_people_in_catalog
from albumsorter.core.pipeline import Indexer, IndexOptions
from tests.conftest import REPO, SHARED_PHOTOS
from tests.people_fixtures import PEOPLE_PHOTOS, build_people_catalog, copy_catalog, identities, person_of

pytestmark = pytest.mark.usefixtures("require_models")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_people_catalog(tmp_path_factory)


@pytest.fixture
def catalog(built, tmp_path):
    with Catalog(copy_catalog(built, tmp_path)) as cat:
        yield cat


def faces_by_id(catalog) -> dict:
    return {f.id: f for p in catalog.query(with_faces=True) for f in p.faces}


def photos_of(catalog, person_id: int) -> set[int]:
    return {p.id for p in catalog.query(with_faces=True) if any(f.person_id == person_id for f in p.faces)}


def update(catalog):
    return update_people_in_catalog(catalog.path, workers=1)


# --- the people pass ----------------------------------------------------------------------------------------------


def test_people_pass_puts_each_person_in_one_pure_person(built, catalog):
    labels = identities(catalog)
    faces = faces_by_id(catalog)
    assert {"barack_obama", "angelina_jolie", "joe_biden"} <= set(labels.values())
    members = defaultdict(set)
    for face in faces.values():
        if face.person_id is not None:
            members[face.person_id].add(labels.get(face.id, f"unlabelled:{face.id}"))
    assert members and all(len(who) == 1 for who in members.values())  # pure: no person mixes two identities
    obama, jolie = person_of(catalog, "barack_obama"), person_of(catalog, "angelina_jolie")
    assert obama != jolie
    big_enough = [f for f in faces.values() if min(f.box[2] - f.box[0], f.box[3] - f.box[1]) >= MIN_FACE_PX]
    assert built.summary.faces_embedded == len(big_enough)
    assert built.summary.people == len(catalog.people()) == len(members)
    assert built.summary.faces_assigned == sum(1 for f in faces.values() if f.person_id is not None)
    again = update(catalog)  # nothing new: nothing computed, nothing moves
    assert again.faces_embedded == 0 and again.changed == 0 and again.new_people == 0
    assert {f.id: f.person_id for f in faces_by_id(catalog).values()} == {f.id: f.person_id for f in faces.values()}


def test_people_list_has_counts_sample_faces_and_puts_named_first(catalog):
    people = catalog.people(samples=3)
    faces = faces_by_id(catalog)
    for person in people:
        mine = [f for f in faces.values() if f.person_id == person.id]
        assert person.faces == len(mine) and person.photos == len({f.photo_id for f in mine})
        assert 0 < len(person.samples) <= 3 and all(faces[s.face_id].person_id == person.id for s in person.samples)
    last = people[-1]
    catalog.name_person(last.id, "  Anna  ")
    people = catalog.people()
    assert people[0].id == last.id and people[0].name == "Anna"  # named people first, the name tidied
    assert [p.faces for p in people[1:]] == sorted((p.faces for p in people[1:]), reverse=True)


# --- the user's word ------------------------------------------------------------------------------------------------


def test_naming_the_person_filter_combined_with_others_and_json(catalog):
    anna = person_of(catalog, "angelina_jolie")
    catalog.name_person(anna, "Anna")
    everything = catalog.query(with_faces=True)
    with_anna = {p.id for p in everything if any(f.person_name == "Anna" for f in p.faces)}
    assert {p.id for p in catalog.query(PhotoFilter(person="anna"))} == with_anna == photos_of(catalog, anna)
    assert {p.id for p in catalog.query(PhotoFilter(person=anna))} == with_anna  # by id
    assert {p.id for p in catalog.query(PhotoFilter(person=str(anna)))} == with_anna  # an id typed as text
    assert catalog.query(PhotoFilter(person="Nobody")) == []

    # "Anna" + "everyone smiling": the photos where she is and every face that counts smiles
    smiling = {p.id for p in everything if p.face_count and all(f.label == "happy" for f in p.faces if f.subject)}
    combined = {p.id for p in catalog.query(PhotoFilter(person="Anna", everyone_smiling="normal"))}
    assert combined == with_anna & smiling
    assert combined and combined != with_anna  # the test data makes both filters matter
    # ... + "keepers only" (picked)
    keeper = sorted(combined)[0]
    catalog.set_pick([keeper], 1)
    assert [p.id for p in catalog.query(PhotoFilter(person="Anna", everyone_smiling="normal", picks=["picked"]))] == [keeper]

    records = {p.id: photo_to_json(p) for p in catalog.query(with_faces=True)}
    for photo in catalog.query(with_faces=True):
        for face, item in zip(photo.faces, records[photo.id]["faces"]):
            expected = None if face.person_id is None else {"id": face.person_id, "name": face.person_name}
            assert item["person"] == expected
    assert any(f["person"] == {"id": anna, "name": "Anna"} for r in records.values() for f in r["faces"])
    assert any(f["person"] is None for r in records.values() for f in r["faces"])  # Brad Pitt, seen once


def test_merging_two_people_and_undoing_it(catalog):
    obama, jolie, biden = (person_of(catalog, who) for who in ("barack_obama", "angelina_jolie", "joe_biden"))
    with pytest.raises(ValueError, match="two people"):  # Obama and Biden are in one photo together
        catalog.merge_people(obama, biden)
    catalog.name_person(jolie, "Anna")
    stored = dict(catalog.conn.execute("SELECT face_id, person_id FROM face_persons").fetchall())
    obama_photos, jolie_photos = photos_of(catalog, obama), photos_of(catalog, jolie)
    undo = catalog.merge_people(obama, jolie)  # wrong, but the user's word: it stands until undone
    assert undo is not None and catalog.merge_people(jolie, obama) is None  # already one person
    assert photos_of(catalog, obama) == obama_photos | jolie_photos and photos_of(catalog, jolie) == set()
    assert catalog.person(jolie).id == obama and catalog.person(obama).name == "Anna"  # took the only name
    assert {p.id for p in catalog.query(PhotoFilter(person="Anna"))} == obama_photos | jolie_photos
    assert dict(catalog.conn.execute("SELECT face_id, person_id FROM face_persons").fetchall()) == stored  # faces untouched
    update(catalog)  # the people pass keeps them merged
    assert person_of(catalog, "angelina_jolie") == person_of(catalog, "barack_obama") == obama
    catalog.undo_merge(undo)
    assert photos_of(catalog, obama) == obama_photos and photos_of(catalog, jolie) == jolie_photos
    assert catalog.person(obama).name is None and catalog.person(jolie).name == "Anna"


def test_moving_a_face_and_not_this_person_stick(catalog):
    labels = identities(catalog)
    obama, jolie = person_of(catalog, "barack_obama"), person_of(catalog, "angelina_jolie")
    obama_faces = sorted(f for f, who in labels.items() if who == "barack_obama")
    moved, removed = obama_faces[0], obama_faces[1]
    assert catalog.move_face_to_person(moved, jolie) == jolie
    assert catalog.reject_face_person(removed) == obama
    assert catalog.face(moved).person_id == jolie and catalog.face(removed).person_id is None
    for _ in range(2):  # the people pass, twice: neither decision is undone
        update(catalog)
        assert catalog.face(moved).person_id == jolie
        assert catalog.face(removed).person_id != obama
    # and the face the user rejected is not suggested for that person again
    assert not [s for s in suggestions(catalog) if s.kind == "face" and (s.a, s.b) == (removed, obama)]
    new = catalog.move_face_to_person(removed, None)  # a person of its own
    assert new not in (obama, jolie) and catalog.face(removed).person_id == new


def test_decisions_survive_reindexing_that_moves_the_boxes(built, catalog):
    labels = identities(catalog)
    obama, jolie = person_of(catalog, "barack_obama"), person_of(catalog, "angelina_jolie")
    catalog.name_person(obama, "Barack")
    catalog.name_person(jolie, "Anna")
    obama_faces = sorted(f for f, who in labels.items() if who == "barack_obama")
    moved, removed = obama_faces[0], obama_faces[1]
    before = faces_by_id(catalog)
    catalog.move_face_to_person(moved, jolie)
    catalog.reject_face_person(removed)

    # Re-detection at another size (a new detector setting): every face is replaced, the boxes move a little.
    Indexer(catalog, IndexOptions(workers=1, detection=DetectionSettings(max_side=1536))).run(built.folder)
    after = faces_by_id(catalog)
    assert not set(after) & set(before)
    assert any(
        max(abs(a - b) for a, b in zip(f.box, g.box)) > 0.5
        for f in after.values()
        for g in before.values()
        if f.photo_id == g.photo_id
    )

    def successor(face_id: int):
        old = before[face_id]
        from albumsorter.core.geometry import iou

        return max((f for f in after.values() if f.photo_id == old.photo_id), key=lambda f: iou(f.box, old.box))

    assert successor(moved).person_id == jolie  # the user's choice followed the face at once
    update(catalog)  # new faces, new embeddings, people again
    assert successor(moved).person_id == jolie and successor(moved).person_name == "Anna"
    assert successor(removed).person_id != obama
    decided = {successor(moved).id, successor(removed).id}
    rest = {f: who for f, who in identities(catalog).items() if who == "barack_obama" and f not in decided}
    assert rest and {catalog.face(f).person_id for f in rest} == {obama}  # the rest of him kept his named person
    assert catalog.person(obama).name == "Barack"


def test_a_new_embedding_model_keeps_names_and_choices(catalog):
    obama, jolie = person_of(catalog, "barack_obama"), person_of(catalog, "angelina_jolie")
    catalog.name_person(obama, "Barack")
    labels = identities(catalog)
    moved = sorted(f for f, who in labels.items() if who == "barack_obama")[0]
    catalog.move_face_to_person(moved, jolie)
    # As if the stored vectors and automatic assignments came from an older model.
    with catalog.transaction():
        catalog.conn.execute("UPDATE face_results SET model_id = 'old-model' WHERE kind = ?", (KIND,))
        catalog.conn.execute("UPDATE face_persons SET model_id = 'old-model' WHERE source = 'auto'")
    catalog.set_meta(MODEL_META, "old-model")
    summary = update(catalog)
    assert summary.reclustered and summary.faces_embedded > 0 and summary.new_people == 0
    stale = catalog.conn.execute("SELECT COUNT(*) FROM face_results WHERE kind = ? AND model_id != ?", (KIND, MODEL_ID))
    assert stale.fetchone()[0] == 0
    models = {r[0] for r in catalog.conn.execute("SELECT model_id FROM face_persons WHERE source = 'auto'")}
    assert models == {MODEL_ID}
    assert person_of(catalog, "angelina_jolie") == jolie and catalog.face(moved).person_id == jolie
    assert catalog.person(obama).name == "Barack"
    assert {f.person_id for f_id, f in faces_by_id(catalog).items() if labels.get(f_id) == "barack_obama" and f_id != moved} == {
        obama
    }


def test_a_named_face_region_carries_the_name(built, catalog):
    from albumsorter.core.sidecar_sync import write_sidecars
    from albumsorter.core.xmp import read_sidecar

    jolie = person_of(catalog, "angelina_jolie")
    catalog.name_person(jolie, "Anna")
    photo_id = sorted(photos_of(catalog, jolie))[0]
    photo = catalog.photo(photo_id)
    try:
        summary = write_sidecars(catalog, photo_ids=[photo_id])
        assert summary.ok, summary.errors
        names = [r.name for r in read_sidecar(photo.path).own_regions]
        assert sorted(names, key=str) == sorted((f.person_name for f in photo.faces if not f.ignored), key=str)
        assert "Anna" in names
    finally:
        for sidecar in built.folder.glob("*.xmp"):
            sidecar.unlink()


# --- the command line -----------------------------------------------------------------------------------------------


def run_cli(*args: str, check: int | None = 0) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "albumsorter", *args], capture_output=True, text=True, timeout=600, env=os.environ.copy()
    )
    if check is not None:
        assert proc.returncode == check, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def test_people_commands_end_to_end(tmp_path):
    """index → people update → list → name → list --person → merge → move → reject, in real processes."""
    folder = tmp_path / "photos"
    folder.mkdir()
    if SHARED_PHOTOS.is_dir():
        for name in PEOPLE_PHOTOS[:4] + PEOPLE_PHOTOS[5:7]:  # Obama in four photos (Biden in two), Jolie in two
            shutil.copy2(SHARED_PHOTOS / name, folder / name)
    else:  # a fresh clone: the bundled samples (no one appears twice there)
        for sample in (REPO / "resources" / "samples").glob("*.jpg"):
            shutil.copy2(sample, folder / sample.name)
    cat = str(tmp_path / "cat.sqlite")
    run_cli("index", str(folder), "--catalog", cat)
    out = run_cli("people", "update", "--catalog", cat, "--workers", "1").stdout
    assert "Faces embedded:" in out and "People:" in out and "Faces assigned:" in out and "Suggestions:" in out
    listing = json.loads(run_cli("people", "list", "--json", "--catalog", cat).stdout)
    photos = json.loads(run_cli("list", "--json", "--catalog", cat).stdout)
    faces = {f["id"]: f for p in photos for f in p["faces"]}
    assert sum(p["faces"] for p in listing["people"]) == sum(1 for f in faces.values() if f["person"])
    if not SHARED_PHOTOS.is_dir():
        return
    assert listing["people"], out
    first = listing["people"][0]
    run_cli("people", "name", str(first["id"]), "Barack", "--catalog", cat)
    mine = json.loads(run_cli("list", "--json", "--person", "barack", "--catalog", cat).stdout)
    assert {p["path"] for p in mine} == {
        p["path"] for p in photos if any((f["person"] or {}).get("id") == first["id"] for f in p["faces"])
    }
    assert all(
        f["person"]["name"] == "Barack" for p in mine for f in p["faces"] if f["person"] and f["person"]["id"] == first["id"]
    )
    text = run_cli("people", "list", "--catalog", cat).stdout
    assert "Barack" in text
    loose = [f for f in faces.values() if f["person"] is None and not f["ignored"]]
    in_photo = [{(f["person"] or {}).get("id") for f in p["faces"]} for p in photos]
    others = {p["id"]: p for p in listing["people"][1:]}
    together = [o for o in others if any({first["id"], o} <= ids for ids in in_photo)]
    apart = [o for o in others if o not in together]
    assert together and apart  # Biden is in photos with Obama, Jolie never
    refused = run_cli("people", "merge", str(first["id"]), str(together[0]), "--catalog", cat, check=2)
    assert "two people" in refused.stderr
    run_cli("people", "merge", str(first["id"]), str(apart[0]), "--catalog", cat)
    after = json.loads(run_cli("people", "list", "--json", "--catalog", cat).stdout)["people"]
    assert apart[0] not in {p["id"] for p in after}
    assert after[0]["id"] == first["id"] and after[0]["faces"] == first["faces"] + others[apart[0]]["faces"]
    if loose:
        face = loose[0]["id"]
        run_cli("people", "move", str(face), str(first["id"]), "--catalog", cat)
        run_cli("people", "update", "--catalog", cat, "--workers", "1")
        moved = {f["id"]: f for p in json.loads(run_cli("list", "--json", "--catalog", cat).stdout) for f in p["faces"]}
        assert moved[face]["person"] == {"id": first["id"], "name": "Barack"}
        run_cli("people", "reject", str(face), "--catalog", cat)
        rejected = {f["id"]: f for p in json.loads(run_cli("list", "--json", "--catalog", cat).stdout) for f in p["faces"]}
        assert rejected[face]["person"] is None
    assert run_cli("people", "name", "99999", "X", "--catalog", cat, check=None).returncode == 3
    assert run_cli("people", "move", "99999", str(first["id"]), "--catalog", cat, check=None).returncode == 3
