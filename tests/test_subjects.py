"""Who counts in a photo: reading order, subjects and bystanders, ignored and user-added faces, strictness,
ratings — on a real catalog file, and the `face` / `rate` commands on real photos with the real models."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from albumsorter.core.catalog import Catalog, PhotoFilter
from albumsorter.core.subjects import FaceFacts, Strictness, is_smiling, is_uncertain, reading_order, subject_flags
from tests.factories import face, photo

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "resources" / "samples"


def test_reading_order_is_rows_then_left_to_right():
    # Two rows of people, not level within a row, given in a scrambled order.
    boxes = [(300, 210, 380, 290), (10, 200, 90, 280), (150, 190, 230, 270), (80, 400, 160, 480), (250, 410, 330, 490)]
    assert reading_order(boxes) == [1, 2, 0, 3, 4]


def test_a_small_background_face_is_a_bystander_and_ignored_faces_never_count():
    portrait = FaceFacts((100, 100, 400, 460))
    background = FaceFacts((600, 50, 640, 98))  # a quarter of the portrait's height
    neighbour = FaceFacts((420, 120, 700, 450))
    assert subject_flags([portrait, background], 800, 600) == [True, False]
    assert subject_flags([portrait, neighbour], 800, 600) == [True, True]
    assert subject_flags([FaceFacts(portrait.box, ignored=True), background], 800, 600) == [False, True]
    assert subject_flags([portrait, FaceFacts(background.box, manual=True)], 800, 600) == [True, True]
    # Cut by the frame and smallish: a passer-by; the same size inside the frame: a subject.
    edge = FaceFacts((0, 150, 180, 330))
    inside = FaceFacts((440, 150, 620, 330))
    assert subject_flags([portrait, edge, inside], 800, 600) == [True, False, True]


def test_strictness_and_uncertainty():
    assert is_smiling("happy", 0.51, False) and not is_smiling("happy", 0.51, False, Strictness.STRICT)
    assert is_smiling("neutral", 0.4, False, Strictness.RELAXED) and not is_smiling("neutral", 0.4, False)
    assert is_smiling("happy", 0.1, True, Strictness.STRICT)  # the user said so
    assert is_uncertain({"happy": 0.51, "neutral": 0.47}) and not is_uncertain({"happy": 0.99, "neutral": 0.01})


@pytest.fixture
def cat(tmp_path):
    with Catalog(tmp_path / "c.sqlite") as c:
        yield c


def test_bystanders_leave_the_scores_and_everyone_smiling(cat):
    smiling_portrait = face((100, 100, 400, 460), "happy", 0.95)
    bystander = face((600, 50, 640, 98), "neutral", 0.5)
    pid = cat.record_photo(photo("/p/portrait.jpg", [smiling_portrait, bystander], width=800, height=600))
    rec = cat.photo(pid)
    assert (rec.face_count, rec.smile_count, rec.all_smile) == (1, 1, True)
    assert [f.subject for f in rec.faces] == [False, True]  # reading order: the bystander is higher up
    assert cat.count(PhotoFilter(everyone_smiling="normal")) == 1
    assert cat.count(PhotoFilter(emotions=["happy"], all_faces=True)) == 1


def test_strictness_filters_borderline_smiles(cat):
    cat.record_photo(photo("/p/sure.jpg", [face((100, 100, 300, 300), "happy", 0.97), face((320, 100, 520, 300), "happy", 0.9)]))
    cat.record_photo(
        photo("/p/borderline.jpg", [face((100, 100, 300, 300), "happy", 0.97), face((320, 100, 520, 300), "happy", 0.51)])
    )
    cat.record_photo(photo("/p/faint.jpg", [face((100, 100, 300, 300), "happy", 0.97),
                                            face((320, 100, 520, 300), None, probabilities=[0, 0, 0, 0, 0.4, 0.6, 0, 0])]))  # fmt: skip
    names = {s: sorted(p.name for p in cat.query(PhotoFilter(everyone_smiling=s))) for s in ("relaxed", "normal", "strict")}
    assert names == {
        "relaxed": ["borderline.jpg", "faint.jpg", "sure.jpg"],
        "normal": ["borderline.jpg", "sure.jpg"],
        "strict": ["sure.jpg"],
    }


def test_ignored_and_added_faces_survive_redetection(cat):
    a, b = face((100, 100, 300, 300), "happy"), face((400, 100, 600, 300), "sad")
    pid = cat.record_photo(photo("/p/x.jpg", [a, b]))
    sad = cat.photo(pid).faces[1]
    cat.set_ignored(sad.id, True)
    assert cat.photo(pid).all_smile
    added = cat.add_face(pid, face((700, 120, 880, 300), "happy"))
    rec = cat.photo(pid)
    assert [f.id for f in rec.faces][-1] == added and rec.faces[-1].manual and rec.face_count == 2
    # The file changed; the detector finds the two faces again, slightly moved, and one on top of the added one.
    moved = [face((104, 98, 302, 303), "happy"), face((398, 104, 603, 299), "sad"), face((705, 118, 880, 305), "neutral")]
    cat.record_photo(photo("/p/x.jpg", moved, size=200, mtime_ns=2, content_hash="new"))
    rec = cat.photo(pid)
    assert len(rec.faces) == 3, "the detection on top of the user's face is the same face: the user's box stays"
    assert [(f.ignored, f.manual) for f in rec.faces] == [(False, False), (True, False), (False, True)]
    assert rec.all_smile and rec.face_count == 2
    cat.set_ignored(rec.faces[1].id, False)
    assert not cat.photo(pid).all_smile
    with pytest.raises(ValueError):
        cat.remove_face(rec.faces[0].id)  # a detected face is ignored, not removed
    cat.remove_face(added)
    assert len(cat.photo(pid).faces) == 2


def test_ratings_filter_and_sort(cat):
    ids = [cat.record_photo(photo(f"/p/{n}.jpg")) for n in "abc"]
    cat.set_rating(ids[:1], 5)
    cat.set_rating(ids[1:2], 3)
    assert [p.name for p in cat.query(PhotoFilter(sort="rating"))] == ["a.jpg", "b.jpg", "c.jpg"]
    assert [p.name for p in cat.query(PhotoFilter(min_rating=4))] == ["a.jpg"]
    with pytest.raises(ValueError):
        cat.set_rating(ids, 6)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "albumsorter", *args], capture_output=True, text=True, timeout=300)


def test_face_and_rate_commands_end_to_end(tmp_path):
    folder = tmp_path / "album"
    folder.mkdir()
    shutil.copy(SAMPLES / "group.jpg", folder / "group.jpg")
    catalog = str(tmp_path / "c.sqlite")
    assert run_cli("index", str(folder), "--catalog", catalog, "-q").returncode == 0
    listed = json.loads(run_cli("list", "--catalog", catalog, "--json").stdout)
    faces = listed[0]["faces"]
    assert len(faces) == 3 and all({"id", "ignored", "subject", "uncertain", "added"} <= f.keys() for f in faces)
    # Reading order: the face higher up by more than a face's height first, then the lower row left to right.
    tops = [f["box"]["top"] for f in faces]
    assert tops[0] == min(tops) and faces[0]["box"]["bottom"] < min(tops[1:]) + 1
    assert faces[1]["box"]["left"] < faces[2]["box"]["left"]
    first = faces[0]["id"]
    assert run_cli("face", "ignore", str(first), "--catalog", catalog).returncode == 0
    assert run_cli("face", "label", str(faces[1]["id"]), "surprise", "--catalog", catalog).returncode == 0
    # Add a face where there is none (the sky above the first person): it is classified and scored, and its id printed.
    b = faces[0]["box"]
    box = f"{b['left']},{max(0, b['top'] - 2 * (b['bottom'] - b['top']))},{b['right']},{b['top'] - 1}"
    added = run_cli("face", "add", str(folder / "group.jpg"), "--box", box, "--catalog", catalog)
    assert added.returncode == 0, added.stderr[-2000:]
    added_id = int(added.stdout.split()[0])
    assert run_cli("rate", str(folder / "group.jpg"), "4", "--catalog", catalog).returncode == 0
    after = json.loads(run_cli("list", "--catalog", catalog, "--json").stdout)[0]
    by_id = {f["id"]: f for f in after["faces"]}
    assert by_id[first]["ignored"] and not by_id[first]["subject"]
    assert by_id[faces[1]["id"]]["label"] == "surprise" and by_id[faces[1]["id"]]["corrected"]
    assert (
        by_id[added_id]["added"]
        and by_id[added_id]["label"]
        and sum(by_id[added_id]["probabilities"].values()) == pytest.approx(1, abs=0.01)
    )
    assert after["rating"] == 4 and after["face_count"] == 3
    # Kept across a forced re-detection (the detector settings change).
    assert run_cli("index", str(folder), "--catalog", catalog, "-q", "--detect-size", "900").returncode == 0
    again = {f["id"]: f for f in json.loads(run_cli("list", "--catalog", catalog, "--json").stdout)[0]["faces"]}
    assert added_id in again and again[added_id]["added"]
    assert sum(f["ignored"] for f in again.values()) == 1
    assert run_cli("face", "ignore", "999999", "--catalog", catalog).returncode == 3
    assert run_cli("rate", str(folder / "group.jpg"), "7", "--catalog", catalog).returncode == 2


def test_relaxed_includes_everything_normal_includes(cat):
    """A face labelled happy at 0.3 (the other classes spread thinner) smiles at Normal, so at Relaxed too."""
    spread = [0.1, 0.1, 0.1, 0.1, 0.3, 0.1, 0.1, 0.1]
    cat.record_photo(photo("/p/flat.jpg", [face((100, 100, 300, 300), None, probabilities=spread)]))
    assert cat.count(PhotoFilter(everyone_smiling="normal")) == 1
    assert cat.count(PhotoFilter(everyone_smiling="relaxed")) == 1
    assert is_smiling("happy", 0.3, False, Strictness.RELAXED)
