"""Property-based tests (Hypothesis): pre-processing geometry, and the catalog's query filters against a
pure-Python reference filter on random catalogs of photos, faces, labels, corrections and picks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from albumsorter.core import preprocess as pp
from albumsorter.core.catalog import PICK_STATES, Catalog, PhotoFilter
from albumsorter.core.classes import CLASSES_8, GROUPS_3
from albumsorter.core.face import FaceResult, ScorerResult
from albumsorter.core.geometry import iou
from tests.factories import landmarks_in, photo

coord = st.floats(-500, 1500, allow_nan=False, allow_infinity=False)
point = st.tuples(coord, coord)


# --- pre-processing geometry ----------------------------------------------------------------------


@settings(deadline=None)
@given(point, point)
def test_rotating_by_the_eye_line_angle_levels_the_eyes(right_eye, left_eye):
    d = math.dist(right_eye, left_eye)
    assume(d > 1e-3)
    center = pp.eye_midpoint(right_eye, left_eye)
    r, left = pp.rotate_points(np.array([right_eye, left_eye]), center, pp.eye_line_angle(right_eye, left_eye))
    # (OpenCV builds the matrix with ~1e-7 relative precision.)
    tol = 1e-5 * max(1.0, d, *map(abs, center))
    assert r[1] == pytest.approx(left[1], abs=tol)  # on one horizontal line
    assert r[0] < left[0]  # the subject's right eye on the image's left
    assert math.dist(r, left) == pytest.approx(d, rel=1e-6, abs=tol)  # a rotation: distances kept
    assert tuple((r + left) / 2) == pytest.approx(center, abs=tol)  # about the midpoint


@settings(deadline=None)
@given(point, point)
def test_normalisation_box_has_the_thesis_proportions(right_eye, left_eye):
    d = math.dist(right_eye, left_eye)
    assume(d > 1e-3)
    left, top, right, bottom = pp.normalisation_box(right_eye, left_eye)
    mx, my = pp.eye_midpoint(right_eye, left_eye)
    assert right - left == pytest.approx(2 * pp.SIDE_FACTOR * d)
    assert bottom - top == pytest.approx((pp.ABOVE_FACTOR + pp.BELOW_FACTOR) * d)
    assert (left + right) / 2 == pytest.approx(mx, abs=1e-9 * max(1, abs(mx)))
    assert my - top == pytest.approx(pp.ABOVE_FACTOR * d)


box = st.tuples(coord, coord, st.floats(0.5, 800), st.floats(0.5, 800)).map(lambda t: (t[0], t[1], t[0] + t[2], t[1] + t[3]))


@settings(deadline=None)
@given(box, st.floats(0, 1))
def test_square_box_is_a_centred_square_containing_the_box(b, margin):
    left, top, right, bottom = pp.square_box(b, margin)
    assert right - left == pytest.approx(bottom - top)
    assert (left + right) / 2 == pytest.approx((b[0] + b[2]) / 2) and (top + bottom) / 2 == pytest.approx((b[1] + b[3]) / 2)
    eps = 1e-6 * max(1.0, *map(abs, b))
    assert left <= b[0] + eps and top <= b[1] + eps and right >= b[2] - eps and bottom >= b[3] - eps


images = st.tuples(st.integers(1, 64), st.integers(1, 64), st.sampled_from([1, 3])).map(
    lambda t: np.random.default_rng(t[0] * 131 + t[1]).integers(0, 256, (t[1], t[0], t[2]), dtype=np.uint8)
)


@settings(max_examples=150, deadline=None)
@given(images, st.tuples(st.integers(-80, 80), st.integers(-80, 80), st.integers(1, 120), st.integers(1, 120)))
def test_crop_with_padding_has_the_box_size_and_the_image_pixels(image, b):
    h, w = image.shape[:2]
    left, top = b[0], b[1]
    right, bottom = left + b[2], top + b[3]
    assume(left < w and top < h and right > 0 and bottom > 0)  # boxes wholly outside are refused (test below)
    crop = pp.crop_with_padding(image, (left, top, right, bottom))
    assert crop.shape == (bottom - top, right - left, image.shape[2])
    # Where the box overlaps the image, the crop is the image.
    y0, x0, y1, x1 = max(0, top), max(0, left), min(h, bottom), min(w, right)
    assert np.array_equal(crop[y0 - top : y1 - top, x0 - left : x1 - left], image[y0:y1, x0:x1])


def test_crop_wholly_outside_the_image_is_refused():
    image = np.arange(6, dtype=np.uint8).reshape(1, 6, 1)
    with pytest.raises(ValueError):
        pp.crop_with_padding(image, (-3, 0, -1, 1))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(8, 200),
    st.integers(8, 200),
    st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0.02, 1), st.floats(0.02, 1)),
    st.one_of(st.none(), st.tuples(point, point)),
    st.booleans(),
    st.sampled_from([1, 3]),
    st.sampled_from([32, 48, 64]),
)
def test_face_input_always_gives_the_model_its_input(w, h, rel, eyes, enabled, channels, size):
    """Any face the detector can report (a box inside the photo, eyes anywhere, even coinciding) becomes a
    size x size x channels uint8 input: one odd face never costs the photo."""
    image = np.random.default_rng(w * 7 + h).integers(0, 256, (h, w, 3), dtype=np.uint8)
    left, top = rel[0] * (w - 1), rel[1] * (h - 1)
    b = (left, top, min(w, left + max(1.0, rel[2] * w)), min(h, top + max(1.0, rel[3] * h)))
    config = pp.PreprocessConfig(enabled=enabled, size=size, channels=channels)
    right_eye, left_eye = eyes if eyes else (None, None)
    out = pp.face_input(image, config, b, right_eye, left_eye)
    assert out.shape == (size, size, channels) and out.dtype == np.uint8


# --- catalog query filters against a reference ------------------------------------------------------

names = st.text(alphabet="abAB_%\\ é写.", min_size=1, max_size=6)
face_st = st.tuples(st.sampled_from(CLASSES_8 + (None,)), st.floats(0, 1), st.one_of(st.none(), st.sampled_from(CLASSES_8)))
photo_st = st.tuples(
    names,
    st.sampled_from(["ok", "ok", "ok", "error", "gone"]),
    st.lists(face_st, max_size=4),
    st.sampled_from(sorted(PICK_STATES.values())),
    st.one_of(st.none(), st.sampled_from(["2021-01-01T10:00:00", "2023-06-30T08:00:00", "2024-12-24T18:00:00"])),
    st.booleans(),  # reclassified afterwards by a new model (store_results)
)
FILTER_FIELDS = {
    "emotions": st.lists(st.sampled_from(CLASSES_8), min_size=1, max_size=3),
    "groups": st.lists(st.sampled_from(sorted(GROUPS_3)), min_size=1, max_size=2),
    "all_faces": st.booleans(),
    "min_faces": st.integers(0, 4),
    "max_faces": st.integers(0, 4),
    "min_smiles": st.integers(0, 3),
    "picks": st.lists(st.sampled_from(sorted(PICK_STATES)), min_size=1, max_size=2),
    "errors": st.booleans(),
    "include_gone": st.booleans(),
    "name_contains": st.text(alphabet="abAB_%\\é写", min_size=1, max_size=2),
    "limit": st.integers(1, 5),
}
# A few constraints at a time (all of them at once almost always match nothing), any sort and order.
filter_st = st.tuples(
    st.sets(st.sampled_from(sorted(FILTER_FIELDS)), max_size=3).flatmap(
        lambda keys: st.fixed_dictionaries({k: FILTER_FIELDS[k] for k in keys})
    ),
    st.sampled_from(["name", "path", "smile", "date", "faces"]),
    st.one_of(st.none(), st.booleans()),
).map(lambda t: PhotoFilter(**t[0], sort=t[1], descending=t[2]))


def face_with(box, model_id: str, label: str | None, probabilities) -> FaceResult:
    """A face whose expression result says `label` (None: a result without a label) with these probabilities."""
    data = {"probabilities": dict(zip(CLASSES_8, map(float, probabilities)))}
    return FaceResult(
        tuple(map(float, box)), 0.9, landmarks_in(box), {"expression": ScorerResult("expression", model_id, label, data)}
    )


def build_catalog(cat: Catalog, photos) -> list[dict]:
    """Store random photos; return the reference model: one dict per photo with its effective face labels."""
    model, seen = [], set()
    for i, (name, status, faces, pick, taken_at, reclassify) in enumerate(photos):
        path = f"/photos/{i:02d}_{name}.jpg"
        if status == "error":
            pid = cat.record_error(path, 1, 1, "not an image")
            faces = []
        else:
            stored = []
            for j, (label, p_happy, _) in enumerate(faces):
                probs = [(1 - p_happy) / 7] * 8
                probs[CLASSES_8.index("happy")] = p_happy
                stored.append(face_with((10.0 + 40 * j, 10.0, 40.0 + 40 * j, 50.0), "m", label, probs))
            pid = cat.record_photo(photo(path, stored, size=1, content_hash=f"h{i}", taken_at=taken_at))
            face_ids = [f.id for f in cat.photo(pid).faces]
            for face_id, (_, _, correction) in zip(face_ids, faces):
                if correction is not None:
                    cat.set_correction(face_id, correction)
            if reclassify and faces:  # a new model: p(happy) flips, the label follows; corrections still win
                faces = [("happy" if p < 0.5 else "sad", 1 - p, corr) for _, p, corr in faces]
                preds = []
                for face_id, (label, p_happy, _) in zip(face_ids, faces):
                    probs = [(1 - p_happy) / 7] * 8
                    probs[CLASSES_8.index("happy")] = p_happy
                    preds.append((face_id, face_with((0, 0, 1, 1), "m2", label, probs).results["expression"]))
                cat.store_results(preds)
            if status == "gone":
                cat.mark_gone([path])
        cat.set_pick([pid], pick)
        effective = [corr if corr is not None else label for label, _, corr in faces]
        score_terms = [(1.0 if corr == "happy" else 0.0) if corr is not None else p for _, p, corr in faces]
        model.append(
            {
                "path": path,
                "status": status,
                "pick": pick,
                "labels": effective,
                "taken_at": taken_at,
                "smiles": sum(lab == "happy" for lab in effective),
                "smile_score": sum(score_terms) / len(score_terms) if score_terms else 0.0,
            }
        )
        seen.add(path)
    return model


def reference(model: list[dict], flt: PhotoFilter) -> list[dict]:
    if flt.errors:
        rows = [m for m in model if m["status"] == "error"]
    else:
        rows = [m for m in model if m["status"] in (("ok", "gone") if flt.include_gone else ("ok",))]
    labels = set(flt.labels())
    if labels:
        if flt.all_faces:
            rows = [m for m in rows if m["labels"] and all(lab in labels for lab in m["labels"])]
        else:
            rows = [m for m in rows if any(lab in labels for lab in m["labels"])]
    if flt.min_faces is not None:
        rows = [m for m in rows if len(m["labels"]) >= flt.min_faces]
    if flt.max_faces is not None:
        rows = [m for m in rows if len(m["labels"]) <= flt.max_faces]
    if flt.min_smiles is not None:
        rows = [m for m in rows if m["smiles"] >= flt.min_smiles]
    if flt.picks:
        states = {PICK_STATES[p] for p in flt.picks}
        rows = [m for m in rows if m["pick"] in states]
    if flt.name_contains:
        # SQL LIKE: case-insensitive for ASCII letters only.
        fold = lambda s: "".join(c.lower() if c.isascii() else c for c in s)  # noqa: E731
        rows = [m for m in rows if fold(flt.name_contains) in fold(m["path"])]
    return rows


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(photo_st, max_size=10), st.lists(filter_st, min_size=1, max_size=6))
def test_query_matches_a_reference_filter(photos, filters):
    with Catalog(":memory:") as cat:
        model = build_catalog(cat, photos)
        for flt in filters:
            expected = reference(model, flt)
            got = cat.query(flt)
            assert cat.count(PhotoFilter(**{**flt.__dict__, "limit": None})) == len(expected)
            want = {m["path"] for m in expected}
            if flt.limit:
                assert len(got) == min(flt.limit, len(expected))
                assert {p.path for p in got} <= want
            else:
                assert sorted(p.path for p in got) == sorted(want)
            by_path = {m["path"]: m for m in model}
            for p in got:
                m = by_path[p.path]
                assert p.face_count == len(m["labels"]) and p.smile_count == m["smiles"] and p.pick == m["pick"]
                assert p.smile_score == pytest.approx(m["smile_score"], abs=1e-9)
            # The order is the requested sort, ties broken by path.
            desc = flt.descending if flt.descending is not None else flt.sort in ("smile", "faces")
            key = {
                "name": lambda m: m["path"].lower() if m["path"].isascii() else m["path"],
                "path": lambda m: m["path"],
                "smile": lambda m: round(m["smile_score"], 9),
                "date": lambda m: m["taken_at"] or "",
                "faces": lambda m: len(m["labels"]),
            }[flt.sort]
            keys = [key(by_path[p.path]) for p in got]
            if flt.sort != "name":  # NOCASE folds ASCII only; the other sorts are exact
                assert keys == sorted(keys, reverse=desc)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 600), st.floats(0, 400), st.floats(20, 120)), min_size=1, max_size=5),
    st.lists(st.tuples(st.floats(-15, 15), st.floats(-15, 15)), min_size=5, max_size=5),
    st.lists(st.sampled_from(CLASSES_8), min_size=1, max_size=5),
)
def test_corrections_survive_redetection(faces, jitter, labels):
    """Re-detection (the file changed) replaces faces; every correction is kept, and re-linked to the new face it
    overlaps most when that overlap is enough."""

    def stored(offsets):
        return [
            face_with((x + dx, y + dy, x + s + dx, y + s + dy), "m", "neutral", [1 / 8] * 8)
            for (x, y, s), (dx, dy) in zip(faces, offsets)
        ]

    with Catalog(":memory:") as cat:
        pid = cat.record_photo(photo("/p.jpg", stored([(0, 0)] * len(faces)), size=1, content_hash="h", width=800, height=600))
        old = cat.photo(pid).faces
        for f, label in zip(old, labels):
            cat.set_correction(f.id, label)
        n = min(len(old), len(labels))
        cat.record_photo(photo("/p.jpg", stored(jitter), size=2, mtime_ns=2, content_hash="h2", width=800, height=600))
        assert cat.conn.execute("SELECT COUNT(*) FROM corrections").fetchone()[0] == n
        new = cat.photo(pid).faces
        linked = [f for f in new if f.corrected]
        assert len({f.id for f in linked}) == len(linked)  # one correction per face
        for f in linked:  # a correction only moves to a face that overlaps its own box
            box = cat.conn.execute("SELECT left, top, right, bottom FROM corrections WHERE face_id = ?", (f.id,)).fetchone()
            assert iou(box, f.box) >= 0.3
