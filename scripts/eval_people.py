#!/usr/bin/env python3
"""How well faces become people, on photos of known identities from ../shared/photos.

    .venv/bin/python scripts/eval_people.py [--shared ../shared] [--small-copies] [--canvas-copies]
                                            [--detection-size] [--sweep] [--sizes] [--cache FILE]

Labels: scripts/people_identities.csv (file, identity, face box in full-resolution pixels, copy_of). Named
identities are public figures photographed on different occasions; "stranger" marks a face seen once (each is
its own person: the redhead parade and the crowd and family photos are look-alike distractors); "not_a_face"
marks detector false positives; copy_of marks a photo that is a copy of another (a downscale, crops, a mirror),
reported apart. The class photo and the marching band are left out: all their faces are under the minimum size.

The photos go through the app's path: decode at 1024 px and detect (as indexing does), match detections to the
labelled boxes (IoU >= 0.5), then the people pass (decode at the size the faces need, embed) and clustering,
once on all faces and once incrementally (photos arriving in four batches). Printed: per-face and per-photo
time, cluster purity, wrong merges, how many people each true person is split into, the share of faces
assigned, and the "maybe the same person" suggestions. --small-copies adds a downscaled copy of each photo of a
recurring person, with the face 40-64 px wide; --canvas-copies sets each such photo, face 150-170 px, in a
4000 x 3000 frame (a face of a 12-megapixel group photo, ~40 px at the detection size), and --detection-size
embeds from the 1024-px decode instead of the size the faces need, to compare; --sweep tries other clustering
distances; --sizes measures the minimum face size.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from albumsorter.core.decoding import decode, read_file  # noqa: E402
from albumsorter.core.detection import DetectionSettings, find_faces  # noqa: E402
from albumsorter.core.face import FaceResult, Landmarks  # noqa: E402
from albumsorter.core.faces import FaceDetector  # noqa: E402
from albumsorter.core.geometry import iou  # noqa: E402
from albumsorter.core.people.background import PhotoJob, embed_photo  # noqa: E402
from albumsorter.core.people.clustering import Assignment, ClusterParams, FaceVector, suggest, update_people  # noqa: E402
from albumsorter.core.people.embedding import MIN_FACE_PX, FaceEmbedder, crop_around  # noqa: E402
from albumsorter.core.people.scorer import IdentityScorer, vector_of  # noqa: E402

LABELS = REPO / "scripts" / "people_identities.csv"


@dataclass
class LabelledFace:
    face_id: int
    photo_id: int
    file: str
    identity: str  # strangers and non-faces made unique: "stranger:12"
    copy: bool
    box: tuple[float, float, float, float]  # full resolution
    vector: np.ndarray | None = None


def read_labels(path: Path = LABELS) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def unique_identity(row: dict, index: int) -> str:
    return f"{row['identity']}:{index}" if row["identity"] in ("stranger", "not_a_face") else row["identity"]


def detect_and_match(photos: Path, rows: list[dict], extra: dict[str, bytes]) -> tuple[list[LabelledFace], int]:
    """Detect as indexing does; keep the detections that match a labelled box. Returns them and the unmatched count."""
    settings = DetectionSettings()
    by_file: dict[str, list[tuple[int, dict]]] = defaultdict(list)
    for index, row in enumerate(rows):
        by_file[row["file"]].append((index, row))
    faces: list[LabelledFace] = []
    unmatched = 0
    with FaceDetector() as detector:
        for photo_id, file in enumerate(sorted(by_file)):
            data = extra[file] if file in extra else read_file(photos / file)
            photo = decode(data, settings.max_side)
            found = [f.scaled(photo.scale) for f in find_faces(detector, photo.rgb, settings)]
            for index, row in by_file[file]:
                box = tuple(float(row[k]) for k in ("left", "top", "right", "bottom"))
                best = max(found, key=lambda f: iou(f.box, box), default=None)
                if best is None or iou(best.box, box) < 0.5:
                    unmatched += 1
                    continue
                found.remove(best)
                faces.append(
                    LabelledFace(len(faces), photo_id, file, unique_identity(row, index), bool(row["copy_of"]), best.box)
                )
    return faces, unmatched


def small_copies(photos: Path, rows: list[dict]) -> tuple[list[dict], dict[str, bytes]]:
    """A downscaled JPEG of each photo of a recurring person, its labelled face brought to 40-64 px."""
    import io

    from PIL import Image

    counts = Counter(r["identity"] for r in rows if not r["copy_of"])
    rng = random.Random(7)
    new_rows, blobs = [], {}
    for row in rows:
        if row["copy_of"] or counts[row["identity"]] < 2 or row["identity"] in ("stranger", "not_a_face"):
            continue
        width = float(row["right"]) - float(row["left"])
        factor = rng.uniform(40, 64) / width
        if factor >= 1:
            continue
        image = Image.open(photos / row["file"]).convert("RGB")
        size = (round(image.width * factor), round(image.height * factor))
        buffer = io.BytesIO()
        image.resize(size, Image.Resampling.LANCZOS).save(buffer, "JPEG", quality=85)
        name = f"small-copy-of-{row['file']}"
        blobs[name] = buffer.getvalue()
        box = {k: str(float(row[k]) * factor) for k in ("left", "top", "right", "bottom")}
        new_rows.append({**row, **box, "file": name, "copy_of": row["file"]})
    return new_rows, blobs


def canvas_copies(photos: Path, rows: list[dict]) -> tuple[list[dict], dict[str, bytes]]:
    """Each recurring person's photo shrunk so the face is 150-170 px and set in a 4000 x 3000 grey frame: a face
    as in a 12-megapixel group photo, 38-44 px once decoded at the detection size (1024)."""
    import io

    from PIL import Image

    counts = Counter(r["identity"] for r in rows if not r["copy_of"])
    rng = random.Random(11)
    new_rows, blobs = [], {}
    for row in rows:
        if row["copy_of"] or counts[row["identity"]] < 2 or row["identity"] in ("stranger", "not_a_face"):
            continue
        factor = rng.uniform(150, 170) / (float(row["right"]) - float(row["left"]))
        image = Image.open(photos / row["file"]).convert("RGB")
        image = image.resize((round(image.width * factor), round(image.height * factor)), Image.Resampling.LANCZOS)
        canvas = Image.new("RGB", (4000, 3000), (118, 118, 118))
        x, y = rng.randint(0, max(0, 4000 - image.width)), rng.randint(0, max(0, 3000 - image.height))
        canvas.paste(image.crop((0, 0, min(image.width, 4000), min(image.height, 3000))), (x, y))
        buffer = io.BytesIO()
        canvas.save(buffer, "JPEG", quality=90)
        name = f"canvas-copy-of-{row['file']}"
        blobs[name] = buffer.getvalue()
        box = {k: str(float(row[k]) * factor + (x if k in ("left", "right") else y)) for k in ("left", "top", "right", "bottom")}
        new_rows.append({**row, **box, "file": name, "copy_of": row["file"]})
    return new_rows, blobs


def embed_all(
    faces: list[LabelledFace], extra: dict[str, bytes], photos_dir: Path, fixed_side: int | None = None
) -> dict[str, float]:
    """The people pass in this process, photo by photo (in-memory copies go through a temporary file)."""
    scorer = IdentityScorer()
    blank = Landmarks(*([(0.0, 0.0)] * 6))
    by_file: dict[str, list[LabelledFace]] = defaultdict(list)
    for face in faces:
        by_file[face.file].append(face)
    wall, cpu, embedded = 0.0, 0.0, 0
    with tempfile.TemporaryDirectory() as tmp:
        for file, group in by_file.items():
            path = photos_dir / file
            if file in extra:
                path = Path(tmp) / file
                path.write_bytes(extra[file])
            job = PhotoJob(file, str(path), tuple(FaceResult(f.box, 1.0, blank) for f in group))
            start = time.thread_time()
            result = embed_photo(job, scorer, fixed_side)
            cpu += time.thread_time() - start
            wall += result.seconds
            if result.error:
                print(f"  {file}: {result.error}")
                continue
            for face, scored in zip(group, result.results):
                face.vector = vector_of(scored)
                embedded += face.vector is not None
    return {"photos": len(by_file), "embedded": embedded, "wall_s": wall, "cpu_s": cpu}


def as_vectors(faces: list[LabelledFace]) -> list[FaceVector]:
    return [FaceVector(f.face_id, f.photo_id, f.vector) for f in faces if f.vector is not None]


def incremental(faces: list[LabelledFace], batches: int = 4, seed: int = 3) -> dict[int, Assignment]:
    photo_ids = sorted({f.photo_id for f in faces})
    random.Random(seed).shuffle(photo_ids)
    assignments: dict[int, Assignment] = {}
    next_id = 1
    for k in range(batches):
        arrived = set(photo_ids[: len(photo_ids) * (k + 1) // batches])
        result = update_people(as_vectors([f for f in faces if f.photo_id in arrived]), assignments)
        ids = {temp: next_id + i for i, temp in enumerate(sorted(result.new_people, reverse=True))}
        next_id += len(ids)
        assignments = {face: Assignment(ids.get(a.person_id, a.person_id), a.source) for face, a in result.assignments.items()}
    return assignments


def report(title: str, faces: list[LabelledFace], assignments: dict[int, Assignment]) -> None:
    embedded = [f for f in faces if f.vector is not None]
    identity = {f.face_id: f.identity for f in embedded}
    people: dict[int, list[str]] = defaultdict(list)
    for face_id, a in assignments.items():
        people[a.person_id].append(identity[face_id])
    majority = sum(Counter(ids).most_common(1)[0][1] for ids in people.values())
    assigned = sum(len(ids) for ids in people.values())
    wrong = [Counter(ids) for ids in people.values() if len(set(ids)) > 1]
    counts = Counter(f.identity for f in embedded)
    recurring = [i for i, n in counts.items() if n >= 2]
    split = {i: len({a.person_id for fid, a in assignments.items() if identity[fid] == i}) for i in recurring}
    recurring_faces = [f for f in embedded if f.identity in recurring]
    assigned_recurring = sum(f.face_id in assignments for f in recurring_faces)
    lone = [f for f in embedded if counts[f.identity] == 1]
    print(f"\n{title}")
    print(f"  people found: {len(people)}; faces assigned {assigned} of {len(embedded)} embedded")
    print(
        f"  purity: {majority / assigned if assigned else 1.0:.3f} ({assigned - majority} faces in a wrong person); people mixing identities: {len(wrong)} {[dict(w) for w in wrong]}"
    )
    print(
        f"  recurring people: {len(recurring)} ({len(recurring_faces)} faces), faces assigned {assigned_recurring / max(1, len(recurring_faces)):.1%}; "
        f"split into: {dict(sorted(Counter(split.values()).items()))} (people per true person: count)"
    )
    print(
        f"  faces seen once (strangers, one-photo celebrities, non-faces): {len(lone)}, assigned to someone: {sum(f.face_id in assignments for f in lone)}"
    )
    print(
        "  per person: "
        + ", ".join(
            f"{i} {split[i]}p/{sum(1 for f in recurring_faces if f.identity == i and f.face_id in assignments)}of{counts[i]}"
            for i in sorted(recurring)
        )
    )
    hints = suggest(as_vectors(faces), assignments)
    named = [(identity[s.a] if s.kind == "face" else _major(people[s.a]), _major(people[s.b]), s.distance) for s in hints]
    print(f"  'maybe the same person' suggestions: {len(hints)}, right: {sum(a == b for a, b, _ in named)}")
    for a, b, d in named[:6]:
        print(f"    {'RIGHT' if a == b else 'wrong'} {d:.3f}: {a} ~ {b}")


def _major(ids: list[str]) -> str:
    return Counter(ids).most_common(1)[0][0]


def sweep(faces: list[LabelledFace]) -> None:
    """Purity against splits as the distances that make people move together."""
    embedded = [f for f in faces if f.vector is not None]
    identity = {f.face_id: f.identity for f in embedded}
    counts = Counter(identity.values())
    recurring = {i for i, n in counts.items() if n >= 2}
    print(
        "\nthreshold (join = link = group): purity, people mixing identities, extra people from splits, recurring faces assigned, lone faces assigned"
    )
    for t in (0.40, 0.45, 0.48, 0.50, 0.52, 0.55, 0.60):
        params = ClusterParams(join_distance=t, member_distance=t, link_distance=t, group_distance=t)
        assignments = update_people(as_vectors(embedded), {}, params=params).assignments
        people: dict[int, list[str]] = defaultdict(list)
        for face_id, a in assignments.items():
            people[a.person_id].append(identity[face_id])
        assigned = sum(len(v) for v in people.values())
        majority = sum(Counter(v).most_common(1)[0][1] for v in people.values())
        mixed = sum(len(set(v)) > 1 for v in people.values())
        found = {i: {a.person_id for fid, a in assignments.items() if identity[fid] == i} for i in recurring}
        extra = sum(len(p) - 1 for p in found.values() if p)
        rec = sum(1 for fid in assignments if identity[fid] in recurring) / max(1, sum(counts[i] for i in recurring))
        lone = sum(1 for fid in assignments if identity[fid] not in recurring)
        print(
            f"  {t:.2f}: purity {majority / max(1, assigned):.3f}, mixed {mixed}, extra {extra}, recurring assigned {rec:.0%}, lone assigned {lone}"
        )


def size_sweep(faces: list[LabelledFace], photos_dir: Path) -> None:
    """Shrink large faces to N px and check they still match their person, and never a different one."""
    from PIL import Image

    embedder = FaceEmbedder()
    big = [
        f
        for f in faces
        if f.vector is not None and f.box[2] - f.box[0] >= 150 and not f.identity.startswith(("stranger", "not_a_face"))
    ]
    images = {f.file: np.asarray(Image.open(photos_dir / f.file).convert("RGB")) for f in big}
    print(
        "\nface size: shrunk face vs its own full-size vector | both faces shrunk: same person (other photos) within 0.5, different people within 0.5 / closest"
    )
    for width in (20, 28, 36, 48, 64, 100):
        shrunk = []
        for f in big:
            crop = crop_around(images[f.file], f.box, 0.8)
            factor = width / (f.box[2] - f.box[0])
            small = Image.fromarray(crop.pixels).resize(
                (max(1, round(crop.pixels.shape[1] * factor)), max(1, round(crop.pixels.shape[0] * factor))),
                Image.Resampling.BILINEAR,
                reducing_gap=2.0,
            )
            box = tuple(v * factor for v in crop.box)
            shrunk.append(embedder.embed(np.asarray(small), [box])[0])
        self_d = [float(np.linalg.norm(v - f.vector)) for v, f in zip(shrunk, big)]
        same, diff = [], []
        for i in range(len(big)):
            for j in range(i + 1, len(big)):
                d = float(np.linalg.norm(shrunk[i] - shrunk[j]))
                if big[i].identity == big[j].identity:
                    if not (big[i].copy or big[j].copy):
                        same.append(d)
                else:
                    diff.append(d)
        print(
            f"  {width:4d} px: self {np.median(self_d):.2f} (median) | same within 0.5: {np.mean(np.array(same) <= 0.5):.0%} of {len(same)} pairs; "
            f"different within 0.5: {int(np.sum(np.array(diff) <= 0.5))} of {len(diff)} pairs, closest {min(diff):.3f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument(
        "--small-copies", action="store_true", help="add a downscaled copy (face 40-64 px) of each recurring person's photo"
    )
    parser.add_argument(
        "--canvas-copies",
        action="store_true",
        help="add each recurring person's photo as a small part of a 4000 x 3000 frame (a group photo)",
    )
    parser.add_argument(
        "--detection-size", action="store_true", help="embed from the 1024-px detection-size decode, not the size faces need"
    )
    parser.add_argument("--sizes", action="store_true", help="measure how small a face may be")
    parser.add_argument("--sweep", action="store_true", help="purity and splits at other clustering distances")
    parser.add_argument("--cache", type=Path, help="keep embeddings in this .npz between runs (clustering experiments)")
    args = parser.parse_args(argv)
    photos = args.shared / "photos"
    if not photos.is_dir():
        print(f"needs {photos}", file=sys.stderr)
        return 2
    rows = read_labels()
    extra: dict[str, bytes] = {}
    if args.small_copies:
        copies, extra = small_copies(photos, rows)
        rows += copies
    if args.canvas_copies:
        copies, more = canvas_copies(photos, [r for r in rows if not r["file"].startswith("small-copy")])
        rows += copies
        extra |= more
    faces, unmatched = detect_and_match(photos, rows, extra)
    print(f"labelled faces: {len(rows)}, matched by the detector: {len(faces)}, labelled but not detected: {unmatched}")
    cached = np.load(args.cache) if args.cache and args.cache.exists() else None
    if cached is not None and len(cached["ids"]) == len(faces):
        for f, v, ok in zip(faces, cached["vectors"], cached["ok"]):
            f.vector = v if ok else None
        print("embeddings from cache", args.cache)
    else:
        stats = embed_all(faces, extra, photos, DetectionSettings().max_side if args.detection_size else None)
        n = max(1, stats["embedded"])
        print(
            f"people pass: {stats['photos']} photos, {stats['embedded']} faces embedded (>= {MIN_FACE_PX} px), "
            f"{len(faces) - stats['embedded']} too small; {1000 * stats['wall_s'] / n:.0f} ms a face and "
            f"{1000 * stats['wall_s'] / stats['photos']:.0f} ms a photo of wall-clock time (decode + embed, one process), "
            f"{1000 * stats['cpu_s'] / n:.0f} ms a face of CPU time"
        )
        if args.cache:
            ok = np.array([f.vector is not None for f in faces])
            vectors = np.stack([f.vector if f.vector is not None else np.zeros(128, np.float32) for f in faces])
            np.savez(args.cache, ids=np.arange(len(faces)), vectors=vectors, ok=ok)
    start = time.perf_counter()
    batch = update_people(as_vectors(faces), {})
    seconds = time.perf_counter() - start
    report(f"all at once ({1000 * seconds:.0f} ms to cluster)", faces, batch.assignments)
    report("incrementally (photos in four batches)", faces, incremental(faces))
    distinct = [f for f in faces if not f.copy]
    report(
        "all at once, without copies (no downscales, crops or mirrors)",
        distinct,
        update_people(as_vectors(distinct), {}).assignments,
    )
    if args.sweep:
        sweep(faces)
    if args.sizes:
        size_sweep(faces, photos)
    return 0


if __name__ == "__main__":
    sys.exit(main())
