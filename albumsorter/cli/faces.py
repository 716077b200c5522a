"""`albumsorter face …`: what the user says about one face — ignore it (not a person in this photo), label its
expression, or add a face the detector missed (scored like any other and kept across re-indexing)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from albumsorter.cli.common import (
    EXIT_MODEL,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    catalog_opts,
    catalog_path,
    index_options,
    open_catalog,
    pipeline_opts,
)  # fmt: skip


def _face_or_fail(catalog, face_id: int):
    face = catalog.face(face_id)
    if face is None:
        raise CliError(f"no face with id {face_id} (see: albumsorter list --json)", EXIT_NOT_FOUND)
    return face


def cmd_ignore(args: argparse.Namespace, ignored: bool) -> int:
    with open_catalog(catalog_path(args)) as catalog:
        for face_id in args.face_ids:
            _face_or_fail(catalog, face_id)
            catalog.set_ignored(face_id, ignored)
    return EXIT_OK


def cmd_label(args: argparse.Namespace) -> int:
    from albumsorter.core.classes import canonical_class

    label = None
    if args.expression != "model":
        try:
            label = canonical_class(args.expression)
        except ValueError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
    with open_catalog(catalog_path(args)) as catalog:
        _face_or_fail(catalog, args.face_id)
        catalog.set_correction(args.face_id, label)
    return EXIT_OK


def _box(text: str) -> tuple[float, float, float, float]:
    try:
        left, top, right, bottom = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("a box is LEFT,TOP,RIGHT,BOTTOM in the upright photo's pixels") from None
    if right <= left or bottom <= top:
        raise argparse.ArgumentTypeError("a box needs RIGHT > LEFT and BOTTOM > TOP")
    return (left, top, right, bottom)


def cmd_add(args: argparse.Namespace) -> int:
    from albumsorter.core.analysis import Analyzer, check_models, load_scorer_specs, score_drawn_face
    from albumsorter.core.classify import ModelError
    from albumsorter.core.decoding import PhotoError
    from albumsorter.core.faces import DetectorError

    path = str(Path(args.photo).expanduser().absolute())
    options = index_options(args)
    with open_catalog(catalog_path(args)) as catalog:
        ids, missing = catalog.photo_ids_by_path([path])
        if missing:
            raise CliError(f"not in the catalog: {path}", EXIT_NOT_FOUND)
        try:
            _, specs = load_scorer_specs(options.model_card, options.preprocessing)
            check_models(specs, options.detection, options.detector_model)
            analyzer = Analyzer(specs, options.detection, options.detector_model)
            try:
                face = score_drawn_face(analyzer, path, args.box)
            finally:
                analyzer.close()
        except (ModelError, DetectorError) as exc:
            raise CliError(str(exc), EXIT_MODEL) from None
        except (PhotoError, ValueError) as exc:
            raise CliError(f"{path}: {exc}", EXIT_USAGE) from None
        face_id = catalog.add_face(ids[0], face)
        label = catalog.face(face_id).label
    print(face_id)
    print(f"added face {face_id} ({label})", file=sys.stderr)
    return EXIT_OK


def cmd_remove(args: argparse.Namespace) -> int:
    with open_catalog(catalog_path(args)) as catalog:
        _face_or_fail(catalog, args.face_id)
        try:
            catalog.remove_face(args.face_id)
        except ValueError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
    return EXIT_OK


def add_commands(sub: argparse._SubParsersAction) -> None:
    face = sub.add_parser("face", help="ignore, label or add a face (face ids: albumsorter list --json)")
    verbs = face.add_subparsers(dest="face_command", metavar="ACTION", required=True)
    for name, ignored, text in (("ignore", True, "not a person in this photo: the face leaves the photo's scores"),
                                ("unignore", False, "count the face again")):  # fmt: skip
        p = verbs.add_parser(name, help=text)
        p.add_argument("face_ids", nargs="+", type=int, metavar="FACE_ID")
        catalog_opts(p)
        p.set_defaults(func=lambda a, i=ignored: cmd_ignore(a, i))
    p = verbs.add_parser("label", help="correct a face's expression ('model' goes back to the model's)")
    p.add_argument("face_id", type=int, metavar="FACE_ID")
    p.add_argument(
        "expression", metavar="EXPRESSION", help="anger, contempt, disgust, fear, happy, neutral, sad, surprise, or model"
    )
    catalog_opts(p)
    p.set_defaults(func=cmd_label)
    p = verbs.add_parser("add", help="add a face the detector missed; prints its id")
    p.add_argument("photo", metavar="PHOTO")
    p.add_argument("--box", type=_box, required=True, metavar="LEFT,TOP,RIGHT,BOTTOM", help="in the upright photo's pixels")
    catalog_opts(p)
    pipeline_opts(p)
    p.set_defaults(func=cmd_add)
    p = verbs.add_parser("remove", help="remove a face you added")
    p.add_argument("face_id", type=int, metavar="FACE_ID")
    catalog_opts(p)
    p.set_defaults(func=cmd_remove)
