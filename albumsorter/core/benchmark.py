"""`albumsorter bench`: where the time of indexing goes, per stage, against a plain Pillow decode."""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path

from PIL import Image

from albumsorter.core.catalog import Catalog
from albumsorter.core.pipeline import STAGES, Indexer, IndexOptions
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


def run_benchmark(folder: Path, options: IndexOptions, upscale_mp: float | None = None, baseline: bool = True) -> str:
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
        if baseline:
            for p in photos[:3]:  # warm the page cache so both sides read from memory
                p.read_bytes()
            lines.append(f"Plain full-resolution Pillow decode: {plain_decode_ms(photos):.1f} ms/photo (one thread)")
        with Catalog(tmp_path / "bench.sqlite") as catalog, WorkerProcesses() as processes:
            for workers in sorted({1, options.workers}):
                in_processes = workers > 1 and processes_wanted()
                if in_processes:  # started before the clock runs, as the window keeps them between runs
                    t = time.perf_counter()
                    processes.start(workers, replace(options, workers=workers))
                    started = time.perf_counter() - t
                indexer = Indexer(catalog, replace(options, workers=workers), processes if in_processes else None)
                catalog.conn.execute("DELETE FROM faces")
                catalog.conn.execute("DELETE FROM photos")
                summary = indexer.run(source)
                n = max(1, summary.indexed + len(summary.errors))
                how = f"{workers} processes" if in_processes else f"{workers} worker thread{'s' if workers > 1 else ''}"
                lines.append(
                    f"\nPipeline with {how}: {summary.indexed} photos, {summary.faces_found} faces, {len(summary.errors)} errors"
                )
                if in_processes:
                    lines.append(f"  (starting the processes and loading their models took {started:.1f} s, not counted below)")
                stages = [*STAGES, *(s for s in summary.stage_seconds if s not in STAGES)]  # scorers add their own
                per_stage = {s: 1000.0 * summary.stage_seconds.get(s, 0.0) / n for s in stages}
                for stage in stages:
                    lines.append(f"  {stage:<11} {per_stage[stage]:8.1f} ms/photo")
                lines.append(f"  {'total':<11} {sum(per_stage.values()):8.1f} ms/photo of work")
                lines.append(f"  wall clock  {1000.0 * summary.elapsed / n:8.1f} ms/photo, {n / summary.elapsed:.1f} photos/s")
            t = time.perf_counter()
            again = indexer.run(source)
            lines.append(
                f"\nSecond run over the unchanged folder: {time.perf_counter() - t:.2f} s, "
                f"{again.indexed} photos analysed, {again.unchanged} skipped"
            )
        return "\n".join(lines)
