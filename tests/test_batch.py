"""The batch job (albumsorter batch / import-batch) on a small local Ray of 2 CPUs, and the runtime selection
(LiteRT on the CPU, ONNX Runtime on an accelerator) that it and the desktop share.

The photos are the repository's own samples (resources/samples) plus, where ../shared is present, two photos of
../shared/photos; real models, a real catalog file, real Parquet output.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from albumsorter.core.catalog import PICK_PICKED, Catalog, PhotoFilter
from albumsorter.core.classify import ExpressionClassifier, ModelCard, ModelError
from albumsorter.core.json_records import photo_to_json
from albumsorter.core.pipeline import Indexer, IndexOptions
from albumsorter.core.resources import detector_model_path, expression_model_card_path, resources_dir
from albumsorter.core.runtime import CPU_PROVIDER, LITERT, ONNXRUNTIME, DeviceError, RuntimePlan, choose_runtime, describe_runtime
from tests.conftest import REPO, SHARED_PHOTOS

pytestmark = pytest.mark.usefixtures("require_models")

ray = pytest.importorskip("ray", reason="the batch job needs the cluster extra: pip install -e '.[cluster]'")
pytest.importorskip("pyarrow")
pytest.importorskip("onnxruntime")

from albumsorter.batch.importer import import_batch  # noqa: E402
from albumsorter.batch.job import BatchOptions, run_batch, start_ray  # noqa: E402
from albumsorter.batch.rows import json_schema, latest_rows  # noqa: E402

SHARED_EXTRA = ("ageitgey__examples_two_people.jpg", "linzaer__imgs_3.jpg")
BROKEN = "broken.jpg"


@pytest.fixture(scope="module")
def local_ray():
    """One small local Ray (2 CPUs, loopback only) for the module, as `albumsorter batch` starts it."""
    start_ray(None, workers=2, object_store_mb=256)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("batch") / "photos"
    folder.mkdir()
    for name in ("astronaut.jpg", "group.jpg", "coffee.heic"):
        shutil.copy2(resources_dir() / "samples" / name, folder / name)
    if SHARED_PHOTOS.exists():
        for name in SHARED_EXTRA:
            shutil.copy2(SHARED_PHOTOS / name, folder / name)
    (folder / BROKEN).write_bytes(b"\xff\xd8\xff\xe0 this JPEG stops here")
    return folder


@pytest.fixture(scope="module")
def first_run(local_ray, photos, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "parquet"
    summary = run_batch([str(photos)], BatchOptions(output=str(out), workers=2, device="auto"))
    return out, summary


def catalog_json(catalog: Catalog) -> dict[str, dict]:
    """`list --json` and `list --json --errors` together: path -> object."""
    photos = catalog.query(PhotoFilter(), with_faces=True) + catalog.query(PhotoFilter(errors=True), with_faces=True)
    return {p.path: photo_to_json(p) for p in photos}


def index_json(folder: Path, catalog_path: Path) -> dict[str, dict]:
    with Catalog(catalog_path) as catalog:
        Indexer(catalog, IndexOptions(workers=1)).run(folder)
        return catalog_json(catalog)


def comparable(item: dict) -> dict:
    """A `list --json` object without what is the catalog's own (face ids, the user's pick)."""
    item = {k: v for k, v in item.items() if k != "pick"}
    item["faces"] = [{k: v for k, v in f.items() if k != "id"} for f in item["faces"]]
    return item


def test_batch_rows_are_what_index_and_list_json_give(first_run, photos, tmp_path):
    out, summary = first_run
    expected_photos = 4 if not SHARED_PHOTOS.exists() else 6
    assert summary.photos == expected_photos and summary.analysed == expected_photos - 1 and summary.skipped == 0
    rows = {r["path"]: r for r in latest_rows(str(out)).to_pylist()}
    assert set(rows) == {str(p) for p in photos.iterdir()}

    indexed = index_json(photos, tmp_path / "index.sqlite")
    assert set(indexed) == set(rows)
    for path, item in indexed.items():
        row = rows[path]
        # Exactly the fields and names of `list --json`, with the same values: one implementation of the analysis.
        assert json_schema().names == list(item)
        assert comparable({k: row[k] for k in item}) == comparable(item), path
    group = rows[str(photos / "group.jpg")]
    assert group["face_count"] == 3 and {f["label"] for f in group["faces"]} <= set(group["faces"][0]["probabilities"])
    assert summary.faces == sum(r["face_count"] for r in rows.values()) > 0


def test_a_broken_photo_is_a_row_with_its_reason(first_run, photos):
    out, summary = first_run
    rows = {r["path"]: r for r in latest_rows(str(out)).to_pylist()}
    broken = rows[str(photos / BROKEN)]
    assert broken["status"] == "error" and broken["faces"] == [] and broken["face_count"] == 0
    assert "image" in broken["error"]  # the decoder's reason, e.g. "unreadable image: Truncated File Read"
    assert summary.errors == [(str(photos / BROKEN), broken["error"])]


def test_rerun_skips_unchanged_photos_without_starting_ray(first_run, photos, monkeypatch):
    out, _ = first_run
    files_before = sorted(p.name for p in out.iterdir())
    import albumsorter.batch.job as job

    monkeypatch.setattr(job, "start_ray", lambda *a, **k: pytest.fail("Ray started for an unchanged folder"))
    summary = run_batch([str(photos)], BatchOptions(output=str(out), workers=2))
    assert summary.analysed == 0 and summary.errors == [] and summary.skipped == summary.photos
    assert sorted(p.name for p in out.iterdir()) == files_before


def test_incremental_run_analyses_only_new_content(first_run, photos, tmp_path):
    """A new photo is analysed; a touched but identical one is hashed by its actor and skipped; both sources kinds
    (a folder and a list file naming a photo) work."""
    out = tmp_path / "parquet"
    shutil.copytree(first_run[0], out)  # the other tests keep the first run's output as it was
    work = tmp_path / "more"
    work.mkdir()
    shutil.copy2(photos / "astronaut.jpg", work / "astronaut-copy.jpg")
    shutil.copy2(photos / "coffee.heic", work / "coffee-copy.heic")
    coffee_uri = (work / "coffee-copy.heic").as_uri()  # read through pyarrow's filesystems, as s3://… would be
    listing = tmp_path / "photos.txt"
    listing.write_text(f"# photos\n{photos / 'group.jpg'}\n\nmore/astronaut-copy.jpg\n{coffee_uri}\n")
    before = (photos / "group.jpg").stat()
    os.utime(photos / "group.jpg")  # same bytes, new time
    try:
        summary = run_batch([str(listing)], BatchOptions(output=str(out), workers=1))  # one actor: 3 photos
    finally:
        os.utime(photos / "group.jpg", ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (summary.photos, summary.analysed, summary.skipped) == (3, 2, 1)
    rows = {r["path"]: r for r in latest_rows(str(out)).to_pylist()}
    assert rows[str(work / "astronaut-copy.jpg")]["faces"][0]["label"] == rows[str(photos / "astronaut.jpg")]["faces"][0]["label"]
    coffee, original = rows[coffee_uri], rows[str(photos / "coffee.heic")]
    assert coffee["status"] == "ok" and (coffee["content_hash"], coffee["width"]) == (original["content_hash"], original["width"])


def test_sources_folders_lists_and_uris(photos, tmp_path):
    from albumsorter.batch.sources import SourceError, expand_sources

    uris = expand_sources([photos.as_uri() + "/"])
    assert [f.path for f in uris] == sorted(p.as_uri() for p in photos.iterdir())
    assert all(f.size > 0 for f in uris)
    listing = tmp_path / "list.txt"
    listing.write_text(f"{photos / 'group.jpg'}\n{photos.as_uri()}/astronaut.jpg\n{photos / 'group.jpg'}\n")
    assert [f.path for f in expand_sources([str(listing)])] == [str(photos / "group.jpg"), photos.as_uri() + "/astronaut.jpg"]
    with pytest.raises(SourceError, match="not found"):
        expand_sources([str(tmp_path / "absent")])


def test_import_batch_keeps_picks_and_corrections_and_adds_no_duplicates(first_run, photos, tmp_path):
    out, _ = first_run
    catalog_path = tmp_path / "catalog.sqlite"
    index_json(photos, catalog_path)
    with Catalog(catalog_path) as catalog:
        assert catalog.set_pick_by_path([str(photos / "group.jpg")], PICK_PICKED) == []
        face = catalog.query(PhotoFilter(name_contains="astronaut.jpg"), with_faces=True)[0].faces[0]
        catalog.set_correction(face.id, "sad")
        count = len(catalog_json(catalog))
        summary = import_batch(str(out), catalog)
        assert summary.added == 0 and summary.unchanged == summary.rows - summary.errors
        assert len(catalog_json(catalog)) == count
        group = catalog.query(PhotoFilter(name_contains="group.jpg"))[0]
        assert group.pick == PICK_PICKED
        astronaut = catalog.query(PhotoFilter(name_contains="astronaut.jpg"), with_faces=True)[0]
        assert astronaut.faces[0].label == "sad" and astronaut.faces[0].corrected

    # Into an empty catalog: the same photos and faces as indexing, through the command line.
    from albumsorter.cli import main

    fresh = tmp_path / "fresh.sqlite"
    assert main(["import-batch", str(out), "--catalog", str(fresh), "-q"]) == 0
    with Catalog(fresh) as catalog:
        imported = {path: comparable(item) for path, item in catalog_json(catalog).items()}
    indexed = {k: comparable(v) for k, v in index_json(photos, tmp_path / "again.sqlite").items()}
    assert {k: imported[k] for k in indexed} == indexed


def test_batch_on_gpu_without_one_says_why_before_starting_anything(tmp_path, capsys):
    from albumsorter.cli import main

    code = main(["batch", str(resources_dir() / "samples"), "--output", str(tmp_path / "out"), "--device", "gpu"])
    assert code == 4 and "device gpu" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# --- the runtime: LiteRT on the CPU, ONNX Runtime on an accelerator ---------------------------------------------------------


CUDA, DML, COREML = "CUDAExecutionProvider", "DmlExecutionProvider", "CoreMLExecutionProvider"


@pytest.mark.parametrize(
    ("device", "providers", "platform", "expected"),
    [
        ("auto", (CUDA, CPU_PROVIDER), "linux", RuntimePlan(ONNXRUNTIME, (CUDA, CPU_PROVIDER))),
        ("auto", ("AzureExecutionProvider", CPU_PROVIDER), "linux", RuntimePlan(LITERT)),
        ("auto", None, "linux", RuntimePlan(LITERT)),
        ("auto", (DML, CPU_PROVIDER), "win32", RuntimePlan(ONNXRUNTIME, (DML, CPU_PROVIDER))),
        ("auto", (DML, CPU_PROVIDER), "linux", RuntimePlan(LITERT)),
        ("auto", (COREML, CPU_PROVIDER), "darwin", RuntimePlan(ONNXRUNTIME, (COREML, CPU_PROVIDER))),
        ("cpu", (CUDA, CPU_PROVIDER), "linux", RuntimePlan(LITERT)),
        ("gpu", (CUDA, CPU_PROVIDER), "linux", RuntimePlan(ONNXRUNTIME, (CUDA, CPU_PROVIDER))),
    ],
)
def test_runtime_choice(device, providers, platform, expected):
    assert choose_runtime(device, providers, True, platform) == expected


def test_gpu_without_an_accelerator_is_a_clear_error():
    with pytest.raises(DeviceError, match="not installed.*albumsorter\\[cluster"):
        choose_runtime("gpu", None, True, "linux")
    with pytest.raises(DeviceError, match="no accelerator.*CPUExecutionProvider"):
        choose_runtime("gpu", (CPU_PROVIDER,), True, "linux")
    with pytest.raises(DeviceError, match="export_onnx"):
        choose_runtime("gpu", (CUDA, CPU_PROVIDER), False, "linux")
    assert choose_runtime("auto", (CUDA, CPU_PROVIDER), False, "linux") == RuntimePlan(LITERT)
    card = ModelCard.load(expression_model_card_path())
    with pytest.raises(ModelError, match="device gpu"):
        ExpressionClassifier(card, device="gpu")  # this machine has no GPU
    assert describe_runtime() == "LiteRT · CPU" == ExpressionClassifier(card).runtime.label


def test_a_listed_provider_that_does_not_start_falls_back_to_litert(monkeypatch):
    """onnxruntime-gpu lists CUDA even without a driver; the session's own providers decide."""
    import albumsorter.core.runtime as runtime

    monkeypatch.setattr(runtime, "available_providers", lambda: (CUDA, CPU_PROVIDER))
    card = ModelCard.load(expression_model_card_path())
    assert ExpressionClassifier(card, device="auto").runtime == RuntimePlan(LITERT)
    with pytest.raises(ModelError, match="could not start CUDA"):
        ExpressionClassifier(card, device="gpu")


def test_a_stale_onnx_copy_is_not_used(tmp_path):
    card = ModelCard.load(expression_model_card_path())
    shutil.copy2(card.model_path.with_suffix(".onnx"), tmp_path / "model.onnx")
    shutil.copy2(detector_model_path(), tmp_path / "model.tflite")  # another .tflite than the ONNX was made from
    with pytest.raises(DeviceError, match="made from another"):
        from albumsorter.core.runtime import make_interpreter

        make_interpreter(tmp_path / "model.tflite", 1, RuntimePlan(ONNXRUNTIME, (CPU_PROVIDER,)))


def test_onnx_and_litert_agree_on_real_faces():
    """The ONNX copy (run here on ONNX Runtime's CPU provider) gives LiteRT's probabilities on faces of real photos."""
    from albumsorter.core.analysis import load_scorer_specs
    from albumsorter.core.decoding import decode_file
    from albumsorter.core.detection import DetectionSettings, find_faces
    from albumsorter.core.faces import FaceDetector
    from albumsorter.core.preprocess import face_input

    card, _ = load_scorer_specs()
    settings = DetectionSettings()
    names = [resources_dir() / "samples" / n for n in ("astronaut.jpg", "group.jpg")]
    if SHARED_PHOTOS.exists():
        names += [SHARED_PHOTOS / n for n in ("linzaer__imgs_3.jpg", "serengil__tests_unit_dataset_selfie-many-people.jpg")]
    inputs = []
    detector = FaceDetector(detector_model_path(), settings.min_confidence)
    try:
        for path in names:
            photo = decode_file(path, settings.max_side)
            for f in find_faces(detector, photo.rgb, settings):
                inputs.append(face_input(photo.rgb, card.preprocessing, f.box, f.landmarks.right_eye, f.landmarks.left_eye))
    finally:
        detector.close()
    faces = np.stack(inputs)
    assert len(faces) >= 4
    litert = ExpressionClassifier(card, device="cpu")
    onnx = ExpressionClassifier(card, device=RuntimePlan(ONNXRUNTIME, (CPU_PROVIDER,)))
    assert (litert.runtime.label, onnx.runtime.label) == ("LiteRT · CPU", "ONNX Runtime · CPU")
    p_litert, p_onnx = litert.predict(faces), onnx.predict(faces)
    assert np.abs(p_litert - p_onnx).max() < 1e-3
    assert (p_litert.argmax(axis=1) == p_onnx.argmax(axis=1)).all()


# --- without the cluster extra ---------------------------------------------------------------------------------------------

_WITHOUT_EXTRA = """
import sys

class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("ray", "pyarrow", "onnxruntime"):
            raise ImportError(f"{name} is blocked")
        return None

sys.meta_path.insert(0, Blocked())
from albumsorter.cli import main
from albumsorter.core.classify import ExpressionClassifier
from albumsorter.core.resources import expression_model_card_path
from albumsorter.core.runtime import describe_runtime

print("classifier:", ExpressionClassifier.from_card(expression_model_card_path()).runtime.label, describe_runtime())
print("batch exit:", main(["batch", sys.argv[1], "--output", sys.argv[2]]))
print("import exit:", main(["import-batch", sys.argv[2], "--catalog", sys.argv[3]]))
"""


def test_the_app_runs_without_the_cluster_extra(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _WITHOUT_EXTRA,
            str(resources_dir() / "samples"),
            str(tmp_path / "out"),
            str(tmp_path / "c.sqlite"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "classifier: LiteRT · CPU LiteRT · CPU" in proc.stdout
    assert "batch exit: 2" in proc.stdout and "import exit: 2" in proc.stdout
    assert "pip install 'albumsorter[cluster]'" in proc.stderr


def test_help_lists_the_batch_commands():
    proc = subprocess.run(
        [sys.executable, "-m", "albumsorter.cli", "--help"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert "batch" in proc.stdout and "import-batch" in proc.stdout
