"""Bursts and near-duplicates (core/grouping.py) on frames made from real photos of ../shared/photos."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from albumsorter.core.decoding import decode, read_file
from albumsorter.core.grouping import (
    GroupIndex,
    GroupingSettings,
    PhotoSignature,
    capture_time,
    group_all,
    hash_distance,
    signature,
    similarity,
)
from tests.burst_fixtures import START, make_burst, make_copies_without_exif, make_two_scenes

pytestmark = pytest.mark.shared


def signature_of(path: Path) -> PhotoSignature:
    """As the pipeline would: one read, the app's 1024-pixel decode, the EXIF time of the same bytes."""
    data = read_file(path)
    return signature(path.name, decode(data, 1024).rgb, capture_time(data))


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> dict[str, list[PhotoSignature]]:
    folder = tmp_path_factory.mktemp("library")
    return {
        "burst": [signature_of(f.path) for f in make_burst(folder)],
        "scenes": [signature_of(f.path) for f in make_two_scenes(folder)],
        "copies": [signature_of(f.path) for f in make_copies_without_exif(folder)],
    }


def partition(assignments: dict) -> set[frozenset]:
    groups: dict = {}
    for photo, group in assignments.items():
        groups.setdefault(group, set()).add(photo)
    return {frozenset(members) for members in groups.values()}


def test_capture_time_reads_sub_seconds(library):
    times = [s.taken_at for s in library["burst"]]
    assert [round(b - a, 3) for a, b in zip(times, times[1:])] == [1.25, 1.25, 1.25]
    assert all(s.taken_at is None for s in library["copies"])


def test_burst_frames_are_one_group_despite_shift_blur_and_darkening(library):
    assignments = group_all(library["burst"])
    assert len(set(assignments.values())) == 1
    burst = library["burst"]
    # the frames moved by a few per cent: the perceptual hash alone would not have held them together
    assert max(hash_distance(burst[0].phash, s.phash) for s in burst[1:]) > GroupingSettings().duplicate_bits
    assert min(similarity(burst[0], s) for s in burst[1:]) >= GroupingSettings().burst_similarity


def test_two_different_scenes_two_seconds_apart_are_two_groups(library):
    a, b = library["scenes"]
    assert abs(b.taken_at - a.taken_at) == pytest.approx(2.0)
    assert similarity(a, b) < GroupingSettings().burst_similarity
    assignments = group_all(library["scenes"])
    assert assignments[a.photo_id] != assignments[b.photo_id]


def test_copies_without_exif_are_grouped_by_appearance(library):
    original, resaved = library["copies"]
    assert hash_distance(original.phash, resaved.phash) <= GroupingSettings().duplicate_bits
    assignments = group_all(library["copies"])
    assert assignments[original.photo_id] == assignments[resaved.photo_id]


def test_whole_library_groups_by_moment_and_does_not_depend_on_order(library):
    everything = [s for group in library.values() for s in group]
    expected = {
        frozenset(s.photo_id for s in library["burst"]),
        frozenset(s.photo_id for s in library["copies"]),
        *(frozenset([s.photo_id]) for s in library["scenes"]),
    }
    assert partition(group_all(everything)) == expected
    shuffled = everything[:]
    random.Random(3).shuffle(shuffled)
    assert partition(group_all(shuffled)) == expected


def test_a_new_photo_joins_its_group_without_regrouping(library, tmp_path):
    burst = library["burst"]
    stored = group_all(burst[:2] + library["scenes"])
    index = GroupIndex.from_stored((s, stored[s.photo_id]) for s in burst[:2] + library["scenes"])
    before = index.assignments()

    joined = index.add(burst[2])  # the blurred frame, indexed later
    assert joined.reason == "burst" and joined.group_id == stored[burst[0].photo_id]
    unrelated = index.add(library["copies"][0])
    assert unrelated.reason == "new" and unrelated.group_id == unrelated.photo_id
    duplicate = index.add(library["copies"][1])
    assert duplicate.reason == "duplicate" and duplicate.group_id == unrelated.group_id

    after = index.assignments()
    assert all(after[photo] == group for photo, group in before.items())  # nothing that was grouped moved

    # a second, later burst of another scene starts its own group
    second = [
        signature_of(f.path) for f in make_burst(tmp_path, "ageitgey__examples_two_people.jpg", START.replace(hour=16), "later")
    ]
    first = index.add(second[0])
    assert first.reason == "new"
    assert all(index.add(s).group_id == first.group_id for s in second[1:])


def test_user_split_and_merge_survive_regrouping(library):
    burst, scenes = library["burst"], library["scenes"]
    everything = burst + scenes
    automatic = group_all(everything)
    burst_group = automatic[burst[0].photo_id]
    # The user took the darkened frame out of the burst and put the two scenes together. A split or a merge pins
    # every photo of the groups it touches (the catalog marks them user-placed).
    pinned = {s.photo_id: burst_group for s in burst[:3]} | {burst[3].photo_id: burst[3].photo_id}
    pinned |= {scenes[0].photo_id: "user-1", scenes[1].photo_id: "user-1"}
    assert group_all(everything, pinned=pinned) == pinned

    # Pinned photos plus automatic ones: the automatic photos still follow the rules around them.
    partly = {burst[3].photo_id: burst[3].photo_id, burst[0].photo_id: burst_group}
    assignments = group_all(everything, pinned=partly)
    assert assignments[burst[3].photo_id] == burst[3].photo_id
    assert assignments[burst[1].photo_id] in (burst_group, burst[3].photo_id)
    assert assignments[scenes[0].photo_id] != assignments[scenes[1].photo_id]

    # Restored from storage, the user's groups stay; a new frame joins the group of the frame it matches best.
    index = GroupIndex.from_stored((s, pinned[s.photo_id]) for s in everything if s is not burst[2])
    assert index.assignments() == {k: v for k, v in pinned.items() if k != burst[2].photo_id}
    assert index.add(burst[2]).group_id in (burst_group, burst[3].photo_id)


def test_signature_round_trips_through_storage(library):
    sig = library["burst"][1]
    again = PhotoSignature.from_dict(sig.photo_id, sig.to_dict())
    assert again == sig
    assert similarity(sig, again) == pytest.approx(1.0, abs=1e-4)


def test_perceptual_hash_is_imagehash_phash_bit_for_bit():
    """The app computes pHash without imagehash (its scipy stays out of the installer); the bits are imagehash's."""
    imagehash = pytest.importorskip("imagehash", reason="imagehash (the dev extra) is the reference")
    from PIL import Image

    from albumsorter.core.grouping import HASH_INPUT_SIDE, _grey_square, perceptual_hash
    from tests.conftest import SHARED_PHOTOS

    photos = sorted(SHARED_PHOTOS.glob("*.jpg"))[:20]
    assert photos
    for path in photos:
        rgb = decode(read_file(path), 1024).rgb
        reference = int(str(imagehash.phash(Image.fromarray(_grey_square(rgb, HASH_INPUT_SIDE)))), 16)
        assert perceptual_hash(rgb) == reference, path.name
