#!/usr/bin/env bash
# Sets up AlbumSorter in a local virtual environment (.venv) on first use, then runs it.
#   ./run-app.sh                 open the window
#   ./run-app.sh FOLDER          open the window and index FOLDER
#   ./run-app.sh index FOLDER    index from the command line (any albumsorter command works)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"
stamp="$venv/.installed-app"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
if [ ! -f "$stamp" ] || [ "$here/pyproject.toml" -nt "$stamp" ]; then
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -e "$here"
    touch "$stamp"
fi
exec "$venv/bin/albumsorter" "$@"
