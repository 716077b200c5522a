"""`albumsorter people …`: recognise the same person across photos (update), list, name and merge people, move a
face to another person or take it out of its person ("not this person"). `list --person NAME` filters photos."""

from __future__ import annotations

import argparse
import json
import sys

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
    open_catalog,
)  # fmt: skip


def _progress_bar():
    """A tqdm bar of photos on stderr when it is a terminal; silent otherwise."""
    from tqdm import tqdm

    bar = tqdm(total=0, unit="photo", dynamic_ncols=True, disable=not sys.stderr.isatty(), file=sys.stderr)

    def update(progress) -> None:
        bar.set_description(progress.stage)
        if bar.total != progress.photos_total:
            bar.total = progress.photos_total
        bar.n = progress.photos_done
        bar.set_postfix(faces=progress.faces_embedded, refresh=False)
        bar.refresh()

    return bar, update


def format_summary(summary) -> str:
    lines = [
        f"Faces embedded: {summary.faces_embedded} now"
        + (f" ({summary.faces_too_small} too small to recognise)" if summary.faces_too_small else ""),
        f"People:         {summary.people} ({summary.named} named, {summary.new_people} new)",
        f"Faces assigned: {summary.faces_assigned} ({summary.faces_unassigned} not yet recognised: seen once, or unsure)",
        f"Suggestions:    {summary.suggestions} 'maybe the same person' (albumsorter people list)",
        "Re-checked:     every automatic assignment, for the new embedding model" if summary.reclustered else None,
        f"Errors:         {len(summary.photos_failed)} photos could not be read" if summary.photos_failed else None,
        f"Time:           {summary.seconds:.1f} s",
    ]
    return "\n".join(line for line in lines if line)


def cmd_update(args: argparse.Namespace) -> int:
    from albumsorter.core.classify import ModelError
    from albumsorter.core.people.update import update_people_in_catalog

    path = catalog_path(args)
    open_catalog(path).close()  # a clear "not found" / "unusable" before any worker starts
    bar, update = _progress_bar()
    try:
        summary = update_people_in_catalog(path, args.workers or None, on_progress=update)
    except ModelError as exc:
        raise CliError(str(exc), EXIT_MODEL) from None
    finally:
        bar.close()
    print(format_summary(summary))
    for photo, reason in summary.photos_failed:
        print(f"error: {photo}: {reason}", file=sys.stderr)
    if summary.cancelled:
        return EXIT_INTERRUPTED
    return EXIT_PHOTO_ERRORS if summary.photos_failed else EXIT_OK


def _label(person_id: int, names: dict[int, str | None]) -> str:
    name = names.get(person_id)
    return f"{person_id} ({name})" if name else str(person_id)


def cmd_list(args: argparse.Namespace) -> int:
    from albumsorter.core.people.update import suggestions

    with open_catalog(catalog_path(args)) as catalog:
        people = catalog.people(samples=args.samples)
        hints = suggestions(catalog) if people else []
    names = {p.id: p.name for p in people}
    if args.json:
        items = [
            {"id": p.id, "name": p.name, "faces": p.faces, "photos": p.photos, "sample_faces": [s.face_id for s in p.samples]}
            for p in people
        ]
        others = [{"kind": h.kind, "a": h.a, "b": h.b, "distance": round(h.distance, 4)} for h in hints]
        sys.stdout.write(json.dumps({"people": items, "suggestions": others}, ensure_ascii=False) + "\n")
        return EXIT_OK
    for p in people:
        faces = ", ".join(str(s.face_id) for s in p.samples)
        print(f"{p.id:6d}  {p.name or '(unnamed)':<24}  {p.faces:4d} faces  {p.photos:4d} photos  faces {faces}")
    for h in hints:
        if h.kind == "people":
            print(f"maybe the same person: {_label(h.a, names)} and {_label(h.b, names)} (albumsorter people merge {h.a} {h.b})")
        else:
            print(f"maybe face {h.a} is person {_label(h.b, names)} (albumsorter people move {h.a} {h.b})")
    print(f"{len(people)} people", file=sys.stderr)
    return EXIT_OK


def _known(call, what: str):
    try:
        return call()
    except KeyError as exc:
        raise CliError(f"{exc.args[0] if exc.args else what} (see: albumsorter people list)", EXIT_NOT_FOUND) from None


def cmd_name(args: argparse.Namespace) -> int:
    with open_catalog(catalog_path(args)) as catalog:
        person = _known(lambda: catalog.name_person(args.person_id, args.name), "no such person")
    print(f"person {person} is now {args.name.strip() or '(unnamed)'}", file=sys.stderr)
    return EXIT_OK


def cmd_merge(args: argparse.Namespace) -> int:
    with open_catalog(catalog_path(args)) as catalog:
        try:
            undo = _known(lambda: catalog.merge_people(args.keep, args.other), "no such person")
        except ValueError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
    print(f"merged person {args.other} into {args.keep}" if undo else "already one person", file=sys.stderr)
    return EXIT_OK


def cmd_move(args: argparse.Namespace) -> int:
    with open_catalog(catalog_path(args)) as catalog:
        person = _known(lambda: catalog.move_face_to_person(args.face_id, args.person_id), "no such face or person")
    print(f"face {args.face_id} is person {person}", file=sys.stderr)
    return EXIT_OK


def cmd_reject(args: argparse.Namespace) -> int:
    with open_catalog(catalog_path(args)) as catalog:
        for face_id in args.face_ids:
            person = _known(lambda f=face_id: catalog.reject_face_person(f), "no such face")
            print(f"face {face_id}: " + (f"not person {person}" if person is not None else "had no person"), file=sys.stderr)
    return EXIT_OK


def add_commands(sub: argparse._SubParsersAction) -> None:
    people = sub.add_parser("people", help="recognise the same person across photos; list, name, merge people")
    verbs = people.add_subparsers(dest="people_command", metavar="ACTION", required=True)
    p = verbs.add_parser("update", help="compute what is missing (face embeddings, people) and print a summary")
    p.add_argument("--workers", type=int, default=0, metavar="N", help="worker processes (default: all cores but one)")
    catalog_opts(p)
    p.set_defaults(func=cmd_update)
    p = verbs.add_parser("list", help="people with their face counts, and 'maybe the same person' suggestions")
    p.add_argument("--json", action="store_true", help="JSON: {people: [...], suggestions: [...]}, for scripts")
    p.add_argument("--samples", type=int, default=6, metavar="N", help="face ids shown per person (default 6)")
    catalog_opts(p)
    p.set_defaults(func=cmd_list)
    p = verbs.add_parser("name", help="name a person ('' removes the name)")
    p.add_argument("person_id", type=int, metavar="PERSON_ID")
    p.add_argument("name", metavar="NAME")
    catalog_opts(p)
    p.set_defaults(func=cmd_name)
    p = verbs.add_parser("merge", help="two people are one: OTHER_ID is merged into PERSON_ID (which keeps its name)")
    p.add_argument("keep", type=int, metavar="PERSON_ID")
    p.add_argument("other", type=int, metavar="OTHER_ID")
    catalog_opts(p)
    p.set_defaults(func=cmd_merge)
    p = verbs.add_parser("move", help="this face is that person (kept across re-indexing and updates)")
    p.add_argument("face_id", type=int, metavar="FACE_ID")
    p.add_argument("person_id", type=int, metavar="PERSON_ID")
    catalog_opts(p)
    p.set_defaults(func=cmd_move)
    p = verbs.add_parser("reject", help="not this person: the face leaves its person for good")
    p.add_argument("face_ids", nargs="+", type=int, metavar="FACE_ID")
    catalog_opts(p)
    p.set_defaults(func=cmd_reject)
