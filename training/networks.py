"""The networks training can build: the thesis's four (§5.3) and the compact net of the default model.

Every builder takes the input shape and class count and returns an uncompiled keras.Model whose
output is softmax probabilities. ImageNet weights are never downloaded: `weights` is None or a
user-given .h5/.keras weights file (fine-tuning, thesis §5.4).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import keras
from keras import layers

from training.network_specs import DEFAULT_INPUT, NETWORKS  # noqa: F401  (re-exported)


def _head(x, n_classes: int, dropout: float, name: str):
    x = layers.Dropout(dropout)(x) if dropout else x
    return layers.Dense(n_classes, activation="softmax", name=name)(x)


def _applications_model(
    app: Callable, input_shape: tuple[int, int, int], n_classes: int, weights: Path | None, dropout: float, **kwargs
) -> keras.Model:
    """A keras.applications backbone with a new n-class head (the ImageNet top is replaced)."""
    inputs = keras.Input(input_shape, name="face")
    x = inputs
    if input_shape[2] == 1:
        # The applications expect 3 channels; grey faces are repeated (cheap, keeps pretrained filters usable).
        x = layers.Concatenate()([x, x, x])
    # Our inputs are in [0, 1]; MobileNet's and Xception's ImageNet weights expect [-1, 1], so rescale here
    # and the exported card keeps mean 0, std 255. (VGG16's weights were trained on mean-subtracted BGR;
    # the thesis fine-tunes every layer, which absorbs that difference.)
    x = layers.Rescaling(2.0, offset=-1.0)(x)
    backbone = app(include_top=False, weights=None, input_shape=(input_shape[0], input_shape[1], 3), pooling="avg", **kwargs)
    if weights is not None:
        # e.g. keras' *_tf_kernels_notop.h5 ImageNet files, downloaded by the user (never by us).
        backbone.load_weights(str(weights))
    x = backbone(x)
    outputs = _head(x, n_classes, dropout, "probabilities")
    return keras.Model(inputs, outputs, name=backbone.name)


def vgg16(input_shape, n_classes, weights=None, dropout=0.5, **_) -> keras.Model:
    return _applications_model(keras.applications.VGG16, input_shape, n_classes, weights, dropout)


def mobilenet(input_shape, n_classes, weights=None, dropout=0.3, alpha: float = 1.0, **_) -> keras.Model:
    return _applications_model(keras.applications.MobileNet, input_shape, n_classes, weights, dropout, alpha=alpha)


def xception(input_shape, n_classes, weights=None, dropout=0.3, **_) -> keras.Model:
    if min(input_shape[:2]) < 71:
        raise ValueError("Xception needs inputs of at least 71x71")
    return _applications_model(keras.applications.Xception, input_shape, n_classes, weights, dropout)


def small_cnn(input_shape, n_classes, weights=None, dropout=0.5, **_) -> keras.Model:
    """Lopes et al. 2017: two conv(5x5)+maxpool blocks (32 and 64 filters), dense 256, dropout, softmax.

    With 32x32x3 input this has ~1.1M parameters. The thesis reports 367,304 parameters for its 9-layer
    version without giving every layer size; this follows Lopes et al.'s layer order and filter counts.
    """
    inputs = keras.Input(input_shape, name="face")
    x = layers.Conv2D(32, 5, padding="same", activation="relu")(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 5, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(256, activation="relu")(x)
    outputs = _head(x, n_classes, dropout, "probabilities")
    model = keras.Model(inputs, outputs, name="small_cnn")
    if weights is not None:
        model.load_weights(str(weights))
    return model


def _conv_bn(x, filters: int, name: str):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def fer_vgg(input_shape, n_classes, weights=None, dropout=0.4, width: int = 32, **_) -> keras.Model:
    """Compact VGG-style net for 48x48 grey faces (our default model).

    Blocks of 3x3 conv + BN + ReLU with channels width, 2w, 4w, 8w (1, 2, 2, 2 convs), max-pool after
    each, global average pooling, dropout, dense softmax. The single conv at full resolution keeps the
    per-face cost low (most pixels, fewest channels).
    """
    inputs = keras.Input(input_shape, name="face")
    x = inputs
    for block, (mult, convs) in enumerate(((1, 1), (2, 2), (4, 2), (8, 2)), start=1):
        for i in range(convs):
            x = _conv_bn(x, width * mult, f"b{block}c{i + 1}")
        x = layers.MaxPooling2D(2, name=f"b{block}_pool")(x)
        if block >= 3:
            x = layers.Dropout(0.1 * (block - 2), name=f"b{block}_drop")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(width * 8, use_bias=False, name="fc")(x)
    x = layers.BatchNormalization(name="fc_bn")(x)
    x = layers.ReLU(name="fc_relu")(x)
    outputs = _head(x, n_classes, dropout, "probabilities")
    model = keras.Model(inputs, outputs, name=f"fer_vgg{width}")
    if weights is not None:
        model.load_weights(str(weights))
    return model


BUILDERS: dict[str, Callable[..., keras.Model]] = {
    "vgg16": vgg16,
    "mobilenet": mobilenet,
    "xception": xception,
    "small_cnn": small_cnn,
    "fer_vgg": fer_vgg,
}


def build_network(
    name: str, input_shape: tuple[int, int, int], n_classes: int, weights: Path | None = None, **options
) -> keras.Model:
    """Build a network by name; options (alpha, width, dropout) go to its builder."""
    if name not in BUILDERS:
        raise ValueError(f"unknown network {name!r}; choose from {', '.join(BUILDERS)}")
    options = {k: v for k, v in options.items() if v is not None}
    return BUILDERS[name](input_shape, n_classes, weights=weights, **options)
