"""Which runtime runs the expression model, on which device.

LiteRT on the CPU is always there and is what the desktop app ships. Where ONNX Runtime is installed (the
`cluster` / `cluster-gpu` extras) and offers an accelerator for this system (CUDA with `onnxruntime-gpu`;
DirectML on Windows; CoreML on macOS), the same model runs there from its ONNX copy beside the .tflite
(`model.onnx`, made by scripts/export_onnx.py). The device setting is "auto" (an accelerator if there is
one, else LiteRT on the CPU), "cpu" or "gpu" (an accelerator or a clear error); it is process-wide:
`set_device`, or the environment variable ALBUMSORTER_DEVICE.

ONNX Runtime lists the providers it was built with, not the devices present (onnxruntime-gpu lists CUDA on a
machine without a driver and quietly falls back to its CPU provider), so a session's own providers decide.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "gpu")
ENV_DEVICE = "ALBUMSORTER_DEVICE"
LITERT, ONNXRUNTIME = "litert", "onnxruntime"
CPU_PROVIDER = "CPUExecutionProvider"
# ONNX Runtime's providers that put a model on an accelerator, per system, best first.
GPU_PROVIDERS: dict[str, tuple[str, ...]] = {
    "linux": ("CUDAExecutionProvider",),
    "win32": ("CUDAExecutionProvider", "DmlExecutionProvider"),
    "darwin": ("CoreMLExecutionProvider",),
}
PROVIDER_NAMES = {
    "CUDAExecutionProvider": "CUDA",
    "DmlExecutionProvider": "DirectML",
    "CoreMLExecutionProvider": "CoreML",
    CPU_PROVIDER: "CPU",
}
GPU_BATCH = 256  # faces per inference on an accelerator (LiteRT on the CPU gains nothing past ~32)
INSTALL_HINT = (
    "pip install 'albumsorter[cluster-gpu]' for an NVIDIA GPU (Windows: onnxruntime-directml; macOS: 'albumsorter[cluster]')"
)

_device: str | None = None


class DeviceError(RuntimeError):
    """The device asked for cannot be used (no accelerator, ONNX Runtime or ONNX model)."""


def check_device(device: str) -> str:
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; expected one of {', '.join(DEVICES)}")
    return device


def set_device(device: str | None) -> None:
    """The device every expression classifier made after this call uses (None: back to the default)."""
    global _device
    _device = None if device is None else check_device(device)


def current_device() -> str:
    """`set_device`'s choice, else $ALBUMSORTER_DEVICE, else "auto"."""
    return _device or check_device(os.environ.get(ENV_DEVICE, "").strip().lower() or "auto")


@dataclass(frozen=True)
class RuntimePlan:
    """A runtime and, for ONNX Runtime, its providers in order of preference."""

    backend: str
    providers: tuple[str, ...] = ()

    @property
    def accelerated(self) -> bool:
        return self.backend == ONNXRUNTIME and self.providers[:1] != (CPU_PROVIDER,)

    @property
    def label(self) -> str:
        """What the window's status shows, e.g. "LiteRT · CPU" or "ONNX Runtime · CUDA"."""
        if self.backend == LITERT:
            return "LiteRT · CPU"
        return "ONNX Runtime · " + PROVIDER_NAMES.get(self.providers[0], self.providers[0].removesuffix("ExecutionProvider"))


LITERT_CPU = RuntimePlan(LITERT)


def onnx_model_path(model_path: Path) -> Path:
    """The ONNX copy of a .tflite model: beside it, same name."""
    return model_path.with_suffix(".onnx")


@functools.cache
def available_providers() -> tuple[str, ...] | None:
    """ONNX Runtime's providers, or None when ONNX Runtime is not installed (asked once a process)."""
    try:
        import onnxruntime
    except ImportError:
        return None
    return tuple(onnxruntime.get_available_providers())


def choose_runtime(
    device: str, providers: Sequence[str] | None, has_onnx_model: bool, platform: str | None = None
) -> RuntimePlan:
    """The plan for a device setting, given ONNX Runtime's providers (None: not installed) and whether the model
    has an ONNX copy. Raises DeviceError when "gpu" cannot be had."""
    check_device(device)
    if device == "cpu":
        return LITERT_CPU
    platform = platform or sys.platform
    wanted = GPU_PROVIDERS.get(platform if platform in GPU_PROVIDERS else "linux", ())
    gpu = [p for p in wanted if providers and p in providers]
    if gpu and has_onnx_model:
        return RuntimePlan(ONNXRUNTIME, (gpu[0], CPU_PROVIDER))
    if device == "auto":
        return LITERT_CPU
    if providers is None:
        raise DeviceError(f"device gpu needs ONNX Runtime, which is not installed: {INSTALL_HINT}")
    if not gpu:
        raise DeviceError(
            f"device gpu: ONNX Runtime offers no accelerator here (it has {', '.join(providers) or 'none'}; "
            f"wanted {' or '.join(wanted)}): {INSTALL_HINT}, or use --device cpu"
        )
    raise DeviceError("device gpu needs the model's ONNX copy (model.onnx beside model.tflite): run scripts/export_onnx.py")


class OnnxInterpreter:
    """An ONNX Runtime session behind the few LiteRT Interpreter calls ExpressionClassifier makes (float in, float
    out, any batch size), so the classifier's code is the same on both runtimes."""

    def __init__(self, session: Any) -> None:
        self.session = session
        inp, out = session.get_inputs()[0], session.get_outputs()[0]
        self._input_name = inp.name
        self._input_shape = [1, *(int(d) if isinstance(d, int) else -1 for d in inp.shape[1:])]
        self._output_size = int(out.shape[-1]) if isinstance(out.shape[-1], int) else -1
        self._x: np.ndarray | None = None
        self._y: np.ndarray | None = None

    def allocate_tensors(self) -> None:
        pass

    def resize_tensor_input(self, index: int, shape: Sequence[int], strict: bool = False) -> None:
        pass  # the batch dimension is dynamic

    def get_input_details(self) -> list[dict]:
        return [{"index": 0, "shape": np.array(self._input_shape), "dtype": np.float32, "quantization": (0.0, 0)}]

    def get_output_details(self) -> list[dict]:
        return [{"index": 1, "shape": np.array([1, self._output_size]), "dtype": np.float32, "quantization": (0.0, 0)}]

    def set_tensor(self, index: int, value: np.ndarray) -> None:
        self._x = np.ascontiguousarray(value, dtype=np.float32)

    def invoke(self) -> None:
        self._y = self.session.run(None, {self._input_name: self._x})[0]

    def get_tensor(self, index: int) -> np.ndarray:
        assert self._y is not None, "invoke() first"
        return self._y


def _onnx_session(onnx_path: Path, providers: Sequence[str], num_threads: int) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = num_threads
    options.log_severity_level = 3  # errors only: the CPU fallback warning is handled below
    return onnxruntime.InferenceSession(str(onnx_path), sess_options=options, providers=list(providers))


def _onnx_is_current(session: Any, model_path: Path) -> bool:
    """The ONNX copy was made from this very .tflite (a newly installed model makes it stale)."""
    made_from = session.get_modelmeta().custom_metadata_map.get("source_sha256")
    return made_from == hashlib.sha256(model_path.read_bytes()).hexdigest()


def make_interpreter(model_path: Path, num_threads: int, device: str | RuntimePlan | None = None) -> tuple[Any, RuntimePlan]:
    """An interpreter for the model and the plan it follows: LiteRT's, or ONNX Runtime's behind the same calls.

    `device` is a setting (None: `current_device()`) or an explicit plan (tests run ONNX Runtime on the CPU that
    way). With "auto", anything that keeps the accelerator from working falls back to LiteRT on the CPU.
    """
    onnx_path = onnx_model_path(model_path)
    setting = None if isinstance(device, RuntimePlan) else (device or current_device())
    plan = (
        device
        if isinstance(device, RuntimePlan)
        else choose_runtime(setting or "auto", available_providers(), onnx_path.is_file())
    )
    if plan.backend == ONNXRUNTIME:
        try:
            session = _onnx_session(onnx_path, plan.providers, num_threads)
            if not _onnx_is_current(session, model_path):
                raise DeviceError(f"{onnx_path} was made from another {model_path.name}: run scripts/export_onnx.py again")
            if session.get_providers()[0] != plan.providers[0]:
                raise DeviceError(
                    f"ONNX Runtime could not start {plan.providers[0]} (no device or driver); it offered {session.get_providers()}"
                )
            return OnnxInterpreter(session), plan
        except Exception as exc:
            if setting != "auto":
                raise DeviceError(str(exc).splitlines()[0]) from None
            log.warning("%s; using LiteRT on the CPU", str(exc).splitlines()[0])
            plan = LITERT_CPU
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(model_path=str(model_path), num_threads=num_threads), plan


@functools.lru_cache(maxsize=8)
def _describe(model_path: Path, device: str) -> str:
    try:
        _, plan = make_interpreter(model_path, 1, device)
    except DeviceError as exc:
        return f"no device ({exc})"
    except Exception:  # a missing or broken model is reported where the model is loaded
        return LITERT_CPU.label
    return plan.label


def describe_runtime(model_card: Path | None = None, device: str | None = None) -> str:
    """What runs the expression model with this device setting, e.g. "LiteRT · CPU" or "ONNX Runtime · CUDA"
    (for the window's status). Tries the runtime once per model and setting, then remembers."""
    from albumsorter.core.resources import expression_model_card_path

    card = model_card or expression_model_card_path()
    try:
        model_path = card.parent / json.loads(card.read_text(encoding="utf-8"))["file"]
    except (OSError, ValueError, KeyError, TypeError):
        return LITERT_CPU.label
    return _describe(model_path, device or current_device())
