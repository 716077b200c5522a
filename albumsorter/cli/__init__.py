"""The `albumsorter` command: index, query, pick, rate, export, faces, sidecars and benchmarks from a terminal.

Exit codes: 0 all fine; 1 the run finished but some photos could not be read (listed); 2 bad usage;
3 folder or file not found; 4 a model file is missing or broken; 5 the catalog cannot be used;
130 interrupted (the catalog stays consistent, the next run resumes). Each room registers its commands:
`indexing` (index, bench, gui), `photos` (list, pick, rate, export, errors), `faces`, `people`, `sidecars`, and the
batch job.
"""

from __future__ import annotations

import argparse
import sys

from albumsorter.cli import faces, groups, improve, indexing, people, photos, sidecars
from albumsorter.cli.common import EXIT_INTERRUPTED, EXIT_OK, CliError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    from albumsorter import __version__
    from albumsorter.batch.cli import add_batch_commands  # batch, import-batch (need albumsorter[cluster] to run)

    parser = argparse.ArgumentParser(
        prog="albumsorter",
        description="Find the photos worth keeping by reading the faces in them. Without a command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"AlbumSorter {__version__}")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="index the bundled sample photos offscreen and check faces are found; exit 0 if fine",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for room in (indexing, photos, faces, groups, people, sidecars, improve):
        room.add_commands(sub)
    add_batch_commands(sub)
    return parser


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
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    if not argv or (argv[0] not in commands and not argv[0].startswith("-")):
        argv = ["gui", *argv]
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
