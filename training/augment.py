"""On-the-fly augmentation and mixup in the tf.data pipeline (float images in [0, 1], NHWC batches)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class AugmentConfig:
    flip: bool = True  # thesis §6.1: 50 % horizontal flip
    rotation_deg: float = 0.0  # uniform in +-rotation_deg
    shift: float = 0.0  # fraction of the side, uniform in +-shift
    zoom: float = 0.0  # scale uniform in [1 - zoom, 1 + zoom]
    mixup: float = 0.0  # Beta(alpha, alpha) mixup; 0 = off

    @property
    def geometric(self) -> bool:
        return bool(self.rotation_deg or self.shift or self.zoom)


def _affine(images, cfg: AugmentConfig):
    """One random rotation + zoom + shift per image, as a single projective warp (reflect at borders)."""
    import tensorflow as tf

    n = tf.shape(images)[0]
    h = tf.cast(tf.shape(images)[1], tf.float32)
    w = tf.cast(tf.shape(images)[2], tf.float32)
    angle = tf.random.uniform([n], -1.0, 1.0) * (cfg.rotation_deg * math.pi / 180.0)
    scale = 1.0 + tf.random.uniform([n], -1.0, 1.0) * cfg.zoom
    tx = tf.random.uniform([n], -1.0, 1.0) * cfg.shift * w
    ty = tf.random.uniform([n], -1.0, 1.0) * cfg.shift * h
    cx, cy = (w - 1.0) / 2.0, (h - 1.0) / 2.0
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    # Output pixel (x, y) samples input (a0 x + a1 y + a2, b0 x + b1 y + b2): rotate/zoom about the centre.
    a0, a1 = cos, -sin
    b0, b1 = sin, cos
    a2 = cx - a0 * cx - a1 * cy - tx
    b2 = cy - b0 * cx - b1 * cy - ty
    zeros = tf.zeros([n])
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.shape(images)[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="REFLECT",
    )


def augment_batch(images, targets, weights, cfg: AugmentConfig):
    """Augment one batch of tf tensors; returns (images, targets, sample weights)."""
    import tensorflow as tf

    if cfg.flip:
        images = tf.image.random_flip_left_right(images)
    if cfg.geometric:
        images = _affine(images, cfg)
    if cfg.mixup > 0:
        n = tf.shape(images)[0]
        g1 = tf.random.gamma([n], cfg.mixup)
        g2 = tf.random.gamma([n], cfg.mixup)
        lam = g1 / (g1 + g2)
        perm = tf.random.shuffle(tf.range(n))
        lam_img = tf.reshape(lam, [-1, 1, 1, 1])
        images = lam_img * images + (1.0 - lam_img) * tf.gather(images, perm)
        lam_t = tf.reshape(lam, [-1, 1])
        targets = lam_t * targets + (1.0 - lam_t) * tf.gather(targets, perm)
        weights = lam * weights + (1.0 - lam) * tf.gather(weights, perm)
    return images, targets, weights
