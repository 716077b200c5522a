"""Entry point of the packaged app (PyInstaller): the same as the `albumsorter` command.

`AlbumSorter` alone opens the window; `AlbumSorter index FOLDER`, `AlbumSorter --self-test`, ... work as the CLI.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # harmless if unused; required before any child process in a frozen app
    from albumsorter.cli import main

    sys.exit(main())
