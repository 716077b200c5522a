"""Export a trained model: Keras file, LiteRT .tflite and the app's JSON model card; `--install` makes it the default.

The card follows albumsorter/core/classify.py: file, classes, input {size, channels, mean, std},
preprocessing (PreprocessConfig.to_dict()), output, plus training and metrics for users.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
import time
from pathlib import Path

import numpy as np

from albumsorter.core.classes import CLASSES_8
from training.config import TrainConfig
from training.paths import REPO_ROOT

INPUT_MEAN, INPUT_STD = 0.0, 255.0  # the networks see pixel / 255 (training/train.py)


def convert_to_tflite(model, quantize: str = "none", representative: np.ndarray | None = None) -> bytes:
    """Keras model -> .tflite bytes; optional post-training float16 or int8 (float in/out) quantisation."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if quantize == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantize == "int8":
        if representative is None or len(representative) == 0:
            raise ValueError("int8 quantisation needs representative inputs")
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        sample = representative.astype(np.float32) / INPUT_STD

        def gen():
            for i in range(min(len(sample), 300)):
                yield [sample[i : i + 1]]

        converter.representative_dataset = gen
    elif quantize != "none":
        raise ValueError(f"quantize must be none, float16 or int8, not {quantize!r}")
    # The converter prints the whole SavedModel signature to stdout; keep the CLI output readable.
    with contextlib.redirect_stdout(io.StringIO()):
        return converter.convert()


def make_card(model_id: str, cfg: TrainConfig, classes: tuple[str, ...], metrics: dict, training: dict) -> dict:
    pre = cfg.preprocess_config()
    return {
        "id": model_id,
        "description": f"{cfg.network} trained on {cfg.dataset} ({cfg.labels} labels), pre-processing {'on' if cfg.preprocessing else 'off'}",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "file": "model.tflite",
        "classes": list(classes),
        "input": {"size": pre.size, "channels": pre.channels, "mean": INPUT_MEAN, "std": INPUT_STD},
        "preprocessing": pre.to_dict(),
        "output": "probabilities",
        "training": training,
        "metrics": metrics,
    }


def _training_section(run_dir: Path, cfg: TrainConfig, checkpoint: Path, quantize: str) -> dict:
    state_file = run_dir / "checkpoints" / "state.json"
    state = json.loads(state_file.read_text()) if state_file.is_file() else {}
    split_file = run_dir / "split.json"
    split = json.loads(split_file.read_text()) if split_file.is_file() else {}
    command = (run_dir / "command.txt").read_text().strip().splitlines() if (run_dir / "command.txt").is_file() else []
    return {
        "command": command,
        "data": {"dataset": cfg.dataset, "data_root": cfg.data_root, "labels": cfg.labels, "classes": cfg.classes},
        "split": {k: {"n": v["n"], "class_counts": v["class_counts"]} for k, v in split.get("splits", {}).items()}
        | (
            {
                "rule": "official FER+ folders FER2013Train / FER2013Valid / FER2013Test; valid and test scored with the majority rule"
            }
            if cfg.dataset == "ferplus"
            else {}
        ),
        "epochs_run": state.get("epoch"),
        "epochs_planned": cfg.epochs,
        "selected_epoch": state.get("best_epoch"),
        "selected_on": f"{cfg.select} = {state.get('best_value')}",
        "checkpoint": checkpoint.name,
        "quantization": quantize,
        "config": json.loads((run_dir / "config.json").read_text()),
    }


def _card_metrics(run_metrics: dict) -> dict:
    """The figures users see in the card: compact, from the run's metrics.json."""
    out = {}
    for key, result in run_metrics.items():
        if isinstance(result, dict) and "groupings" in result:
            entry = {}
            for n, m in result["groupings"].items():
                entry[f"{n}_class"] = {
                    "top1": round(m["top1"], 4),
                    "top2": round(m["top2"], 4),
                    "n": m["n"],
                    "macro_f1": round(m["macro"]["f1"], 4),
                    "per_class": {c: {k: round(v, 4) for k, v in s.items()} for c, s in m["per_class"].items()},
                }
            for name, m in result.get("extra", {}).items():
                entry[name] = {"top1": round(m["top1"], 4), "top2": round(m["top2"], 4), "n": m["n"]}
            if "detection_recall" in result:
                entry["detection_recall"] = result["detection_recall"]
            notes = [n for n in result.get("notes", []) if not n.startswith("evaluated in")]
            if notes:
                entry["notes"] = notes
            out[key] = entry
        elif key == "inference" or key.startswith("preprocessing_time"):
            out[key] = {k: v for k, v in result.items() if k != "png"}
    return out


def export_run(run_dir: Path, out_dir: Path | None = None, checkpoint: str = "best", quantize: str | None = None) -> Path:
    """Write out_dir (default RUN/export)/{model.keras, model.tflite, model.json, report.md, training-log.csv, *.png};
    returns the card path."""
    import keras

    from training.bench import inference_benchmark
    from training.report import update_metrics

    run_dir = Path(run_dir)
    cfg = TrainConfig.load(run_dir / "config.json")
    quantize = quantize or cfg.quantize
    ckpt = run_dir / "checkpoints" / f"{checkpoint}.keras"
    model = keras.models.load_model(ckpt, compile=False)
    classes = tuple(CLASSES_8) if model.output_shape[-1] == 8 else None
    if classes is None:
        raise SystemExit(
            f"{ckpt} has {model.output_shape[-1]} outputs: the app's card needs the 8 classes; export 8-class runs (6/3 are derived from them)"
        )
    out_dir = Path(out_dir) if out_dir else run_dir / "export"
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(out_dir / "model.keras")
    representative = None
    if quantize == "int8":
        from training.prepare import prepare_inputs
        from training.splits import load_split

        representative = prepare_inputs(load_split(cfg, "train").subset(np.arange(300)), cfg.preprocess_config())
    tflite = convert_to_tflite(model, quantize, representative)
    (out_dir / "model.tflite").write_bytes(tflite)
    digest = hashlib.sha1(tflite).hexdigest()[:10]
    model_id = (
        f"{cfg.network}{cfg.width or ''}-{cfg.dataset}-{cfg.labels}-{'pre' if cfg.preprocessing else 'nopre'}-{quantize}-{digest}"
    )
    bench = inference_benchmark(out_dir / "model.tflite", (cfg.size, cfg.size, cfg.channels))
    bench["keras_params"] = int(model.count_params())
    run_metrics = update_metrics(run_dir, "inference", bench, f"Evaluation report: {run_dir.name}")
    card = make_card(model_id, cfg, classes, _card_metrics(run_metrics), _training_section(run_dir, cfg, ckpt, quantize))
    card_path = out_dir / "model.json"
    card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    for f in [run_dir / "report.md", *run_dir.glob("*.png")]:
        if f.is_file():
            shutil.copy2(f, out_dir / f.name)
    if (run_dir / "log.csv").is_file():  # the learning curve, epoch by epoch, for whoever reads the model's provenance
        shutil.copy2(run_dir / "log.csv", out_dir / "training-log.csv")
    # The exported file must load in the app exactly as shipped.
    from albumsorter.core.classify import ExpressionClassifier

    ExpressionClassifier.from_card(card_path).predict(np.zeros((2, cfg.size, cfg.size, cfg.channels), np.uint8))
    return card_path


def install(export_dir: Path, models_dir: Path | None = None) -> Path:
    """Copy an export (card, .tflite, report, training log, PNGs) to models/expression/ as the app's default model."""
    target = (Path(models_dir) if models_dir else REPO_ROOT / "models") / "expression"
    target.mkdir(parents=True, exist_ok=True)
    for old in list(target.glob("*.png")) + [target / "report.md", target / "training-log.csv"]:
        if old.is_file():
            old.unlink()
    for name in ["model.tflite", "report.md", "training-log.csv", *[p.name for p in export_dir.glob("*.png")]]:
        if (export_dir / name).is_file():
            shutil.copy2(export_dir / name, target / name)
    # The card last: an app that sees the new card must find the new model beside it.
    tmp = target / "model.json.tmp"
    shutil.copy2(export_dir / "model.json", tmp)
    tmp.replace(target / "model.json")
    return target / "model.json"
