"""Expression classification with a LiteRT model described by a JSON model card.

The card (models/expression/model.json) says everything the app needs to feed the model:
  {
    "id": "unique model id (a new id makes the next indexing run reclassify stored faces)",
    "file": "model.tflite",                      # beside the card
    "classes": ["anger", ...],                   # the model's output order, names as in CLASSES_8
    "input": {"size": 48, "channels": 1, "mean": 0.0, "std": 255.0},   # x = (pixel - mean) / std
    "preprocessing": {"enabled": true, ...},     # PreprocessConfig.to_dict()
    "output": "probabilities" | "logits",
    "training": {...}, "metrics": {...}          # free-form, shown to users
  }
TensorFlow is not needed: LiteRT runs the model, or ONNX Runtime on an accelerator where there is one (runtime.py).
(training/ can also run Keras on a GPU.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from albumsorter.core.classes import CLASSES_8, canonical_class
from albumsorter.core.preprocess import PreprocessConfig
from albumsorter.core.runtime import GPU_BATCH, DeviceError, RuntimePlan, make_interpreter


class ModelError(RuntimeError):
    """A model file or card is missing, corrupt, or does not match."""


@dataclass(frozen=True)
class ModelCard:
    id: str
    model_path: Path
    classes: tuple[str, ...]
    input_size: int
    input_channels: int
    input_mean: float
    input_std: float
    preprocessing: PreprocessConfig
    output: str = "probabilities"
    extra: dict = field(default_factory=dict, compare=False)

    @classmethod
    def load(cls, card_path: Path | str) -> ModelCard:
        card_path = Path(card_path)
        try:
            data = json.loads(card_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(f"model card not found: {card_path}") from None
        except (OSError, ValueError) as exc:
            raise ModelError(f"model card {card_path} is unreadable: {exc}") from None
        try:
            inp = data["input"]
            classes = tuple(canonical_class(c) for c in data["classes"])
            pre = dict(data.get("preprocessing", {}))
            pre.update(size=int(inp["size"]), channels=int(inp["channels"]))
            card = cls(
                id=str(data["id"]),
                model_path=card_path.parent / data["file"],
                classes=classes,
                input_size=int(inp["size"]),
                input_channels=int(inp["channels"]),
                input_mean=float(inp.get("mean", 0.0)),
                input_std=float(inp.get("std", 255.0)),
                preprocessing=PreprocessConfig.from_dict(pre),
                output=str(data.get("output", "probabilities")),
                extra={k: v for k, v in data.items() if k in ("training", "metrics", "description", "created")},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"model card {card_path} is invalid: {exc}") from None
        if sorted(card.classes) != sorted(CLASSES_8):
            raise ModelError(f"model card {card_path} must list the 8 classes {CLASSES_8}, got {card.classes}")
        if card.input_channels not in (1, 3):
            raise ModelError(f"model card {card_path}: input channels must be 1 or 3")
        return card


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class ExpressionClassifier:
    """Runs the expression model on batches of pre-processed faces; returns 8 probabilities a face.

    Not thread-safe: give each worker thread its own instance.
    """

    def __init__(
        self, card: ModelCard, num_threads: int = 1, max_batch: int = 32, device: str | RuntimePlan | None = None
    ) -> None:
        self.card = card
        self.max_batch = max_batch
        if not card.model_path.is_file():
            raise ModelError(f"model file not found: {card.model_path}")
        try:
            # LiteRT on the CPU, or ONNX Runtime on an accelerator behind the same calls (core/runtime.py)
            self._interpreter, self.runtime = make_interpreter(card.model_path, num_threads, device)
            self._interpreter.allocate_tensors()
        except DeviceError as exc:
            raise ModelError(str(exc)) from None
        except Exception as exc:  # LiteRT raises ValueError/RuntimeError with long messages
            raise ModelError(f"model file {card.model_path} cannot be loaded: {str(exc).splitlines()[0]}") from None
        inp = self._interpreter.get_input_details()[0]
        out = self._interpreter.get_output_details()[0]
        shape = tuple(int(v) for v in inp["shape"])
        if shape[1:] != (card.input_size, card.input_size, card.input_channels):
            raise ModelError(
                f"model file {card.model_path} expects input {shape[1:]}, but its card says "
                f"{(card.input_size, card.input_size, card.input_channels)}"
            )
        if int(out["shape"][-1]) != len(card.classes):
            raise ModelError(
                f"model file {card.model_path} has {out['shape'][-1]} outputs, its card lists {len(card.classes)} classes"
            )
        self._input_index = inp["index"]
        self._output_index = out["index"]
        self._input_dtype = inp["dtype"]
        self._input_quant = inp.get("quantization", (0.0, 0))
        self._output_quant = out.get("quantization", (0.0, 0))
        self._batch = shape[0]
        if self.runtime.accelerated:
            self.max_batch = max(max_batch, GPU_BATCH)
        # Reorder the model's outputs into CLASSES_8 order once.
        self._order = np.array([card.classes.index(c) for c in CLASSES_8])

    @classmethod
    def from_card(cls, card_path: Path | str, num_threads: int = 1) -> ExpressionClassifier:
        return cls(ModelCard.load(card_path), num_threads=num_threads)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        if batch.shape[0] != self._batch:
            self._interpreter.resize_tensor_input(self._input_index, list(batch.shape), strict=False)
            self._interpreter.allocate_tensors()
            self._batch = batch.shape[0]
        x = (batch.astype(np.float32) - self.card.input_mean) / self.card.input_std
        if self._input_dtype in (np.int8, np.uint8):
            scale, zero = self._input_quant
            x = np.clip(np.round(x / scale + zero), np.iinfo(self._input_dtype).min, np.iinfo(self._input_dtype).max)
        self._interpreter.set_tensor(self._input_index, x.astype(self._input_dtype))
        self._interpreter.invoke()
        y = self._interpreter.get_tensor(self._output_index).astype(np.float32)
        scale, zero = self._output_quant
        if scale:
            y = (y - zero) * scale
        return y

    def predict(self, faces: np.ndarray) -> np.ndarray:
        """(N, size, size, channels) uint8 faces -> (N, 8) probabilities in CLASSES_8 order."""
        faces = np.asarray(faces)
        if faces.ndim == 3:
            faces = faces[..., None]
        if faces.shape[0] == 0:
            return np.zeros((0, len(CLASSES_8)), dtype=np.float32)
        outs = [self._run(faces[i : i + self.max_batch]) for i in range(0, faces.shape[0], self.max_batch)]
        y = np.concatenate(outs, axis=0)
        if self.card.output == "logits":
            y = _softmax(y)
        y = y[:, self._order]
        y = np.clip(y, 0.0, None)
        return y / np.maximum(y.sum(axis=1, keepdims=True), 1e-12)
