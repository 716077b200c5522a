"""Train a network on a data set: run folder, checkpoints every epoch, resume, early stopping.

A run folder holds command.txt, config.json, split.json, log.csv, train.log and checkpoints/
(last.keras with optimiser state, best.keras chosen on the validation split, state.json).
"""

from __future__ import annotations

import json
import math
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from albumsorter.core.classes import GROUPINGS
from training.class_weights import thesis_class_weights
from training.config import TrainConfig
from training.datasets.base import FaceSet
from training.network_specs import DEFAULT_INPUT
from training.prepare import prepare_inputs
from training.run_log import log
from training.splits import attach_eyes, load_split


def resolve_input(cfg: TrainConfig) -> None:
    """Fill size/channels from the network's thesis default where the user gave none."""
    size, channels = DEFAULT_INPUT.get(cfg.network, (48, 1))
    cfg.size = cfg.size or size
    cfg.channels = cfg.channels or channels


def _make_dataset(x: np.ndarray, y: np.ndarray, w: np.ndarray, cfg: TrainConfig, training: bool):
    import tensorflow as tf

    from training.augment import augment_batch

    ds = tf.data.Dataset.from_tensor_slices((x, y, w))
    if training:
        ds = ds.shuffle(len(x), seed=cfg.seed, reshuffle_each_iteration=True).repeat()
    ds = ds.batch(cfg.batch_size, drop_remainder=training)
    aug = cfg.augment_config()

    def to_float(images, targets, weights):
        return tf.cast(images, tf.float32) / 255.0, targets, weights

    ds = ds.map(to_float, num_parallel_calls=tf.data.AUTOTUNE)
    if training:
        ds = ds.map(lambda i, t, s: augment_batch(i, t, s, aug), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def _learning_rate(cfg: TrainConfig, steps_per_epoch: int):
    import keras

    total = max(1, cfg.epochs * steps_per_epoch)
    warmup = int(cfg.warmup_epochs * steps_per_epoch)
    if cfg.lr_schedule == "constant":
        return cfg.lr
    if cfg.lr_schedule == "cosine":
        if warmup:
            return keras.optimizers.schedules.CosineDecay(
                cfg.lr * 0.1, total - warmup, alpha=0.0, warmup_target=cfg.lr, warmup_steps=warmup
            )
        return keras.optimizers.schedules.CosineDecay(cfg.lr, total, alpha=0.0)
    if cfg.lr_schedule == "step":
        bounds = [int(total * 0.5), int(total * 0.75)]
        return keras.optimizers.schedules.PiecewiseConstantDecay(bounds, [cfg.lr, cfg.lr * 0.1, cfg.lr * 0.01])
    raise ValueError(f"unknown lr schedule {cfg.lr_schedule!r}")


def _optimizer(cfg: TrainConfig, steps_per_epoch: int):
    import keras

    lr = _learning_rate(cfg, steps_per_epoch)
    if cfg.optimizer == "adam":
        return keras.optimizers.Adam(lr)
    if cfg.optimizer == "adamw":
        return keras.optimizers.AdamW(lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return keras.optimizers.SGD(lr, momentum=0.9, nesterov=True)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r}")


def build_model(cfg: TrainConfig, steps_per_epoch: int):
    import keras

    from training.networks import build_network

    model = build_network(
        cfg.network,
        (cfg.size, cfg.size, cfg.channels),
        len(GROUPINGS[cfg.classes]),
        weights=Path(cfg.weights) if cfg.weights else None,
        alpha=cfg.alpha,
        width=cfg.width,
        dropout=cfg.dropout,
    )
    model.compile(
        optimizer=_optimizer(cfg, steps_per_epoch),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=cfg.label_smoothing),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy"), keras.metrics.TopKCategoricalAccuracy(2, name="top2")],
    )
    return model


def _epoch_callback(run_dir: Path, cfg: TrainConfig, start_time: float):
    import keras

    class EpochCheckpoint(keras.callbacks.Callback):
        """Save last.keras + state.json every epoch and best.keras on the selection metric; log progress."""

        def __init__(self) -> None:
            super().__init__()
            state_file = run_dir / "checkpoints" / "state.json"
            state = json.loads(state_file.read_text()) if state_file.is_file() else {}
            self.best = state.get("best_value")
            self.best_epoch = state.get("best_epoch")
            self.wait = state.get("wait", 0)
            self.best_loss = state.get("best_val_loss")

        def _better(self, value: float) -> bool:
            if self.best is None:
                return True
            return value > self.best if cfg.select == "val_accuracy" else value < self.best

        def on_epoch_end(self, epoch: int, logs=None) -> None:
            logs = dict(logs or {})
            ckpt = run_dir / "checkpoints"
            value = float(logs.get(cfg.select, float("nan")))
            if self._better(value):
                self.best, self.best_epoch = value, epoch + 1
                self.model.save(ckpt / "best.keras")
            val_loss = float(logs.get("val_loss", float("inf")))
            if self.best_loss is None or val_loss < self.best_loss:
                self.best_loss, self.wait = val_loss, 0
            else:
                self.wait += 1
            self.model.save(ckpt / "last.tmp.keras")
            (ckpt / "last.tmp.keras").replace(ckpt / "last.keras")
            state = {
                "epoch": epoch + 1,
                "best_epoch": self.best_epoch,
                "best_value": self.best,
                "best_val_loss": self.best_loss,
                "wait": self.wait,
            }
            (ckpt / "state.json").write_text(json.dumps(state, indent=2))
            lr = self.model.optimizer.learning_rate
            lr = float(lr.numpy()) if hasattr(lr, "numpy") else float(lr)
            header = not (run_dir / "log.csv").is_file()
            with open(run_dir / "log.csv", "a", encoding="utf-8") as f:
                keys = ["loss", "accuracy", "top2", "val_loss", "val_accuracy", "val_top2"]
                if header:
                    f.write("epoch," + ",".join(keys) + ",lr,seconds\n")
                f.write(
                    f"{epoch + 1},"
                    + ",".join(f"{float(logs.get(k, float('nan'))):.5f}" for k in keys)
                    + f",{lr:.3g},{time.time() - start_time:.0f}\n"
                )
            log(
                run_dir,
                f"epoch {epoch + 1}/{cfg.epochs}: loss {logs.get('loss', 0):.4f} acc {logs.get('accuracy', 0):.4f} | "
                f"val loss {val_loss:.4f} val acc {logs.get('val_accuracy', 0):.4f} val top2 {logs.get('val_top2', 0):.4f} | "
                f"lr {lr:.2e} | best {cfg.select} {self.best:.4f} @ {self.best_epoch}",
            )
            if cfg.early_stopping is not None and self.wait >= cfg.early_stopping:
                log(run_dir, f"early stopping: val loss has not improved for {self.wait} epochs")
                self.model.stop_training = True

    return EpochCheckpoint()


def _format_seconds(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def progress_bar(epoch: int, epochs: int, step: int, steps: int, loss: float, acc: float, elapsed: float, width: int = 24) -> str:
    """One line: epoch, a bar of the epoch's batches, running loss and accuracy, time left in the epoch."""
    done = int(width * step / max(1, steps))
    eta = elapsed / step * (steps - step) if step else 0.0
    return f"epoch {epoch}/{epochs} [{'#' * done}{'.' * (width - done)}] {step}/{steps} loss {loss:.4f} acc {acc:.4f} | {_format_seconds(eta)} left"


def _batch_progress(cfg: TrainConfig, steps: int, stream=None):
    """A progress bar redrawn in place during each epoch, on a terminal only (logs keep the per-epoch lines).
    ALBUMSORTER_PROGRESS=1 forces it, e.g. under a pager that is not a terminal."""
    import os

    import keras

    stream = stream or sys.stderr
    if not (stream.isatty() or os.environ.get("ALBUMSORTER_PROGRESS") == "1"):
        return None

    class BatchProgress(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs=None) -> None:
            self.epoch, self.started, self.shown = epoch + 1, time.time(), 0.0

        def on_train_batch_end(self, batch: int, logs=None) -> None:
            now = time.time()
            if now - self.shown < 0.5 and batch + 1 < steps:
                return
            self.shown = now
            logs = logs or {}
            line = progress_bar(
                self.epoch,
                cfg.epochs,
                batch + 1,
                steps,
                float(logs.get("loss", 0)),
                float(logs.get("accuracy", 0)),
                now - self.started,
            )
            stream.write("\r" + line)
            stream.flush()

        def on_epoch_end(self, epoch: int, logs=None) -> None:
            stream.write("\r\033[K")  # clear the bar; the epoch's summary line follows
            stream.flush()

    return BatchProgress()


def load_extra_train(cfg: TrainConfig) -> dict[str, FaceSet]:
    """The train split of each --extra-train data set, as prepared inputs with grouped targets."""
    out = {}
    for name, root in cfg.extra_datasets():
        faces = load_split(cfg, "train", name, root)
        attach_eyes(cfg, {"train": faces}, name, root)
        out[f"{name}={root}"] = faces
    return out


def record_split(run_dir: Path, cfg: TrainConfig, splits: dict[str, FaceSet], extra: dict[str, FaceSet] | None = None) -> None:
    """split.json: the data set, and per split its size, class counts and face ids (fixed, reproducible)."""
    info = {
        "dataset": cfg.dataset,
        "data_root": str(cfg.data_root),
        "labels": cfg.labels,
        "seed": cfg.seed,
        "splits": {
            name: {"n": len(fs), "class_counts": fs.class_counts().tolist(), "ids": fs.ids} for name, fs in splits.items()
        },
    }
    if extra:
        info["extra_train"] = {
            name: {"n": len(fs), "repeat": cfg.extra_repeat, "class_counts": fs.class_counts().tolist(), "ids": fs.ids}
            for name, fs in extra.items()
        }
    (run_dir / "split.json").write_text(json.dumps(info) + "\n", encoding="utf-8")


def train(
    cfg: TrainConfig, run_dir: Path, resume: bool = False, evaluate_after: bool = True, argv: list[str] | None = None
) -> Path:
    """Train (or resume) into run_dir; returns the path of the selected checkpoint (best.keras)."""
    import keras

    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "checkpoints").mkdir(exist_ok=True)
    resolve_input(cfg)
    command = shlex.join(["python", "-m", "training"] + list(sys.argv[1:] if argv is None else argv))
    if not resume:
        (run_dir / "command.txt").write_text(command + "\n")
        cfg.save(run_dir / "config.json")
    else:
        with open(run_dir / "command.txt", "a", encoding="utf-8") as f:
            f.write(f"# resumed: {command}\n")
    keras.utils.set_random_seed(cfg.seed)
    pre = cfg.preprocess_config()
    log(run_dir, f"loading {cfg.dataset} from {cfg.data_root} (labels {cfg.labels}, {cfg.classes} classes)")
    train_set, valid_set = load_split(cfg, "train"), load_split(cfg, "valid")
    attach_eyes(cfg, {"train": train_set, "valid": valid_set})
    t0 = time.time()
    x_train, x_valid = prepare_inputs(train_set, pre), prepare_inputs(valid_set, pre)
    log(run_dir, f"pre-processed {len(x_train)} train + {len(x_valid)} valid faces ({pre.to_dict()}) in {time.time() - t0:.1f}s")
    extra = load_extra_train(cfg)
    if not resume:
        record_split(run_dir, cfg, {"train": train_set, "valid": valid_set, "test": load_split(cfg, "test")}, extra)
    y_train = train_set.targets
    for name, faces in extra.items():
        x_extra = np.concatenate([prepare_inputs(faces, pre)] * cfg.extra_repeat)
        x_train = np.concatenate([x_train, x_extra])
        y_train = np.concatenate([y_train] + [faces.targets] * cfg.extra_repeat)
        log(
            run_dir,
            f"added {len(faces)} {name} train faces x {cfg.extra_repeat} = {len(x_extra)}: {len(x_train)} training faces in all",
        )

    n_classes = len(GROUPINGS[cfg.classes])
    weights = thesis_class_weights(y_train.sum(axis=0)) if cfg.class_weights else np.ones(n_classes, np.float32)
    log(run_dir, "class weights: " + ", ".join(f"{c} {w:.3f}" for c, w in zip(GROUPINGS[cfg.classes], weights)))
    w_train = (y_train @ weights).astype(np.float32)
    w_valid = np.ones(len(x_valid), np.float32)
    steps = cfg.steps_per_epoch or math.ceil(len(x_train) / cfg.batch_size)
    ds_train = _make_dataset(x_train, y_train, w_train, cfg, training=True)
    ds_valid = _make_dataset(x_valid, valid_set.targets, w_valid, cfg, training=False)

    initial_epoch = 0
    last = run_dir / "checkpoints" / "last.keras"
    if resume and last.is_file():
        model = keras.models.load_model(last)
        initial_epoch = json.loads((run_dir / "checkpoints" / "state.json").read_text())["epoch"]
        if cfg.lr_schedule != "constant":
            # Re-derived from the (possibly changed) planned epochs; the optimiser's step count carries on.
            model.optimizer.learning_rate = _learning_rate(cfg, steps)
        log(run_dir, f"resuming after epoch {initial_epoch} from {last}")
    else:
        model = build_model(cfg, steps)
    log(
        run_dir,
        f"{model.name}: {model.count_params():,} parameters; {steps} steps of {cfg.batch_size} per epoch; up to {cfg.epochs} epochs",
    )
    start = time.time()
    if initial_epoch < cfg.epochs:
        model.fit(
            ds_train,
            validation_data=ds_valid,
            epochs=cfg.epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=steps,
            callbacks=[c for c in (_batch_progress(cfg, steps), _epoch_callback(run_dir, cfg, start)) if c is not None],
            verbose=0,
        )
    best = run_dir / "checkpoints" / "best.keras"
    log(run_dir, f"training done in {time.time() - start:.0f}s; selected checkpoint {best}")
    if evaluate_after:
        from training.evaluate import evaluate_run

        evaluate_run(run_dir)
    return best
