"""Indexing a folder: scan -> decode -> detect -> pre-process -> classify -> store.

Workers (threads: decoding, MediaPipe and LiteRT all run outside the GIL) analyse photos; only the
thread that called `Indexer.run` writes to the catalog, in batches of one transaction each. The run
reports progress through a callback and can be paused or cancelled between photos; a cancelled or
killed run leaves every stored photo complete and the next run continues where it stopped.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from albumsorter.core.analysis import Analyzer, PhotoAnalysis, check_models, load_scorer_specs
from albumsorter.core.catalog import STATUS_GONE, Catalog
from albumsorter.core.decoding import PhotoError, hash_bytes, read_file
from albumsorter.core.detection import DetectionSettings
from albumsorter.core.locking import RunLock
from albumsorter.core.scanning import BROKEN_LINK_SIZE, PHOTO_EXTENSIONS, FileEntry, looks_like_photo, walk_files
from albumsorter.core.worker_processes import ProcessAnalyzer, WorkerProcesses

__all__ = ["STAGES", "Analyzer", "IndexOptions", "IndexSummary", "Indexer", "PhotoAnalysis", "Progress", "RunControl"]

# Stages timed per photo; each scorer adds its own (the expression scorer: "preprocess", "classify").
STAGES = ("read", "decode", "measure", "detect", "quality", "preprocess", "classify", "store")


@dataclass
class IndexOptions:
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    detection: DetectionSettings = field(default_factory=DetectionSettings)
    preprocessing: bool | None = None  # None: as the model card says
    model_card: Path | None = None  # None: the default model in models/
    detector_model: Path | None = None
    batch_size: int = 16  # photos per catalog transaction


@dataclass
class Progress:
    done: int
    total: int
    faces: int
    errors: int
    elapsed: float
    path: str | None = None

    @property
    def photos_per_second(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def seconds_left(self) -> float | None:
        rate = self.photos_per_second
        return (self.total - self.done) / rate if rate > 0 else None


@dataclass
class IndexSummary:
    root: str
    files_seen: int = 0
    indexed: int = 0
    unchanged: int = 0
    moved: int = 0
    copied: int = 0
    reclassified: int = 0
    gone: int = 0
    faces_found: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    cancelled: bool = False
    elapsed: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=lambda: {s: 0.0 for s in STAGES})
    model_id: str = ""
    grouped: int = 0  # photos placed into groups of bursts / near-duplicates this run

    @property
    def photos_per_second(self) -> float:
        work = self.indexed + self.reclassified + len(self.errors)
        return work / self.elapsed if self.elapsed > 0 else 0.0


class RunControl:
    """Pause / resume / cancel for a run, safe to call from any thread (e.g. the GUI's)."""

    def __init__(self) -> None:
        self._running = threading.Event()
        self._running.set()
        self._cancelled = threading.Event()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def cancel(self) -> None:
        self._cancelled.set()
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def wait_if_paused(self) -> None:
        self._running.wait()


class Indexer:
    """Indexes folders into one catalog. Call `run` from the thread that owns the catalog."""

    def __init__(self, catalog: Catalog, options: IndexOptions | None = None, processes: WorkerProcesses | None = None) -> None:
        """`processes`: analyse photos in these worker processes (one per worker) instead of threads, when there is
        more than one worker (core/worker_processes.py: threads share one GIL)."""
        self.catalog = catalog
        self.options = options or IndexOptions()
        self.card, self.specs = load_scorer_specs(self.options.model_card, self.options.preprocessing)
        check_models(self.specs, self.options.detection, self.options.detector_model)
        self.analyzer: Analyzer | ProcessAnalyzer = Analyzer(self.specs, self.options.detection, self.options.detector_model)
        workers = max(1, int(self.options.workers))
        if processes is not None and workers > 1:
            self.analyzer = ProcessAnalyzer(self.analyzer, processes, workers, self.options)

    def run(
        self,
        root: Path | str,
        on_progress: Callable[[Progress], None] | None = None,
        on_photo: Callable[[int, str], None] | None = None,
        control: RunControl | None = None,
        on_wait: Callable[[], None] | None = None,
    ) -> IndexSummary:
        """Index `root` (incrementally). `on_photo(photo_id, path)` fires after each stored photo.

        Only one run per catalog at a time: another one (another process, say) is waited for, and
        `on_wait()` is called once if that happens.
        """
        root = Path(os.path.abspath(Path(root).expanduser()))
        if not root.is_dir():
            raise NotADirectoryError(f"not a folder: {root}")
        control = control or RunControl()
        with RunLock(self.catalog.path, on_wait=on_wait, cancelled=lambda: control.cancelled) as lock:
            if not lock.acquired:  # cancelled while waiting
                return IndexSummary(root=str(root), model_id=self.card.id, cancelled=True)
            return self._run_locked(root, on_progress, on_photo, control)

    def _run_locked(self, root: Path, on_progress, on_photo, control: RunControl) -> IndexSummary:
        start = time.perf_counter()
        summary = IndexSummary(root=str(root), model_id=self.card.id)
        self.catalog.set_meta("root", str(root))
        known = self.catalog.file_states(root)
        self._known_sizes = self.catalog.known_sizes()
        catalog_file = self.catalog.path.resolve()

        todo: list[FileEntry] = []
        seen: set[str] = set()
        for entry in walk_files(root, skip=lambda p: p.resolve() == catalog_file):
            summary.files_seen += 1
            key = str(entry.path)
            seen.add(key)
            state = known.get(key)
            if (
                state
                and state[1] == entry.size
                and state[2] == entry.mtime_ns
                and state[3] != STATUS_GONE
                and (state[3] == "error" or state[4] == self.analyzer.detector_id)
            ):
                summary.unchanged += 1
                continue
            if (
                entry.size != BROKEN_LINK_SIZE
                and entry.path.suffix.lower() not in PHOTO_EXTENSIONS
                and not looks_like_photo(entry.path)
            ):
                continue  # not a photo and not pretending to be one
            todo.append(entry)

        total = len(todo)
        progress = Progress(0, total, 0, 0, 0.0)

        def report(path: str | None) -> None:
            progress.elapsed = time.perf_counter() - start
            progress.path = path
            if on_progress:
                on_progress(progress)

        report(None)
        pending_writes: list[PhotoAnalysis] = []

        def flush() -> None:
            if not pending_writes:
                return
            t = time.perf_counter()
            stored = []
            with self.catalog.transaction():
                for res in pending_writes:
                    stored.append((self._store(res, summary), str(res.entry.path)))
            summary.stage_seconds["store"] += time.perf_counter() - t
            pending_writes.clear()
            if on_photo:
                for photo_id, path in stored:
                    if photo_id is not None:
                        on_photo(photo_id, path)

        try:
            self._analyse_all(todo, known, summary, progress, report, flush, pending_writes, on_photo, control)
            summary.cancelled = control.cancelled
            if not summary.cancelled:
                # Photos no longer on disk are marked gone (their picks kept), unless the whole folder vanished.
                if root.is_dir():
                    vanished = [p for p, st in known.items() if p not in seen and st[3] != STATUS_GONE and not Path(p).exists()]
                    summary.gone = self.catalog.mark_gone(vanished)
                summary.reclassified = self._rescore_stale(root, control)
            summary.grouped = self.catalog.assign_groups()
        finally:
            self.analyzer.close()
        summary.elapsed = time.perf_counter() - start
        report(None)
        return summary

    def _calls_at_once(self) -> int:
        """Photos handed to the analyzer at once: one a worker thread, or two a worker process (one queued behind
        the one it works on, so that it never waits for the next photo while a result travels back)."""
        workers = max(1, int(self.options.workers))
        return 2 * workers if isinstance(self.analyzer, ProcessAnalyzer) else workers

    def _analyse_all(self, todo, known, summary, progress, report, flush, pending_writes, on_photo, control) -> None:
        """Feed the worker pool (a bounded window, so pause and cancel act quickly) and store results."""
        workers = self._calls_at_once()
        queue = deque(todo)
        in_flight: set[Future] = set()
        last_flush = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="albumsorter-index") as pool:
            while queue or in_flight:
                while queue and len(in_flight) < workers * 2 and not control.cancelled:
                    control.wait_if_paused()
                    if control.cancelled:
                        break
                    entry = queue.popleft()
                    reused = self._reuse_by_content(entry, known, summary)
                    if reused is not None:
                        progress.done += 1
                        if on_photo:
                            on_photo(reused, str(entry.path))
                        report(str(entry.path))
                        continue
                    in_flight.add(pool.submit(self.analyzer.analyse, entry))
                if not in_flight:
                    if control.cancelled:
                        break
                    continue
                done, in_flight = wait(in_flight, timeout=0.5, return_when=FIRST_COMPLETED)
                for fut in done:
                    res = fut.result()
                    pending_writes.append(res)
                    for stage, secs in res.seconds.items():
                        summary.stage_seconds[stage] = summary.stage_seconds.get(stage, 0.0) + secs
                    progress.done += 1
                    progress.faces += len(res.faces)
                    progress.errors += res.error is not None
                    report(str(res.entry.path))
                if len(pending_writes) >= self.options.batch_size or time.perf_counter() - last_flush > 1.0:
                    flush()
                    last_flush = time.perf_counter()
                if control.cancelled:
                    queue.clear()
            flush()

    def _reuse_by_content(self, entry: FileEntry, known: dict, summary: IndexSummary) -> int | None:
        """A new path whose content the catalog already has: a move (old path gone) or a copy.

        Costs one read of the file for its hash, but no decode and no inference.
        """
        if entry.size == BROKEN_LINK_SIZE or str(entry.path) in known or entry.size not in self._known_sizes:
            return None
        try:
            content_hash = hash_bytes(read_file(entry.path))
        except PhotoError:
            return None
        for photo_id, old_path, status in self.catalog.photos_by_hash(content_hash):
            if status == "error":
                continue
            if old_path != str(entry.path) and (status == STATUS_GONE or not Path(old_path).exists()):
                self.catalog.record_move(photo_id, str(entry.path), entry.size, entry.mtime_ns)
                summary.moved += 1
                known.pop(old_path, None)
                return photo_id
        for photo_id, _, status in self.catalog.photos_by_hash(content_hash):
            if status == "ok":
                summary.copied += 1
                return self.catalog.copy_photo(photo_id, str(entry.path), entry.size, entry.mtime_ns)
        return None

    def _store(self, res: PhotoAnalysis, summary: IndexSummary) -> int | None:
        path = str(res.entry.path)
        if res.error is not None:
            summary.errors.append((path, res.error))
            # A modification time of 0 never matches the file's, so the next run reads it again.
            mtime_ns = 0 if res.retry_next_run else res.entry.mtime_ns
            return self.catalog.record_error(path, max(res.entry.size, 0), mtime_ns, res.error)
        summary.indexed += 1
        summary.faces_found += len(res.faces)
        return self.catalog.record_photo(res.indexed_photo(self.analyzer.detector_id))

    def _rescore_stale(self, root: Path, control: RunControl) -> int:
        """Stored photos whose faces were scored by another model of some kind, or whose photo measures are older,
        get this version's results: one decode each on the worker pool, no detection. Returns how many photos."""
        kinds: dict[int, list[str]] = {}
        paths: dict[int, str] = {}
        for spec in self.specs:
            for photo_id, path in self.catalog.faces_needing(spec.kind, spec.model_id, root).items():
                kinds.setdefault(photo_id, []).append(spec.kind)
                paths[photo_id] = path
        unmeasured = self.catalog.photos_needing_measures(root)
        paths.update(unmeasured)
        todo = deque(sorted(paths))
        done = 0
        workers = self._calls_at_once()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="albumsorter-rescore") as pool:
            in_flight: dict[Future, int] = {}
            while todo or in_flight:
                while todo and len(in_flight) < workers * 2 and not control.cancelled:
                    control.wait_if_paused()
                    photo_id = todo.popleft()
                    faces = [(f.id, f.to_face_result()) for f in self.catalog.faces_for([photo_id]).get(photo_id, [])]
                    job = pool.submit(
                        self.analyzer.refresh, paths[photo_id], kinds.get(photo_id, []), faces, photo_id in unmeasured
                    )
                    in_flight[job] = photo_id
                if not in_flight:
                    break
                finished, _ = wait(in_flight, timeout=0.5, return_when=FIRST_COMPLETED)
                for job in finished:
                    photo_id = in_flight.pop(job)
                    try:
                        results, measures = job.result()
                    except PhotoError:
                        continue  # unreadable now; the next full index records why
                    if measures is not None:
                        self.catalog.store_measures(photo_id, measures)
                    self.catalog.store_results(results)
                    done += 1
                if control.cancelled:
                    todo.clear()
        return done
