"""Commands that run the pipeline: index, bench and the window (which indexes too)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from albumsorter.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_MODEL,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_PHOTO_ERRORS,
    EXIT_USAGE,
    CliError,
    catalog_opts,
    catalog_path,
    index_options,
    make_indexer,
    open_catalog,
    pipeline_opts,
)  # fmt: skip


def _progress_bar(total_hint: int | None = None):
    """A tqdm bar on stderr when it is a terminal; silent otherwise (scripts, CI logs)."""
    from tqdm import tqdm

    bar = tqdm(total=total_hint or 0, unit="photo", dynamic_ncols=True, disable=not sys.stderr.isatty(), file=sys.stderr)

    def update(progress) -> None:
        if bar.total != progress.total:
            bar.total = progress.total
        bar.n = progress.done
        bar.set_postfix(faces=progress.faces, errors=progress.errors, refresh=False)
        bar.refresh()

    return bar, update


def _format_summary(summary, stats: dict) -> str:
    lines = [
        f"Folder:      {summary.root}",
        f"Photos:      {stats['photos']} indexed in the catalog ({summary.indexed} analysed now, "
        f"{summary.unchanged} unchanged, {summary.moved} moved, {summary.copied} copies, {summary.reclassified} re-scored)",
        f"Groups:      {stats['groups']} bursts / near-duplicate groups ({stats['grouped_photos']} photos)"
        if stats.get("groups")
        else None,
        f"Faces:       {stats['faces']} in the catalog ({summary.faces_found} found now)",
        "Expressions: " + ", ".join(f"{k} {v}" for k, v in stats["labels"].items() if v)
        if stats["faces"]
        else "Expressions: none",
        f"Errors:      {stats['errors']} photos could not be read" + (f" ({len(summary.errors)} now)" if summary.errors else ""),
        f"Gone:        {stats['gone']} photos no longer on disk" if stats["gone"] else None,
        f"Time:        {summary.elapsed:.1f} s, {summary.photos_per_second:.1f} photos/s",
        f"Model:       {summary.model_id}",
    ]
    return "\n".join(line for line in lines if line)


def cmd_index(args: argparse.Namespace) -> int:
    from albumsorter.cli import sidecars
    from albumsorter.core.pipeline import RunControl
    from albumsorter.core.settings import remember_folder
    from albumsorter.core.worker_processes import WorkerProcesses, processes_wanted

    folder = Path(os.path.abspath(Path(args.folder).expanduser()))
    if not folder.is_dir():
        raise CliError(f"folder not found: {folder}", EXIT_NOT_FOUND)
    catalog_file = catalog_path(args, folder)
    options = index_options(args)
    with open_catalog(catalog_file, must_exist=False) as catalog, WorkerProcesses() as processes:
        indexer = make_indexer(catalog, options, processes if processes_wanted() else None)
        bar, update = _progress_bar()
        control = RunControl()
        try:

            def waiting() -> None:
                print("waiting for another AlbumSorter run on this catalog to finish…", file=sys.stderr)

            summary = indexer.run(folder, on_progress=update, control=control, on_wait=waiting)
        except KeyboardInterrupt:
            control.cancel()
            bar.close()
            print("interrupted: everything indexed so far is saved; run the same command again to continue", file=sys.stderr)
            return EXIT_INTERRUPTED
        finally:
            bar.close()
        remember_folder(folder, catalog_file)
        sidecar_summary = sidecars.read_after_indexing(catalog, folder) if getattr(args, "read_sidecars", False) else None
        stats = catalog.stats()
    if not args.quiet:
        print(_format_summary(summary, stats))
        print(f"Catalog:     {catalog_file}")
        for path, reason in summary.errors:
            print(f"error: {path}: {reason}", file=sys.stderr)
    sidecars_failed = sidecar_summary is not None and sidecars.report(sidecar_summary, "read", quiet=args.quiet) != EXIT_OK
    if summary.errors:
        print(
            f"{len(summary.errors)} photos could not be read; they are recorded in the catalog and were skipped", file=sys.stderr
        )
        return EXIT_PHOTO_ERRORS
    return EXIT_PHOTO_ERRORS if sidecars_failed else EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    from albumsorter.core.benchmark import run_benchmark

    folder = Path(os.path.abspath(Path(args.folder).expanduser()))
    if not folder.is_dir():
        raise CliError(f"folder not found: {folder}", EXIT_NOT_FOUND)
    from albumsorter.core.classify import ModelError
    from albumsorter.core.faces import DetectorError

    try:
        report = run_benchmark(
            folder, index_options(args), upscale_mp=args.upscale, baseline=not args.no_baseline, rounds=args.rounds
        )
    except (ModelError, DetectorError) as exc:
        raise CliError(str(exc), EXIT_MODEL) from None
    print(report)
    return EXIT_OK


def _has_screen() -> bool:
    """False on a Linux/BSD machine with no display server (an SSH session, a server, CI)."""
    if sys.platform.startswith(("win", "darwin")) or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def cmd_gui(args: argparse.Namespace) -> int:
    if not _has_screen():
        if not args.folder:
            raise CliError("no screen to open the window on; to index from here: albumsorter index FOLDER", EXIT_USAGE)
        print("No screen to open the window on: indexing from the command line instead.", file=sys.stderr)
        return cmd_index(
            argparse.Namespace(
                folder=args.folder,
                catalog=args.catalog,
                workers=0,
                quiet=False,
                preprocessing="model",
                model=None,
                detect_size=None,
            )
        )
    try:
        from albumsorter._qt.app import run_app
    except ImportError as exc:
        raise CliError(f"the desktop window is not available: {exc}", EXIT_USAGE) from None
    return run_app(folder=args.folder, catalog=args.catalog)


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("index", help="index a folder (incremental: unchanged photos are skipped)")
    p.add_argument("folder", metavar="FOLDER")
    catalog_opts(p, folder=False)
    pipeline_opts(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no summary")
    p.add_argument("--read-sidecars", action="store_true", help="then take in other tools' ratings and rejects from XMP")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("bench", help="time the pipeline per stage on a folder (uses a temporary catalog)")
    p.add_argument("folder", metavar="FOLDER")
    pipeline_opts(p)
    p.add_argument(
        "--upscale", type=float, metavar="MP", help="first make copies of the photos upscaled to MP megapixels (e.g. 12)"
    )
    p.add_argument("--no-baseline", action="store_true", help="skip timing a plain full-resolution Pillow decode")
    p.add_argument(
        "--rounds", type=int, default=1, metavar="N", help="time the decode and the pipeline N times, taking turns; show medians"
    )
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("gui", help="open the window (the default without a command)")
    p.add_argument("folder", nargs="?", metavar="FOLDER")
    p.add_argument("--catalog", metavar="PATH")
    p.set_defaults(func=cmd_gui)
