"""Analysing one photo: read -> decode -> detect -> every face scorer. No catalog here: indexing a folder
(pipeline.py) and the batch job both call `Analyzer.analyse` on one file at a time.

Models are per thread (neither MediaPipe's detector nor LiteRT's interpreter is thread-safe): each worker
thread makes its own detector and scorers on first use; `close` releases them all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from albumsorter.core.catalog.records import IndexedPhoto
from albumsorter.core.classify import ModelCard
from albumsorter.core.decoding import DecodedPhoto, PhotoError, ReadError, decode, read_file
from albumsorter.core.detection import DetectionSettings, find_faces
from albumsorter.core.face import Box, FaceResult, Landmarks, ScorerResult
from albumsorter.core.faces import FaceDetector
from albumsorter.core.geometry import iou
from albumsorter.core.photo_measures import PhotoMeasures, measure_photo
from albumsorter.core.preprocess import PreprocessConfig
from albumsorter.core.resources import detector_model_path, expression_model_card_path
from albumsorter.core.scanning import BROKEN_LINK_SIZE, FileEntry
from albumsorter.core.scorers import FaceScorer, ScorerSpec, ScoringContext, default_scorer_specs


@dataclass
class PhotoAnalysis:
    """What a worker found in one photo (faces in upright full-resolution pixels)."""

    entry: FileEntry
    content_hash: str = ""
    format: str = ""
    width: int = 0
    height: int = 0
    taken_at: str | None = None
    faces: list[FaceResult] = field(default_factory=list)
    measures: PhotoMeasures | None = None  # sharpness, exposure, grouping signature
    error: str | None = None
    retry_next_run: bool = False  # a read error: try again even if the file looks unchanged
    seconds: dict[str, float] = field(default_factory=dict)

    def indexed_photo(self, detector_id: str) -> IndexedPhoto:
        e = self.entry
        return IndexedPhoto(
            str(e.path),
            e.size,
            e.mtime_ns,
            self.content_hash,
            self.format,
            self.width,
            self.height,
            self.taken_at,
            detector_id,
            self.faces,
            self.measures,
        )


def load_scorer_specs(model_card: Path | None = None, preprocessing: bool | None = None) -> tuple[ModelCard, list[ScorerSpec]]:
    """The expression model's card (default: the shipped model) and every scorer indexing runs.
    `preprocessing` overrides the card's choice of the thesis's pre-processing (None: as the card says)."""
    card = ModelCard.load(model_card or expression_model_card_path())
    preprocess = card.preprocessing
    if preprocessing is not None:
        preprocess = PreprocessConfig.from_dict({**preprocess.to_dict(), "enabled": preprocessing})
    return card, default_scorer_specs(card, preprocess)


def check_models(specs: Sequence[ScorerSpec], detection: DetectionSettings, detector_model: Path | None = None) -> None:
    """Load every model once, so a missing or broken file stops a run before any work (ModelError/DetectorError)."""
    FaceDetector(detector_model or detector_model_path(), detection.min_confidence).close()
    for spec in specs:
        spec.create().close()


class _ThreadModels(threading.local):
    detector: FaceDetector | None = None
    scorers: list[FaceScorer] | None = None


def run_scorers(scorers: Sequence[FaceScorer], photo: DecodedPhoto, faces: list[FaceResult], seconds: dict[str, float]) -> None:
    """Every scorer on the faces of one decoded photo (faces in its pixels), in order; results land on the faces."""
    if not faces:
        return
    context = ScoringContext(photo.scale, photo.width, photo.height, seconds)
    for scorer in scorers:
        t = time.perf_counter()
        stages_before = set(seconds)
        results = scorer.score(photo.rgb, faces, context)
        if set(seconds) == stages_before:  # the scorer did not split its time into stages of its own
            seconds[scorer.kind] = seconds.get(scorer.kind, 0.0) + time.perf_counter() - t
        for face, result in zip(faces, results):
            if result is not None:
                face.results[scorer.kind] = result


class Analyzer:
    """Detection and every face scorer on one photo at a time; safe to call from several threads."""

    def __init__(self, specs: Sequence[ScorerSpec], detection: DetectionSettings, detector_model: Path | None = None) -> None:
        self.specs = list(specs)
        self.detection = detection
        self.detector_model = detector_model
        self.detector_id = detection.id
        self._local = _ThreadModels()
        self._created: list[FaceDetector | FaceScorer] = []
        self._lock = threading.Lock()

    def models(self) -> tuple[FaceDetector, list[FaceScorer]]:
        """This thread's detector and scorers (made on first use)."""
        local = self._local
        if local.detector is None or local.scorers is None:
            local.detector = FaceDetector(self.detector_model, self.detection.min_confidence)
            local.scorers = [spec.create() for spec in self.specs]
            with self._lock:
                self._created += [local.detector, *local.scorers]
        return local.detector, local.scorers

    def close(self) -> None:
        """Release the native models of all worker threads (the next use makes new ones)."""
        with self._lock:
            for model in self._created:
                model.close()
            self._created.clear()
            self._local = _ThreadModels()

    def analyse(self, entry: FileEntry) -> PhotoAnalysis:
        """Read, decode once, detect and score one file. Never raises for a bad photo."""
        result = PhotoAnalysis(entry)
        t = time.perf_counter()
        try:
            if entry.size == BROKEN_LINK_SIZE:
                raise ReadError("broken symbolic link")
            data = read_file(entry.path)
            t = _tick(result.seconds, "read", t)
            photo = decode(data, self.detection.max_side)
            t = _tick(result.seconds, "decode", t)
            result.measures = measure_photo(photo.rgb, data)
            del data
            t = _tick(result.seconds, "measure", t)
            detector, scorers = self.models()
            faces = find_faces(detector, photo.rgb, self.detection)
            _tick(result.seconds, "detect", t)
            run_scorers(scorers, photo, faces, result.seconds)
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
        result.faces = [face.scaled(photo.scale) for face in faces]  # stored in full-resolution upright pixels
        return result

    def refresh(
        self, path: str, kinds: Sequence[str], faces: Sequence[tuple[int, FaceResult]], measure: bool
    ) -> tuple[list[tuple[int, ScorerResult]], PhotoMeasures | None]:
        """New models of some kinds (or new photo measures), same faces: decode once and run just those scorers on
        the stored faces (full-resolution pixels, with their other results), in the usual order, without detecting
        again. Returns (face id, result) pairs and the photo's measures (None unless asked). Raises PhotoError."""
        data = read_file(path)
        photo = decode(data, self.detection.max_side)
        measures = measure_photo(photo.rgb, data) if measure else None
        _, scorers = self.models()
        decoded = [face.scaled(1.0 / photo.scale) for _, face in faces]
        out: list[tuple[int, ScorerResult]] = []
        if decoded:
            context = ScoringContext(photo.scale, photo.width, photo.height)
            for scorer in scorers:
                if scorer.kind not in kinds:
                    continue
                for (face_id, _), face, result in zip(faces, decoded, scorer.score(photo.rgb, decoded, context)):
                    if result is not None:
                        face.results[scorer.kind] = result  # later scorers see it, as in a full run
                        out.append((face_id, result))
        return out, measures


def landmarks_for_box(detector: FaceDetector, rgb: np.ndarray, box: Box) -> Landmarks:
    """Key points for a face the user drew: the detector run on a padded crop around the box (it finds faces that
    fill a crop far better than small ones in a whole photo), else points placed by a face's usual proportions."""
    left, top, right, bottom = box
    side = max(right - left, bottom - top)
    x0, y0 = int(max(0, left - side)), int(max(0, top - side))
    x1, y1 = int(min(rgb.shape[1], right + side)), int(min(rgb.shape[0], bottom + side))
    if x1 - x0 >= 8 and y1 - y0 >= 8:
        found = [f.translated(x0, y0) for f in detector.detect(rgb[y0:y1, x0:x1])]
        best = max(found, key=lambda f: iou(f.box, box), default=None)
        if best is not None and iou(best.box, box) >= 0.3:
            return best.landmarks
    w, h = right - left, bottom - top
    return Landmarks(
        right_eye=(left + 0.3 * w, top + 0.4 * h), left_eye=(left + 0.7 * w, top + 0.4 * h), nose_tip=(left + 0.5 * w, top + 0.6 * h),
        mouth=(left + 0.5 * w, top + 0.78 * h), right_ear=(left, top + 0.45 * h), left_ear=(right, top + 0.45 * h),
    )  # fmt: skip


def score_drawn_face(analyzer: Analyzer, path: str, box: Box) -> FaceResult:
    """A face the user drew on a photo (box in full-resolution upright pixels), scored like any detected face.
    Raises PhotoError for an unreadable photo, ValueError for a box outside it."""
    photo = decode(read_file(path), analyzer.detection.max_side)
    left, top, right, bottom = (max(0.0, min(v, limit)) for v, limit in zip(box, (photo.width, photo.height) * 2))
    if right - left < 4 or bottom - top < 4:
        raise ValueError(f"the box {box} is not a face-sized area inside the {photo.width} x {photo.height} photo")
    detector, scorers = analyzer.models()
    decoded_box = (left / photo.scale, top / photo.scale, right / photo.scale, bottom / photo.scale)
    face = FaceResult(decoded_box, 1.0, landmarks_for_box(detector, photo.rgb, decoded_box))
    run_scorers(scorers, photo, [face], {})
    return face.scaled(photo.scale)


def _tick(seconds: dict[str, float], stage: str, since: float) -> float:
    now = time.perf_counter()
    seconds[stage] = seconds.get(stage, 0.0) + (now - since)
    return now
