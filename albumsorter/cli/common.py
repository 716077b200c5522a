"""What every `albumsorter` command shares: exit codes, the user-facing error, finding and opening the catalog,
and the options several commands take."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

EXIT_OK, EXIT_PHOTO_ERRORS, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_MODEL, EXIT_CATALOG, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 5, 130


class CliError(Exception):
    """A message for the user and the exit code to end with."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def catalog_path(args: argparse.Namespace, folder: Path | None = None) -> Path:
    from albumsorter.core.catalog import default_catalog_path
    from albumsorter.core.settings import recent_folders

    if getattr(args, "catalog", None):
        return Path(args.catalog).expanduser().absolute()
    folder = folder or (Path(args.folder) if getattr(args, "folder", None) else None)
    if folder is not None:
        return default_catalog_path(folder)
    recent = recent_folders()
    if not recent:
        raise CliError("no catalog yet: index a folder first (albumsorter index FOLDER) or give --catalog PATH", EXIT_NOT_FOUND)
    return Path(recent[0]["catalog"])


def open_catalog(path: Path, must_exist: bool = True):
    from albumsorter.core.catalog import Catalog, CatalogError

    if must_exist and not path.exists():
        raise CliError(f"catalog not found: {path}", EXIT_NOT_FOUND)
    try:
        return Catalog(path)
    except CatalogError as exc:
        raise CliError(str(exc), EXIT_CATALOG) from None


def catalog_opts(p: argparse.ArgumentParser, folder: bool = True) -> None:
    p.add_argument("--catalog", metavar="PATH", help="catalog file (default: the one of the folder, in your data directory)")
    if folder:
        p.add_argument("--folder", metavar="FOLDER", help="use the catalog of this indexed folder (default: the last indexed)")


def pipeline_opts(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=int, default=0, metavar="N", help="worker threads (default: one per core)")
    p.add_argument("--model", metavar="CARD", help="expression model card (.json) instead of the default in models/")
    p.add_argument(
        "--preprocessing",
        choices=("model", "on", "off"),
        default="model",
        help="thesis pre-processing (CLAHE, rotation, crop): as the model was trained (default), or force on/off",
    )
    p.add_argument(
        "--detect-size",
        type=int,
        metavar="PX",
        help="long side photos are decoded to for detection (default 1024; larger finds a few more tiny faces, slower)",
    )


def index_options(args: argparse.Namespace):
    from albumsorter.core.detection import DetectionSettings
    from albumsorter.core.pipeline import IndexOptions

    detection = DetectionSettings()
    if getattr(args, "detect_size", None):
        detection = DetectionSettings(**{**detection.__dict__, "max_side": args.detect_size})
    pre = {"on": True, "off": False, "model": None}[getattr(args, "preprocessing", "model")]
    return IndexOptions(
        workers=args.workers or (os.cpu_count() or 1),
        detection=detection,
        preprocessing=pre,
        model_card=Path(args.model).absolute() if getattr(args, "model", None) else None,
    )


def make_indexer(catalog, options, processes=None):
    from albumsorter.core.classify import ModelError
    from albumsorter.core.faces import DetectorError
    from albumsorter.core.pipeline import Indexer

    try:
        return Indexer(catalog, options, processes)
    except (ModelError, DetectorError) as exc:
        raise CliError(str(exc), EXIT_MODEL) from None
