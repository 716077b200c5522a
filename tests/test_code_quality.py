"""Habits CI enforces through the test command: formatting, lint, types, a Qt-free core, no mutual imports.

The linters run with the configuration in pyproject.toml ([tool.ruff], [tool.mypy]) from this interpreter's
environment (the `dev` extra installs them).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("albumsorter", "training")


def _run_tool(*args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert f"No module named {args[0]}" not in proc.stderr, f"{args[0]} is missing: pip install -e '.[dev]'\n{proc.stderr}"
    return proc


# --- formatter, linter, type checker --------------------------------------------------------------------------------


def test_ruff_check_passes():
    proc = _run_tool("ruff", "check", "--no-fix", "--output-format", "concise", ".")
    assert proc.returncode == 0, f"ruff check found problems (fix, or `ruff check --fix`):\n{proc.stdout}{proc.stderr}"


def test_ruff_format_leaves_every_file_unchanged():
    proc = _run_tool("ruff", "format", "--check", ".")
    assert proc.returncode == 0, f"files need `ruff format`:\n{proc.stdout}{proc.stderr}"


def test_mypy_passes_on_the_core():
    proc = _run_tool("mypy")  # files and options from [tool.mypy]
    assert proc.returncode == 0, f"mypy found type errors:\n{proc.stdout}{proc.stderr}"


# --- the core imports without Qt ------------------------------------------------------------------------------------

_IMPORT_WITHOUT_QT = """
import importlib, json, sys

class NoQt:
    # As if PySide6 were not installed: every import of it (or of shiboken6) fails.
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("PySide6", "shiboken6"):
            raise ImportError(f"{name} is blocked: the core must not import Qt")
        return None

sys.meta_path.insert(0, NoQt())
try:
    import PySide6  # noqa: F401
    blocked = False
except ImportError:
    blocked = True
failed = {}
for name in json.loads(sys.argv[1]):
    try:
        importlib.import_module(name)
    except BaseException as exc:
        failed[name] = f"{type(exc).__name__}: {exc}"
qt = sorted(m for m in sys.modules if m.partition(".")[0] in ("PySide6", "shiboken6"))
print(json.dumps({"blocked": blocked, "failed": failed, "qt_modules": qt}))
"""


def _module_names(root: Path, package: str) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package's __init__) for every .py file of `package` (a folder under root)."""
    modules = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        modules[".".join(parts)] = (path, is_package)
    return modules


def test_every_core_module_imports_without_qt():
    names = sorted(_module_names(REPO, "albumsorter/core"))
    assert {"albumsorter.core", "albumsorter.core.classify", "albumsorter.core.preprocess"} <= set(names)
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORT_WITHOUT_QT, json.dumps(names)], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["blocked"], "the test's Qt blocker did not block `import PySide6`"
    assert result["failed"] == {}, f"core modules that need Qt or fail to import: {result['failed']}"
    assert result["qt_modules"] == []


# --- no two modules import each other -------------------------------------------------------------------------------


def import_graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Module -> the project modules it imports anywhere in its file (module level, in functions, under TYPE_CHECKING).

    `from pkg import name` counts as importing the module pkg.name where that is a module, else pkg itself.
    """
    modules: dict[str, tuple[Path, bool]] = {}
    for package in packages:
        modules.update(_module_names(root, package))

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, (path, is_package) in modules.items():
        here = name if is_package else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str | None] = []
            if isinstance(node, ast.Import):
                targets = [resolve(alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = ".".join(here.split(".")[: len(here.split(".")) - node.level + 1])
                    source = f"{base}.{node.module}" if node.module else base
                else:
                    source = node.module or ""
                for alias in node.names:
                    submodule = f"{source}.{alias.name}"
                    targets.append(submodule if submodule in modules else resolve(source))
            graph[name].update(t for t in targets if t is not None and t != name)
    return graph


def mutual_imports(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    return sorted({tuple(sorted((a, b))) for a, imported in graph.items() for b in imported if a in graph.get(b, ())})


def test_import_graph_sees_relative_absolute_and_function_level_imports(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from .sub import b\n")
    (pkg / "sub" / "b.py").write_text("import pkg.a\n")
    (pkg / "sub" / "c.py").write_text("from ..a import f\nfrom . import b\n")
    (pkg / "d.py").write_text("from pkg.sub.c import x\n")
    graph = import_graph(tmp_path, ("pkg",))
    assert graph["pkg.a"] == {"pkg.sub.b"}
    assert graph["pkg.sub.c"] == {"pkg.a", "pkg.sub.b"}
    assert graph["pkg.d"] == {"pkg.sub.c"}
    assert mutual_imports(graph) == [("pkg.a", "pkg.sub.b")]


def test_no_two_modules_import_each_other():
    graph = import_graph(REPO, PACKAGES)
    assert {"albumsorter.core.classify", "training.train", "training.evaluate"} <= set(graph)
    assert mutual_imports(graph) == []


def test_no_module_under_albumsorter_is_over_500_lines():
    """Small modules: a file past 500 lines is doing more than one job and should be split into rooms."""
    long = {
        str(path.relative_to(REPO)): n
        for path in (REPO / "albumsorter").rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 500
    }
    assert not long, f"split these modules: {long}"
