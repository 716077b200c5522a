"""What goes into the AlbumSorter bundle and what stays out; used by albumsorter.spec and build.py.

Kept separate from the spec so the rules can be read (and tested) as plain Python. Every exclusion here was
checked with `AlbumSorter --self-test` on the built bundle (see packaging/README.md, "Size").
"""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path, PurePosixPath

# --- Python packages never bundled ---------------------------------------------------------------------------
# The training stack lives in the same development venv; none of it may reach the bundle.
EXCLUDED_MODULES = [
    # training / ML frameworks
    "tensorflow",
    "tensorflow_intel",
    "tensorflow_cpu",
    "tensorboard",
    "tensorboard_data_server",
    "keras",
    "tf_keras",
    "jax",
    "jaxlib",
    "torch",
    "torchvision",
    "sklearn",
    "pandas",
    "training",
    # plotting and audio libraries of the development environment (training plots; MediaPipe's extras)
    "matplotlib",
    "mpl_toolkits",
    "sounddevice",
    "_sounddevice",
    "_sounddevice_data",
    "scipy",
    "ray",
    "pyarrow",
    "onnxruntime",  # the batch job's and GPU runtime's extra (albumsorter[cluster]), never bundled
    # other GUI toolkits and developer tools
    "tkinter",
    "_tkinter",
    "PyQt5",
    "PyQt6",
    "PySide2",
    "IPython",
    "jedi",
    "pytest",
    "_pytest",
    "pytestqt",
    "hypothesis",
    "pip",
    "setuptools",
    "wheel",
    # MediaPipe (its models run with LiteRT; the package is for tests only) and LiteRT parts the app does not use
    "mediapipe",
    "ai_edge_litert.tools",
    "ai_edge_litert.aot",
    "ai_edge_litert.vendors",
    # Qt modules the app does not import (the app uses QtCore, QtGui, QtWidgets only)
    "PySide6.QtNetwork",
    "PySide6.QtQml",
    "PySide6.QtQuick",
    "PySide6.QtQuickWidgets",
    "PySide6.QtSql",
    "PySide6.QtTest",
    "PySide6.QtOpenGL",
    "PySide6.QtOpenGLWidgets",
    "PySide6.QtPrintSupport",
    "PySide6.QtDBus",
    "PySide6.QtConcurrent",
    "PySide6.QtDesigner",
    "PySide6.QtHelp",
    "PySide6.QtXml",
    "PySide6.QtSvg",
    "PySide6.QtSvgWidgets",
    "PySide6.QtUiTools",
    "PySide6.QtNetworkAuth",
]

# Top-level names that must not be in a finished bundle at all (build.py checks; the test asserts).
FORBIDDEN_IN_BUNDLE = [
    "tensorflow",
    "tensorboard",
    "keras",
    "tf_keras",
    "jax",
    "jaxlib",
    "torch",
    "matplotlib",
    "scipy",
    "ray",
    "pyarrow",
    "onnxruntime",
    "mediapipe",  # the app runs MediaPipe's models with LiteRT; MediaPipe itself is only for tests (dev extra)
]


# --- files dropped after the analysis (destination paths, POSIX-style globs) ------------------------------------
# Qt plugins: the app needs a platform plugin, image formats, icon engines, input methods and platform themes.
QT_PLUGIN_GROUPS_KEPT = {
    "platforms",
    "imageformats",
    "iconengines",
    "platforminputcontexts",
    "platformthemes",
    "styles",
    "xcbglintegrations",
    "wayland-decoration-client",
    "wayland-graphics-integration-client",
    "wayland-shell-integration",
}
QT_PLATFORMS_DROPPED = ["*vnc*", "*linuxfb*", "*eglfs*", "*vkkhrdisplay*", "*minimalegl*"]
DROPPED_FILES = [
    "PySide6/Qt/translations/*",  # the app is English only and installs no QTranslator
    "PySide6/translations/*",
    "PySide6/Qt/qml/*",
    "PySide6/Qt/lib/libQt6Qml*",
    "PySide6/Qt/lib/libQt6Quick*",
    "PySide6/Qt6Qml*",
    "PySide6/Qt6Quick*",
    "PySide6/Qt/plugins/platforms/*vnc*",
    "PySide6/Qt/plugins/platforms/*linuxfb*",
    "PySide6/Qt/plugins/platforms/*eglfs*",
    "PySide6/Qt/plugins/platforms/*vkkhrdisplay*",
    "PySide6/Qt/plugins/platforms/*minimalegl*",
    # The GTK 3 platform theme would load the desktop's GTK with cairo / pango copied from the build machine (a
    # classic source of crashes); Qt's own theme and the XDG desktop portal theme (native file dialogs) remain.
    "PySide6/Qt/plugins/platformthemes/*gtk*",
    "PySide6/plugins/platforms/*vnc*",
    "PySide6/plugins/platforms/*linuxfb*",  # Windows / macOS layouts
    # OpenCV's own Qt5 platform plugin and fonts, used only by cv2.imshow (never called); see fix_cv2_config
    "cv2/qt/*",
    # LiteRT: WebGPU accelerator, generative-AI ops and the model converter / analyser (CPU interpreter only)
    "ai_edge_litert/libLiteRtWebGpuAccelerator*",
    "ai_edge_litert/*LiteRtWebGpu*",
    "ai_edge_litert/pywrap_genai_ops*",
    "ai_edge_litert/_pywrap_litert_converter*",
    "ai_edge_litert/_pywrap_analyzer_wrapper*",
    "ai_edge_litert/_pywrap_tfl_calibration*",
    "ai_edge_litert/_pywrap_tensorflow_lite_calibration_wrapper*",
    "ai_edge_litert/_pywrap_modify_model_interface*",
    "ai_edge_litert/format_converter_wrapper_pybind11*",
    "ai_edge_litert/vendors/*",
    "ai_edge_litert/tools/*",
    "ai_edge_litert/aot/*",
]


def _qt_plugin_dropped(dest: str) -> bool:
    p = PurePosixPath(dest)
    parts = p.parts
    for i in range(len(parts) - 1):
        if parts[i] == "plugins" and i > 0 and parts[i - 1] in ("Qt", "PySide6"):
            return parts[i + 1] not in QT_PLUGIN_GROUPS_KEPT
    return False


def dropped(dest: str) -> bool:
    dest = dest.replace("\\", "/")
    if any(fnmatch.fnmatch(dest, pat) for pat in DROPPED_FILES):
        return True
    if "PySide6/" in dest and _qt_plugin_dropped(dest):
        return True
    return any(f"/{top}/" in f"/{dest}" for top in FORBIDDEN_IN_BUNDLE)


def filter_toc(toc):
    """A PyInstaller TOC (list of (dest, src, typecode)) without the dropped files."""
    return [entry for entry in toc if not dropped(entry[0])]


def prune_orphans(before, after):
    """Linux: drop the shared libraries copied from the build machine only for the files dropped above.

    PyInstaller collects each binary's dependencies before `filter_toc` runs, so e.g. the GTK theme plugin's cairo,
    pango and GDK libraries stay behind. A top-level library is removed when a dropped file needed it and no kept
    binary (itself included, repeated until nothing changes) still does. Libraries nobody links to (libpython,
    libraries opened with dlopen) are never touched.
    """
    import sys
    from concurrent.futures import ThreadPoolExecutor

    if not sys.platform.startswith("linux"):
        return after
    from PyInstaller.depend import bindepend

    def imports(entry) -> set[str]:
        try:
            return {Path(name).name for name, _ in bindepend.get_imports(entry[1])}
        except Exception:
            return set()

    kept_dests = {e[0] for e in after}
    dropped_bins = [e for e in before if e[0] not in kept_dests and e[2] in ("BINARY", "EXTENSION")]
    if not dropped_bins:
        return after
    with ThreadPoolExecutor(4) as pool:
        cache = dict(
            zip(
                [e[0] for e in before if e[2] in ("BINARY", "EXTENSION")],
                pool.map(imports, [e for e in before if e[2] in ("BINARY", "EXTENSION")]),
            )
        )
    candidates = set().union(*(cache[e[0]] for e in dropped_bins))
    result = list(after)
    while True:
        needed = set().union(*(cache.get(e[0], set()) for e in result))
        orphans = [
            e
            for e in result
            if "/" not in e[0].replace("\\", "/")
            and e[2] == "BINARY"
            and Path(e[0]).name in candidates
            and Path(e[0]).name not in needed
        ]
        if not orphans:
            return result
        result = [e for e in result if e not in orphans]


# --- OpenCV's loader config ---------------------------------------------------------------------------------------
_CV2_QT_ENV = re.compile(r"if sys\.platform\.startswith\(\"linux\"\) and ci_and_not_headless:")


def fix_cv2_config(text: str) -> str | None:
    """cv2/config-3.py of the (non-headless) opencv wheels points QT_QPA_PLATFORM_PLUGIN_PATH and QT_QPA_FONTDIR at
    OpenCV's own Qt 5 files when cv2 is imported, which would steer PySide6's Qt 6 to them. The bundle ships a copy
    without those two settings (and without cv2/qt/). None when the text has no such lines."""
    fixed, n = _CV2_QT_ENV.subn("if False:  # AlbumSorter bundle: cv2's Qt 5 plugins are not shipped", text)
    return fixed if n else None


# --- models and resources ---------------------------------------------------------------------------------------
def model_files(models: Path) -> list[tuple[Path, str]]:
    """(source, destination in the bundle) for every model the app runs: the face detector, the expression model
    (card + weights + small side files), the Face Landmarker (eyes, smile, pose) and the People models.

    Raises FileNotFoundError with a readable message when a model is missing: a bundle without models is useless.
    """
    detector = models / "face_detector" / "blaze_face_full_range.tflite"
    card = models / "expression" / "model.json"
    landmarker = models / "face_landmarker" / "face_landmarker.task"
    embedding = models / "face_embedding"
    embedding_files = [
        embedding / "dlib_face_recognition_resnet_model_v1.dat",
        embedding / "shape_predictor_5_face_landmarks.dat",
    ]
    missing = [str(p) for p in (detector, card, landmarker, *embedding_files) if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            "model files missing: "
            + ", ".join(missing)
            + " (train / copy the expression model into models/expression/, or set ALBUMSORTER_MODELS)"
        )
    weights_name = json.loads(card.read_text(encoding="utf-8")).get("file", "model.tflite")
    weights = card.parent / weights_name
    if not weights.is_file():
        raise FileNotFoundError(f"model file missing: {weights} (named by {card})")
    files = [
        (detector, "models/face_detector/" + detector.name),
        (card, "models/expression/model.json"),
        (weights, "models/expression/" + weights_name),
    ]
    # small side files of the expression model (labels, licence, metrics) travel with it
    for extra in sorted(card.parent.iterdir()):
        small_side_file = (
            extra.is_file() and extra.suffix.lower() in (".txt", ".md", ".json", ".csv") and extra.stat().st_size < 1_000_000
        )
        if small_side_file and extra not in (card, weights):
            files.append((extra, "models/expression/" + extra.name))
    # The landmarker, its eye calibration and provenance; People: dlib's embedding and 5-point models (checksums are
    # checked when loaded). READMEs travel with them (licences, provenance).
    for folder, wanted in ((landmarker.parent, [landmarker]), (embedding, embedding_files)):
        side = [f for f in sorted(folder.iterdir()) if f.suffix.lower() in (".md", ".json") and f.is_file()]
        files += [(f, f"models/{folder.name}/{f.name}") for f in [*wanted, *side]]
    return files


def skip_resource(rel: Path) -> bool:
    """Files under resources/ that are not shipped (sources of generated files, editor leftovers)."""
    return rel.name.startswith(".") or rel.suffix in (".py", ".pyc", ".xcf", ".kra")


# --- per-OS metadata ----------------------------------------------------------------------------------------------
def _version_tuple(version: str) -> tuple[int, int, int, int]:
    nums = [int(n) for n in re.findall(r"\d+", version)[:4]]
    return tuple((nums + [0, 0, 0, 0])[:4])  # type: ignore[return-value]


def windows_version_info(version: str, app: str) -> str:
    """The VSVersionInfo resource text PyInstaller embeds in the .exe files (Explorer's Details tab)."""
    v = _version_tuple(version)
    return f"""VSVersionInfo(
  ffi=FixedFileInfo(filevers={v}, prodvers={v}, mask=0x3f, flags=0x0, OS=0x40004, fileType=0x1, subtype=0x0, date=(0, 0)),
  kids=[
    StringFileInfo([StringTable('040904B0', [
      StringStruct('CompanyName', '{app} contributors'),
      StringStruct('FileDescription', '{app}: find the photos worth keeping'),
      StringStruct('FileVersion', '{version}'),
      StringStruct('InternalName', '{app}'),
      StringStruct('LegalCopyright', 'MIT licence'),
      StringStruct('OriginalFilename', '{app}.exe'),
      StringStruct('ProductName', '{app}'),
      StringStruct('ProductVersion', '{version}')])]),
    VarFileInfo([VarStruct('Translation', [1033, 1200])])
  ]
)
"""


def macos_info_plist(version: str, app: str) -> dict:
    """Info.plist entries merged into what PyInstaller's BUNDLE writes."""
    return {
        "CFBundleName": app,
        "CFBundleDisplayName": app,
        "CFBundleShortVersionString": version,
        "CFBundleVersion": version,
        "CFBundleExecutable": app,
        "CFBundlePackageType": "APPL",
        "CFBundleDevelopmentRegion": "en",
        "LSMinimumSystemVersion": "11.0",
        "LSApplicationCategoryType": "public.app-category.photography",
        "NSHighResolutionCapable": True,
        "NSPrincipalClass": "NSApplication",
        "NSRequiresAquaSystemAppearance": False,  # follow dark mode
        "NSHumanReadableCopyright": "MIT licence",
        "NSPhotoLibraryUsageDescription": "AlbumSorter reads your photos to find faces; nothing leaves this Mac.",
        "NSDesktopFolderUsageDescription": "AlbumSorter indexes photo folders you choose.",
        "NSDocumentsFolderUsageDescription": "AlbumSorter indexes photo folders you choose.",
        "NSDownloadsFolderUsageDescription": "AlbumSorter indexes photo folders you choose.",
        "NSRemovableVolumesUsageDescription": "AlbumSorter indexes photo folders you choose.",
        "CFBundleDocumentTypes": [
            {"CFBundleTypeName": "Folder", "CFBundleTypeRole": "Viewer", "LSItemContentTypes": ["public.folder"]}
        ],
    }
