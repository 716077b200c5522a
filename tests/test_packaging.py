"""Packaging: the self-test (from source and from a PyInstaller build), the bundled samples, the bundle rules.

The slow test builds the Linux bundle with `packaging/build` into a temporary folder (a few minutes on 2 cores) and
runs the built app's --self-test; it skips when PyInstaller is not installed (pip install -e '.[package]').
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import models_available

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "resources" / "samples"
sys.path.insert(0, str(REPO / "packaging"))
import bundle_rules as rules  # noqa: E402

BUILD_TIMEOUT_S = 900


def _require_models() -> None:
    ok, why = models_available()
    if not ok:
        pytest.skip(why)


def _run(cmd: list[str], timeout: float, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env or dict(os.environ))


# --- the self-test from source -----------------------------------------------------------------------------------
def test_self_test_from_source_passes(tmp_path):
    _require_models()
    state_dirs = [Path(os.environ[k]) for k in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")]
    state_file = Path(os.environ["ALBUMSORTER_STATE"])
    report = tmp_path / "report.txt"
    res = _run([sys.executable, "-m", "albumsorter", "--self-test", "--output", str(report)], timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert "Self-test: PASS" in out
    assert "astronaut.jpg  1 face" in out and "group.jpg      3 faces" in out and "coffee.heic    0 faces" in out
    assert "main window built" in out or "no main window" in out
    assert report.read_text().strip().splitlines()[-1].startswith("Self-test: PASS")
    # nothing written where the (test-isolated) user's state, catalogs and caches live
    assert not state_file.exists()
    for d in state_dirs:
        assert not d.exists() or not any(d.rglob("*")), f"self-test wrote into {d}"


def test_self_test_fails_when_expectations_are_not_met(tmp_path):
    """The self-test is not a rubber stamp: a wrong face count and an unreadable photo make it exit 1."""
    _require_models()
    samples = tmp_path / "samples"
    samples.mkdir()
    (samples / "astronaut.jpg").write_bytes((SAMPLES / "astronaut.jpg").read_bytes())
    (samples / "broken.jpg").write_bytes(b"not a jpeg at all")
    (samples / "expected.json").write_text(json.dumps({"astronaut.jpg": {"faces": 2}}))
    res = _run([sys.executable, "-m", "albumsorter", "--self-test", "--no-gui", "--samples", str(samples)], timeout=300)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "astronaut.jpg: 1 faces found, 2 expected" in res.stdout
    assert "broken.jpg" in res.stdout and "FAIL" in res.stdout


def test_self_test_reports_missing_models(tmp_path):
    env = dict(os.environ, ALBUMSORTER_MODELS=str(tmp_path / "no-models"))
    res = _run([sys.executable, "-m", "albumsorter", "--self-test", "--no-gui"], timeout=300, env=env)
    assert res.returncode == 1
    assert "models cannot be loaded" in res.stdout


# --- bundled samples ---------------------------------------------------------------------------------------------
def test_samples_are_small_documented_and_expected():
    photos = sorted(p for p in SAMPLES.iterdir() if p.suffix.lower() in (".jpg", ".png", ".heic"))
    assert 2 <= len(photos) <= 4
    assert sum(p.stat().st_size for p in photos) < 400_000, "keep the samples a few hundred KB"
    expected = json.loads((SAMPLES / "expected.json").read_text())
    assert set(expected) == {p.name for p in photos}
    assert any(e.get("smiling") for e in expected.values()), "one sample has a smiling face"
    assert max(e["faces"] for e in expected.values()) >= 2, "one sample has several faces"
    readme = (SAMPLES / "README.md").read_text()
    for p in photos:
        assert p.name in readme, f"{p.name}: provenance and licence belong in resources/samples/README.md"
    assert "public domain" in readme.lower() and "CC0" in readme


def test_desktop_entry_and_icons():
    desktop = (REPO / "resources" / "albumsorter.desktop").read_text()
    assert desktop.startswith("[Desktop Entry]") and "Exec=AlbumSorter" in desktop and "Icon=albumsorter" in desktop
    for name in ("albumsorter.png", "albumsorter.ico", "albumsorter.icns"):
        assert (REPO / "resources" / "icons" / name).stat().st_size > 1000


# --- bundle rules --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "dest, dropped",
    [
        ("PySide6/Qt/translations/qtbase_de.qm", True),
        ("PySide6/Qt/plugins/platforms/libqxcb.so", False),
        ("PySide6/Qt/plugins/platforms/libqoffscreen.so", False),
        ("PySide6/Qt/plugins/platforms/libqvnc.so", True),
        ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", True),
        ("PySide6/Qt/plugins/imageformats/libqjpeg.so", False),
        ("PySide6/Qt/plugins/sqldrivers/libqsqlite.so", True),
        ("PySide6/plugins/imageformats/qjpeg.dll", False),
        ("PySide6/plugins/sqldrivers/qsqlite.dll", True),
        ("cv2/qt/plugins/platforms/libqxcb.so", True),
        ("tensorflow/python/_pywrap_tensorflow_internal.so", True),
        ("matplotlib/mpl-data/matplotlibrc", True),
        ("ai_edge_litert/libLiteRtWebGpuAccelerator.so", True),
        ("ai_edge_litert/_pywrap_litert_interpreter_wrapper.so", False),
        ("models/expression/model.tflite", False),
    ],
)
def test_bundle_rules_drop(dest, dropped):
    assert rules.dropped(dest) is dropped


def test_training_stack_is_excluded():
    for name in ("tensorflow", "keras", "jax", "torch", "matplotlib", "scipy", "training"):
        assert name in rules.EXCLUDED_MODULES


def test_cv2_config_fix():
    text = (
        'if sys.platform.startswith("linux") and ci_and_not_headless:\n    os.environ["QT_QPA_PLATFORM_PLUGIN_PATH"] = x\n'
        'if sys.platform.startswith("linux") and ci_and_not_headless:\n    os.environ["QT_QPA_FONTDIR"] = y\n'
    )
    fixed = rules.fix_cv2_config(text)
    assert fixed is not None and "ci_and_not_headless:" not in fixed and fixed.count("if False:") == 2
    assert rules.fix_cv2_config("BINARIES_PATHS = []\n") is None


def test_model_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="model files missing"):
        rules.model_files(tmp_path)
    (tmp_path / "face_detector").mkdir()
    (tmp_path / "face_detector" / "blaze_face_full_range.tflite").write_bytes(b"x")
    (tmp_path / "expression").mkdir()
    (tmp_path / "expression" / "model.json").write_text(json.dumps({"file": "m.tflite"}))
    with pytest.raises(FileNotFoundError, match="face_landmarker.task"):
        rules.model_files(tmp_path)
    for name in (
        "face_landmarker/face_landmarker.task",
        "face_landmarker/eye_calibration.json",
        "face_embedding/README.md",
        "face_embedding/dlib_face_recognition_resnet_model_v1.dat",
        "face_embedding/shape_predictor_5_face_landmarks.dat",
    ):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    with pytest.raises(FileNotFoundError, match="m.tflite"):
        rules.model_files(tmp_path)
    (tmp_path / "expression" / "m.tflite").write_bytes(b"x")
    (tmp_path / "expression" / "notes.txt").write_text("metrics")
    dests = [d for _, d in rules.model_files(tmp_path)]
    assert dests == ["models/face_detector/blaze_face_full_range.tflite", "models/expression/model.json",
                     "models/expression/m.tflite", "models/expression/notes.txt",
                     "models/face_landmarker/face_landmarker.task", "models/face_landmarker/eye_calibration.json",
                     "models/face_embedding/dlib_face_recognition_resnet_model_v1.dat",
                     "models/face_embedding/shape_predictor_5_face_landmarks.dat", "models/face_embedding/README.md"]  # fmt: skip


def test_platform_metadata():
    info = rules.windows_version_info("0.1.0", "AlbumSorter")
    assert "filevers=(0, 1, 0, 0)" in info and "ProductVersion', '0.1.0'" in info
    plist = rules.macos_info_plist("0.1.0", "AlbumSorter")
    assert plist["CFBundleShortVersionString"] == "0.1.0" and plist["NSHighResolutionCapable"] is True


def test_build_script_help():
    res = _run([sys.executable, str(REPO / "packaging" / "build.py"), "--help"], timeout=60)
    assert res.returncode == 0 and "--self-test" in res.stdout
    assert os.access(REPO / "packaging" / "build", os.X_OK)


# --- the real build ---------------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="CI builds the Linux bundle; Windows/macOS are built by hand")
def test_build_bundle_and_run_its_self_test(tmp_path_factory):
    if importlib.util.find_spec("PyInstaller") is None:
        pytest.skip("PyInstaller is not installed (pip install -e '.[package]'): the bundle is not built here")
    _require_models()
    out = tmp_path_factory.mktemp("bundle")
    env = dict(
        os.environ,
        ALBUMSORTER_DIST_DIR=str(out / "dist"),
        ALBUMSORTER_BUILD_DIR=str(out / "build"),
        ALBUMSORTER_ARCHIVE_LEVEL="1",
    )  # a faster archive: CI time matters more than its size here
    res = _run([sys.executable, str(REPO / "packaging" / "build.py")], timeout=BUILD_TIMEOUT_S, env=env)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    bundle = out / "dist" / "AlbumSorter"
    inside = bundle / "_internal"
    for forbidden in rules.FORBIDDEN_IN_BUNDLE:
        assert not (inside / forbidden).exists(), f"{forbidden} must not be bundled"
    assert (inside / "models" / "expression" / "model.json").is_file()
    assert (bundle / "albumsorter.desktop").is_file() and (bundle / "albumsorter.png").is_file()
    assert list((out / "dist").glob("AlbumSorter-*-linux-*.tar.gz"))
    assert "unpacked" in (out / "dist" / "AlbumSorter-size.txt").read_text()

    run_env = {k: v for k, v in os.environ.items() if k != "ALBUMSORTER_MODELS"}  # the bundled models
    res = subprocess.run(
        [str(bundle / "AlbumSorter"), "--self-test"], capture_output=True, text=True, timeout=300, env=run_env, cwd=out
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Packaged:  yes (PyInstaller)" in res.stdout and "Self-test: PASS" in res.stdout
    # the command line works from the bundle too
    res = subprocess.run([str(bundle / "AlbumSorter"), "--version"], capture_output=True, text=True, timeout=120, env=run_env)
    assert res.returncode == 0 and "AlbumSorter" in res.stdout
