"""`albumsorter group …`: the user's word on bursts and near-duplicates — show a group, split photos off, merge
photos into one group. Automatic grouping never moves what the user arranged."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from albumsorter.cli.common import EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE, CliError, catalog_opts, catalog_path, open_catalog


def _ids(catalog, photos: list[str]) -> list[int]:
    ids, missing = catalog.photo_ids_by_path(str(Path(p).expanduser().absolute()) for p in photos)
    if missing:
        raise CliError("not in the catalog: " + ", ".join(missing), EXIT_NOT_FOUND)
    return ids


def cmd_show(args: argparse.Namespace) -> int:
    with open_catalog(catalog_path(args)) as catalog:
        photo = catalog.photo(_ids(catalog, [args.photo])[0])
        members = catalog.group_members(photo.group_id) if photo and photo.group_id is not None else []
    if len(members) < 2:
        print("not in a group (no burst or near-duplicate found)")
        return EXIT_OK
    for p in members:
        score = f"{p.keeper_score:.2f}" if p.keeper_score is not None else "  - "
        print(f"{p.group_rank or '-':>3}  keeper {score}  {p.path}")
    return EXIT_OK


def cmd_split(args: argparse.Namespace) -> int:
    with open_catalog(catalog_path(args)) as catalog:
        group_id = catalog.split_group(_ids(catalog, args.photos))
    print(f"split off into group {group_id}", file=sys.stderr)
    return EXIT_OK


def cmd_merge(args: argparse.Namespace) -> int:
    if len(args.photos) < 2:
        raise CliError("merging needs two or more photos", EXIT_USAGE)
    with open_catalog(catalog_path(args)) as catalog:
        group_id = catalog.merge_group(_ids(catalog, args.photos))
    print(f"merged into group {group_id}", file=sys.stderr)
    return EXIT_OK


def add_commands(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("group", help="bursts and near-duplicates: show, split, merge")
    verbs = group.add_subparsers(dest="group_command", metavar="ACTION", required=True)
    p = verbs.add_parser("show", help="the photos of PHOTO's group, the keeper first")
    p.add_argument("photo", metavar="PHOTO")
    catalog_opts(p)
    p.set_defaults(func=cmd_show)
    p = verbs.add_parser("split", help="these photos leave their group (together they form their own)")
    p.add_argument("photos", nargs="+", metavar="PHOTO")
    catalog_opts(p)
    p.set_defaults(func=cmd_split)
    p = verbs.add_parser("merge", help="these photos belong together (the first one's group)")
    p.add_argument("photos", nargs="+", metavar="PHOTO")
    catalog_opts(p)
    p.set_defaults(func=cmd_merge)
