"""Learning from the user end to end (issue #12): real photos indexed into a real catalog, expressions corrected
there, `improve` fine-tunes the real-photo head, checks it on corrections of other photos (refusing a worse
one), installs it as the user's personal model (the user data dir, a temporary one here: conftest), re-labels
the catalog without detecting again, and `--revert` goes back."""

from __future__ import annotations

import argparse

import pytest

from albumsorter.cli import improve as improve_cli
from albumsorter.core import analysis
from albumsorter.core.catalog import Catalog
from albumsorter.core.classify import ModelCard
from albumsorter.core.expression_head import ExpressionHead, personal_head_path, shipped_head_path
from albumsorter.core.improve import (
    ImproveError,
    fine_tune,
    held_out_photos,
    improve_from_corrections,
    relabel_catalog,
    revert_personal_head,
)
from albumsorter.core.pipeline import Indexer, IndexOptions
from albumsorter.core.resources import expression_model_card_path

pytestmark = pytest.mark.usefixtures("require_models")


@pytest.fixture
def shipped_id() -> str:
    if not shipped_head_path().is_file():
        pytest.skip(f"no shipped head at {shipped_head_path()} (python -m training.real_photo_head --install)")
    return ExpressionHead.load(shipped_head_path()).id


@pytest.fixture
def catalog(photo_folder, tmp_path, shipped_id):
    with Catalog(tmp_path / "catalog.sqlite") as cat:
        Indexer(cat, IndexOptions(workers=1)).run(photo_folder)
        yield cat


def all_faces(catalog: Catalog):
    return [(photo.path, face) for photo in catalog.query(with_faces=True) for face in photo.faces]


def model_ids(catalog: Catalog) -> set[str]:
    return {face.model_id for _, face in all_faces(catalog)}


def correct_all(catalog: Catalog, held_label: str, taught_label: str) -> set[str]:
    """Label every face: those of the photos improve will keep apart one way, the others another way."""
    faces = all_faces(catalog)
    held = held_out_photos([path for path, _ in faces])
    for path, face in faces:
        catalog.set_correction(face.id, held_label if path in held else taught_label)
    return held


def no_detection(monkeypatch) -> None:
    def must_not_detect(*args, **kwargs):
        raise AssertionError("faces were detected again")

    monkeypatch.setattr(analysis, "find_faces", must_not_detect)


def test_corrections_teach_a_personal_model_that_relabels_the_catalog(catalog, shipped_id, monkeypatch):
    card_id = ModelCard.load(expression_model_card_path()).id
    assert model_ids(catalog) == {f"{card_id}+{shipped_id}"}
    boxes_before = sorted(face.box for _, face in all_faces(catalog))
    correct_all(catalog, "happy", "happy")
    no_detection(monkeypatch)

    report = improve_from_corrections(catalog)

    assert report.installed, report.reason
    assert report.train_faces >= 1 and report.held_out_faces >= 1
    assert report.new_accuracy >= report.current_accuracy
    assert report.replay_faces == 0, "no replay sample in a fresh user cache: improve works without it"
    personal = ExpressionHead.load(personal_head_path())
    assert personal.name == "personal" and personal.base_model_id == card_id
    assert model_ids(catalog) == {f"{card_id}+{personal.id}"}, "every face re-labelled by the personal model"
    assert report.relabelled_photos == len({path for path, _ in all_faces(catalog)})
    assert sorted(face.box for _, face in all_faces(catalog)) == boxes_before
    assert all(face.corrected and face.label == "happy" for _, face in all_faces(catalog)), "corrections are kept"

    assert revert_personal_head()
    assert not personal_head_path().exists()
    relabel_catalog(catalog)
    assert model_ids(catalog) == {f"{card_id}+{shipped_id}"}
    assert not revert_personal_head(), "nothing left to revert"


def test_a_worse_model_is_refused_and_nothing_changes(catalog, shipped_id):
    """Taught that every face is sad, checked on photos the user says are happy: the new head loses."""
    before = {face.id: face.model_id for _, face in all_faces(catalog)}
    correct_all(catalog, "happy", "sad")

    report = improve_from_corrections(catalog)

    assert not report.installed
    assert report.new_accuracy < report.current_accuracy or report.new_log_loss > report.current_log_loss
    assert "not better" in report.reason
    assert not personal_head_path().exists()
    assert {face.id: face.model_id for _, face in all_faces(catalog)} == before


def test_too_few_corrections_say_so(catalog):
    (path, face), *_ = all_faces(catalog)
    catalog.set_correction(face.id, "happy")
    with pytest.raises(ImproveError, match="correct at least"):
        improve_from_corrections(catalog)


def test_the_command_checks_installs_and_reverts(catalog, capsys):
    correct_all(catalog, "happy", "happy")
    parser = argparse.ArgumentParser(prog="albumsorter")
    improve_cli.add_commands(parser.add_subparsers())

    def run(*argv: str) -> int:
        args = parser.parse_args(["improve", "--catalog", str(catalog.path), *argv])
        return args.func(args)

    assert run("--check-only") == 0
    assert "held-out corrections" in capsys.readouterr().out and not personal_head_path().exists()
    assert run() == 0
    assert "installed" in capsys.readouterr().out and personal_head_path().exists()
    assert run("--revert") == 0
    assert "reverted" in capsys.readouterr().out and not personal_head_path().exists()


def test_replay_faces_join_the_corrections():
    """The replay sample (features of the faces the shipped head learnt from) is mixed in when present."""
    import numpy as np

    from albumsorter.core.expression_head import LinearHead

    names = ("cnn:happy", "cnn:sad")
    head = LinearHead(names, ("happy", "sad"), np.array([[1.0, 0.0], [0.0, 1.0]]), np.zeros(2), np.zeros(2), np.ones(2))
    current = ExpressionHead("cnn-x", (head,))
    rows = [{"cnn:happy": -0.1, "cnn:sad": -3.0}, {"cnn:happy": -3.0, "cnn:sad": -0.1}]
    replay = (list(names), np.array([[-0.2, -2.5], [-2.5, -0.2], [np.nan, -1.0]] * 4), ["happy", "sad", "sad"] * 4)
    tuned, used = fine_tune(current, rows, ["happy", "sad"], replay)
    assert used == 2 * 3, "at most 3 replay faces a correction, only those with every feature"
    assert tuned.name == "personal" and tuned.heads[0].classes == ("happy", "sad")
