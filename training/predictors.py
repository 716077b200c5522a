"""One interface over the models evaluation meets: a run folder / .keras checkpoint, or an exported card."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from albumsorter.core.classes import CLASSES_8, GROUPINGS
from albumsorter.core.preprocess import DEFAULT_BOX_MARGIN, PreprocessConfig


@dataclass
class Predictor:
    """predict(uint8 NHWC inputs) -> (N, len(classes)) probabilities."""

    name: str
    classes: tuple[str, ...]
    preprocess: PreprocessConfig
    kind: str  # keras | litert
    impl: object

    def predict(self, inputs: np.ndarray, batch_size: int = 256) -> np.ndarray:
        if len(inputs) == 0:
            return np.zeros((0, len(self.classes)), np.float32)
        if self.kind == "litert":
            return self.impl.predict(inputs)
        x = inputs.astype(np.float32) / 255.0
        return np.concatenate(
            [np.asarray(self.impl(x[i : i + batch_size], training=False)) for i in range(0, len(x), batch_size)]
        )


def run_checkpoint(run_dir: Path, which: str = "best") -> Path:
    return Path(run_dir) / "checkpoints" / f"{which}.keras"


def load_predictor(model: Path | str, preprocessing: bool | None = None, checkpoint: str = "best") -> Predictor:
    """Load a run folder, a .keras file (inside a run's checkpoints/ or with --preprocessing given) or a model.json card.

    Keras models take inputs as pixel / 255, as `export` writes into their cards.
    """
    model = Path(model)
    if model.suffix == ".json":
        from albumsorter.core.classify import ExpressionClassifier, ModelCard

        card = ModelCard.load(model)
        return Predictor(card.id, CLASSES_8, card.preprocessing, "litert", ExpressionClassifier(card))
    import keras

    from training.config import TrainConfig

    if model.is_dir():
        run_dir, path = model, run_checkpoint(model, checkpoint)
    else:
        run_dir, path = model.parent.parent, model
    net = keras.models.load_model(path, compile=False)
    _, size, _, channels = net.input_shape
    n_out = net.output_shape[-1]
    classes = GROUPINGS.get(n_out, tuple(f"class{i}" for i in range(n_out)))
    margin = DEFAULT_BOX_MARGIN
    config_file = run_dir / "config.json"
    if config_file.is_file():
        cfg = TrainConfig.load(config_file)
        enabled = cfg.preprocessing if preprocessing is None else preprocessing
        classes = GROUPINGS[cfg.classes]
        margin = cfg.box_margin
    elif preprocessing is None:
        raise ValueError(f"{model}: no run config.json beside it; say --preprocessing or --no-preprocessing")
    else:
        enabled = preprocessing
    pre = PreprocessConfig(enabled=enabled, size=size, channels=channels, box_margin=margin)
    return Predictor(path.stem if not model.is_dir() else model.name, classes, pre, "keras", net)
