"""Learning from the user: fine-tune the real-photo head on the expressions the user corrected.

`improve_from_corrections` (the window runs it in the background; `albumsorter improve` in a terminal):

1. reads the catalog's corrections (`Catalog.corrected_faces()`: photo, box, eyes, label) and computes each
   face's features as the app does (decode at the detection size, the CNN on `face_input` and its mirror
   image, the Face Landmarker's blendshapes for faces the quality scorer would measure);
2. keeps a quarter of the corrected photos apart (by photo, seeded) and fine-tunes every linear head of the
   current head (the user's own, else the shipped one) on the rest, plus a replay sample of the faces the
   shipped head was fitted on when that file is present (optional: it is derived from ExpW, non-commercial
   research data, so it is never shipped; `python -m training.real_photo_head --install` writes it into the
   user's cache). Fine-tuning pulls the weights toward the current ones (`fit_linear_head(start=...)`);
3. compares new and current head on the held-out corrections: the new one must be at least as accurate and,
   when equally accurate, have no higher log-loss; otherwise it is refused and nothing changes;
4. installs it as the user's personal head (`personal_head_path()`, the user data directory, never models/)
   and re-labels the catalog: the expression model id changes, so the stored faces are re-scored by the
   Analyzer without detecting again (other catalogs follow at their next indexing run).

`revert_personal_head()` goes back to the shipped head (the personal file is kept beside it as
``*.reverted.json``); re-label the catalog afterwards (`relabel_catalog`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from albumsorter.core.classes import CLASSES_8, canonical_class
from albumsorter.core.expression_head import (
    ExpressionHead,
    LinearHead,
    active_head,
    cnn_features,
    fit_linear_head,
    mean_log_loss,
    personal_head_path,
)

REPLAY_FILE = "expression-head-replay.npz"
MIN_CORRECTIONS = 10  # fewer corrected faces cannot both teach and check a head
HELD_OUT_SHARE = 0.25  # of the corrected faces (whole photos), kept apart to check the new head
REPLAY_PER_CORRECTION = 3  # replay faces drawn per corrected training face (at most)
FINE_TUNE_L2 = 0.01  # pull toward the current weights (standardised features, per mean log-loss)

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class ImproveReport:
    """What one improve run did; `installed` is False when the new head was refused or could not be made."""

    corrections: int = 0
    train_faces: int = 0
    held_out_faces: int = 0
    replay_faces: int = 0
    current_accuracy: float | None = None
    new_accuracy: float | None = None
    current_log_loss: float | None = None
    new_log_loss: float | None = None
    installed: bool = False
    reason: str = ""
    head_id: str | None = None
    relabelled_photos: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


class ImproveError(RuntimeError):
    """Improving cannot start: no head for this expression model, or no usable corrections."""


# --- the replay sample -----------------------------------------------------------------------------------------------


def default_replay_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("AlbumSorter", appauthor=False)) / REPLAY_FILE


def save_replay(path: Path, names: Sequence[str], values: np.ndarray, labels: Sequence[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, names=np.array(list(names)), values=np.asarray(values, np.float32), labels=np.array(list(labels)))


def load_replay(path: Path | None) -> tuple[list[str], np.ndarray, list[str]] | None:
    """(feature names, values with NaN where a face lacks a feature, labels), or None without a usable file."""
    if path is None or not Path(path).is_file():
        return None
    try:
        data = np.load(path, allow_pickle=False)
        return [str(n) for n in data["names"]], data["values"].astype(np.float64), [str(c) for c in data["labels"]]
    except (OSError, ValueError, KeyError):
        return None


# --- features of the corrected faces ---------------------------------------------------------------------------------


def correction_features(
    corrections: Sequence[dict], flip: bool, model_card: Path | None = None, progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> tuple[list[dict[str, float]], list[int]]:  # fmt: skip
    """Features per corrected face exactly as the expression scorer sees them in the app (the scorers that run
    before it, e.g. "quality" with its blendshapes, run first), and the indices of the faces they belong to (a
    face whose photo can no longer be read is left out)."""
    from albumsorter.core.analysis import load_scorer_specs, run_scorers
    from albumsorter.core.decoding import PhotoError, decode, read_file
    from albumsorter.core.detection import DetectionSettings
    from albumsorter.core.face import FaceResult
    from albumsorter.core.scorers.expression import KIND, ExpressionScorer, landmarker_features

    card, specs = load_scorer_specs(model_card)
    cnn = ExpressionScorer(card, card.preprocessing, head=None)
    before = [spec.create() for spec in specs[: [s.kind for s in specs].index(KIND)]]
    max_side = DetectionSettings().max_side
    features: list[dict[str, float]] = []
    kept: list[int] = []
    by_photo: dict[str, list[int]] = {}
    for i, c in enumerate(corrections):
        by_photo.setdefault(c["path"], []).append(i)
    try:
        for done, (path, indices) in enumerate(by_photo.items()):
            if cancelled and cancelled():
                break
            if progress:
                progress("reading corrected faces", done, len(by_photo))
            try:
                photo = decode(read_file(path), max_side)
            except PhotoError:
                continue
            faces = [
                FaceResult(_box(corrections[i]["box"], 1.0 / photo.scale), 1.0, _landmarks(corrections[i], photo.scale))
                for i in indices
            ]
            run_scorers(before, photo, faces, {})
            log_p = cnn.cnn_log_probabilities(cnn.inputs(photo.rgb, faces), flip)
            for i, face, row in zip(indices, faces, log_p):
                features.append({**cnn_features(row), **landmarker_features(face)})
                kept.append(i)
    finally:
        for scorer in before:
            scorer.close()
    return features, kept


def _box(box: Sequence[float], factor: float) -> tuple[float, float, float, float]:
    return (float(box[0]) * factor, float(box[1]) * factor, float(box[2]) * factor, float(box[3]) * factor)


def _landmarks(correction: dict, scale: float):
    """Key points for a corrected face in decoded pixels: its stored eyes (or a face's usual eye positions in
    the box); the other points by a face's proportions (nothing downstream of detection reads them but the eyes)."""
    from albumsorter.core.face import Landmarks

    left, top, right, bottom = _box(correction["box"], 1.0 / scale)
    w, h = right - left, bottom - top
    eyes = [correction.get("right_eye"), correction.get("left_eye")]
    right_eye = (eyes[0][0] / scale, eyes[0][1] / scale) if eyes[0] is not None else (left + 0.3 * w, top + 0.4 * h)
    left_eye = (eyes[1][0] / scale, eyes[1][1] / scale) if eyes[1] is not None else (left + 0.7 * w, top + 0.4 * h)
    return Landmarks(
        right_eye=right_eye, left_eye=left_eye, nose_tip=(left + 0.5 * w, top + 0.6 * h), mouth=(left + 0.5 * w, top + 0.78 * h),
        right_ear=(left, top + 0.45 * h), left_ear=(right, top + 0.45 * h),
    )  # fmt: skip


# --- fitting and checking --------------------------------------------------------------------------------------------


def held_out_photos(paths: Sequence[str], share: float = HELD_OUT_SHARE, seed: int = 0) -> set[str]:
    """Whole photos, drawn at random (seeded) until they hold at least `share` of the faces."""
    photos = sorted(set(paths))
    order = np.random.default_rng(seed).permutation(len(photos))
    counts = {p: 0 for p in photos}
    for p in paths:
        counts[p] += 1
    chosen: set[str] = set()
    total = 0
    for i in order:
        if total >= share * len(paths) or len(chosen) >= len(photos) - 1:
            break
        chosen.add(photos[i])
        total += counts[photos[i]]
    return chosen


def predict(head: ExpressionHead, rows: Sequence[dict[str, float]]) -> np.ndarray:
    """(N, 8) probabilities as the scorer gives them (rows no head can read get uniform probabilities)."""
    out = np.full((len(rows), len(CLASSES_8)), 1.0 / len(CLASSES_8))
    for i, row in enumerate(rows):
        result = head.probabilities(row)
        if result is not None:
            out[i] = result[0]
    return out


def accuracy_and_loss(probs: np.ndarray, labels: Sequence[str]) -> tuple[float, float]:
    y = np.array([CLASSES_8.index(c) for c in labels])
    acc = float(np.mean(probs.argmax(axis=1) == y))
    return acc, mean_log_loss(np.log(np.clip(probs, 1e-6, 1.0)), y)


def _balanced(labels: Sequence[str]) -> np.ndarray:
    classes, index = np.unique(np.asarray(labels), return_inverse=True)
    counts = np.bincount(index).astype(float)
    return (len(labels) / (len(classes) * counts))[index]


def fine_tune(
    current: ExpressionHead, rows: Sequence[dict[str, float]], labels: Sequence[str],
    replay: tuple[list[str], np.ndarray, list[str]] | None, seed: int = 0, l2: float = FINE_TUNE_L2,
) -> tuple[ExpressionHead, int]:  # fmt: skip
    """Each linear head of `current` fine-tuned on the rows that have its features (corrections plus at most
    REPLAY_PER_CORRECTION replay faces each), class-balanced so the head's prior shift stays right.
    Returns the personal head and how many replay faces were used."""
    rng = np.random.default_rng(seed)
    new_heads: list[LinearHead] = []
    replay_used = 0
    for head in current.heads:
        usable = [i for i, r in enumerate(rows) if all(n in r for n in head.features)]
        x = np.array([[rows[i][n] for n in head.features] for i in usable]).reshape(len(usable), len(head.features))
        y_names = [labels[i] for i in usable]
        is_correction = [True] * len(usable)
        if replay is not None and usable:
            names, values, replay_labels = replay
            if all(n in names for n in head.features):
                cols = [names.index(n) for n in head.features]
                ok = np.nonzero(np.isfinite(values[:, cols]).all(axis=1))[0]
                take = rng.choice(ok, size=min(len(ok), REPLAY_PER_CORRECTION * len(usable)), replace=False) if len(ok) else ok
                x = np.vstack([x, values[take][:, cols]])
                y_names += [replay_labels[i] for i in take]
                is_correction += [False] * len(take)
                replay_used = max(replay_used, len(take))
        if not usable:
            new_heads.append(head)  # no correction has its features: keep it as it is
            continue
        classes = tuple(c for c in CLASSES_8 if c in head.classes or c in y_names)
        y = np.array([classes.index(canonical_class(c)) for c in y_names])
        weight = _balanced(y_names) * np.where(is_correction, 2.0, 1.0)  # the user's own faces count double
        new_heads.append(fit_linear_head(x, y, classes, head.features, l2=l2, sample_weight=weight, start=head))
    info = {"made_by": "albumsorter improve", "from": current.id, "corrections": len(rows), "replay_faces": replay_used}
    return replace(current, heads=tuple(new_heads), name="personal", info=info), replay_used


def improve_from_corrections(
    catalog, *, model_card: Path | None = None, replay_path: Path | None = None, use_replay: bool = True, seed: int = 0,
    install: bool = True, relabel: bool = True, progress: Progress | None = None, cancelled: Callable[[], bool] | None = None,
) -> ImproveReport:  # fmt: skip
    """Fine-tune, check, install and re-label (see the module's text). `catalog` is an open Catalog;
    `replay_path` None = `default_replay_path()` when that file exists. Raises ImproveError when it cannot start."""
    from albumsorter.core.analysis import load_scorer_specs

    report = ImproveReport()
    t = time.perf_counter()
    card, _ = load_scorer_specs(model_card)
    current = active_head(card.id)
    if current is None:
        raise ImproveError(f"no real-photo head for the expression model {card.id}: nothing to fine-tune")
    corrections = [dict(c, label=canonical_class(c["label"])) for c in catalog.corrected_faces()]
    report.corrections = len(corrections)
    if len(corrections) < MIN_CORRECTIONS or len({c["path"] for c in corrections}) < 2:
        raise ImproveError(
            f"{len(corrections)} corrected faces: correct at least {MIN_CORRECTIONS}, in at least 2 photos, to improve the model"
        )
    rows, kept = correction_features(corrections, current.flip, model_card, progress, cancelled)
    report.seconds["features"] = time.perf_counter() - t
    if cancelled and cancelled():
        report.reason = "cancelled"
        return report
    labels = [corrections[i]["label"] for i in kept]
    paths = [corrections[i]["path"] for i in kept]
    held = held_out_photos(paths, seed=seed)
    train = [i for i, p in enumerate(paths) if p not in held]
    test = [i for i, p in enumerate(paths) if p in held]
    report.train_faces, report.held_out_faces = len(train), len(test)
    if not train or not test:
        raise ImproveError("the corrected faces could not be read from enough photos to both teach and check a head")
    t = time.perf_counter()
    replay = load_replay(replay_path or default_replay_path()) if use_replay else None
    new, report.replay_faces = fine_tune(current, [rows[i] for i in train], [labels[i] for i in train], replay, seed)
    report.seconds["fit"] = time.perf_counter() - t
    held_rows, held_labels = [rows[i] for i in test], [labels[i] for i in test]
    report.current_accuracy, report.current_log_loss = accuracy_and_loss(predict(current, held_rows), held_labels)
    report.new_accuracy, report.new_log_loss = accuracy_and_loss(predict(new, held_rows), held_labels)
    worse = report.new_accuracy < report.current_accuracy or (
        report.new_accuracy == report.current_accuracy and report.new_log_loss > report.current_log_loss
    )
    if worse:
        report.reason = "the new head is not better than the current one on the held-out corrections: kept the current one"
        return report
    report.head_id = new.id
    if not install:
        report.reason = "checked, not installed"
        return report
    new.save(personal_head_path())
    report.installed = True
    report.reason = "installed as your personal model"
    if relabel:
        t = time.perf_counter()
        report.relabelled_photos = relabel_catalog(catalog, model_card, progress, cancelled)
        report.seconds["relabel"] = time.perf_counter() - t
    return report


def revert_personal_head() -> bool:
    """Back to the shipped head: the personal one is moved aside (``*.reverted.json``). False if there was none."""
    path = personal_head_path()
    if not path.is_file():
        return False
    path.replace(path.with_name(path.stem + ".reverted.json"))
    return True


def relabel_catalog(
    catalog, model_card: Path | None = None, progress: Progress | None = None, cancelled: Callable[[], bool] | None = None
) -> int:
    """Re-score every stored face whose expression result is not the current model's (a new or reverted head),
    without detecting again. Returns how many photos were re-scored."""
    from albumsorter.core.analysis import Analyzer, load_scorer_specs
    from albumsorter.core.decoding import PhotoError
    from albumsorter.core.detection import DetectionSettings
    from albumsorter.core.locking import RunLock
    from albumsorter.core.scorers.expression import KIND

    _, specs = load_scorer_specs(model_card)
    spec = next(s for s in specs if s.kind == KIND)
    analyzer = Analyzer([spec], DetectionSettings())
    done = 0
    try:
        with RunLock(catalog.path, cancelled=cancelled) as lock:
            if not lock.acquired:
                return 0
            stale = catalog.faces_needing(KIND, spec.model_id)
            faces_by_photo = catalog.faces_for(list(stale)) if stale else {}
            for n, (photo_id, path) in enumerate(stale.items()):
                if cancelled and cancelled():
                    break
                if progress:
                    progress("re-labelling photos", n, len(stale))
                faces = [(f.id, f.to_face_result()) for f in faces_by_photo.get(photo_id, [])]
                try:
                    results, _ = analyzer.refresh(path, [KIND], faces, measure=False)
                    catalog.store_results(results)
                except PhotoError:
                    continue  # unreadable now: the next indexing run records why
                done += 1
    finally:
        analyzer.close()
    return done
