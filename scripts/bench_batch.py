#!/usr/bin/env python3
"""Throughput of `albumsorter batch` (Ray Data) against `albumsorter index` on the same photos; prints figures.

    nice -n 10 .venv/bin/python scripts/bench_batch.py [FOLDER] [--workers 1 2] [--no-cluster]

FOLDER defaults to ../shared/photos; its photos are copied into a temporary folder first. Measured:
- `index` (threads in one process, a temporary catalog) with each worker count;
- `batch` on a local Ray with each worker count: Ray's start-up alone, then the job (actors starting and
  loading their models, analysis, Parquet writing), and a rerun over the unchanged output;
- a simulated multi-node set-up: `ray.cluster_utils.Cluster` with 2 nodes of 1 CPU each, the job sent to it
  by address with 1 and 2 workers (on one machine this shows the cost of distribution, not more cores).
Needs the cluster extra (pip install -e '.[cluster]'). No GPU path is measured here.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def copy_photos(source: Path, dest: Path) -> int:
    dest.mkdir(parents=True)
    n = 0
    for f in sorted(source.iterdir()):
        if f.suffix.lower() in (".jpg", ".jpeg", ".png", ".heic", ".webp"):
            shutil.copy2(f, dest / f.name)
            n += 1
    return n


def bench_index(folder: Path, workers: int, tmp: Path) -> tuple[float, int]:
    from albumsorter.core.catalog import Catalog
    from albumsorter.core.pipeline import Indexer, IndexOptions

    with Catalog(tmp / f"index-{workers}.sqlite") as catalog:
        t = time.perf_counter()
        summary = Indexer(catalog, IndexOptions(workers=workers)).run(folder)
        return time.perf_counter() - t, summary.faces_found


def bench_batch(folder: Path, workers: int, out: Path, address: str | None = None) -> dict:
    import ray

    from albumsorter.batch.job import BatchOptions, run_batch, start_ray
    from albumsorter.batch.rows import latest_rows

    t = time.perf_counter()
    start_ray(address, workers, 512)
    startup = time.perf_counter() - t
    job_start = time.time()
    summary = run_batch([str(folder)], BatchOptions(output=str(out), workers=workers, address=address))
    t = time.perf_counter()
    rerun = run_batch([str(folder)], BatchOptions(output=str(out), workers=workers, address=address))
    rerun_s = time.perf_counter() - t
    ray.shutdown()
    if rerun.analysed:  # e.g. the code changed under a running benchmark (another detector id)
        print(f"  note: the rerun analysed {rerun.analysed} photos again", file=sys.stderr)
    photos = summary.analysed + len(summary.errors)
    # Rows are stamped when their batch (8 photos an actor) is done: the first ones say how long the actors took to
    # start, load their models and do one batch; the rest how fast they went after that (photos in name order).
    times = sorted(latest_rows(str(out), ["analysed_at"]).column("analysed_at").to_pylist())
    first = times[0] - job_start
    later = [t for t in times if t > times[0] + 0.05]
    rest = len(later) / (times[-1] - times[0]) if later else float("nan")
    return {
        "startup": startup,
        "run": summary.run_seconds,
        "photos": photos,
        "faces": summary.faces,
        "rerun": rerun_s,
        "first": first,
        "rest": rest,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=REPO.parent / "shared" / "photos")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--no-cluster", action="store_true", help="skip the simulated 2-node cluster")
    args = parser.parse_args()
    if not args.folder.is_dir():
        print(f"no photo folder at {args.folder}", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp_name:
        tmp = Path(tmp_name)
        folder = tmp / "photos"
        n = copy_photos(args.folder, folder)
        print(f"{n} photos from {args.folder}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at start\n")

        (tmp / "warm").mkdir()
        bench_index(folder, 2, tmp / "warm")  # a first pass warms the page cache and model files for every run below
        print("index (threads, one process, SQLite catalog)")
        for w in args.workers:
            secs, faces = bench_index(folder, w, tmp)
            print(f"  {w} worker(s): {secs:6.1f} s   {n / secs:5.2f} photos/s   {faces / secs:6.1f} faces/s")

        print("\nbatch (local Ray, actors, Parquet)")
        for w in args.workers:
            r = bench_batch(folder, w, tmp / f"out-{w}")
            print(
                f"  {w} worker(s): Ray start {r['startup']:5.1f} s; job {r['run']:6.1f} s   {r['photos'] / r['run']:5.2f} photos/s   "
                f"{r['faces'] / r['run']:6.1f} faces/s; first batch done after {r['first']:4.1f} s, then {r['rest']:5.2f} photos/s; "
                f"rerun over the unchanged output {r['rerun']:.1f} s"
            )

        if not args.no_cluster:
            from ray.cluster_utils import Cluster

            print("\nbatch on a simulated cluster (ray.cluster_utils.Cluster: 2 nodes x 1 CPU on this machine)")
            for w in (1, 2):
                t = time.perf_counter()
                cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
                cluster.add_node(num_cpus=1)
                cluster.wait_for_nodes()
                up = time.perf_counter() - t
                try:
                    r = bench_batch(folder, w, tmp / f"cluster-{w}", address=cluster.address)
                finally:
                    cluster.shutdown()
                print(
                    f"  {w} worker(s): cluster start {up:5.1f} s, connect {r['startup']:4.1f} s; job {r['run']:6.1f} s   "
                    f"{r['photos'] / r['run']:5.2f} photos/s   {r['faces'] / r['run']:6.1f} faces/s; first batch done after "
                    f"{r['first']:4.1f} s, then {r['rest']:5.2f} photos/s"
                )
        print(f"\nload average {os.getloadavg()[0]:.1f} at the end; GPU: not measured (no GPU on this machine)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
