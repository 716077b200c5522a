"""The batch job on Ray Data: the photos to do -> a pool of actors running `Analyzer.analyse` -> Parquet.

Each actor builds one `Analyzer` (the same class `index` uses: decode, detect, every face scorer) and keeps
its models for the whole run; rows are made as `list --json` makes its objects (rows.py). Without an address
a local Ray starts inside the command (loopback only, no dashboard, no usage reporting); with one, the job
runs on that cluster, whose workers need AlbumSorter installed (docs/batch.md).

Incremental: photos whose path, size and time match a row already in the output (made by the same detector
and scorers) are not sent to Ray at all, so a rerun over unchanged photos starts no Ray; a photo whose time
changed but whose content hash did not is read and hashed by its actor, and skipped without analysis.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from albumsorter.batch.rows import STATE_COLUMNS, RowMaker, latest_rows, scorer_ids, to_table
from albumsorter.batch.sources import SourceFile, expand_sources, fetch_to_temp, is_uri
from albumsorter.core.analysis import Analyzer, PhotoAnalysis, check_models, load_scorer_specs
from albumsorter.core.decoding import PhotoError, hash_bytes, read_file
from albumsorter.core.detection import DetectionSettings
from albumsorter.core.runtime import check_device, describe_runtime, set_device
from albumsorter.core.scanning import FileEntry

log = logging.getLogger(__name__)

CPU_BATCH, GPU_BATCH = 8, 32  # photos per actor call: larger on a GPU, so its inference batches fill up


@dataclass
class BatchOptions:
    output: str
    address: str | None = None  # None: start a local Ray inside this process
    workers: int = 0  # actors (one CPU each); 0: one per core (local) or per CPU of the cluster
    device: str = "auto"
    detection: DetectionSettings = field(default_factory=DetectionSettings)
    preprocessing: bool | None = None
    model_card: Path | None = None
    batch_size: int = 0  # photos per actor call; 0: CPU_BATCH, or GPU_BATCH when actors get a GPU
    object_store_mb: int = 512  # local Ray only: rows are small and photos never enter the object store


@dataclass
class BatchSummary:
    photos: int = 0  # found in the sources
    skipped: int = 0  # unchanged since an earlier run (path, size and time, or content hash)
    analysed: int = 0
    faces: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    workers: int = 0
    gpus_per_worker: float = 0.0
    runtime: str = ""  # what ran the expression model on the workers
    startup_seconds: float = 0.0  # starting (or connecting to) Ray
    run_seconds: float = 0.0  # Ray Data: actors starting, analysis, writing
    elapsed: float = 0.0
    run_id: str = ""

    @property
    def photos_per_second(self) -> float:
        return (self.analysed + len(self.errors)) / self.run_seconds if self.run_seconds > 0 else 0.0


def _unchanged(state: dict[str, Any], f: SourceFile, detector_id: str, scorers: str) -> bool:
    if state["retry"] or state["size"] != f.size or state["mtime_ns"] != f.mtime_ns:
        return False
    return state["status"] == "error" or (state["detector_id"] == detector_id and state["scorer_ids"] == scorers)


def plan(files: Sequence[SourceFile], output: str, detector_id: str, scorers: str) -> tuple[list[SourceFile], dict[str, str]]:
    """The photos to analyse, and for those whose path has a current row, the content hash it had (an actor
    skips the photo when the bytes still hash to it)."""
    state = {row["path"]: row for row in latest_rows(output, STATE_COLUMNS).to_pylist()}
    todo, known_hashes = [], {}
    for f in files:
        s = state.get(f.path)
        if s is not None and _unchanged(s, f, detector_id, scorers):
            continue
        todo.append(f)
        if s is not None and s["status"] == "ok" and s["detector_id"] == detector_id and s["scorer_ids"] == scorers:
            known_hashes[f.path] = s["content_hash"]
    return todo, known_hashes


class AnalysePhotos:
    """Ray Data's callable class: one per actor, holding one Analyzer (and so one set of models) for the run."""

    def __init__(self, options: BatchOptions, known_hashes: dict[str, str], run_id: str) -> None:
        logging.basicConfig(level=logging.WARNING)
        set_device(options.device)  # the expression classifier picks its runtime from this (core/runtime.py)
        _, self.specs = load_scorer_specs(options.model_card, options.preprocessing)
        self.analyzer = Analyzer(self.specs, options.detection)
        self.known_hashes = known_hashes
        runtime = describe_runtime(options.model_card, options.device)
        self.rows = RowMaker(self.analyzer.detector_id, scorer_ids(self.specs), run_id, runtime)
        # The analysis runs on one thread of the actor's own for the whole run: the Analyzer makes a thread's models
        # once, on its first photo, whichever thread Ray calls the actor from.
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="albumsorter-batch")
        self.tmp = tempfile.mkdtemp(prefix="albumsorter-batch-")

    def __call__(self, batch: pa.Table) -> pa.Table:
        files = [SourceFile(r["path"], r["size"], r["mtime_ns"]) for r in batch.to_pylist()]
        done = [r for r in self.pool.map(self._analyse, files) if r is not None]
        return to_table(self.rows.rows(done))

    def _analyse(self, f: SourceFile) -> tuple[str, PhotoAnalysis] | None:
        """(path, analysis), or None when the content is what the output already has."""
        local = Path(f.path)
        try:
            if f.is_uri:
                try:
                    local = fetch_to_temp(f.path, self.tmp)
                except OSError as exc:
                    return f.path, PhotoAnalysis(
                        FileEntry(Path(f.path), f.size, f.mtime_ns), error=f"cannot read: {exc}", retry_next_run=True
                    )
            known = self.known_hashes.get(f.path)
            if known is not None:
                try:
                    if hash_bytes(read_file(local)) == known:
                        return None
                except PhotoError:
                    pass  # the analysis reports it
            return f.path, self.analyzer.analyse(FileEntry(local, f.size, f.mtime_ns))
        finally:
            if f.is_uri and local != Path(f.path):
                local.unlink(missing_ok=True)

    def __del__(self) -> None:
        shutil.rmtree(getattr(self, "tmp", ""), ignore_errors=True)


def start_ray(address: str | None, workers: int, object_store_mb: int) -> None:
    """Connect to a cluster (`address`, else $RAY_ADDRESS as a RayJob's entrypoint has it), or start a local Ray of
    `workers` CPUs that only listens on the loopback."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    # Worker output (native libraries' INFO lines) stays in Ray's session logs; failures come back as exceptions.
    common: dict[str, Any] = dict(configure_logging=True, logging_level=logging.WARNING, log_to_driver=False)
    if address:
        ray.init(address=address, **common)
    else:
        ray.init(
            num_cpus=workers,
            include_dashboard=False,
            object_store_memory=object_store_mb * 1024 * 1024,
            _node_ip_address="127.0.0.1",
            **common,
        )


def _quiet_ray_data() -> None:
    from ray.data import DataContext

    ctx = DataContext.get_current()
    ctx.enable_progress_bars = sys.stderr.isatty()
    ctx.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)


def _gpus_per_worker(device: str, workers: int) -> float:
    """Actors share the cluster's GPUs (detection stays on their CPU; only the classifier uses the GPU)."""
    import ray

    gpus = float(ray.cluster_resources().get("GPU", 0.0))
    if device == "gpu" and gpus == 0:
        raise RuntimeError("--device gpu: the Ray cluster has no GPU (use --device auto or cpu)")
    if device == "cpu" or gpus == 0:
        return 0.0
    return min(1.0, gpus / workers)


def run_batch(sources: Sequence[str], options: BatchOptions) -> BatchSummary:
    """Analyse every photo of `sources` not yet in `options.output` and append their rows there.

    Raises SourceError (a source is absent), ModelError / DetectorError (a model is missing or broken, checked
    here before Ray starts), RuntimeError (--device gpu without a GPU)."""
    start = time.perf_counter()
    check_device(options.device)
    summary = BatchSummary(run_id=uuid.uuid4().hex[:12])
    card, specs = load_scorer_specs(options.model_card, options.preprocessing)
    check_models(specs, options.detection)
    if options.device == "gpu" and not (options.address or os.environ.get("RAY_ADDRESS")):
        from albumsorter.core.classify import ExpressionClassifier

        ExpressionClassifier(card, device="gpu")  # this machine runs the actors: say now why there is no GPU (ModelError)
    files = expand_sources(sources)
    todo, known_hashes = plan(files, options.output, options.detection.id, scorer_ids(specs))
    summary.photos = len(files)
    summary.skipped = len(files) - len(todo)
    if not todo:
        summary.elapsed = time.perf_counter() - start
        return summary

    t = time.perf_counter()
    start_ray(options.address, options.workers or (os.cpu_count() or 1), options.object_store_mb)
    import ray
    import ray.data

    summary.startup_seconds = time.perf_counter() - t
    _quiet_ray_data()
    workers = options.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    workers = min(workers, len(todo))
    gpus = _gpus_per_worker(options.device, workers)
    summary.workers, summary.gpus_per_worker = workers, gpus
    batch_size = options.batch_size or (GPU_BATCH if gpus else CPU_BATCH)
    batch_size = max(1, min(batch_size, -(-len(todo) // workers)))  # every actor gets work on a small run

    t = time.perf_counter()
    items = [{"path": f.path, "size": f.size, "mtime_ns": f.mtime_ns} for f in todo]
    photos = ray.data.from_items(items, override_num_blocks=max(1, -(-len(items) // batch_size)))
    rows = photos.map_batches(
        AnalysePhotos,
        fn_constructor_kwargs=dict(options=options, known_hashes=known_hashes, run_id=summary.run_id),
        compute=ray.data.ActorPoolStrategy(size=workers),
        batch_size=batch_size,
        batch_format="pyarrow",
        num_cpus=1,
        num_gpus=gpus,
    )
    rows.write_parquet(_output_path(options.output), min_rows_per_file=1000)
    summary.run_seconds = time.perf_counter() - t
    _count(summary, options.output)
    summary.elapsed = time.perf_counter() - start
    return summary


def _output_path(output: str) -> str:
    return output if is_uri(output) else os.path.abspath(os.path.expanduser(output))


def _count(summary: BatchSummary, output: str) -> None:
    """This run's figures, from the rows it wrote."""
    table = latest_rows(output, ["path", "status", "error", "face_count", "run_id", "runtime", "analysed_at"])
    mine = table.filter(pc.equal(table.column("run_id"), summary.run_id))
    summary.runtime = ", ".join(sorted({r for r in mine.column("runtime").to_pylist() if r}))
    for row in mine.to_pylist():
        if row["status"] == "error":
            summary.errors.append((row["path"], row["error"]))
        else:
            summary.analysed += 1
            summary.faces += int(row["face_count"])
    summary.skipped = summary.photos - summary.analysed - len(summary.errors)
