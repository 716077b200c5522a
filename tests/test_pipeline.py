"""Indexing real photos end to end with the real detector and the shipped expression model."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from albumsorter.core import analysis, pipeline
from albumsorter.core.catalog import PICK_PICKED, Catalog, PhotoFilter
from albumsorter.core.classes import CLASSES_8
from albumsorter.core.geometry import iou
from albumsorter.core.pipeline import Indexer, IndexOptions, RunControl
from albumsorter.core.resources import expression_model_card_path

pytestmark = pytest.mark.usefixtures("require_models")


def index(catalog: Catalog, folder, **options) -> pipeline.IndexSummary:
    return Indexer(catalog, IndexOptions(workers=2, **options)).run(folder)


@pytest.fixture
def catalog(tmp_path):
    with Catalog(tmp_path / "catalog.sqlite") as cat:
        yield cat


def by_name(catalog: Catalog) -> dict:
    return {p.name: p for p in catalog.query(PhotoFilter(include_gone=True), with_faces=True)}


def test_index_finds_and_classifies_faces(photo_folder, catalog):
    summary = index(catalog, photo_folder)
    assert summary.indexed == 6 and not summary.errors
    photos = by_name(catalog)
    assert photos["serengil__tests_unit_dataset_selfie-many-people.jpg"].face_count >= 4  # a group selfie
    assert photos["ageitgey__examples_two_people.jpg"].face_count == 2
    assert photos["ageitgey__examples_obama-1080p.jpg"].face_count == 1
    for photo in photos.values():
        for face in photo.faces:
            p = np.array([face.probabilities[c] for c in CLASSES_8])
            assert p.sum() == pytest.approx(1.0, abs=1e-3)
            assert face.label == CLASSES_8[int(p.argmax())]
            left, top, right, bottom = face.box
            assert 0 <= left < right <= photo.width and 0 <= top < bottom <= photo.height
    # The model id of every face is the shipped expression scorer's (the CNN and its real-photo head).
    from albumsorter.core.analysis import load_scorer_specs

    _, specs = load_scorer_specs()
    assert {f.model_id for p in photos.values() for f in p.faces} == {s.model_id for s in specs if s.kind == "expression"}


def test_second_run_does_no_decoding_or_inference(photo_folder, catalog, monkeypatch):
    index(catalog, photo_folder)

    def must_not_decode(*args, **kwargs):
        raise AssertionError("an unchanged photo was decoded again")

    monkeypatch.setattr(analysis, "decode", must_not_decode)
    again = index(catalog, photo_folder)
    assert again.indexed == 0 and again.unchanged == 6 and not again.errors


def test_changed_moved_deleted_files(photo_folder, catalog):
    index(catalog, photo_folder)
    ids = {p.name: p.id for p in catalog.query()}
    couple, single, group = (
        "serengil__tests_unit_dataset_couple.jpg",
        "ageitgey__examples_obama-1080p.jpg",
        "linzaer__imgs_3.jpg",
    )
    catalog.set_pick([ids[couple], ids[group]], PICK_PICKED)
    # Changed: the photo is mirrored, so its faces move.
    path = photo_folder / single
    Image.open(path).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(path, quality=90)
    # Moved into a sub-folder and renamed.
    (photo_folder / "2024").mkdir()
    shutil.move(photo_folder / couple, photo_folder / "2024" / "renamed.jpg")
    # Deleted.
    (photo_folder / group).unlink()
    summary = index(catalog, photo_folder)
    assert (summary.indexed, summary.moved, summary.gone) == (1, 1, 1)
    photos = by_name(catalog)
    assert photos["renamed.jpg"].id == ids[couple] and photos["renamed.jpg"].pick == PICK_PICKED
    assert photos["renamed.jpg"].face_count >= 2
    assert photos[group].status == "gone" and photos[group].pick == PICK_PICKED


def test_exif_rotated_photo_gets_upright_boxes(tmp_path, catalog):
    from tests.conftest import SHARED_PHOTOS, require_shared

    require_shared(SHARED_PHOTOS)
    folder = tmp_path / "rot"
    folder.mkdir()
    upright = Image.open(SHARED_PHOTOS / "ageitgey__examples_two_people.jpg").convert("RGB")
    upright.save(folder / "upright.jpg", quality=95)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view": stored turned the other way
    upright.transpose(Image.Transpose.ROTATE_90).save(folder / "rotated.jpg", quality=95, exif=exif.tobytes())
    index(catalog, folder)
    photos = by_name(catalog)
    a, b = photos["upright.jpg"], photos["rotated.jpg"]
    assert (b.width, b.height) == (a.width, a.height) == upright.size
    assert a.face_count == b.face_count == 2
    for fa, fb in zip(sorted(a.faces, key=lambda f: f.box), sorted(b.faces, key=lambda f: f.box)):
        assert iou(fa.box, fb.box) > 0.7
        # Eyes upright too: the subject's right eye is left of the left eye, both above the nose.
        (rx, ry), (lx, ly), (_, nose_y) = fb.landmarks.right_eye, fb.landmarks.left_eye, fb.landmarks.nose_tip
        assert rx < lx and max(ry, ly) < nose_y


def test_heic_and_broken_files_in_the_same_folder(photo_folder, catalog):
    pillow_heif = pytest.importorskip("pillow_heif")
    heif = pillow_heif.from_pillow(Image.open(photo_folder / "ageitgey__examples_two_people.jpg"))
    heif.save(photo_folder / "phone.heic", quality=90)
    (photo_folder / "notes.jpg").write_text("this is not a photo")
    data = (photo_folder / "linzaer__imgs_3.jpg").read_bytes()
    (photo_folder / "truncated.jpg").write_bytes(data[: len(data) // 4])
    (photo_folder / "empty.png").write_bytes(b"")
    (photo_folder / "readme.txt").write_text("ignored: not a photo and not named like one")
    summary = index(catalog, photo_folder)
    errors = dict((p.rsplit("/", 1)[1], r) for p, r in summary.errors)
    assert set(errors) == {"notes.jpg", "truncated.jpg", "empty.png"}
    assert "not an image" in errors["notes.jpg"] and "empty" in errors["empty.png"]
    assert by_name(catalog)["phone.heic"].face_count == 2
    assert summary.indexed == 7  # the 6 photos and the HEIC
    # Errors are not retried while the file is unchanged.
    assert index(catalog, photo_folder).indexed == 0


def test_new_model_reclassifies_without_redetecting(photo_folder, catalog, tmp_path, monkeypatch):
    index(catalog, photo_folder)
    before = by_name(catalog)
    card = json.loads(expression_model_card_path().read_text())
    card["id"] += "-v2"
    card["file"] = str(expression_model_card_path().parent / card["file"])
    new_card = tmp_path / "v2.json"
    new_card.write_text(json.dumps(card))

    def must_not_detect(*args, **kwargs):
        raise AssertionError("faces were detected again")

    monkeypatch.setattr(analysis, "find_faces", must_not_detect)
    summary = index(catalog, photo_folder, model_card=new_card)
    assert summary.reclassified == 6 and summary.indexed == 0
    after = by_name(catalog)
    for name, photo in after.items():
        assert [f.box for f in photo.faces] == [f.box for f in before[name].faces]
        assert all(f.model_id.split("+")[0] == card["id"] for f in photo.faces)  # the new CNN (with its real-photo head)


def test_both_preprocessing_variants_run(photo_folder, tmp_path):
    labels = {}
    for variant in (True, False):
        with Catalog(tmp_path / f"pre-{variant}.sqlite") as cat:
            index(cat, photo_folder, preprocessing=variant)
            labels[variant] = [f.label for p in cat.query(with_faces=True) for f in p.faces]
    assert len(labels[True]) == len(labels[False]) > 0


def test_cancel_leaves_a_consistent_catalog_that_resumes(photo_folder, catalog):
    control = RunControl()
    stored = []

    def on_photo(photo_id, path):
        stored.append(path)
        if len(stored) == 2:
            control.cancel()

    summary = Indexer(catalog, IndexOptions(workers=1, batch_size=1)).run(photo_folder, on_photo=on_photo, control=control)
    done_before = catalog.count()
    assert summary.cancelled and 2 <= done_before < 6
    assert catalog.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rest = index(catalog, photo_folder)
    assert rest.indexed == 6 - done_before and rest.unchanged == done_before and catalog.count() == 6
