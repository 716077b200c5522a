"""The batch job's Parquet rows: one per photo, with the fields and names of `albumsorter list --json`.

A row is made the way `list --json` makes its objects: the analysis is stored into an in-memory catalog with
`record_photo` / `record_error` and serialised with `photo_to_json`, so the two cannot drift apart. Beside
those fields a row carries what resuming and `import-batch` need (BOOKKEEPING below): the content hash, size
and time of the file, the detector and scorer ids, and `face_data` (each face's exact box, landmarks and
every scorer's full result, as JSON) from which a catalog gets the same faces `index` would store.

Each run appends new files to the output folder; a photo analysed again later (its file or a model
changed) has a newer row, and readers keep the latest row per path (`latest_rows`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs

from albumsorter.batch.sources import is_uri
from albumsorter.core.analysis import PhotoAnalysis
from albumsorter.core.catalog import EXPRESSION, Catalog, FaceRecord, IndexedPhoto
from albumsorter.core.face import FaceResult, Landmarks, ScorerResult
from albumsorter.core.json_records import photo_to_json
from albumsorter.core.photo_measures import PhotoMeasures
from albumsorter.core.scorers import ScorerSpec
from albumsorter.core.scorers.expression import expression_result

log = logging.getLogger(__name__)

BOOKKEEPING = pa.schema(
    [
        ("content_hash", pa.string()),  # of the file's bytes (blake2b, as the catalog stores it); "" for an error
        ("size", pa.int64()),
        ("mtime_ns", pa.int64()),
        ("format", pa.string()),
        ("detector_id", pa.string()),
        ("scorer_ids", pa.string()),  # "kind=model_id;…" of the scorers that ran
        ("face_data", pa.string()),  # JSON list, per face: box, score, landmarks, results {kind: {model_id, label, data}}
        ("measures", pa.string()),  # JSON: the photo's sharpness, exposure and grouping signature (core/photo_measures.py)
        ("retry", pa.bool_()),  # a read error (permissions, I/O): the next run tries again even if unchanged
        ("analysed_at", pa.float64()),  # seconds since the epoch
        ("run_id", pa.string()),
        ("runtime", pa.string()),  # what ran the expression model on the worker, e.g. "LiteRT · CPU", "ONNX Runtime · CUDA"
    ]
)
STATE_COLUMNS = ["path", "status", "size", "mtime_ns", "content_hash", "detector_id", "scorer_ids", "retry", "analysed_at"]
IMPORT_COLUMNS = ["path", "status", "error", "width", "height", "taken_at", "face_count", *BOOKKEEPING.names]


@functools.cache
def json_schema() -> pa.Schema:
    """The Arrow types of `photo_to_json`'s fields, in its order, found by serialising a photo with one face and a
    failed one through an in-memory catalog (as every row is made): a field added to `list --json` is in the
    Parquet rows from then on, with no second list to keep in step."""
    landmarks = Landmarks((40.0, 50.0), (80.0, 50.0), (60.0, 70.0), (60.0, 90.0), (20.0, 60.0), (100.0, 60.0))
    quality = ScorerResult(
        "quality", "schema", "eyes_open",
        {"eyes_open": 0.9, "smile": 0.5, "sharpness": 0.7, "pose": {"yaw": 1.0, "pitch": 2.0, "roll": 3.0}, "cut_off": False},
    )  # fmt: skip
    face = FaceResult(
        (10.0, 20.0, 110.0, 140.0), 0.9, landmarks, {EXPRESSION: expression_result("schema", [1 / 8] * 8), "quality": quality}
    )
    # Two frames of one burst (same signature), so that the group field is typed too.
    measures = PhotoMeasures(0.8, 0.9, {"taken_at": 0.0, "phash": "0" * 16, "thumb": "80" * 1024})
    with Catalog(":memory:") as catalog:
        good = catalog.record_photo(
            IndexedPhoto("/a.jpg", 1, 1, "h", "JPEG", 200, 200, "2020-01-01T00:00:00", "d", [face], measures)
        )
        catalog.record_photo(IndexedPhoto("/a2.jpg", 1, 1, "h2", "JPEG", 200, 200, "2020-01-01T00:00:01", "d", [face], measures))
        catalog.assign_groups()
        bad = catalog.record_error("/b.jpg", 1, 1, "reason")
        items = [photo_to_json(r) for r in (catalog.photo(good), catalog.photo(bad)) if r is not None]
    schema = pa.Table.from_pylist(items).schema
    untyped = [f.name for f in schema if pa.types.is_null(f.type)]
    if untyped:
        raise TypeError(f"list --json fields whose type cannot be told from a sample photo: {untyped}")
    return schema


def row_schema() -> pa.Schema:
    return pa.unify_schemas([json_schema(), BOOKKEEPING])


def scorer_ids(specs: Sequence[ScorerSpec]) -> str:
    return ";".join(f"{spec.kind}={spec.model_id}" for spec in specs)


def _face_data(face: FaceRecord) -> dict[str, Any]:
    return {
        "box": list(face.box),
        "score": face.score,
        "landmarks": face.landmarks.to_dict(),
        "results": {k: {"model_id": r.model_id, "label": r.label, "data": r.data} for k, r in face.results.items()},
    }


class RowMaker:
    """Turns analyses into rows through an in-memory catalog (one per batch of photos, then dropped)."""

    def __init__(self, detector_id: str, scorers: str, run_id: str, runtime: str = "") -> None:
        self.detector_id = detector_id
        self.scorers = scorers
        self.run_id = run_id
        self.runtime = runtime

    def rows(self, items: Sequence[tuple[str, PhotoAnalysis]]) -> list[dict[str, Any]]:
        """(path as the output names it, its analysis) -> rows; `path` may differ from the file analysed (a URI
        fetched into a temporary file)."""
        out = []
        with Catalog(":memory:") as catalog:
            for path, res in items:
                e = res.entry
                size = max(e.size, 0)
                if res.error is not None:
                    photo_id = catalog.record_error(path, size, e.mtime_ns, res.error)
                else:
                    photo_id = catalog.record_photo(replace(res.indexed_photo(self.detector_id), path=path))
                record = catalog.photo(photo_id)
                assert record is not None
                row = photo_to_json(record)
                row.update(
                    content_hash=res.content_hash,
                    size=size,
                    mtime_ns=e.mtime_ns,
                    format=res.format,
                    detector_id=self.detector_id,
                    scorer_ids=self.scorers,
                    face_data=json.dumps([_face_data(f) for f in record.faces], separators=(",", ":")),
                    measures=json.dumps(dataclasses.asdict(res.measures), separators=(",", ":")) if res.measures else None,
                    retry=res.retry_next_run,
                    analysed_at=time.time(),
                    run_id=self.run_id,
                    runtime=self.runtime,
                )
                out.append(row)
        return out


def to_table(rows: Sequence[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=row_schema())


def faces_from_row(face_data: str) -> list[FaceResult]:
    """The faces of a row as analysis made them (full-resolution pixels, every scorer's result)."""
    faces = []
    for f in json.loads(face_data or "[]"):
        results = {k: ScorerResult(k, r["model_id"], r["label"], r["data"]) for k, r in f["results"].items()}
        faces.append(FaceResult(tuple(f["box"]), float(f["score"]), Landmarks.from_dict(f["landmarks"]), results))
    return faces


def indexed_photo(row: dict[str, Any], path: str) -> IndexedPhoto:
    return IndexedPhoto(
        path,
        int(row["size"]),
        int(row["mtime_ns"]),
        row["content_hash"],
        row["format"],
        int(row["width"]),
        int(row["height"]),
        row["taken_at"],
        row["detector_id"],
        faces_from_row(row["face_data"]),
        PhotoMeasures(**json.loads(row["measures"])) if row.get("measures") else None,
    )


def _filesystem(output: str) -> tuple[Any, str]:
    return fs.FileSystem.from_uri(output if is_uri(output) else os.path.abspath(os.path.expanduser(output)))


def output_exists(output: str) -> bool:
    filesystem, path = _filesystem(output)
    return filesystem.get_file_info(path).type == fs.FileType.Directory


def latest_rows(output: str, columns: Sequence[str] | None = None) -> pa.Table:
    """Every photo's latest row in an output folder (empty if there is none yet), with `columns` (default: all).

    Files written by an older AlbumSorter may lack a column: it reads as nulls. A file that cannot be read (a run
    killed while writing it) is skipped with a warning: its photos are simply analysed again."""
    filesystem, root = _filesystem(output)
    schema = row_schema()
    names = list(columns) if columns is not None else schema.names
    if "path" not in names or "analysed_at" not in names:
        names = list(dict.fromkeys(["path", *names, "analysed_at"]))
    wanted = pa.schema([schema.field(n) for n in names])
    tables = []
    if filesystem.get_file_info(root).type == fs.FileType.Directory:
        selector = fs.FileSelector(root, recursive=True)
        for info in sorted(filesystem.get_file_info(selector), key=lambda i: i.path):
            if info.type != fs.FileType.File or not info.path.endswith(".parquet") or info.base_name.startswith((".", "_")):
                continue
            try:
                present = set(pq.read_schema(info.path, filesystem=filesystem).names)
                table = pq.read_table(info.path, filesystem=filesystem, columns=[n for n in names if n in present])
            except Exception as exc:  # truncated or foreign file
                log.warning("skipping unreadable batch output file %s: %s", info.path, exc)
                continue
            for field in wanted:
                if field.name not in present:
                    table = table.append_column(field, pa.nulls(len(table), field.type))
            tables.append(table.select(names))
    if not tables:
        return wanted.empty_table()
    table = pa.concat_tables(tables, promote_options="permissive")
    latest: dict[str, tuple[float, int]] = {}
    for i, (path, at) in enumerate(zip(table.column("path").to_pylist(), table.column("analysed_at").to_pylist())):
        if path not in latest or (at or 0.0) >= latest[path][0]:
            latest[path] = (at or 0.0, i)
    return table.take(sorted(i for _, i in latest.values()))
