#!/usr/bin/env python3
"""Make models/expression/model.onnx from model.tflite, for ONNX Runtime on a GPU (core/runtime.py).

tf2onnx needs TensorFlow and the `onnx` package, neither of which the app needs, so it runs once in a
throwaway virtual environment (the exact versions used for the shipped file):

    python3 -m venv /tmp/onnx-export-venv
    /tmp/onnx-export-venv/bin/pip install tf2onnx==1.17.0 tensorflow-cpu==2.21.0 onnxruntime==1.32.0
    /tmp/onnx-export-venv/bin/python scripts/export_onnx.py [--card models/expression/model.json]

The conversion is `tf2onnx.convert --tflite model.tflite --opset 17` (its Python API, same thing). The ONNX
file records the SHA-256 of the .tflite it was made from: the app uses it only while that still matches
the .tflite beside it, so a newly installed model never runs with a stale ONNX copy. The script checks the
two files agree on random inputs before writing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OPSET = 17


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--card", type=Path, default=REPO / "models" / "expression" / "model.json", help="the model card")
    parser.add_argument("--output", type=Path, help="default: beside the .tflite, same name, .onnx")
    args = parser.parse_args()

    import numpy as np
    import onnx
    import onnxruntime as ort
    import tensorflow as tf
    import tf2onnx

    card = json.loads(args.card.read_text(encoding="utf-8"))
    tflite = args.card.parent / card["file"]
    output = args.output or tflite.with_suffix(".onnx")
    with tempfile.TemporaryDirectory() as tmp:
        converted = Path(tmp) / "model.onnx"
        tf2onnx.convert.from_tflite(str(tflite), opset=OPSET, output_path=str(converted))
        model = onnx.load(str(converted))
    metadata = {
        "source_file": tflite.name,
        "source_sha256": hashlib.sha256(tflite.read_bytes()).hexdigest(),
        "model_id": str(card["id"]),
        "converter": f"tf2onnx {tf2onnx.__version__} --tflite --opset {OPSET} (scripts/export_onnx.py)",
    }
    del model.metadata_props[:]
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)

    # The two runtimes must agree before the file is written (the app's test checks again on real faces).
    size, channels = int(card["input"]["size"]), int(card["input"]["channels"])
    x = np.random.default_rng(0).random((16, size, size, channels), dtype=np.float32)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    y_onnx = session.run(None, {session.get_inputs()[0].name: x})[0]
    interpreter = tf.lite.Interpreter(model_path=str(tflite))
    interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], list(x.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    y_tflite = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    diff = float(np.abs(y_onnx - y_tflite).max())
    if diff > 1e-4:
        print(f"ONNX and LiteRT outputs differ by {diff:.2e}; not written", file=sys.stderr)
        return 1
    onnx.save(model, str(output))
    print(
        f"wrote {output} ({output.stat().st_size / 1e6:.2f} MB); largest difference from LiteRT on 16 random inputs: {diff:.1e}"
    )
    for key, value in metadata.items():
        print(f"  {key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
