"""`albumsorter improve`: fine-tune the expression model's real-photo head on your corrections, check it on
corrections kept apart, install it as your personal model and re-label the catalog (core/improve.py);
`--revert` goes back to the shipped model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from albumsorter.cli.common import EXIT_MODEL, EXIT_OK, EXIT_USAGE, CliError, catalog_opts, catalog_path, open_catalog


def _progress(stage: str, done: int, total: int) -> None:
    if sys.stderr.isatty():
        print(f"\r{stage}: {done}/{total}", end="", file=sys.stderr, flush=True)


def _model_errors() -> tuple[type[Exception], ...]:
    from albumsorter.core.classify import ModelError  # a damaged head file (HeadError) is one too
    from albumsorter.core.faces import DetectorError
    from albumsorter.core.landmarker import LandmarkerError

    return ModelError, DetectorError, LandmarkerError


def cmd_improve(args: argparse.Namespace) -> int:
    from albumsorter.core.expression_head import personal_head_path
    from albumsorter.core.improve import ImproveError, improve_from_corrections, relabel_catalog, revert_personal_head

    path = catalog_path(args)
    try:
        if args.revert:
            if not revert_personal_head():
                print("no personal model installed: the shipped model is in use")
                return EXIT_OK
            print(f"reverted to the shipped model (yours is kept as {personal_head_path().with_suffix('')}.reverted.json)")
            if path.exists():
                with open_catalog(path) as catalog:
                    print(f"re-labelled {relabel_catalog(catalog, progress=_progress)} photos of {path}")
            return EXIT_OK
        with open_catalog(path) as catalog:
            report = improve_from_corrections(
                catalog,
                replay_path=Path(args.replay) if args.replay else None,
                use_replay=not args.no_replay,
                install=not args.check_only,
                progress=_progress,
            )
    except ImproveError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    except _model_errors() as exc:
        raise CliError(str(exc), EXIT_MODEL) from None
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(f"corrections: {report.corrections}; taught on {report.train_faces}, checked on {report.held_out_faces} (other photos)")
    print(
        f"replay faces: {report.replay_faces}"
        + ("" if report.replay_faces else " (no replay sample: see models/expression/README.md)")
    )
    print(
        f"held-out corrections: current model {100 * (report.current_accuracy or 0):.1f} % right (log-loss {report.current_log_loss:.3f}), "
        f"new {100 * (report.new_accuracy or 0):.1f} % (log-loss {report.new_log_loss:.3f})"
    )
    print(report.reason + (f" ({personal_head_path()})" if report.installed else ""))
    if report.installed:
        print(f"re-labelled {report.relabelled_photos} photos without detecting again; undo with: albumsorter improve --revert")
    return EXIT_OK


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "improve",
        help="teach the expression model your corrections (checked on corrections kept apart; --revert undoes)",
        description="Fine-tunes the real-photo head of the expression model on the faces whose expression you corrected, "
        "checks it against the current model on a quarter of the corrected photos kept apart, and installs it as your "
        "personal model (in your data directory) only if it is not worse there; then re-labels the catalog without "
        "detecting faces again. Other catalogs are re-labelled at their next indexing run.",
    )
    catalog_opts(p)
    p.add_argument("--revert", action="store_true", help="go back to the shipped model (and re-label the catalog)")
    p.add_argument("--check-only", action="store_true", help="fit and compare, but install nothing")
    p.add_argument(
        "--replay",
        metavar="FILE",
        help="replay sample of the training faces (default: the one training wrote into your cache, if any)",
    )
    p.add_argument("--no-replay", action="store_true", help="fine-tune on your corrections alone")
    p.set_defaults(func=cmd_improve)
