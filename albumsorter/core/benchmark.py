"""`albumsorter bench`: where the time of indexing goes, per stage, against a plain Pillow decode."""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from PIL import Image

from albumsorter.core.catalog import Catalog
from albumsorter.core.pipeline import STAGES, Indexer, IndexOptions, IndexSummary
from albumsorter.core.scanning import looks_like_photo, walk_files
from albumsorter.core.worker_processes import WorkerProcesses, processes_wanted


def make_upscaled_copies(folder: Path, dest: Path, megapixels: float, quality: int = 92) -> list[Path]:
    """JPEG copies of every photo in `folder` resized to about `megapixels` (bench input, e.g. 12 MP)."""
    out: list[Path] = []
    for entry in walk_files(folder):
        if not looks_like_photo(entry.path):
            continue
        try:
            with Image.open(entry.path) as original:
                rgb = original.convert("RGB")
                factor = (megapixels * 1e6 / (rgb.width * rgb.height)) ** 0.5
                rgb = rgb.resize((round(rgb.width * factor), round(rgb.height * factor)), Image.Resampling.BICUBIC)
                target = dest / f"{len(out):03d}_{entry.path.stem}.jpg"
                rgb.save(target, "JPEG", quality=quality)
                out.append(target)
        except OSError:
            continue
    return out


def plain_decode_ms(paths: list[Path]) -> float:
    """Mean milliseconds of a full-resolution Pillow decode to RGB (the yardstick of the speed goal)."""
    total = 0.0
    for path in paths:
        t = time.perf_counter()
        with Image.open(path) as im:
            im.convert("RGB").load()
        total += time.perf_counter() - t
    return 1000.0 * total / max(1, len(paths))


def run_benchmark(
    folder: Path, options: IndexOptions, upscale_mp: float | None = None, baseline: bool = True, rounds: int = 1
) -> str:
    """The report of `albumsorter bench`. With `rounds` > 1 the plain decode and each pipeline run take turns that
    many times and medians are shown: on a shared machine the speed drifts between runs, and the ratio of the two
    is only fair when both were measured at about the same time."""
    with tempfile.TemporaryDirectory(prefix="albumsorter-bench-") as tmp:
        tmp_path = Path(tmp)
        source = folder
        if upscale_mp:
            (tmp_path / "photos").mkdir()
            make_upscaled_copies(folder, tmp_path / "photos", upscale_mp)
            source = tmp_path / "photos"
        photos = [e.path for e in walk_files(source) if looks_like_photo(e.path)]
        megapixels = []
        for p in photos:
            try:
                with Image.open(p) as im:
                    megapixels.append(im.width * im.height / 1e6)
            except OSError:
                pass
        lines = [f"Folder: {folder}" + (f" (copies upscaled to {upscale_mp:g} MP)" if upscale_mp else "")]
        lines.append(f"Photos: {len(photos)}, mean {sum(megapixels) / max(1, len(megapixels)):.1f} MP")
        for p in photos[:3]:  # warm the page cache so both sides read from memory
            p.read_bytes()
        decode_ms: list[float] = []
        runs: dict[int, list[IndexSummary]] = {}
        started: float | None = None
        with Catalog(tmp_path / "bench.sqlite") as catalog, WorkerProcesses() as processes:
            for _ in range(max(1, rounds)):
                if baseline:
                    decode_ms.append(plain_decode_ms(photos))
                for workers in sorted({1, options.workers}):
                    in_processes = workers > 1 and processes_wanted()
                    if in_processes and started is None:  # started before the clock runs, as the window keeps them
                        t = time.perf_counter()
                        processes.start(workers, replace(options, workers=workers))
                        started = time.perf_counter() - t
                    indexer = Indexer(catalog, replace(options, workers=workers), processes if in_processes else None)
                    catalog.conn.execute("DELETE FROM faces")
                    catalog.conn.execute("DELETE FROM photos")
                    runs.setdefault(workers, []).append(indexer.run(source))
            if baseline:
                each = ", ".join(f"{ms:.1f}" for ms in decode_ms) if len(decode_ms) > 1 else ""
                lines.append(
                    f"Plain full-resolution Pillow decode: {statistics.median(decode_ms):.1f} ms/photo (one thread)"
                    + (f"; median of {len(decode_ms)} rounds: {each}" if each else "")
                )
            for workers, summaries in runs.items():
                lines += _pipeline_report(workers, summaries, workers > 1 and processes_wanted(), started, decode_ms)
            t = time.perf_counter()
            again = indexer.run(source)
            lines.append(
                f"\nSecond run over the unchanged folder: {time.perf_counter() - t:.2f} s, "
                f"{again.indexed} photos analysed, {again.unchanged} skipped"
            )
        return "\n".join(lines)


def _pipeline_report(
    workers: int, summaries: list[IndexSummary], in_processes: bool, started: float | None, decode_ms: list[float]
) -> list[str]:
    """Per-stage work of the median run (by wall clock), and the wall clock of each run against the plain decode."""
    walls = [1000.0 * s.elapsed / max(1, s.indexed + len(s.errors)) for s in summaries]
    summary = sorted(zip(walls, range(len(summaries))))[len(summaries) // 2][1]
    chosen = summaries[summary]
    n = max(1, chosen.indexed + len(chosen.errors))
    how = f"{workers} processes" if in_processes else f"{workers} worker thread{'s' if workers > 1 else ''}"
    lines = [f"\nPipeline with {how}: {chosen.indexed} photos, {chosen.faces_found} faces, {len(chosen.errors)} errors"]
    if in_processes and started is not None:
        lines.append(f"  (starting the processes and loading their models took {started:.1f} s, not counted below)")
    stages = [*STAGES, *(s for s in chosen.stage_seconds if s not in STAGES)]  # scorers add their own
    per_stage = {s: 1000.0 * chosen.stage_seconds.get(s, 0.0) / n for s in stages}
    for stage in stages:
        lines.append(f"  {stage:<11} {per_stage[stage]:8.1f} ms/photo")
    lines.append(f"  {'total':<11} {sum(per_stage.values()):8.1f} ms/photo of work")
    wall = statistics.median(walls)
    lines.append(f"  wall clock  {wall:8.1f} ms/photo, {1000.0 / wall:.1f} photos/s" + (" (median)" if len(walls) > 1 else ""))
    if decode_ms:
        ratios = [w / d for w, d in zip(walls, decode_ms)]
        each = f" (each round: {', '.join(f'{r:.2f}' for r in ratios)})" if len(ratios) > 1 else ""
        lines.append(f"  = {statistics.median(ratios):.2f} x the plain decode's time{each}")
        if len(ratios) > 1:
            # On a shared machine a round is only ever slowed down, never sped up: the fastest round of each is the
            # least disturbed measure of what each costs (as timeit's best of n).
            lines.append(
                f"  fastest round: {min(walls):.1f} ms/photo against the plain decode's fastest {min(decode_ms):.1f}"
                f" = {min(walls) / min(decode_ms):.2f} x"
            )
    return lines
