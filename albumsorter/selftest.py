"""`albumsorter --self-test`: prove an installation (a source checkout or a packaged build) works.

Offscreen and in a throw-away folder, it copies the bundled sample photos (resources/samples/), indexes
them with the real pipeline (MediaPipe face detection, the LiteRT expression model, SQLite, Pillow and
pillow-heif decoding), checks that the expected number of faces is found in each photo and that every face
got 8 class probabilities, then builds and closes the main window to prove the Qt libraries and plugins
are there. Prints a short report; exit status 0 when everything passed, 1 otherwise.

It never touches the user's catalogs, settings or thumbnail cache: the catalog, the state file
(ALBUMSORTER_STATE) and the XDG folders point into the temporary folder while it runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from albumsorter.core.scanning import PHOTO_EXTENSIONS

EXIT_PASS, EXIT_FAIL = 0, 1


class _Report:
    """Collects lines and failures; prints as it goes (stdout can be None in a windowed Windows build)."""

    def __init__(self, output: Path | None = None) -> None:
        self.lines: list[str] = []
        self.failures: list[str] = []
        self.warnings: list[str] = []
        self.output = output

    def line(self, text: str = "") -> None:
        self.lines.append(text)
        if sys.stdout is not None:
            try:
                print(text, flush=True)
            except (OSError, ValueError, UnicodeEncodeError):
                pass

    def fail(self, text: str) -> None:
        self.failures.append(text)
        self.line(f"  FAIL: {text}")

    def warn(self, text: str) -> None:
        self.warnings.append(text)
        self.line(f"  note: {text}")

    def save(self) -> None:
        if self.output:
            self.output.parent.mkdir(parents=True, exist_ok=True)
            self.output.write_text("\n".join(self.lines) + "\n", encoding="utf-8")


@contextlib.contextmanager
def _isolated_env(tmp: Path):
    """Point every place the app writes to (state, data, cache, config) into `tmp`; restore afterwards."""
    overrides = {
        "ALBUMSORTER_STATE": str(tmp / "state" / "state.json"),
        "XDG_CONFIG_HOME": str(tmp / "xdg" / "config"),
        "XDG_CACHE_HOME": str(tmp / "xdg" / "cache"),
        "XDG_DATA_HOME": str(tmp / "xdg" / "data"),
    }
    if not os.environ.get("QT_QPA_PLATFORM"):
        overrides["QT_QPA_PLATFORM"] = "offscreen"
    saved = {k: os.environ.get(k) for k in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="albumsorter --self-test", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--samples",
        type=Path,
        metavar="FOLDER",
        help="photos to index instead of the bundled samples (expected.json in it, if any, gives the face counts)",
    )
    p.add_argument("--workers", type=int, default=2, metavar="N", help="indexing threads (default 2)")
    p.add_argument("--no-gui", action="store_true", help="skip the window check")
    p.add_argument(
        "--strict-labels",
        action="store_true",
        help="also fail when a face expected to smile is not classified happy (for release models)",
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (catalog included) and print where it is")
    p.add_argument("--output", type=Path, metavar="FILE", help="also write the report to FILE")
    return p.parse_args(argv)


def _header(rep: _Report) -> None:
    from albumsorter import __version__
    from albumsorter.core.resources import app_root, models_dir

    frozen = "yes (PyInstaller)" if getattr(sys, "frozen", False) else "no (source)"
    rep.line(f"AlbumSorter {__version__} self-test")
    rep.line(f"  Packaged:  {frozen}; Python {platform.python_version()} on {platform.system()} {platform.machine()}")
    rep.line(f"  App root:  {app_root()}")
    rep.line(f"  Models:    {models_dir()}")


def _copy_samples(src: Path, dst: Path) -> dict[str, dict]:
    dst.mkdir(parents=True)
    expected_file = src / "expected.json"
    expected = json.loads(expected_file.read_text(encoding="utf-8")) if expected_file.is_file() else {}
    for f in sorted(src.iterdir()):
        if f.is_file() and f.suffix.lower() in PHOTO_EXTENSIONS:
            shutil.copy2(f, dst / f.name)
            expected.setdefault(f.name, {})
    return expected


def _check_index(rep: _Report, args: argparse.Namespace, photos: Path, expected: dict[str, dict], catalog_path: Path) -> None:
    from albumsorter.core.catalog import Catalog
    from albumsorter.core.classes import CLASSES_8
    from albumsorter.core.pipeline import Indexer, IndexOptions

    t0 = time.perf_counter()
    catalog = Catalog(catalog_path)
    try:
        try:
            indexer = Indexer(catalog, IndexOptions(workers=max(1, args.workers)))
        except Exception as exc:  # ModelError, DetectorError, a missing native library...
            rep.fail(f"models cannot be loaded: {type(exc).__name__}: {exc}")
            return
        load_s = time.perf_counter() - t0
        model_id = next(spec.model_id for spec in indexer.specs if spec.kind == "expression")
        summary = indexer.run(photos)
        rep.line(f"  Expression model: {model_id} (models loaded in {load_s:.1f} s)")
        if indexer.card.id.startswith("dev"):
            rep.warn("a development stand-in expression model: its labels mean nothing")
        rep.line(f"  Indexed:   {summary.indexed} photos, {summary.faces_found} faces in {summary.elapsed:.1f} s")
        for path, reason in summary.errors:
            rep.fail(f"{Path(path).name} could not be read: {reason}")
        records = {Path(r.path).name: r for r in catalog.query(with_faces=True)}
        width = max((len(n) for n in expected), default=10)
        for name in sorted(expected):
            want = expected[name]
            rec = records.get(name)
            if rec is None:
                rep.fail(f"{name} is not in the catalog")
                continue
            if rec.status != "ok":
                rep.fail(f"{name}: status {rec.status} ({rec.error})")
                continue
            labels = ", ".join(f"{f.predicted_label} {max(f.probabilities.values()):.2f}" for f in rec.faces)
            n = len(rec.faces)
            want_n = want.get("faces")
            rep.line(
                f"    {name:<{width}}  {n} face{'s' if n != 1 else ' '}"
                + (f" (expected {want_n})" if want_n is not None else "")
                + (f"  {labels}" if labels else "")
            )
            if want_n is not None and n != want_n:
                rep.fail(f"{name}: {n} faces found, {want_n} expected")
            for face in rec.faces:
                probs = face.probabilities
                values = [probs.get(c) for c in CLASSES_8]
                if face.model_id != model_id or face.predicted_label not in CLASSES_8:
                    rep.fail(f"{name}: face {face.id} not classified (model {face.model_id}, label {face.predicted_label})")
                elif len(probs) != 8 or any(v is None or not 0.0 <= v <= 1.0 or math.isnan(v) for v in values):
                    rep.fail(f"{name}: face {face.id} does not have 8 probabilities: {probs}")
                elif abs(sum(values) - 1.0) > 0.02:
                    rep.fail(f"{name}: face {face.id} probabilities sum to {sum(values):.3f}, not 1")
            if any("quality" not in f.results for f in rec.faces):
                rep.fail(f"{name}: the eyes / sharpness scorer (Face Landmarker) did not run on every face")
            smiling = want.get("smiling", 0)
            happy = sum(1 for f in rec.faces if f.predicted_label == "happy")
            if smiling and happy < smiling:
                msg = f"{name}: {happy} of the {smiling} smiling faces classified happy"
                rep.fail(msg) if args.strict_labels else rep.warn(msg)
        if not expected:
            rep.fail("no sample photos to index")
        _check_people_and_sidecars(rep, photos, records)
    finally:
        catalog.close()


def _check_people_and_sidecars(rep: _Report, photos: Path, records: dict) -> None:
    """The native parts beyond indexing load and work here: dlib's face embedding (People) and exiv2 (XMP sidecars)."""
    from albumsorter.core.people.background import PhotoJob, embed_photo
    from albumsorter.core.people.scorer import IdentityScorer
    from albumsorter.core.xmp import SidecarInfo, SidecarStyle, read_sidecar, write_sidecar

    rec = max(records.values(), key=lambda r: len(r.faces))
    job = PhotoJob(rec.id, rec.path, tuple(f.to_face_result() for f in rec.faces))
    embedded = embed_photo(job, IdentityScorer())
    vectors = [r for r in embedded.results if r is not None and r.data.get("vector")]
    if embedded.error or not vectors:
        rep.fail(f"People: no face embedding for {Path(rec.path).name} ({embedded.error or 'no vector'})")
    else:
        rep.line(f"  People:    {len(vectors)} face embeddings from {Path(rec.path).name}")
    photo = photos / Path(rec.path).name
    write_sidecar(photo, SidecarInfo(rating=3, picked=True), SidecarStyle.DARKTABLE)
    state = read_sidecar(photo)
    if state is None or state.rating != 3 or not state.picked:
        rep.fail(f"XMP sidecars: wrote rating 3 + picked, read back {state}")
    else:
        rep.line(f"  Sidecars:  {state.path.name} written and read back (exiv2)")


def _check_gui(rep: _Report, tmp: Path) -> None:
    from PySide6.QtCore import qInstallMessageHandler

    try:
        from albumsorter._qt.app import create_application
    except ModuleNotFoundError as exc:
        if exc.name not in ("albumsorter._qt", "albumsorter._qt.app"):
            raise  # a library missing from the bundle: a failure, not a skip
        create_application = None

    def quiet(mode, context, message: str) -> None:  # the offscreen platform's harmless chatter
        if "propagateSizeHints" not in message and sys.stderr is not None:
            sys.stderr.write(message + "\n")

    previous = qInstallMessageHandler(quiet)
    try:
        _build_window(rep, tmp, create_application)
    finally:
        qInstallMessageHandler(previous)


def _build_window(rep: _Report, tmp: Path, create_application) -> None:
    import PySide6
    from PySide6.QtCore import qVersion
    from PySide6.QtGui import QImageReader
    from PySide6.QtWidgets import QApplication

    app = create_application() if create_application else (QApplication.instance() or QApplication([sys.argv[0]]))
    formats = {bytes(f).decode() for f in QImageReader.supportedImageFormats()}
    missing = {"jpeg", "png"} - formats
    if missing:
        rep.fail(f"Qt image plugins missing: {', '.join(sorted(missing))} (have {', '.join(sorted(formats))})")
    try:
        from albumsorter._qt.main_window import MainWindow
    except ModuleNotFoundError as exc:
        if exc.name not in ("albumsorter._qt", "albumsorter._qt.main_window"):
            raise
        window_note = "no main window in this version"
    else:
        try:
            window = MainWindow(thumbnail_cache_dir=tmp / "thumbnails")
        except TypeError:  # an older or newer signature: the defaults are fine, XDG points into tmp
            window = MainWindow()
        window.resize(1000, 700)
        window.show()
        app.processEvents()
        window.close()
        app.processEvents()
        window.deleteLater()
        app.processEvents()
        window_note = "main window built, shown and closed"
    rep.line(f"  GUI:       PySide6 {PySide6.__version__} / Qt {qVersion()}, platform {app.platformName()}; {window_note}")


def run_self_test(argv: list[str]) -> int:
    args = _parse(argv)
    rep = _Report(args.output)
    from albumsorter.core.resources import resources_dir

    samples = args.samples or resources_dir() / "samples"
    tmp = Path(tempfile.mkdtemp(prefix="albumsorter-selftest-"))
    started = time.perf_counter()
    try:
        with _isolated_env(tmp):
            _header(rep)
            if not samples.is_dir():
                rep.fail(f"sample folder not found: {samples}")
            else:
                photos = tmp / "photos"
                expected = _copy_samples(samples, photos)
                rep.line(f"  Samples:   {len(expected)} photos from {samples}")
                _check_index(rep, args, photos, expected, tmp / "cat.sqlite")
            if not args.no_gui:
                _check_gui(rep, tmp)
    except Exception as exc:  # report, never crash: a broken bundle shows up here
        rep.fail(f"{type(exc).__name__}: {exc}")
        for text in traceback.format_exc().rstrip().splitlines():
            rep.line("    " + text)
    finally:
        if args.keep:
            rep.line(f"  Kept:      {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    verdict = "PASS" if not rep.failures else f"FAIL ({len(rep.failures)} problem{'s' if len(rep.failures) > 1 else ''})"
    rep.line(f"Self-test: {verdict} in {time.perf_counter() - started:.1f} s")
    rep.save()
    return EXIT_PASS if not rep.failures else EXIT_FAIL
