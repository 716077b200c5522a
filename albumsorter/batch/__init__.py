"""The batch job: the app's own per-photo analysis on Ray Data, one Parquet row per photo (`albumsorter batch`),
and loading such an output into a catalog (`albumsorter import-batch`). See docs/batch.md.

Ray, pyarrow and ONNX Runtime come with the optional extra `albumsorter[cluster]`; the desktop app never imports
this package's modules that need them, so it runs without the extra. No Qt here.
"""

from __future__ import annotations

CLUSTER_HINT = "pip install 'albumsorter[cluster]'"


class MissingExtraError(ImportError):
    """Ray or pyarrow is not installed."""


def require(*modules: str) -> None:
    """Import `modules` or raise MissingExtraError with the command that installs them."""
    import importlib

    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise MissingExtraError(f"the batch job needs {' and '.join(missing)}, which is not installed here: {CLUSTER_HINT}")
