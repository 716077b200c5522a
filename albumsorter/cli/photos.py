"""Commands on indexed photos: list (filters, JSON), pick / reject / unflag, rate, export, errors."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from albumsorter.cli.common import (
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_PHOTO_ERRORS,
    EXIT_USAGE,
    CliError,
    catalog_opts,
    catalog_path,
    open_catalog,
)


def filter_from_args(args: argparse.Namespace):
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
        everyone_smiling=args.everyone_smiling,
        min_rating=args.min_rating,
        eyes_open=args.eyes_open,
        eyes_closed=args.eyes_closed,
        sharp=args.sharp,
        keepers=args.keepers,
        picks=picks,
        errors=args.errors,
        include_gone=args.include_gone,
        name_contains=args.name,
        person=args.person,
        sort=args.sort,
        descending=True if args.desc else (False if args.asc else None),
        limit=args.limit,
    )


def cmd_list(args: argparse.Namespace) -> int:
    try:
        flt = filter_from_args(args)
        flt.labels()
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    with open_catalog(catalog_path(args)) as catalog:
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
        stars = "*" * p.rating
        line = f"{mark.get(p.pick, ' ')} {stars:<5}  {p.face_count:3d} faces  {p.smile_count:3d} smiling  smile {p.smile_score:4.2f}  {p.path}"
        print(line)
        if args.faces:
            for n, f in enumerate(p.faces, 1):
                top = sorted(f.probabilities.items(), key=lambda kv: -kv[1])[:3]
                flags = [
                    t
                    for t, on in (
                        ("corrected", f.corrected),
                        ("ignored", f.ignored),
                        ("bystander", not f.subject and not f.ignored),
                        ("added", f.manual),
                    )
                    if on
                ]
                flag = f" ({', '.join(flags)})" if flags else ""
                print(f"       {n:2d}. face {f.id}: {f.label}{flag}: " + ", ".join(f"{k} {v:.2f}" for k, v in top))
    print(f"{len(photos)} photos", file=sys.stderr)
    return EXIT_OK


def cmd_pick(args: argparse.Namespace, state: int) -> int:
    with open_catalog(catalog_path(args)) as catalog:
        paths = [str(Path(p).expanduser().absolute()) for p in args.photos]
        missing = catalog.set_pick_by_path(paths, state)
    for path in missing:
        print(f"not in the catalog: {path}", file=sys.stderr)
    return EXIT_NOT_FOUND if missing else EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from albumsorter.core.catalog import PhotoFilter
    from albumsorter.core.export import export_photos

    with open_catalog(catalog_path(args)) as catalog:
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
    with open_catalog(catalog_path(args)) as catalog:
        for path, reason in catalog.errors():
            print(f"{path}: {reason}")
    return EXIT_OK


def cmd_rate(args: argparse.Namespace) -> int:
    with open_catalog(catalog_path(args)) as catalog:
        ids, missing = catalog.photo_ids_by_path(str(Path(p).expanduser().absolute()) for p in args.photos)
        catalog.set_rating(ids, args.stars)
    for path in missing:
        print(f"not in the catalog: {path}", file=sys.stderr)
    return EXIT_NOT_FOUND if missing else EXIT_OK


def _stars(text: str) -> int:
    if text not in {str(n) for n in range(6)}:
        raise argparse.ArgumentTypeError("a rating is 0 to 5 stars (0 clears it)")
    return int(text)


def add_commands(sub: argparse._SubParsersAction) -> None:
    from albumsorter.core.catalog import SORTS
    from albumsorter.core.subjects import Strictness

    for name in ("list", "query"):
        p = sub.add_parser(name, help="list indexed photos matching filters" + (" (same as list)" if name == "query" else ""))
        catalog_opts(p)
        p.add_argument(
            "--emotion", action="append", metavar="CLASS", help="a face shows this expression (repeatable: any of them)"
        )
        p.add_argument("--group", action="append", choices=("positive", "neutral", "negative"), help="a face is in this group")
        p.add_argument("--all-faces", action="store_true", help="every face that counts (not just one) matches --emotion/--group")
        p.add_argument("--everyone-smiling", nargs="?", const="normal", choices=[s.value for s in Strictness], metavar="STRICTNESS",
                       help="every face that counts smiles (ignored faces and bystanders aside); relaxed, normal (default) or strict")  # fmt: skip
        p.add_argument("--min-faces", type=int, metavar="N")
        p.add_argument("--max-faces", type=int, metavar="N")
        p.add_argument("--min-smiles", type=int, metavar="N", help="at least N smiling (happy) faces")
        p.add_argument("--min-rating", type=_stars, metavar="STARS", help="rated at least STARS (1-5)")
        p.add_argument("--eyes-open", action="store_true", help="every face that counts has its eyes open")
        p.add_argument("--eyes-closed", action="store_true", help="someone's eyes are closed")
        p.add_argument("--sharp", action="store_true", help="the faces (or the photo, without faces) are in focus")
        p.add_argument("--keepers", action="store_true", help="only the best photo of each burst / group of near-duplicates")
        p.add_argument("--picked", action="store_true", help="picked photos")
        p.add_argument("--rejected", action="store_true", help="rejected photos")
        p.add_argument("--unflagged", action="store_true", help="neither picked nor rejected")
        p.add_argument("--errors", action="store_true", help="only photos that could not be read, with the reason")
        p.add_argument("--include-gone", action="store_true", help="also photos no longer on disk")
        p.add_argument("--name", metavar="TEXT", help="path contains TEXT")
        p.add_argument("--person", metavar="NAME", help="this person is in the photo (a name, or an id: people list)")
        p.add_argument("--sort", choices=tuple(SORTS), default="name")
        order = p.add_mutually_exclusive_group()
        order.add_argument("--desc", action="store_true", help="descending order")
        order.add_argument("--asc", action="store_true", help="ascending order")
        p.add_argument("--limit", type=int, metavar="N")
        p.add_argument("--faces", action="store_true", help="show each face's expression")
        p.add_argument("--json", action="store_true", help="JSON array, one object per photo, for scripts")
        p.set_defaults(func=cmd_list)

    for name, state, text in (
        ("pick", 1, "mark photos as picks"),
        ("reject", -1, "mark photos as rejects"),
        ("unflag", 0, "clear pick/reject"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("photos", nargs="+", metavar="PHOTO")
        catalog_opts(p)
        p.set_defaults(func=lambda a, s=state: cmd_pick(a, s))

    p = sub.add_parser("rate", help="give photos 0-5 stars (0 clears the rating)")
    p.add_argument("photos", nargs="+", metavar="PHOTO")
    p.add_argument("stars", type=_stars, metavar="STARS")
    catalog_opts(p)
    p.set_defaults(func=cmd_rate)

    p = sub.add_parser("export", help="copy photos into a folder (never overwrites, keeps names unique)")
    p.add_argument("--picked", dest="dest", required=True, metavar="DEST", help="copy the picked photos to DEST")
    catalog_opts(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("errors", help="photos that could not be read, with the reason")
    catalog_opts(p)
    p.set_defaults(func=cmd_errors)
