"""Evaluate a model on any supported data set; results go into a run folder's metrics.json + report.md."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from albumsorter.core.classes import CLASSES_8
from training.datasets.base import FaceSet
from training.metrics import classification_metrics, grouped_metrics, without_class
from training.predictors import Predictor, load_predictor
from training.prepare import prepare_inputs
from training.report import save_confusion_png, update_metrics
from training.run_log import log
from training.splits import attach_eyes, group_targets, load_split


def evaluate_faces(predictor: Predictor, faces: FaceSet) -> tuple[dict, np.ndarray, np.ndarray]:
    """Metrics of a predictor on a FaceSet; also returns true labels and probabilities (for chi-square)."""
    inputs = prepare_inputs(faces, predictor.preprocess)
    probs = predictor.predict(inputs)
    true = faces.labels
    if len(predictor.classes) == 8:
        groupings = grouped_metrics(true, probs)
    else:
        groupings = {str(len(predictor.classes)): classification_metrics(true, probs, predictor.classes)}
    result = {"groupings": groupings, "top1": groupings[str(len(predictor.classes))]["top1"], "n": len(faces)}
    # A data set without some of the 8 classes (ExpW: no contempt) also gets figures with them left out.
    if len(predictor.classes) == 8:
        missing = [c for c, n in zip(CLASSES_8, faces.class_counts()) if n == 0]
        if missing == ["contempt"]:
            result["extra"] = {"7 classes (contempt left out of the argmax)": without_class(true, probs, "contempt")}
    return result, true, probs


def write_pngs(out_dir: Path, key: str, result: dict) -> None:
    safe = key.replace("/", "-")
    result["pngs"] = {}
    for n, m in result["groupings"].items():
        name = f"confusion-{safe}-{n}.png"
        save_confusion_png(out_dir / name, m["confusion"], m["classes"], f"{key}, {n} classes")
        result["pngs"][n] = name


def evaluate_to(out_dir: Path, predictor: Predictor, faces: FaceSet, key: str, title: str) -> dict:
    """Evaluate and merge the result under `key` into out_dir's metrics.json / report.md (+ PNGs)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    result, true, probs = evaluate_faces(predictor, faces)
    pre = predictor.preprocess
    framing = "" if pre.enabled or not faces.prepared else f", box margin {pre.box_margin:g}"
    result["notes"] = [
        f"model: {predictor.name} ({predictor.kind}), pre-processing {'on' if pre.enabled else 'off'}{framing}, input {pre.size}x{pre.size}x{pre.channels}"
    ]
    # Readable notes for the report; snake_case keys are figures for machines (cards, comparisons).
    result["notes"] += [f"{k}: {v}" for k, v in faces.info.items() if "_" not in k]
    result.update({k: v for k, v in faces.info.items() if "_" in k})
    result["notes"].append(f"evaluated in {time.time() - t0:.1f}s")
    write_pngs(out_dir, key, result)
    np.savez_compressed(out_dir / f"predictions-{key.replace('/', '-')}.npz", true=true, probs=probs, ids=np.asarray(faces.ids))
    update_metrics(out_dir, key, result, title)
    return result


def evaluate_run(run_dir: Path, split: str = "test", checkpoint: str = "best") -> dict:
    """Evaluate a run's selected checkpoint on its own data set's split (called when training ends)."""
    from training.config import TrainConfig

    cfg = TrainConfig.load(run_dir / "config.json")
    state_file = run_dir / "checkpoints" / "state.json"
    state = json.loads(state_file.read_text()) if state_file.is_file() else {}
    model_info = {
        "training command": " ; ".join(line.strip() for line in (run_dir / "command.txt").read_text().splitlines())
        if (run_dir / "command.txt").is_file()
        else "",
        "network": f"{cfg.network} (width {cfg.width}, alpha {cfg.alpha})",
        "data": f"{cfg.dataset} ({cfg.labels} labels, {cfg.classes} classes) from {cfg.data_root}",
        "input": f"{cfg.size}x{cfg.size}x{cfg.channels}, pre-processing {'on' if cfg.preprocessing else 'off'}",
        "epochs": f"{state.get('epoch')} run, epoch {state.get('best_epoch')} selected ({cfg.select} {state.get('best_value')})",
    }
    update_metrics(run_dir, "model", model_info, f"Evaluation report: {run_dir.name}")
    predictor = load_predictor(run_dir, checkpoint=checkpoint)
    faces = load_split(cfg, split)
    attach_eyes(cfg, {split: faces})
    result = evaluate_to(run_dir, predictor, faces, f"{cfg.dataset}/{split}", f"Evaluation report: {run_dir.name}")
    log(
        run_dir,
        f"{cfg.dataset} {split}: "
        + ", ".join(f"{n} classes top-1 {m['top1']:.4f} top-2 {m['top2']:.4f}" for n, m in result["groupings"].items()),
    )
    return result


def evaluate_command(
    model: Path,
    dataset: str,
    data_root: Path,
    split: str,
    labels: str,
    limit: int | None,
    seed: int,
    out: Path | None,
    preprocessing: bool | None,
    box_margin: float | None = None,
) -> dict:
    """`evaluate --model M --dataset D`: M is a run folder, a .keras checkpoint or an exported model.json.

    `box_margin` replaces the model's crop margin (faces cut from photos only), to tune it."""
    from dataclasses import replace

    from training.datasets.registry import load_dataset
    from training.eyes import attach_cached_eyes

    predictor = load_predictor(model, preprocessing=preprocessing)
    if box_margin is not None:
        predictor.preprocess = replace(predictor.preprocess, box_margin=box_margin)
    faces = load_dataset(dataset, data_root, split, labels=labels, seed=seed, limit=limit, preprocess=predictor.preprocess)
    if predictor.preprocess.enabled and not faces.prepared:
        attach_cached_eyes(faces, dataset, str(data_root), split)
    if len(predictor.classes) != 8:
        faces = group_targets(faces, len(predictor.classes))
    if out is None:
        out = model if model.is_dir() else model.parent
    return evaluate_to(out, predictor, faces, f"{dataset}/{split}", f"Evaluation report: {model.name}")


def summary_line(result: dict) -> str:
    parts = [f"{n} classes: top-1 {m['top1']:.4f}, top-2 {m['top2']:.4f}" for n, m in result["groupings"].items()]
    parts += [f"{name}: top-1 {m['top1']:.4f}" for name, m in result.get("extra", {}).items()]
    return "; ".join(parts)


def load_metrics(run_or_dir: Path) -> dict:
    path = Path(run_or_dir) / "metrics.json"
    return json.loads(path.read_text()) if path.is_file() else {}
