"""Indexing in worker processes: the core Indexer as it is (scan, run loop, batched catalog writes, pause, cancel,
re-scoring), with each photo's analysis (decode, detect, every face scorer) done by a worker process instead of a
thread.

Why: analysis runs Python as well as native code. Threads doing it share one GIL: in the window they take it from
painting (issue #16: a 6 ms repaint took 1.6 s beside two busy Python threads, 10 ms beside two busy processes),
and on the command line two threads got 1.6 x the work of one done on 2 cores, two processes 2 x (issue #11).
`ProcessAnalyzer` stands in for the core Analyzer (the same calls: analyse, refresh, close): the core's worker
threads hand each photo to a process and wait for it (waiting releases the GIL), and the run loop stores the
results as before. Nothing is implemented twice: the processes run core.analysis.Analyzer.

The processes are started with "spawn" (forking a process that runs Qt and MediaPipe threads is unsafe; a frozen
app calls multiprocessing.freeze_support() in packaging/launcher.py), load the models once, and are kept as long as
their `WorkerProcesses` (the window's lifetime, one CLI command), so only the first run pays for starting them. A worker that dies (a native
crash on one photo) costs that photo an error, not the window; the next photo gets a new pool. No Qt here: this
module is imported by the worker processes.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # a worker imports this module before its priority is lowered: nothing heavy at the top
    from albumsorter.core.analysis import Analyzer, PhotoAnalysis
    from albumsorter.core.scanning import FileEntry

WINDOW_NICENESS = 5  # behind the window: its process keeps the normal priority

_analyzer: Any = None  # the worker process's core Analyzer


def _start_worker(niceness, model_card, preprocessing, detection, detector_model) -> None:
    global _analyzer
    # Ctrl+C in a terminal reaches the whole process group: the command that owns the pool stops the run and ends
    # the processes; a worker interrupted mid-photo would only report a broken pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # One analysis per core already: OpenCV's own thread pool (resize, warps, blurs) would only make the processes
    # take turns (measured: 25 % more work a photo with two processes, issue #11).
    import cv2

    cv2.setNumThreads(1)
    if niceness and hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(niceness)
    from albumsorter.core.analysis import Analyzer, load_scorer_specs

    _card, specs = load_scorer_specs(model_card, preprocessing)
    _analyzer = Analyzer(specs, detection, detector_model)


def _ready() -> int:
    """Answered once this process has loaded its models (the initializer runs first)."""
    time.sleep(0.05)  # long enough that the other processes take the other calls
    return os.getpid()


def _analyse(entry: FileEntry) -> PhotoAnalysis:
    return _analyzer.analyse(entry)


def _refresh(path: str, kinds, faces, measure: bool):
    return _analyzer.refresh(path, kinds, faces, measure)


def processes_wanted() -> bool:
    """Index in processes unless ALBUMSORTER_INDEX_THREADS=1 asks for threads (for comparing the two)."""
    return os.environ.get("ALBUMSORTER_INDEX_THREADS", "") not in ("1", "true", "yes")


class WorkerProcesses:
    """Analysis processes, started on first use and kept between index runs until `shutdown` (or the `with` block
    ends). `niceness`: how far below the caller they run (the window's processes give way to painting)."""

    def __init__(self, niceness: int = 0) -> None:
        self.niceness = niceness
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._key: tuple | None = None

    def pool(self, workers: int, options) -> ProcessPoolExecutor:
        """A pool of `workers` processes with the models `options` (core IndexOptions) names."""
        key = (workers, options.model_card, options.preprocessing, options.detection, options.detector_model)
        with self._lock:
            if self._pool is None or self._key != key:
                self._close()
                self._pool = ProcessPoolExecutor(
                    workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_worker,
                    initargs=(self.niceness, *key[1:]),
                )
                self._key = key
            return self._pool

    def broken(self, pool: ProcessPoolExecutor) -> None:
        """A worker died: the next photo starts a new pool."""
        with self._lock:
            if self._pool is pool:
                self._close()

    def start(self, workers: int, options) -> None:
        """Start the processes and load their models now (otherwise the first photos wait for it)."""
        pool = self.pool(workers, options)
        seen: set[int] = set()
        for _ in range(10):  # each call is answered by a process that has loaded its models
            seen.update(f.result() for f in [pool.submit(_ready) for _ in range(workers)])
            if len(seen) >= workers:
                break

    def shutdown(self) -> None:
        with self._lock:
            self._close()

    def __enter__(self) -> WorkerProcesses:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def _close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool, self._key = None, None


class ProcessAnalyzer:
    """Stands in for the core Indexer's Analyzer: each photo is analysed by a worker process."""

    def __init__(self, analyzer: Analyzer, processes: WorkerProcesses, workers: int, options: Any) -> None:
        """`options`: the Indexer's IndexOptions (they name the models the processes load)."""
        self._analyzer = analyzer
        self._processes = processes
        self._workers = workers
        self._options = options
        self.detector_id = analyzer.detector_id

    def analyse(self, entry: FileEntry) -> PhotoAnalysis:
        pool = self._processes.pool(self._workers, self._options)
        try:
            return pool.submit(_analyse, entry).result()
        except BrokenProcessPool:
            from albumsorter.core.analysis import PhotoAnalysis

            self._processes.broken(pool)
            # Recorded as unreadable for now, and read again by the next run (it may have been the worker's fault).
            return PhotoAnalysis(entry, error="internal error: the analysis process stopped on this photo", retry_next_run=True)

    def refresh(self, path: str, kinds, faces, measure: bool):
        pool = self._processes.pool(self._workers, self._options)
        try:
            return pool.submit(_refresh, path, list(kinds), list(faces), measure).result()
        except BrokenProcessPool:
            from albumsorter.core.decoding import PhotoError

            self._processes.broken(pool)
            raise PhotoError("the analysis process stopped on this photo") from None

    def close(self) -> None:
        """The end of a run: the processes stay for the next one (WorkerProcesses.shutdown ends them)."""
        self._analyzer.close()

    def __getattr__(self, name: str):
        return getattr(self._analyzer, name)
