"""Activation maximisation (thesis §5.6, Lucid-style): the input each output neuron likes most, one tile per class."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pre_softmax_model(model):
    """A model giving the logits: the last Dense layer with its softmax swapped for identity."""
    import keras

    last = model.layers[-1]
    config = last.get_config() | {"activation": "linear"}
    logits_layer = keras.layers.Dense.from_config(config)
    logits = logits_layer(last.input)
    logits_layer.set_weights(last.get_weights())
    return keras.Model(model.inputs, logits)


def maximise(model, neuron: int, shape: tuple[int, int, int], steps: int, lr: float, rng: np.random.Generator) -> np.ndarray:
    """Gradient ascent on one logit from small noise, with random jitter and a blur every few steps."""
    import tensorflow as tf

    image = tf.Variable(0.5 + 0.01 * rng.standard_normal((1, *shape)).astype(np.float32))
    jitter = max(1, shape[0] // 24)
    for step in range(steps):
        dx, dy = rng.integers(-jitter, jitter + 1, 2)
        with tf.GradientTape() as tape:
            shifted = tf.roll(image, shift=[int(dy), int(dx)], axis=[1, 2])
            score = model(shifted, training=False)[0, neuron] - 0.1 * tf.reduce_mean(tf.square(image - 0.5))
        grad = tape.gradient(score, image)
        image.assign_add(lr * grad / (tf.math.reduce_std(grad) + 1e-8))
        if step % 8 == 7:
            image.assign(tf.nn.avg_pool2d(tf.pad(image, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="SYMMETRIC"), 3, 1, "VALID"))
        image.assign(tf.clip_by_value(image, 0.0, 1.0))
    return image.numpy()[0]


def activation_maximisation(model_path: Path, out: Path | None = None, steps: int = 200, lr: float = 0.05, seed: int = 0) -> Path:
    """Write one PNG with the optimal input of every output neuron; returns its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from training.predictors import load_predictor

    predictor = load_predictor(model_path)
    if predictor.kind != "keras":
        raise SystemExit("visualize needs a run folder or .keras file (gradients), not a LiteRT card")
    model = _pre_softmax_model(predictor.impl)
    shape = tuple(int(v) for v in model.input_shape[1:])
    rng = np.random.default_rng(seed)
    images = [maximise(model, i, shape, steps, lr, rng) for i in range(len(predictor.classes))]
    n = len(images)
    fig, axes = plt.subplots(1, n, figsize=(1.8 * n, 2.2))
    for ax, img, name in zip(np.atleast_1d(axes), images, predictor.classes):
        ax.imshow(img[:, :, 0] if img.shape[2] == 1 else img, cmap="gray" if img.shape[2] == 1 else None, vmin=0, vmax=1)
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    fig.suptitle(f"activation maximisation: {predictor.name}", fontsize=10)
    fig.tight_layout()
    model_path = Path(model_path)
    out = out or (model_path if model_path.is_dir() else model_path.parent) / "activation_maximisation.png"
    fig.savefig(out, dpi=110)
    plt.close(fig)
    if model_path.is_dir():
        from training.report import update_metrics

        update_metrics(
            model_path, "activation_maximisation", {"png": out.name, "steps": steps}, f"Evaluation report: {model_path.name}"
        )
    return out
