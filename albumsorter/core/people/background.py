"""The people pass: embeddings for the faces indexing found, computed after indexing, in worker processes.

Why processes: dlib holds the GIL for the whole ~60-150 ms of a face (measured: a 5 ms timer thread in the
same process stalled for 344 ms), so a thread of the window's process would freeze the window. Each worker
process loads the models once, lowers its own priority, decodes the photo at the size its faces need
(`decode_side_for`: full resolution only when a face would otherwise be small) and returns one identity
result per face. The caller (catalog owner) reads jobs from the catalog and writes the results back.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from albumsorter.core.decoding import PhotoError, decode, read_file
from albumsorter.core.face import FaceResult, ScorerResult
from albumsorter.core.people.embedding import decode_side_for, import_dlib, verify_model_files
from albumsorter.core.people.scorer import IdentityScorer
from albumsorter.core.scorers.base import ScoringContext


@dataclass(frozen=True)
class PhotoJob:
    """One photo's faces to embed, as the catalog stores them (full-resolution upright pixels)."""

    key: Any  # the caller's photo id, handed back with the result
    path: str
    faces: tuple[FaceResult, ...]
    content_hash: str | None = None  # if given, a photo whose bytes changed since indexing is an error


@dataclass
class PhotoEmbeddings:
    key: Any
    results: list[ScorerResult | None] = field(default_factory=list)  # one per job face, in order
    error: str | None = None
    decoded_long_side: int = 0
    seconds: float = 0.0  # work time in the worker (decode + embed)


def _long_side(data: bytes) -> int:
    try:
        with Image.open(io.BytesIO(data)) as image:
            return max(image.size)
    except Exception as exc:
        raise PhotoError(f"unreadable image: {exc}") from None


def embed_photo(job: PhotoJob, scorer: IdentityScorer, fixed_side: int | None = None) -> PhotoEmbeddings:
    """Decode `job`'s photo at the size its faces need (or at `fixed_side`) and run the identity scorer."""
    start = time.perf_counter()
    out = PhotoEmbeddings(job.key)
    try:
        data = read_file(job.path)
        side = fixed_side or decode_side_for(_long_side(data), [f.width for f in job.faces])
        photo = decode(data, side)
        if job.content_hash is not None and photo.content_hash != job.content_hash:
            raise PhotoError("the photo changed since it was indexed; index it again")
        faces = [face.scaled(1.0 / photo.scale) for face in job.faces]
        out.results = scorer.score(photo.rgb, faces, ScoringContext(photo.scale, photo.width, photo.height))
        out.decoded_long_side = max(photo.rgb.shape[:2])
    except PhotoError as exc:
        out.error = str(exc)
    out.seconds = time.perf_counter() - start
    return out


_worker_scorer: IdentityScorer | None = None


def _init_worker(niceness: int) -> None:
    global _worker_scorer
    if niceness and hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(niceness)  # the window and indexing come first
    _worker_scorer = IdentityScorer()


def _work(job: PhotoJob) -> PhotoEmbeddings:
    assert _worker_scorer is not None
    return embed_photo(job, _worker_scorer)


def default_workers() -> int:
    """All cores but one: the window keeps one to itself."""
    return max(1, (os.cpu_count() or 2) - 1)


def run_people_pass(
    jobs: Iterable[PhotoJob],
    workers: int | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    niceness: int = 10,
) -> Iterator[PhotoEmbeddings]:
    """Embeddings for each job, as they finish (not in order), from `workers` processes.

    Model files are checked before any worker starts (EmbeddingModelError). Stops handing out work as soon
    as `cancelled()` is true; what was already finished has been yielded, so a later pass resumes.
    Processes are started with "spawn": forking a process that runs Qt and MediaPipe threads is unsafe.
    A frozen (PyInstaller) app must call multiprocessing.freeze_support() first thing in its entry point.
    """
    verify_model_files()  # here, so that a missing file or dlib is a clear error, not a broken pool
    import_dlib()
    workers = workers or default_workers()
    queue = iter(jobs)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(niceness,)) as pool:
        running: set[Future] = set()

        def refill() -> None:
            while len(running) < workers * 2 and not cancelled():
                job = next(queue, None)
                if job is None:
                    return
                running.add(pool.submit(_work, job))

        refill()
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                running.discard(future)
                yield future.result()
            refill()
