"""The `albumsorter` command: index, query, pick, export and benchmark from a terminal.

Exit codes: 0 all fine; 1 the run finished but some photos could not be read (listed); 2 bad usage;
3 folder or file not found; 4 a model file is missing or broken; 5 the catalog cannot be used;
130 interrupted (the catalog stays consistent, the next run resumes).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

EXIT_OK, EXIT_PHOTO_ERRORS, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_MODEL, EXIT_CATALOG, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 5, 130


class CliError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


# --- helpers -------------------------------------------------------------------------------------


def _catalog_path(args: argparse.Namespace, folder: Path | None = None) -> Path:
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


def _open_catalog(path: Path, must_exist: bool = True):
    from albumsorter.core.catalog import Catalog, CatalogError

    if must_exist and not path.exists():
        raise CliError(f"catalog not found: {path}", EXIT_NOT_FOUND)
    try:
        return Catalog(path)
    except CatalogError as exc:
        raise CliError(str(exc), EXIT_CATALOG) from None


def _index_options(args: argparse.Namespace):
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


def _make_indexer(catalog, options):
    from albumsorter.core.classify import ModelError
    from albumsorter.core.faces import DetectorError
    from albumsorter.core.pipeline import Indexer

    try:
        return Indexer(catalog, options)
    except (ModelError, DetectorError) as exc:
        raise CliError(str(exc), EXIT_MODEL) from None


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
        f"{summary.unchanged} unchanged, {summary.moved} moved, {summary.copied} copies, {summary.reclassified} reclassified)",
        f"Faces:       {stats['faces']} in the catalog ({summary.faces_found} found now)",
        "Expressions: " + ", ".join(f"{k} {v}" for k, v in stats["labels"].items() if v) if stats["faces"] else "Expressions: none",
        f"Errors:      {stats['errors']} photos could not be read" + (f" ({len(summary.errors)} now)" if summary.errors else ""),
        f"Gone:        {stats['gone']} photos no longer on disk" if stats["gone"] else None,
        f"Time:        {summary.elapsed:.1f} s, {summary.photos_per_second:.1f} photos/s",
        f"Model:       {summary.model_id}",
    ]
    return "\n".join(line for line in lines if line)


# --- commands ------------------------------------------------------------------------------------


def cmd_index(args: argparse.Namespace) -> int:
    from albumsorter.core.pipeline import RunControl
    from albumsorter.core.settings import remember_folder

    folder = Path(os.path.abspath(Path(args.folder).expanduser()))
    if not folder.is_dir():
        raise CliError(f"folder not found: {folder}", EXIT_NOT_FOUND)
    catalog_path = _catalog_path(args, folder)
    with _open_catalog(catalog_path, must_exist=False) as catalog:
        indexer = _make_indexer(catalog, _index_options(args))
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
        remember_folder(folder, catalog_path)
        stats = catalog.stats()
    if not args.quiet:
        print(_format_summary(summary, stats))
        print(f"Catalog:     {catalog_path}")
        for path, reason in summary.errors:
            print(f"error: {path}: {reason}", file=sys.stderr)
    if summary.errors:
        print(f"{len(summary.errors)} photos could not be read; they are recorded in the catalog and were skipped", file=sys.stderr)
        return EXIT_PHOTO_ERRORS
    return EXIT_OK


def _filter_from_args(args: argparse.Namespace):
    from albumsorter.core.catalog import PhotoFilter

    picks = []
    if args.picked:
        picks.append("picked")
    if args.rejected:
        picks.append("rejected")
    if args.unflagged:
        picks.append("unflagged")
    return PhotoFilter(
        emotions=args.emotion or (),
        groups=args.group or (),
        all_faces=args.all_faces,
        min_faces=args.min_faces,
        max_faces=args.max_faces,
        min_smiles=args.min_smiles,
        picks=picks,
        errors=args.errors,
        include_gone=args.include_gone,
        name_contains=args.name,
        sort=args.sort,
        descending=True if args.desc else (False if args.asc else None),
        limit=args.limit,
    )


def cmd_list(args: argparse.Namespace) -> int:
    try:
        flt = _filter_from_args(args)
        flt.labels()
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    with _open_catalog(_catalog_path(args)) as catalog:
        photos = catalog.query(flt, with_faces=args.json or args.faces)
    if args.json:
        from albumsorter.core.json_records import photo_to_json

        items = [photo_to_json(p) for p in photos]
        indent = 2 if sys.stdout.isatty() else None
        text = json.dumps(items, indent=indent, ensure_ascii=False)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a non-UTF-8 file name: \u escapes keep the JSON valid UTF-8
            text = json.dumps(items, indent=indent, ensure_ascii=True)
        sys.stdout.write(text + "\n")
        return EXIT_OK
    mark = {1: "P", -1: "X", 0: " "}
    for p in photos:
        if p.status == "error":
            print(f"!  {p.path}  ({p.error})")
            continue
        line = f"{mark.get(p.pick, ' ')}  {p.face_count:3d} faces  {p.smile_count:3d} smiling  smile {p.smile_score:4.2f}  {p.path}"
        print(line)
        if args.faces:
            for f in p.faces:
                top = sorted(f.probabilities.items(), key=lambda kv: -kv[1])[:3]
                flag = " (corrected)" if f.corrected else ""
                print(f"       {f.label}{flag}: " + ", ".join(f"{k} {v:.2f}" for k, v in top))
    print(f"{len(photos)} photos", file=sys.stderr)
    return EXIT_OK


def cmd_pick(args: argparse.Namespace, state: int) -> int:
    with _open_catalog(_catalog_path(args)) as catalog:
        paths = [str(Path(p).expanduser().absolute()) for p in args.photos]
        missing = catalog.set_pick_by_path(paths, state)
    for path in missing:
        print(f"not in the catalog: {path}", file=sys.stderr)
    return EXIT_NOT_FOUND if missing else EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from albumsorter.core.catalog import PhotoFilter
    from albumsorter.core.export import export_photos

    with _open_catalog(_catalog_path(args)) as catalog:
        photos = catalog.query(PhotoFilter(picks=["picked"], sort="name"))
    if not photos:
        print("no picked photos to export (pick some with: albumsorter pick PHOTO...)", file=sys.stderr)
        return EXIT_OK
    dest = Path(args.dest).expanduser().absolute()
    result = export_photos([p.path for p in photos], dest)
    print(f"exported {len(result.copied)} photos to {dest}")
    for source, reason in result.failed:
        print(f"error: {source}: {reason}", file=sys.stderr)
    return EXIT_PHOTO_ERRORS if result.failed else EXIT_OK


def cmd_errors(args: argparse.Namespace) -> int:
    with _open_catalog(_catalog_path(args)) as catalog:
        for path, reason in catalog.errors():
            print(f"{path}: {reason}")
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    from albumsorter.core.benchmark import run_benchmark

    folder = Path(os.path.abspath(Path(args.folder).expanduser()))
    if not folder.is_dir():
        raise CliError(f"folder not found: {folder}", EXIT_NOT_FOUND)
    from albumsorter.core.classify import ModelError
    from albumsorter.core.faces import DetectorError

    try:
        report = run_benchmark(folder, _index_options(args), upscale_mp=args.upscale, baseline=not args.no_baseline)
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
        return cmd_index(argparse.Namespace(folder=args.folder, catalog=args.catalog, workers=0, quiet=False, preprocessing="model", model=None, detect_size=None))
    try:
        from albumsorter._qt.app import run_app
    except ImportError as exc:
        raise CliError(f"the desktop window is not available: {exc}", EXIT_USAGE) from None
    return run_app(folder=args.folder, catalog=args.catalog)


# --- parser --------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="albumsorter",
        description="Find the photos worth keeping by reading the faces in them. Without a command, opens the window.",
    )
    from albumsorter import __version__

    parser.add_argument("--version", action="version", version=f"AlbumSorter {__version__}")
    parser.add_argument("--self-test", action="store_true", help="index the bundled sample photos offscreen and check faces are found; exit 0 if fine")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def catalog_opts(p: argparse.ArgumentParser, folder: bool = True) -> None:
        p.add_argument("--catalog", metavar="PATH", help="catalog file (default: the one of the folder, in your data directory)")
        if folder:
            p.add_argument("--folder", metavar="FOLDER", help="use the catalog of this indexed folder (default: the last indexed)")

    def pipeline_opts(p: argparse.ArgumentParser) -> None:
        p.add_argument("--workers", type=int, default=0, metavar="N", help="worker threads (default: one per core)")
        p.add_argument("--model", metavar="CARD", help="expression model card (.json) instead of the default in models/")
        p.add_argument("--preprocessing", choices=("model", "on", "off"), default="model",
                       help="thesis pre-processing (CLAHE, rotation, crop): as the model was trained (default), or force on/off")
        p.add_argument("--detect-size", type=int, metavar="PX", help="long side photos are decoded to for detection (default 1024; larger finds a few more tiny faces, slower)")

    p = sub.add_parser("index", help="index a folder (incremental: unchanged photos are skipped)")
    p.add_argument("folder", metavar="FOLDER")
    catalog_opts(p, folder=False)
    pipeline_opts(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no summary")
    p.set_defaults(func=cmd_index)

    for name in ("list", "query"):
        p = sub.add_parser(name, help="list indexed photos matching filters" + (" (same as list)" if name == "query" else ""))
        catalog_opts(p)
        p.add_argument("--emotion", action="append", metavar="CLASS", help="a face shows this expression (repeatable: any of them)")
        p.add_argument("--group", action="append", choices=("positive", "neutral", "negative"), help="a face is in this group")
        p.add_argument("--all-faces", action="store_true", help="every face (not just one) matches --emotion/--group")
        p.add_argument("--min-faces", type=int, metavar="N")
        p.add_argument("--max-faces", type=int, metavar="N")
        p.add_argument("--min-smiles", type=int, metavar="N", help="at least N smiling (happy) faces")
        p.add_argument("--picked", action="store_true", help="picked photos")
        p.add_argument("--rejected", action="store_true", help="rejected photos")
        p.add_argument("--unflagged", action="store_true", help="neither picked nor rejected")
        p.add_argument("--errors", action="store_true", help="only photos that could not be read, with the reason")
        p.add_argument("--include-gone", action="store_true", help="also photos no longer on disk")
        p.add_argument("--name", metavar="TEXT", help="path contains TEXT")
        p.add_argument("--sort", choices=("name", "smile", "date", "faces", "path"), default="name")
        order = p.add_mutually_exclusive_group()
        order.add_argument("--desc", action="store_true", help="descending order")
        order.add_argument("--asc", action="store_true", help="ascending order")
        p.add_argument("--limit", type=int, metavar="N")
        p.add_argument("--faces", action="store_true", help="show each face's expression")
        p.add_argument("--json", action="store_true", help="JSON array, one object per photo, for scripts")
        p.set_defaults(func=cmd_list)

    for name, state, text in (("pick", 1, "mark photos as picks"), ("reject", -1, "mark photos as rejects"), ("unflag", 0, "clear pick/reject")):
        p = sub.add_parser(name, help=text)
        p.add_argument("photos", nargs="+", metavar="PHOTO")
        catalog_opts(p)
        p.set_defaults(func=lambda a, s=state: cmd_pick(a, s))

    p = sub.add_parser("export", help="copy photos into a folder (never overwrites, keeps names unique)")
    p.add_argument("--picked", dest="dest", required=True, metavar="DEST", help="copy the picked photos to DEST")
    catalog_opts(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("errors", help="photos that could not be read, with the reason")
    catalog_opts(p)
    p.set_defaults(func=cmd_errors)

    p = sub.add_parser("bench", help="time the pipeline per stage on a folder (uses a temporary catalog)")
    p.add_argument("folder", metavar="FOLDER")
    pipeline_opts(p)
    p.add_argument("--upscale", type=float, metavar="MP", help="first make copies of the photos upscaled to MP megapixels (e.g. 12)")
    p.add_argument("--no-baseline", action="store_true", help="skip timing a plain full-resolution Pillow decode")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("gui", help="open the window (the default without a command)")
    p.add_argument("folder", nargs="?", metavar="FOLDER")
    p.add_argument("--catalog", metavar="PATH")
    p.set_defaults(func=cmd_gui)
    from albumsorter.batch.cli import add_batch_commands  # batch, import-batch (need albumsorter[cluster] to run)

    add_batch_commands(sub)
    return parser


COMMANDS = ("index", "list", "query", "pick", "reject", "unflag", "export", "errors", "bench", "gui", "batch", "import-batch")


def main(argv: list[str] | None = None) -> int:
    from albumsorter.core.native_logs import filter_native_stderr

    filter_native_stderr()
    # A file name that is not valid UTF-8 prints as its original bytes (as `ls` does), never a traceback.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="surrogateescape")
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--self-test"]:
        from albumsorter.selftest import run_self_test

        return run_self_test(argv[1:])
    # `albumsorter` and `albumsorter FOLDER` open the window.
    if not argv or (argv[0] not in COMMANDS and not argv[0].startswith("-")):
        argv = ["gui", *argv]
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except CliError as exc:
        print(f"albumsorter: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
