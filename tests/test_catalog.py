"""The catalog on a real SQLite file: storing, filters, picks and corrections that are never lost."""

from __future__ import annotations

import sqlite3

import pytest

from albumsorter.core.catalog import PICK_PICKED, PICK_REJECTED, SCHEMA_VERSION, Catalog, CatalogError, PhotoFilter
from albumsorter.core.classes import CLASSES_8  # noqa: F401
from tests.factories import face, photo


def add(cat: Catalog, path: str, labels: list[str], size: int = 100) -> int:
    faces = [face((10.0 + 50 * i, 10.0, 50.0 + 50 * i, 60.0), lab) for i, lab in enumerate(labels)]
    return cat.record_photo(photo(path, faces, size=size))


@pytest.fixture
def cat(tmp_path):
    with Catalog(tmp_path / "cat.sqlite") as c:
        add(c, "/p/all_happy.jpg", ["happy", "happy"])
        add(c, "/p/mixed.jpg", ["happy", "sad", "neutral"])
        add(c, "/p/single_sad.jpg", ["sad"])
        add(c, "/p/surprised.jpg", ["surprise"])
        add(c, "/p/nobody.jpg", [])
        c.record_error("/p/broken.jpg", 5, 1, "not an image (unrecognised content)")
        yield c


def paths(photos) -> list[str]:
    return sorted(p.path.rsplit("/", 1)[1] for p in photos)


def test_schema_version_wal_and_reopen(tmp_path, cat):
    assert cat.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert cat.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with Catalog(cat.path) as again:
        assert again.count() == 5


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "future.sqlite"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(CatalogError, match="newer AlbumSorter"):
        Catalog(path)


def test_filters(cat):
    assert paths(cat.query(PhotoFilter(emotions=["happy"]))) == ["all_happy.jpg", "mixed.jpg"]
    assert paths(cat.query(PhotoFilter(emotions=["happy"], all_faces=True))) == ["all_happy.jpg"]
    assert paths(cat.query(PhotoFilter(groups=["negative"]))) == ["mixed.jpg", "single_sad.jpg"]
    assert paths(cat.query(PhotoFilter(groups=["neutral"]))) == ["mixed.jpg", "surprised.jpg"]
    assert paths(cat.query(PhotoFilter(min_faces=2))) == ["all_happy.jpg", "mixed.jpg"]
    assert paths(cat.query(PhotoFilter(max_faces=0))) == ["nobody.jpg"]
    assert paths(cat.query(PhotoFilter(min_smiles=1))) == ["all_happy.jpg", "mixed.jpg"]
    assert paths(cat.query(PhotoFilter(errors=True))) == ["broken.jpg"]
    by_smile = cat.query(PhotoFilter(sort="smile"))
    assert by_smile[0].path.endswith("all_happy.jpg") and by_smile[0].all_smile
    assert cat.count(PhotoFilter(emotions=["anger"])) == 0
    with pytest.raises(ValueError):
        cat.query(PhotoFilter(emotions=["bored"]))


def test_stats(cat):
    stats = cat.stats()
    assert stats["photos"] == 5 and stats["errors"] == 1 and stats["faces"] == 7
    assert stats["labels"]["happy"] == 3 and stats["labels"]["sad"] == 2


def test_picks(cat):
    ids = {p.path: p.id for p in cat.query()}
    cat.set_pick([ids["/p/mixed.jpg"]], PICK_PICKED)
    cat.set_pick([ids["/p/nobody.jpg"]], PICK_REJECTED)
    assert paths(cat.query(PhotoFilter(picks=["picked"]))) == ["mixed.jpg"]
    assert paths(cat.query(PhotoFilter(picks=["rejected"]))) == ["nobody.jpg"]
    assert len(cat.query(PhotoFilter(picks=["unflagged"]))) == 3


def test_correction_wins_over_the_model_and_survives_redetection(cat):
    photo_rec = cat.query(PhotoFilter(name_contains="single_sad"), with_faces=True)[0]
    sad_face = photo_rec.faces[0]
    cat.set_correction(sad_face.id, "happy")
    again = cat.photo(photo_rec.id)
    assert again.faces[0].label == "happy" and again.faces[0].corrected and again.faces[0].predicted_label == "sad"
    assert again.smile_count == 1 and again.smile_score == 1.0
    # The file changed and was re-detected: the face moved slightly and the model still says sad.
    moved = face((12.0, 11.0, 52.0, 61.0), "sad")
    cat.record_photo(photo(photo_rec.path, [moved], size=200, mtime_ns=2, content_hash="new-hash"))
    after = cat.photo(photo_rec.id)
    assert after.faces[0].label == "happy" and after.faces[0].corrected
    # A correction whose face vanished stays with the photo and comes back when the face does.
    cat.record_photo(photo(photo_rec.path, [], size=200, mtime_ns=3, content_hash="h3"))
    assert cat.conn.execute("SELECT COUNT(*) FROM corrections").fetchone()[0] == 1
    cat.record_photo(photo(photo_rec.path, [moved], size=200, mtime_ns=4, content_hash="h4"))
    assert cat.photo(photo_rec.id).faces[0].label == "happy"
    assert list(cat.corrected_faces())[0]["label"] == "happy"


def test_moved_and_gone_photos_keep_picks(cat):
    photo = cat.query(PhotoFilter(name_contains="mixed"))[0]
    cat.set_pick([photo.id], PICK_PICKED)
    cat.record_move(photo.id, "/q/renamed.jpg", 100, 9)
    moved = cat.photo(photo.id)
    assert moved.path == "/q/renamed.jpg" and moved.pick == PICK_PICKED and moved.face_count == 3
    cat.mark_gone(["/q/renamed.jpg"])
    assert cat.count(PhotoFilter(picks=["picked"])) == 0
    assert cat.count(PhotoFilter(picks=["picked"], include_gone=True)) == 1


def test_error_photo_then_fixed(cat):
    cat.record_photo(
        photo(
            "/p/broken.jpg", [face((1.0, 1.0, 5.0, 5.0), "happy")], size=7, mtime_ns=2, content_hash="fixed", width=10, height=10
        )
    )
    assert cat.stats()["errors"] == 0
    assert cat.count(PhotoFilter(emotions=["happy"])) == 3


def test_a_failed_write_changes_nothing(cat):
    before = cat.stats()
    with pytest.raises(RuntimeError, match="crash in the middle"), cat.transaction():
        add(cat, "/p/new.jpg", ["happy"])
        raise RuntimeError("crash in the middle of a batch")
    assert cat.stats() == before


def test_a_version_1_catalog_is_migrated_with_its_data(tmp_path):
    from albumsorter.core.catalog import MIGRATIONS

    path = tmp_path / "v1.sqlite"
    conn = sqlite3.connect(path)
    MIGRATIONS[0](conn)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO photos (id, path, size, mtime_ns, status, pick) VALUES (1, '/p/a.jpg', 1, 1, 'ok', 1)")
    for i, label in enumerate(["happy", "sad"]):
        conn.execute(
            "INSERT INTO faces (photo_id, idx, left, top, right, bottom, score, keypoints, label, p_happy) VALUES (1, ?, 0, 0, 9, 9, 0.9, '[]', ?, ?)",
            (i, label, 0.8 if label == "happy" else 0.1),
        )
    conn.commit()
    conn.close()
    with Catalog(path) as cat:
        assert cat.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        photo = cat.photo(1)
        assert (photo.face_count, photo.smile_count, photo.pick) == (2, 1, PICK_PICKED)
        assert photo.smile_score == pytest.approx(0.45)
        assert cat.count(PhotoFilter(min_smiles=1)) == 1
