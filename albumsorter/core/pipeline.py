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

import numpy as np

from albumsorter.core.catalog import STATUS_GONE, Catalog
from albumsorter.core.classes import CLASSES_8
from albumsorter.core.classify import ExpressionClassifier, ModelCard
from albumsorter.core.decoding import PhotoError, ReadError, decode, hash_bytes, read_file
from albumsorter.core.detection import DetectionSettings, find_faces
from albumsorter.core.faces import DetectedFace, FaceDetector
from albumsorter.core.locking import RunLock
from albumsorter.core.preprocess import PreprocessConfig, face_input
from albumsorter.core.resources import detector_model_path, expression_model_card_path
from albumsorter.core.scanning import BROKEN_LINK_SIZE, PHOTO_EXTENSIONS, FileEntry, looks_like_photo, walk_files

STAGES = ("read", "decode", "detect", "preprocess", "classify", "store")


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

    @property
    def photos_per_second(self) -> float:
        work = self.indexed + self.reclassified + len(self.errors)
        return work / self.elapsed if self.elapsed > 0 else 0.0


@dataclass
class PhotoAnalysis:
    """What a worker found in one photo (everything in upright full-resolution pixels)."""

    entry: FileEntry
    content_hash: str = ""
    format: str = ""
    width: int = 0
    height: int = 0
    taken_at: str | None = None
    faces: list[dict] = field(default_factory=list)
    error: str | None = None
    retry_next_run: bool = False  # a read error: try again even if the file looks unchanged
    seconds: dict[str, float] = field(default_factory=dict)


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


class _WorkerModels(threading.local):
    """Each worker thread gets its own detector and classifier (neither is thread-safe)."""

    detector: FaceDetector | None = None
    classifier: ExpressionClassifier | None = None


class Analyzer:
    """Runs detection and classification on one photo; one per run, models per thread."""

    def __init__(self, card: ModelCard, options: IndexOptions) -> None:
        self.card = card
        self.options = options
        pre = card.preprocessing
        if options.preprocessing is not None:
            pre = PreprocessConfig.from_dict({**pre.to_dict(), "enabled": options.preprocessing})
        self.preprocess = pre
        self._local = _WorkerModels()
        self._created: list[FaceDetector] = []
        self._lock = threading.Lock()
        self.detector_id = options.detection.id

    def _models(self) -> tuple[FaceDetector, ExpressionClassifier]:
        if self._local.detector is None:
            self._local.detector = FaceDetector(self.options.detector_model, self.options.detection.min_confidence)
            self._local.classifier = ExpressionClassifier(self.card, num_threads=1)
            with self._lock:
                self._created.append(self._local.detector)
        return self._local.detector, self._local.classifier

    def close(self) -> None:
        """Release the native detectors of all worker threads (the next run makes new ones)."""
        with self._lock:
            for detector in self._created:
                detector.close()
            self._created.clear()
            self._local = _WorkerModels()

    def analyse(self, entry: FileEntry) -> PhotoAnalysis:
        """Read, decode once, detect, pre-process and classify one file. Never raises for a bad photo."""
        result = PhotoAnalysis(entry)
        t = time.perf_counter()
        try:
            if entry.size == BROKEN_LINK_SIZE:
                raise ReadError("broken symbolic link")
            data = read_file(entry.path)
            t = _tick(result.seconds, "read", t)
            photo = decode(data, self.options.detection.max_side, str(entry.path))
            del data
            t = _tick(result.seconds, "decode", t)
            detector, classifier = self._models()
            faces = find_faces(detector, photo.rgb, self.options.detection)
            t = _tick(result.seconds, "detect", t)
            probs = self._classify(classifier, photo.rgb, faces, result.seconds)
        except PhotoError as exc:
            result.error = str(exc)
            result.retry_next_run = isinstance(exc, ReadError)
            return result
        except Exception as exc:  # a bug or library failure on one photo must not stop the folder
            result.error = f"internal error: {type(exc).__name__}: {exc}"
            return result
        result.content_hash = photo.content_hash
        result.format = photo.format
        result.width, result.height = photo.width, photo.height
        result.taken_at = photo.taken_at
        full_size = [face.scaled(photo.scale) for face in faces]  # stored in full-resolution upright pixels
        result.faces = [
            {
                "box": face.box,
                "score": face.score,
                "keypoints": face.keypoints.tolist(),
                "model_id": self.card.id,
                "probabilities": p.tolist(),
                "label": CLASSES_8[int(np.argmax(p))],
            }
            for face, p in zip(full_size, probs)
        ]
        return result

    def _classify(self, classifier: ExpressionClassifier, rgb: np.ndarray, faces: list[DetectedFace], seconds: dict) -> np.ndarray:
        t = time.perf_counter()
        inputs = [face_input(rgb, self.preprocess, f.box, f.right_eye, f.left_eye) for f in faces]
        t = _tick(seconds, "preprocess", t)
        if not inputs:
            return np.zeros((0, len(CLASSES_8)), dtype=np.float32)
        probs = classifier.predict(np.stack(inputs))
        _tick(seconds, "classify", t)
        return probs

    def reclassify(self, path: str, faces: list[tuple[int, list[list[float]], tuple]]) -> list[tuple[int, np.ndarray]]:
        """New model, same faces: decode and classify the stored faces without detecting again."""
        photo = decode(read_file(path), self.options.detection.max_side, path)
        _, classifier = self._models()
        inputs = []
        for _, kps, box in faces:
            k = np.asarray(kps, dtype=np.float32) / photo.scale
            b = tuple(v / photo.scale for v in box)
            inputs.append(face_input(photo.rgb, self.preprocess, b, tuple(k[0]), tuple(k[1])))
        if not inputs:
            return []
        probs = classifier.predict(np.stack(inputs))
        return [(face_id, p) for (face_id, _, _), p in zip(faces, probs)]


def _tick(seconds: dict, stage: str, since: float) -> float:
    now = time.perf_counter()
    seconds[stage] = seconds.get(stage, 0.0) + (now - since)
    return now


class Indexer:
    """Indexes folders into one catalog. Call `run` from the thread that owns the catalog."""

    def __init__(self, catalog: Catalog, options: IndexOptions | None = None) -> None:
        self.catalog = catalog
        self.options = options or IndexOptions()
        card_path = self.options.model_card or expression_model_card_path()
        self.card = ModelCard.load(card_path)
        # Load both models once up front so a missing or broken file stops the run before any work.
        ExpressionClassifier(self.card)
        FaceDetector(self.options.detector_model or detector_model_path(), self.options.detection.min_confidence).close()
        self.analyzer = Analyzer(self.card, self.options)

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
            if state and state[1] == entry.size and state[2] == entry.mtime_ns and state[3] != STATUS_GONE and (
                state[3] == "error" or state[4] == self.analyzer.detector_id
            ):
                summary.unchanged += 1
                continue
            if entry.size != BROKEN_LINK_SIZE and entry.path.suffix.lower() not in PHOTO_EXTENSIONS and not looks_like_photo(entry.path):
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
                summary.reclassified = self._reclassify_stale(root, control, summary)
        finally:
            self.analyzer.close()
        summary.elapsed = time.perf_counter() - start
        report(None)
        return summary

    def _analyse_all(self, todo, known, summary, progress, report, flush, pending_writes, on_photo, control) -> None:
        """Feed the worker pool (a bounded window, so pause and cancel act quickly) and store results."""
        workers = max(1, int(self.options.workers))
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
        for photo_id, old_path, status in self.catalog.photos_by_hash(content_hash):
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
        return self.catalog.record_photo(
            path, res.entry.size, res.entry.mtime_ns, res.content_hash, res.format, res.width, res.height,
            res.taken_at, self.analyzer.detector_id, res.faces,
        )

    def _reclassify_stale(self, root: Path, control: RunControl, summary: IndexSummary) -> int:
        """Faces classified by another model get this model's predictions; detection is not redone."""
        stale = self.catalog.faces_needing_model(self.card.id, root)
        if not stale:
            return 0
        count = 0
        faces_by_photo = self.catalog.faces_for(list(stale))
        for photo_id, path in stale.items():
            if control.cancelled:
                break
            control.wait_if_paused()
            faces = [(f.id, f.keypoints, f.box) for f in faces_by_photo.get(photo_id, [])]
            try:
                preds = self.analyzer.reclassify(path, faces)
            except PhotoError:
                continue  # unreadable now; the next full index records why
            self.catalog.store_predictions(
                (face_id, self.card.id, p.tolist(), CLASSES_8[int(np.argmax(p))]) for face_id, p in preds
            )
            count += 1
        return count
