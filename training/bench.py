"""Speed figures of thesis §7.4-7.5: inference per face (LiteRT, batch 1 and 64), model size, pre-processing per photo."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np


def inference_benchmark(tflite_path: Path, input_shape: tuple[int, int, int], threads: int = 1, repeats: int = 200) -> dict:
    """Milliseconds per face at batch 1 and 64 on `threads` CPU threads (LiteRT, as in the app), and file size."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(tflite_path), num_threads=threads)
    inp = interpreter.get_input_details()[0]
    result = {
        "threads": threads,
        "size_bytes": Path(tflite_path).stat().st_size,
        "size_mb": round(Path(tflite_path).stat().st_size / 1e6, 3),
    }
    for batch in (1, 64):
        interpreter.resize_tensor_input(inp["index"], [batch, *input_shape], strict=False)
        interpreter.allocate_tensors()
        x = np.random.default_rng(0).random((batch, *input_shape), dtype=np.float32)
        if inp["dtype"] != np.float32:
            x = x.astype(inp["dtype"])
        n = max(3, repeats // batch)
        for _ in range(3):
            interpreter.set_tensor(inp["index"], x)
            interpreter.invoke()
        times = []
        for _ in range(n):
            t = time.perf_counter()
            interpreter.set_tensor(inp["index"], x)
            interpreter.invoke()
            times.append((time.perf_counter() - t) * 1000 / batch)
        result[f"ms_per_face_batch{batch}"] = round(statistics.median(times), 3)
    return result


def preprocessing_benchmark(
    folder: Path, out_png: Path | None = None, enabled: bool = True, size: int = 48, channels: int = 1, limit: int | None = None
) -> dict:
    """Per photo of a folder: decode (the app's decoder, full size) and one detector pass excluded, time of
    face_input on every detected face.

    Returns mean/sd/min/max seconds per photo of pre-processing, plus the same for detection, and
    draws a histogram and time vs image size (megapixels) to out_png.
    """
    from albumsorter.core.decoding import PhotoError, decode_file
    from albumsorter.core.faces import FaceDetector
    from albumsorter.core.preprocess import PreprocessConfig, face_input
    from albumsorter.core.scanning import PHOTO_EXTENSIONS

    config = PreprocessConfig(enabled=enabled, size=size, channels=channels)
    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in PHOTO_EXTENSIONS)[:limit]
    pre_times, det_times, megapixels, faces_per = [], [], [], []
    with FaceDetector() as detector:
        for path in files:
            try:
                rgb = decode_file(path).rgb
            except PhotoError:
                continue
            t = time.perf_counter()
            faces = detector.detect(rgb)
            det_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            for f in faces:
                face_input(rgb, config, box=f.box, right_eye=f.right_eye, left_eye=f.left_eye)
            pre_times.append(time.perf_counter() - t)
            megapixels.append(rgb.shape[0] * rgb.shape[1] / 1e6)
            faces_per.append(len(faces))

    def stats(v: list[float]) -> dict:
        return {
            "mean_ms": round(1000 * statistics.mean(v), 3),
            "sd_ms": round(1000 * statistics.pstdev(v), 3),
            "min_ms": round(1000 * min(v), 3),
            "max_ms": round(1000 * max(v), 3),
        }

    if not pre_times:
        raise SystemExit(f"no readable photos in {folder}")
    result = {
        "photos": len(pre_times),
        "faces": int(sum(faces_per)),
        "preprocessing": str(config.to_dict()),
        "preprocessing_per_photo": stats(pre_times),
        "preprocessing_per_face_ms": round(1000 * sum(pre_times) / max(1, sum(faces_per)), 3),
        "detection_per_photo": stats(det_times),
    }
    if out_png is not None:
        out_png = out_png.with_name(f"{out_png.stem}_{'on' if enabled else 'off'}{out_png.suffix}")
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        axes[0].hist(np.array(pre_times) * 1000, bins=20)
        axes[0].set_xlabel("pre-processing time per photo (ms)")
        axes[0].set_ylabel("photos")
        axes[1].scatter(megapixels, np.array(pre_times) * 1000, s=12, label="pre-processing (all faces)")
        axes[1].scatter(megapixels, np.array(det_times) * 1000, s=12, label="detection", marker="x")
        axes[1].set_xlabel("image size (megapixels)")
        axes[1].set_ylabel("ms per photo")
        axes[1].legend()
        fig.tight_layout()
        fig.savefig(out_png, dpi=110)
        plt.close(fig)
        result["png"] = out_png.name
    return result
