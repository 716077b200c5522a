"""`albumsorter batch` and `albumsorter import-batch`: registered into the main parser by `add_batch_commands`.

Nothing here imports Ray or pyarrow until a command runs, so `albumsorter --help` and every other command work
without the `cluster` extra; the commands themselves say how to install it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from albumsorter.batch import MissingExtraError, require
from albumsorter.cli.common import EXIT_CATALOG, EXIT_MODEL, EXIT_NOT_FOUND, EXIT_OK, EXIT_PHOTO_ERRORS, EXIT_USAGE, CliError


def cmd_batch(args: argparse.Namespace) -> int:
    try:
        require("ray", "pyarrow")
    except MissingExtraError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    from albumsorter.batch.job import BatchOptions, run_batch
    from albumsorter.batch.sources import SourceError
    from albumsorter.core.classify import ModelError
    from albumsorter.core.detection import DetectionSettings
    from albumsorter.core.faces import DetectorError

    detection = DetectionSettings()
    if args.detect_size:
        detection = DetectionSettings(**{**detection.__dict__, "max_side": args.detect_size})
    options = BatchOptions(
        output=args.output,
        address=args.address,
        workers=args.workers,
        device=args.device,
        detection=detection,
        preprocessing={"on": True, "off": False, "model": None}[args.preprocessing],
        model_card=Path(args.model).absolute() if args.model else None,
    )
    try:
        summary = run_batch(args.sources, options)
    except SourceError as exc:
        raise CliError(str(exc), EXIT_NOT_FOUND) from None
    except (ModelError, DetectorError) as exc:
        raise CliError(str(exc), EXIT_MODEL) from None
    except RuntimeError as exc:  # --device gpu on a cluster without one, Ray failing to start
        raise CliError(str(exc), EXIT_USAGE) from None
    if not args.quiet:
        print(
            f"Photos:   {summary.photos} in the sources: {summary.analysed} analysed now, {summary.skipped} already in the output"
        )
        print(f"Faces:    {summary.faces} found now")
        print(f"Errors:   {len(summary.errors)} photos could not be read (rows with status 'error')")
        if summary.analysed or summary.errors:
            print(f"Workers:  {summary.workers} ({summary.runtime}); Ray start {summary.startup_seconds:.1f} s")
            print(f"Time:     {summary.elapsed:.1f} s, {summary.photos_per_second:.2f} photos/s once Ray was up")
        else:
            print(f"Time:     {summary.elapsed:.1f} s (nothing to do; Ray not started)")
        print(f"Output:   {args.output}")
        for path, reason in summary.errors:
            print(f"error: {path}: {reason}", file=sys.stderr)
    return EXIT_PHOTO_ERRORS if summary.errors else EXIT_OK


def _prefixes(items: list[str]) -> list[tuple[str, str]]:
    out = []
    for item in items:
        old, sep, new = item.partition("=")
        if not sep or not old:
            raise ValueError(f"--map-prefix wants OLD=NEW, got {item!r}")
        out.append((old, new))
    return out


def cmd_import_batch(args: argparse.Namespace) -> int:
    try:
        require("pyarrow")
    except MissingExtraError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    from albumsorter.batch.importer import import_batch
    from albumsorter.batch.rows import output_exists
    from albumsorter.core.catalog import Catalog, CatalogError

    try:
        prefixes = _prefixes(args.map_prefix or [])
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    if not output_exists(args.output):
        raise CliError(f"batch output not found: {args.output}", EXIT_NOT_FOUND)
    try:
        catalog = Catalog(Path(args.catalog).expanduser().absolute())
    except CatalogError as exc:
        raise CliError(str(exc), EXIT_CATALOG) from None
    with catalog:
        summary = import_batch(
            args.output, catalog, prefixes, on_wait=lambda: print("waiting for another run on this catalog…", file=sys.stderr)
        )
    if not args.quiet:
        print(
            f"Imported {summary.rows} rows into {args.catalog}: {summary.added} new, {summary.updated} updated, "
            f"{summary.unchanged} unchanged, {summary.errors} errors"
            + (f", {summary.kept} errors not imported over good results" if summary.kept else "")
        )
    return EXIT_OK


def add_batch_commands(sub: argparse._SubParsersAction) -> None:
    """Add `batch` and `import-batch` to the main parser's sub-commands."""
    p = sub.add_parser("batch", help="analyse photos as a Ray Data job into Parquet (needs albumsorter[cluster])")
    p.add_argument(
        "sources", nargs="+", metavar="SOURCE", help="a folder, a photo, or a text file listing photo paths or URIs (s3://…)"
    )
    p.add_argument(
        "--output", required=True, metavar="OUT", help="Parquet folder (local or URI); a rerun only adds what is new or changed"
    )
    p.add_argument(
        "--address",
        metavar="RAY_ADDRESS",
        help="a Ray cluster (ray://head:10001, or auto); default: $RAY_ADDRESS, else a local Ray in this process",
    )
    p.add_argument("--workers", type=int, default=0, metavar="N", help="actors, one CPU each (default: every CPU)")
    p.add_argument(
        "--device", choices=("auto", "cpu", "gpu"), default="auto", help="the expression model on a GPU where there is one (auto)"
    )
    p.add_argument("--model", metavar="CARD", help="expression model card (.json) instead of the default in models/")
    p.add_argument(
        "--preprocessing",
        choices=("model", "on", "off"),
        default="model",
        help="thesis pre-processing: as the model was trained (default), or force on/off",
    )
    p.add_argument("--detect-size", type=int, metavar="PX", help="long side photos are decoded to for detection (default 1024)")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary")
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser("import-batch", help="load a batch output into a catalog (picks and corrections kept)")
    p.add_argument("output", metavar="OUT", help="the batch job's Parquet folder")
    p.add_argument("--catalog", required=True, metavar="PATH", help="catalog file to merge into (created if absent)")
    p.add_argument("--map-prefix", action="append", metavar="OLD=NEW", help="rewrite paths starting with OLD (repeatable)")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary")
    p.set_defaults(func=cmd_import_batch)
