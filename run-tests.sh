#!/usr/bin/env bash
# Sets up a local virtual environment (.venv) with the test and training dependencies, then runs the
# whole test suite headless. Extra arguments go to pytest (e.g. ./run-tests.sh -k catalog).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"
stamp="$venv/.installed-dev"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
if [ ! -f "$stamp" ] || [ "$here/pyproject.toml" -nt "$stamp" ]; then
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -e "$here[dev,train,cluster]"
    touch "$stamp"
fi
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
cd "$here"
exec "$venv/bin/python" -m pytest "$@"
