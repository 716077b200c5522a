"""Names, descriptions and thesis input sizes of the networks (no TensorFlow import: the CLI's help is instant)."""

from __future__ import annotations

NETWORKS: dict[str, str] = {
    "vgg16": "VGG16 (keras.applications), thesis §5.3.1; 224x224x3 in the thesis",
    "mobilenet": "MobileNet v1 (keras.applications) with --alpha, thesis §5.3.2; 224x224x3 in the thesis",
    "xception": "Xception (keras.applications), thesis §5.3.3; 299x299x3 in the thesis (min 71)",
    "small_cnn": "the small CNN of Lopes et al. 2017, thesis §5.3.4; 32x32x3 in the thesis",
    "fer_vgg": "compact VGG-style net with batch norm (the default model): --width sets the first block's channels",
}

# Input sizes the thesis used per network (§6.1); a user may override --size / --channels.
DEFAULT_INPUT: dict[str, tuple[int, int]] = {
    "vgg16": (224, 3),
    "mobilenet": (224, 3),
    "xception": (299, 3),
    "small_cnn": (32, 3),
    "fer_vgg": (48, 1),
}
