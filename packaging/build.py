"""Build the AlbumSorter bundle with PyInstaller: `packaging/build` (Linux, macOS) or `py packaging\\build.py` (Windows).

Produces, under the dist folder (default dist/, or --dist / $ALBUMSORTER_DIST_DIR):
  Linux    AlbumSorter/ (run AlbumSorter/AlbumSorter) with albumsorter.desktop, albumsorter.png and
           install-desktop-entry.sh inside, and AlbumSorter-<version>-linux-<arch>.tar.gz
  Windows  AlbumSorter/ (AlbumSorter.exe = window, albumsorter-cli.exe = command line), a .zip of it and, when Inno
           Setup's ISCC.exe is found, AlbumSorter-<version>-windows-<arch>-setup.exe
  macOS    AlbumSorter.app (Info.plist, icon; signed when ALBUMSORTER_MACOS_SIGN_IDENTITY is set, notarized when
           ALBUMSORTER_MACOS_NOTARY_PROFILE is set too) and AlbumSorter-<version>-macos-<arch>.dmg
plus AlbumSorter-size.txt (what takes the space). See packaging/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import bundle_rules as rules  # noqa: E402

APP = "AlbumSorter"
IS_WIN, IS_MAC = sys.platform == "win32", sys.platform == "darwin"
IS_LINUX = not IS_WIN and not IS_MAC
DEFAULT_OPENCV = "opencv-python-headless>=4.10,<6"
# Big libraries shipped with their symbols that `strip` shrinks safely (checked with the self-test). Everything else
# is left alone: stripping auditwheel-patched libraries (numpy.libs, opencv*.libs, pillow.libs) breaks them.
# zlib level of the .tar.gz / .zip: 6 for releases; the CI test uses 1 (about 3x faster, ~10 % bigger).
ARCHIVE_LEVEL = int(os.environ.get("ALBUMSORTER_ARCHIVE_LEVEL", "6"))
STRIP_ON_LINUX = ["ai_edge_litert/*.so"]


def log(msg: str) -> None:
    print(f"[build] {msg}", flush=True)


def version() -> str:
    return re.search(r'__version__\s*=\s*"([^"]+)"', (ROOT / "albumsorter" / "__init__.py").read_text()).group(1)


def arch() -> str:
    m = platform.machine().lower()
    return {"amd64": "x64", "x86_64": "x86_64" if not IS_WIN else "x64", "aarch64": "arm64"}.get(m, m)


def platform_tag() -> str:
    return f"{'windows' if IS_WIN else 'macos' if IS_MAC else 'linux'}-{arch()}"


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="packaging/build", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--dist",
        type=Path,
        default=Path(os.environ.get("ALBUMSORTER_DIST_DIR") or ROOT / "dist"),
        help="output folder (default dist/ or $ALBUMSORTER_DIST_DIR)",
    )
    p.add_argument(
        "--work",
        type=Path,
        default=None,
        help="PyInstaller's work folder (default build/ beside --dist's parent, or $ALBUMSORTER_BUILD_DIR)",
    )
    p.add_argument("--models", type=Path, default=None, help="models folder to bundle (default $ALBUMSORTER_MODELS or models/)")
    p.add_argument(
        "--opencv",
        choices=("auto", "headless", "installed"),
        default=os.environ.get("ALBUMSORTER_OPENCV", "auto"),
        help="headless: bundle opencv-python-headless (fetched once with pip into the work folder) instead of the "
        "installed opencv-contrib-python, ~150 MB smaller; auto (default): headless when pip can get it",
    )
    p.add_argument("--clean", action="store_true", help="empty PyInstaller's cache and work folder first")
    p.add_argument("--no-archive", action="store_true", help="skip the archive / installer / disk image")
    p.add_argument("--self-test", action="store_true", help="run the built app's --self-test at the end")
    p.add_argument(
        "--strict-labels",
        action="store_true",
        help="with --self-test: also require the smiling sample faces to be classified happy (release models)",
    )
    return p.parse_args(argv)


# --- steps ------------------------------------------------------------------------------------------------------
def check_environment(models: Path) -> None:
    try:
        import PyInstaller
    except ImportError:
        sys.exit("PyInstaller is not installed: pip install -e '.[package]'  (or pip install 'pyinstaller>=6.10,<7')")
    if not PyInstaller.__version__.startswith("6."):
        log(f"warning: PyInstaller {PyInstaller.__version__}; this spec is made for 6.x")
    try:
        files = rules.model_files(models)
    except FileNotFoundError as exc:
        sys.exit(f"cannot build: {exc}")
    log(
        f"PyInstaller {PyInstaller.__version__}, Python {platform.python_version()}, models from {models} "
        f"({', '.join(dest for _, dest in files)})"
    )


def opencv_overlay(mode: str, work_root: Path) -> Path | None:
    """A folder holding opencv-python-headless, to put first on PyInstaller's path; None to use the installed cv2."""
    if mode == "installed":
        return None
    spec = os.environ.get("ALBUMSORTER_OPENCV_HEADLESS", DEFAULT_OPENCV)
    target = work_root / "opencv-headless"
    stamp = target / ".albumsorter-spec"
    if stamp.is_file() and stamp.read_text() == spec and (target / "cv2").is_dir():
        return target
    shutil.rmtree(target, ignore_errors=True)
    log(f"fetching {spec} (once) into {target}")
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--only-binary=:all:",
        "--target",
        str(target),
        spec,
    ]
    if subprocess.run(cmd).returncode != 0 or not (target / "cv2").is_dir():
        shutil.rmtree(target, ignore_errors=True)
        if mode == "headless":
            sys.exit(f"cannot get {spec} with pip (offline?); use --opencv installed")
        log("warning: could not get headless OpenCV; bundling the installed opencv (bigger)")
        return None
    stamp.write_text(spec)
    return target


def run_pyinstaller(dist: Path, work: Path, models: Path, overlay: Path | None, clean: bool) -> None:
    env = dict(os.environ, ALBUMSORTER_MODELS=str(models))
    env["ALBUMSORTER_PATH_OVERLAY"] = str(overlay) if overlay else ""
    if overlay:  # PyInstaller's hooks run in helper processes: they must see the same cv2 as the analysis
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(overlay), env.get("PYTHONPATH", "")) if p)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("GLOG_minloglevel", "2")
    cmd = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--log-level",
        os.environ.get("ALBUMSORTER_PYI_LOG", "WARN"),
        "--distpath",
        str(dist),
        "--workpath",
        str(work),
        str(HERE / "albumsorter.spec"),
    ]
    if clean:
        cmd.insert(3, "--clean")
    log("running PyInstaller (a few minutes)")
    rc = subprocess.run(cmd, env=env, cwd=ROOT).returncode
    if rc != 0:
        sys.exit(f"PyInstaller failed (exit {rc})")


def internal_dir(bundle: Path) -> Path:
    return bundle / "_internal" if (bundle / "_internal").is_dir() else bundle


def check_bundle(bundle: Path, overlay: Path | None) -> None:
    inside = internal_dir(bundle)
    bad = [name for name in rules.FORBIDDEN_IN_BUNDLE if (inside / name).exists()]
    if bad:
        sys.exit(f"the bundle contains {', '.join(bad)}: check EXCLUDED_MODULES in packaging/bundle_rules.py")
    if overlay and any(inside.glob("opencv_contrib_python*")):
        sys.exit("the bundle still holds opencv-contrib-python's libraries although headless OpenCV was asked for")
    for needed in ("models/face_detector", "models/face_landmarker", "models/expression/model.json", "resources/samples"):
        if not (inside / needed).exists():
            sys.exit(f"the bundle lacks {needed}")


def strip_libraries(bundle: Path) -> None:
    if not IS_LINUX or not shutil.which("strip"):
        return
    inside = internal_dir(bundle)
    before = after = 0
    for pattern in STRIP_ON_LINUX:
        for lib in sorted(inside.glob(pattern)):
            before += lib.stat().st_size
            subprocess.run(["strip", "--strip-unneeded", str(lib)], check=True)
            after += lib.stat().st_size
    if before:
        log(f"stripped debug symbols: {mb(before)} -> {mb(after)}")


def linux_desktop_files(bundle: Path) -> None:
    shutil.copy2(ROOT / "resources" / "albumsorter.desktop", bundle / "albumsorter.desktop")
    shutil.copy2(ROOT / "resources" / "icons" / "albumsorter.png", bundle / "albumsorter.png")
    script = bundle / "install-desktop-entry.sh"
    shutil.copy2(HERE / "linux" / "install-desktop-entry.sh", script)
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def make_archive(dist: Path, bundle: Path) -> list[Path]:
    base = f"{APP}-{version()}-{platform_tag()}"
    made: list[Path] = []
    if IS_LINUX:
        out = dist / f"{base}.tar.gz"
        with tarfile.open(out, "w:gz", compresslevel=ARCHIVE_LEVEL) as tar:
            tar.add(bundle, arcname=APP)
        made.append(out)
    elif IS_WIN:
        out = dist / f"{base}.zip"
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=ARCHIVE_LEVEL) as z:
            for f in sorted(bundle.rglob("*")):
                z.write(f, Path(APP) / f.relative_to(bundle))
        made.append(out)
        setup = windows_installer(dist, bundle, base)
        if setup:
            made.append(setup)
    else:
        app = dist / f"{APP}.app"
        notarize(app)
        out = dist / f"{base}.dmg"
        out.unlink(missing_ok=True)
        subprocess.run(
            ["hdiutil", "create", "-volname", APP, "-srcfolder", str(app), "-ov", "-format", "UDZO", str(out)], check=True
        )
        sign_macos_file(out)
        made.append(out)
    gpg_key = os.environ.get("ALBUMSORTER_GPG_KEY")
    if gpg_key and shutil.which("gpg"):
        for f in list(made):
            subprocess.run(["gpg", "--batch", "--yes", "--local-user", gpg_key, "--armor", "--detach-sign", str(f)], check=True)
            made.append(f.with_name(f.name + ".asc"))
    return made


# --- Windows ----------------------------------------------------------------------------------------------------
def sign_windows(paths: list[Path]) -> None:
    """Authenticode-sign with signtool when ALBUMSORTER_WIN_SIGN_CERT (a .pfx) or ALBUMSORTER_WIN_SIGN_THUMBPRINT is set."""
    pfx, thumb = os.environ.get("ALBUMSORTER_WIN_SIGN_CERT"), os.environ.get("ALBUMSORTER_WIN_SIGN_THUMBPRINT")
    if not (pfx or thumb):
        return
    signtool = os.environ.get("ALBUMSORTER_SIGNTOOL") or shutil.which("signtool") or "signtool"
    ts = os.environ.get("ALBUMSORTER_WIN_TIMESTAMP_URL", "http://timestamp.digicert.com")
    cmd = [signtool, "sign", "/fd", "SHA256", "/tr", ts, "/td", "SHA256"]
    cmd += ["/f", pfx, "/p", os.environ.get("ALBUMSORTER_WIN_SIGN_PASSWORD", "")] if pfx else ["/sha1", thumb]
    subprocess.run(cmd + [str(p) for p in paths], check=True)
    log(f"signed {len(paths)} file(s)")


def windows_installer(dist: Path, bundle: Path, base: str) -> Path | None:
    iscc = os.environ.get("ALBUMSORTER_ISCC") or shutil.which("iscc") or shutil.which("ISCC")
    for guess in (r"C:\Program Files (x86)\Inno Setup 6\ISCC.exe", r"C:\Program Files\Inno Setup 6\ISCC.exe"):
        if not iscc and Path(guess).is_file():
            iscc = guess
    if not iscc:
        log("Inno Setup (ISCC.exe) not found: no installer, only the .zip (see packaging/README.md)")
        return None
    cmd = [
        iscc,
        f"/DAppVersion={version()}",
        f"/DSourceDir={bundle}",
        f"/DOutputDir={dist}",
        f"/DOutputBaseFilename={base}-setup",
        f"/DRepoRoot={ROOT}",
        str(HERE / "windows" / "albumsorter.iss"),
    ]
    subprocess.run(cmd, check=True)
    setup = dist / f"{base}-setup.exe"
    sign_windows([setup])
    return setup


# --- macOS ------------------------------------------------------------------------------------------------------
def sign_macos_file(path: Path) -> None:
    identity = os.environ.get("ALBUMSORTER_MACOS_SIGN_IDENTITY")
    if identity:
        subprocess.run(["codesign", "--force", "--timestamp", "--sign", identity, str(path)], check=True)


def notarize(app: Path) -> None:
    """PyInstaller signed the .app (ALBUMSORTER_MACOS_SIGN_IDENTITY, hardened runtime); notarize and staple it when a
    notarytool keychain profile is named (xcrun notarytool store-credentials PROFILE ...)."""
    profile = os.environ.get("ALBUMSORTER_MACOS_NOTARY_PROFILE")
    if not profile or not os.environ.get("ALBUMSORTER_MACOS_SIGN_IDENTITY"):
        return
    zipped = app.with_suffix(".notarize.zip")
    subprocess.run(["ditto", "-c", "-k", "--keepParent", str(app), str(zipped)], check=True)
    subprocess.run(["xcrun", "notarytool", "submit", str(zipped), "--keychain-profile", profile, "--wait"], check=True)
    subprocess.run(["xcrun", "stapler", "staple", str(app)], check=True)
    zipped.unlink()


# --- size report ------------------------------------------------------------------------------------------------
GROUPS = [
    ("OpenCV (cv2 + its FFmpeg, OpenBLAS)", ("cv2", "opencv_")),
    ("Qt 6 / PySide6", ("PySide6", "shiboken6")),
    ("LiteRT interpreter", ("ai_edge_litert",)),
    ("NumPy (+ OpenBLAS)", ("numpy",)),
    ("Pillow + pillow-heif (libheif, x265, libde265)", ("PIL", "pillow", "_pillow_heif", "pillow_heif")),
    ("Python runtime + stdlib", ("python3", "libpython", "base_library.zip", "lib-dynload", "PYZ")),
    ("models", ("models",)),
    ("resources (icons, samples)", ("resources",)),
]


def mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def wheel_library_owners(overlay: Path | None) -> dict[str, str]:
    """Library file name -> top-level package, for libraries that wheels vendor in `<package>.libs/` folders
    (PyInstaller puts some of them at the top of the bundle, where they would look like system libraries)."""
    import sysconfig

    owners: dict[str, str] = {}
    for sp in [overlay, Path(sysconfig.get_paths()["purelib"]), Path(sysconfig.get_paths()["platlib"])]:
        if sp and sp.is_dir():
            for libs in sp.glob("*.libs"):
                for f in libs.iterdir():
                    owners.setdefault(f.name, libs.name[: -len(".libs")])
    return owners


def size_report(bundle: Path, dist: Path, archives: list[Path], overlay: Path | None = None) -> str:
    inside = internal_dir(bundle)
    owners = wheel_library_owners(overlay)
    groups: dict[str, int] = {}
    files: list[tuple[int, str]] = []
    for f in bundle.rglob("*"):
        if not f.is_file() or f.is_symlink():
            continue
        size = f.stat().st_size
        rel = f.relative_to(inside) if f.is_relative_to(inside) else f.relative_to(bundle)
        files.append((size, str(rel)))
        top = owners.get(rel.parts[0], rel.parts[0]) if len(rel.parts) == 1 else rel.parts[0]
        name = next((g for g, prefixes in GROUPS if top.startswith(prefixes)), None)
        if name is None:
            name = (
                "system libraries (.so from the build machine)"
                if ".so" in top and len(rel.parts) == 1
                else "launchers"
                if f.parent == bundle
                else "other Python packages"
            )
        groups[name] = groups.get(name, 0) + size
    total = sum(groups.values())
    lines = [f"{APP} {version()} {platform_tag()}: {mb(total)} unpacked, {len(files)} files"]
    lines += [f"  {mb(n):>10}  {100 * n / total:4.1f}%  {g}" for g, n in sorted(groups.items(), key=lambda x: -x[1])]
    lines.append("  largest files:")
    lines += [f"  {mb(n):>10}  {p}" for n, p in sorted(files, reverse=True)[:12]]
    for a in archives:
        lines.append(f"  archive: {a.name} {mb(a.stat().st_size)}")
    text = "\n".join(lines) + "\n"
    (dist / f"{APP}-size.txt").write_text(text, encoding="utf-8")
    return text


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    started = time.perf_counter()
    dist = args.dist.resolve()
    work_root = Path(
        os.environ.get("ALBUMSORTER_BUILD_DIR") or (args.work.parent if args.work else dist.parent / "build")
    ).resolve()
    work = (args.work or work_root / "pyinstaller").resolve()
    models = (args.models or Path(os.environ.get("ALBUMSORTER_MODELS") or ROOT / "models")).resolve()
    check_environment(models)
    overlay = opencv_overlay(args.opencv, work_root)
    log(f"OpenCV: {'headless ' + str(overlay) if overlay else 'as installed'}")
    if args.clean:
        shutil.rmtree(work, ignore_errors=True)
    t = time.perf_counter()
    run_pyinstaller(dist, work, models, overlay, args.clean)
    log(f"PyInstaller done in {time.perf_counter() - t:.0f} s")
    bundle = dist / APP
    check_bundle(bundle, overlay)
    strip_libraries(bundle)
    if IS_LINUX:
        linux_desktop_files(bundle)
    if IS_WIN:
        sign_windows([bundle / f"{APP}.exe", bundle / "albumsorter-cli.exe"])
    archives = [] if args.no_archive else make_archive(dist, bundle)
    print(size_report(bundle, dist, archives, overlay), end="")
    # Test what users get: on macOS the .app (PyInstaller also leaves the plain folder beside it).
    exe = dist / f"{APP}.app" / "Contents" / "MacOS" / APP if IS_MAC else bundle / ("albumsorter-cli.exe" if IS_WIN else APP)
    log(f"built {exe} in {time.perf_counter() - started:.0f} s")
    if args.self_test:
        env = dict(os.environ)
        env.pop("ALBUMSORTER_MODELS", None)  # test the bundled models
        rc = subprocess.run([str(exe), "--self-test", *(["--strict-labels"] if args.strict_labels else [])], env=env).returncode
        log(f"self-test exit status {rc}")
        return rc
    return 0


if __name__ == "__main__":
    sys.exit(main())
