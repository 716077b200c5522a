"""`albumsorter sidecars write|read`: hand ratings, picks, expression keywords and faces on to darktable, digiKam
and Lightroom in XMP sidecars, and take in the ratings, rejects and pick labels they wrote (see
albumsorter.core.sidecar_sync). `albumsorter index --read-sidecars` reads after indexing."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from albumsorter.cli.common import EXIT_OK, EXIT_PHOTO_ERRORS, catalog_opts, catalog_path, open_catalog


def _conflict(d) -> str:
    return (
        f"  {d.field:<6} {d.path}: AlbumSorter says {d.describe(d.catalog)}, {Path(d.source).name} says {d.describe(d.sidecar)}"
    )


def _taken(d) -> str:
    return f"  {d.field:<6} {d.path}: {d.describe(d.catalog)} -> {d.describe(d.sidecar)} (from {Path(d.source).name})"


def summary_lines(summary, action: str) -> list[str]:
    """The summary of a write or read for the terminal (errors are printed separately, on stderr)."""
    if action == "write":
        lines = [f"Sidecars:   {len(summary.written)} written, {summary.unchanged} already up to date"]
    else:
        lines = [
            f"Sidecars:   {summary.read} read, {summary.unchanged} unchanged since the last sync, {summary.without_xmp} photos without XMP"
            + (f", {summary.catalog_newer} where AlbumSorter's value is newer (albumsorter sidecars write hands it on)" if summary.catalog_newer else "")
        ]  # fmt: skip
    if summary.taken:
        lines.append(f"Taken:      {len(summary.taken)} values another tool changed later, now in the catalog")
        lines += [_taken(d) for d in summary.taken]
    if summary.conflicts:
        lines.append(
            f"Conflicts:  {len(summary.conflicts)} values changed on both sides; neither was changed "
            "(set the value again where it should win)"
        )
        lines += [_conflict(d) for d in summary.conflicts]
    if summary.foreign_keywords:
        count = sum(len(k) for k in summary.foreign_keywords.values())
        lines.append(
            f"Keywords:   {len(summary.foreign_keywords)} photos carry {count} keywords of other tools "
            "(kept in their sidecars, not imported)"
        )
    if summary.errors:
        lines.append(f"Errors:     {len(summary.errors)} photos failed (listed on stderr); nothing was lost")
    return lines


def report(summary, action: str, quiet: bool = False) -> int:
    """Print the summary and the errors; the exit code (1 when some photos failed)."""
    if not quiet:
        print("\n".join(summary_lines(summary, action)))
    for path, reason in summary.errors:
        print(f"error: {path}: {reason}", file=sys.stderr)
    return EXIT_PHOTO_ERRORS if summary.errors else EXIT_OK


def read_after_indexing(catalog, folder: Path):
    """`albumsorter index --read-sidecars`: what other tools changed in the indexed folder's sidecars."""
    from albumsorter.core.sidecar_sync import read_sidecars

    return read_sidecars(catalog, under=folder)


def cmd_write(args: argparse.Namespace) -> int:
    from albumsorter.core.sidecar_sync import write_sidecars

    with open_catalog(catalog_path(args)) as catalog:
        summary = write_sidecars(catalog, args.style)
    return report(summary, "write")


def cmd_read(args: argparse.Namespace) -> int:
    from albumsorter.core.sidecar_sync import read_sidecars

    with open_catalog(catalog_path(args)) as catalog:
        summary = read_sidecars(catalog)
    return report(summary, "read")


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sidecars", help="write or read XMP sidecars (ratings, picks, keywords, faces) for darktable, digiKam, Lightroom"
    )
    actions = p.add_subparsers(dest="sidecars_action", metavar="ACTION", required=True)

    w = actions.add_parser(
        "write", help="write or update a sidecar for every photo with something to say (merging, never clobbering)"
    )
    catalog_opts(w)
    w.add_argument("--style", choices=("darktable", "adobe"), default="darktable",
                   help="name of a new sidecar: IMG_0042.jpg.xmp (darktable, digiKam; default) or IMG_0042.xmp (Lightroom); "
                        "an existing sidecar in either naming is updated")  # fmt: skip
    w.set_defaults(func=cmd_write)

    r = actions.add_parser(
        "read", help="take in ratings, rejects and pick labels other tools wrote later (sidecars and XMP in photos)"
    )
    catalog_opts(r)
    r.set_defaults(func=cmd_read)
