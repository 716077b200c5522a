"""Keep the native libraries' chatter (MediaPipe, LiteRT, XNNPACK) out of the user's terminal.

Their C++ loggers write INFO lines straight to file descriptor 2, which no Python setting silences.
`filter_native_stderr` points fd 2 at a pipe whose reader thread drops those lines and passes on the
rest (native errors included), while Python's own `sys.stderr` keeps writing to the real terminal.
"""

from __future__ import annotations

import os
import re
import sys
import threading

_NOISE = re.compile(
    rb"^(INFO: |I\d{4} |W\d{4} .*(not aligned|InitGoogle|inference_feedback|landmark_projection|face_detector_graph|face_landmarker_graph)|"
    rb"WARNING: Logging before InitGoogle|WARNING: All log messages before absl::InitializeLog|"
    # MediaPipe's own words for a corrupt model; our one-line error names the file instead.
    rb"ERROR: The model is not a valid Flatbuffer|E\d{4} .*(model_resources|Flatbuffer))"
)
_installed = False


def filter_native_stderr() -> None:
    """Install the filter once per process (no-op where fd 2 cannot be redirected)."""
    global _installed
    if _installed:
        return
    try:
        if sys.stderr.fileno() != 2:
            return  # stderr is already redirected (a test runner's capture, say): leave it alone
    except (AttributeError, OSError, ValueError):
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("GLOG_minloglevel", "2")
    try:
        real = os.dup(2)
        read_end, write_end = os.pipe()
        sys.stderr.flush()
        os.dup2(write_end, 2)
        os.close(write_end)
    except OSError:
        return
    # Python's stderr writes to the real terminal; only native writes to fd 2 go through the filter.
    sys.stderr = os.fdopen(os.dup(real), "w", buffering=1, encoding=sys.stderr.encoding or "utf-8", errors="backslashreplace")

    def pump() -> None:
        with os.fdopen(read_end, "rb", buffering=0) as src:
            pending = b""
            while True:
                chunk = src.read(65536)
                if not chunk:
                    break
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if not _NOISE.match(line):
                        os.write(real, line + b"\n")

    threading.Thread(target=pump, name="native-stderr-filter", daemon=True).start()
    _installed = True
