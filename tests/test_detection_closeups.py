"""Close-ups and faces cut by the edge (issue #12): the padded whole-photo pass, on real photos of ../shared."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PIL import Image

from albumsorter.core.decoding import decode_file
from albumsorter.core.detection import DetectionSettings, find_faces
from albumsorter.core.faces import FaceDetector
from albumsorter.core.geometry import iou
from tests.conftest import SHARED_PHOTOS, require_shared

pytestmark = pytest.mark.usefixtures("require_models")

WITHOUT_PADDING = replace(DetectionSettings(), pad_fraction=0.0)


@pytest.fixture(scope="module")
def detector():
    with FaceDetector() as d:
        yield d


APP_SETTINGS = DetectionSettings()


def faces_in(detector: FaceDetector, path, settings: DetectionSettings = APP_SETTINGS):
    """Boxes in full-resolution pixels, through the app's decode size and detection."""
    photo = decode_file(path, settings.max_side)
    return [tuple(v * photo.scale for v in f.box) for f in find_faces(detector, photo.rgb, settings)]


def test_a_face_that_fills_the_frame_is_found(detector, tmp_path):
    """A real portrait cropped inside its face box (the face fills the photo and runs past its edges a little): the
    padded pass finds it, the passes before it did not. (Cropped exactly on the box, the whole-photo pass finds it
    at a score near 0.5 or misses it, depending on a pixel of the crop.)"""
    source = require_shared(SHARED_PHOTOS) / "ageitgey__examples_obama-1080p.jpg"
    (box,) = faces_in(detector, source)
    inset = 0.08 * (box[2] - box[0])
    image = Image.open(source).convert("RGB")
    crop = image.crop((round(box[0] + inset), round(box[1] + inset), round(box[2] - inset), round(box[3] - inset)))
    crop_file = tmp_path / "close-up.jpg"
    crop.save(crop_file, quality=92)
    expected = (0.0, 0.0, float(crop.width), float(crop.height))

    found = faces_in(detector, crop_file)
    assert len(found) == 1, f"one face expected in the close-up, found {found}"
    assert iou(found[0], expected) >= 0.4
    assert not any(iou(b, expected) >= 0.3 for b in faces_in(detector, crop_file, WITHOUT_PADDING)), (
        "the whole-photo pass alone now finds this close-up: the test no longer shows what the padded pass adds"
    )


def test_faces_cut_by_the_edge_are_found(detector):
    """The group selfie has two men cut by its right edge that only the padded pass finds; the others stay."""
    photo = require_shared(SHARED_PHOTOS) / "serengil__tests_unit_dataset_selfie-many-people.jpg"
    before, after = faces_in(detector, photo, WITHOUT_PADDING), faces_in(detector, photo)
    width = Image.open(photo).width
    new = [b for b in after if all(iou(b, old) < 0.3 for old in before)]
    assert new and all(b[2] >= width - 1 for b in new), f"new faces should touch the right edge: {new}"
    assert all(any(iou(old, b) > 0.99 for b in after) for old in before), "the other passes' faces must stay as they were"


def test_no_false_faces_in_a_crowd(detector):
    """In a dense crowd the padded pass sees clusters of small heads as large faces; they must not be added."""
    photo = require_shared(SHARED_PHOTOS) / "hukkelas__images_0_Parade_Parade_0_873.jpg"
    assert len(faces_in(detector, photo)) == len(faces_in(detector, photo, WITHOUT_PADDING))


def test_padding_is_part_of_the_detection_id():
    """Catalogs detected without the padded pass are detected again (their close-ups get found)."""
    assert DetectionSettings().id != WITHOUT_PADDING.id
    assert DetectionSettings().id != replace(DetectionSettings(), pad_min_share=0.2).id
