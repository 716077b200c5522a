"""Head pose from the face mesh: MediaPipe's face geometry pipeline (canonical face -> camera matrix) in numpy.

The canonical face (468 vertices, centimetres) and the weighted landmark basis come from
`geometry_pipeline_metadata_landmarks.binarypb` inside face_landmarker.task, read here with a small protobuf
wire-format reader (no generated protobuf code needed). `pose_matrix` follows MediaPipe's
ScreenToMetricSpaceConverter (tasks/cc/vision/face_geometry/libs/geometry_pipeline.cc, Apache-2.0): project the
screen landmarks onto the near plane of a perspective camera (63 degrees vertical field of view, origin top left),
estimate the scale with a weighted orthogonal Procrustes fit against the canonical face, unproject, and fit
again; the last fit is the face's pose matrix.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

MESH_POINTS = 468  # the pose uses the face mesh without the 10 iris points
VERTEX_SIZE = 5  # canonical mesh vertex: x, y, z, u, v
FIELD_OF_VIEW_DEG = 63.0  # MediaPipe's default environment (face_geometry_from_landmarks_graph.cc)
NEAR = 1.0


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def _fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of one protobuf message: ints for varints, bytes for everything else."""
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire_type = key >> 3, key & 7
        value: int | bytes
        if wire_type == 0:
            value, i = _varint(data, i)
        elif wire_type == 1:
            value, i = data[i : i + 8], i + 8
        elif wire_type == 5:
            value, i = data[i : i + 4], i + 4
        elif wire_type == 2:
            size, i = _varint(data, i)
            value, i = data[i : i + size], i + size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire_type}")
        yield number, value


def _floats(value: int | bytes) -> list[float]:
    """A repeated float field's value: one fixed32, or a packed run of them."""
    if not isinstance(value, bytes) or len(value) % 4:
        raise ValueError("malformed float field")
    return list(struct.unpack(f"<{len(value) // 4}f", value))


@dataclass(frozen=True)
class FaceGeometry:
    """The canonical face and the Procrustes basis (only landmarks with a weight take part in the fit)."""

    canonical: np.ndarray  # (468, 3) float64, centimetres
    basis: np.ndarray  # (k,) landmark indices
    weights: np.ndarray  # (k,) their weights

    @classmethod
    def parse(cls, data: bytes) -> FaceGeometry:
        """From the bytes of GeometryPipelineMetadata (mesh = field 1, basis = field 2; Mesh3d.vertex_buffer = 3;
        WeightedLandmarkRef.landmark_id = 1, weight = 2)."""
        vertices: list[float] = []
        basis: list[tuple[int, float]] = []
        for number, value in _fields(data):
            if number == 1 and isinstance(value, bytes):
                vertices += [f for n, v in _fields(value) if n == 3 for f in _floats(v)]
            elif number == 2 and isinstance(value, bytes):
                ref = dict(_fields(value))
                landmark, weight = ref.get(1, 0), ref.get(2, b"\0\0\0\0")
                if isinstance(landmark, int):
                    basis.append((landmark, _floats(weight)[0]))
        if len(vertices) != MESH_POINTS * VERTEX_SIZE or not basis:
            raise ValueError(f"unexpected geometry metadata: {len(vertices)} vertex values, {len(basis)} basis points")
        canonical = np.asarray(vertices, dtype=np.float64).reshape(MESH_POINTS, VERTEX_SIZE)[:, :3]
        ids = np.array([b[0] for b in basis])
        return cls(canonical, ids, np.array([b[1] for b in basis], dtype=np.float64))

    def pose_matrix(self, screen: np.ndarray) -> np.ndarray:
        """(4, 4) canonical face -> camera matrix (camera: x right, y up, looking down -z) for landmarks
        normalised to a square frame: x, y in 0-1 from its top left corner, z in the same unit as x."""
        half = NEAR * math.tan(math.radians(FIELD_OF_VIEW_DEG) / 2.0)  # square frame: width = height at near
        points = np.asarray(screen[:MESH_POINTS], dtype=np.float64).copy()
        points[:, 1] = 1.0 - points[:, 1]
        points = points * (2 * half) + np.array([-half, -half, 0.0])
        depth_offset = points[:, 2].mean()
        points = points[self.basis]  # only the weighted landmarks move the fit
        canonical = self.canonical[self.basis]

        def scale_of(target: np.ndarray) -> float:
            return float(np.linalg.norm(weighted_procrustes(canonical, target, self.weights)[:3, 0]))

        def metric(scale: float) -> np.ndarray:
            out = points.copy()
            out[:, 2] = (out[:, 2] - depth_offset + NEAR) / scale
            out[:, :2] *= out[:, 2:3] / NEAR
            out[:, 2] *= -1.0  # screen space is left-handed, metric space right-handed
            return out

        first = scale_of(points * np.array([1.0, 1.0, -1.0]))
        second = scale_of(metric(first))
        return weighted_procrustes(canonical, metric(first * second), self.weights).astype(np.float32)


def weighted_procrustes(source: np.ndarray, target: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(4, 4) similarity transform (scale * rotation, translation) taking `source` points nearest to `target` in the
    weighted least-squares sense, without reflection (Akca 2003, as MediaPipe's procrustes_solver.cc)."""
    w = weights / weights.sum()
    source_mean = w @ source
    centred = source - source_mean
    cross = (target * w[:, None]).T @ centred
    u, _, vt = np.linalg.svd(cross)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        u[:, 2] *= -1.0
    rotation = u @ vt
    scale = float(np.sum((centred @ rotation.T) * target * w[:, None]) / np.sum(centred * source * w[:, None]))
    translation = w @ (target - scale * source @ rotation.T)
    matrix = np.eye(4)
    matrix[:3, :3] = scale * rotation
    matrix[:3, 3] = translation
    return matrix
