"""What the pipeline measures of a whole photo once it is decoded: sharpness, exposure, and the signature that
groups bursts and near-duplicates. Computed in the workers beside detection; stored with the photo."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from albumsorter.core.grouping import capture_time, signature
from albumsorter.core.photo_quality import exposure, grey_u8, photo_sharpness, to_grey

# Names the measures; a new value makes the next run measure every stored photo again (one decode each, no
# detection).
MEASURES_VERSION = "sharpness+exposure+signature:1"


@dataclass(frozen=True)
class PhotoMeasures:
    sharpness: float  # 0-1, the photo's sharpest part (core/photo_quality.py)
    exposure: float  # 0-1, 1 = well exposed
    signature: dict[str, Any]  # grouping.PhotoSignature.to_dict(): capture time with sub-seconds, hash, thumbnail


def measure_photo(rgb: np.ndarray, file_bytes: bytes) -> PhotoMeasures:
    """`rgb`: the decoded upright photo (the pipeline's <= 1024 px copy); `file_bytes`: the file, for EXIF times."""
    grey = grey_u8(rgb)  # once for the signature and both measures
    sig = signature(None, grey, capture_time(file_bytes))
    grey = to_grey(grey)
    return PhotoMeasures(round(photo_sharpness(grey), 4), round(exposure(grey), 4), sig.to_dict())
