"""The window's way to its catalog: every query and every write runs off the GUI thread.

Reads run one at a time in the read lane, on a read-only connection of their own; writes (the user's picks,
rejects and corrections) run one at a time, in the order they were made, in the write lane on a writable
connection. Each write ends in one `catalog_changed` signal that says which photos changed, and so does each
batch that indexing stores (`announce`). The grid, the viewer and the errors panel listen to that one signal
rather than being told by whoever made the change.

Reads asked for while writes are in flight wait for them, so a read always sees the user's own edits
(exporting right after pressing P copies that photo too).

With "write XMP sidecars as I work" on (`sidecar_style` set), every edit of the user's is followed, in the write
lane, by core.sidecar_sync.sync_photo_sidecar for the photos it touched; a value another tool wrote later is taken
into the catalog there (and announced), and a sidecar that could not be written is reported (`sidecar_failed`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal

from albumsorter._qt.tasks import TaskRunner
from albumsorter.core.catalog import Catalog
from albumsorter.core.face import FaceResult

log = logging.getLogger(__name__)

READ_LANE = "catalog-read"
WRITE_LANE = "catalog-write"

T = TypeVar("T")


@dataclass(frozen=True)
class CatalogChange:
    """What changed in the catalog: these photos, or (whole_catalog) anything at all (the end of an index
    run, which may also have moved, removed or re-read photos)."""

    photo_ids: frozenset[int] = frozenset()
    whole_catalog: bool = False

    @classmethod
    def of(cls, photo_ids: Iterable[int]) -> CatalogChange:
        return cls(frozenset(photo_ids))

    @classmethod
    def everything(cls) -> CatalogChange:
        return cls(whole_catalog=True)

    def touches(self, photo_id: int) -> bool:
        return self.whole_catalog or photo_id in self.photo_ids


class _LaneConnection:
    """The one connection the tasks of a serial lane share: opened by the first task that needs it, used by
    one task at a time (possibly from different pool threads; the core opens connections that allow it),
    reopened when the window switches catalogs."""

    def __init__(self, readonly: bool) -> None:
        self.readonly = readonly
        self._catalog: Catalog | None = None

    def catalog(self, path: Path) -> Catalog:
        if self._catalog is not None and self._catalog.path != path:
            self.close()
        if self._catalog is None:
            self._catalog = Catalog(path, readonly=self.readonly)
        return self._catalog

    def close(self) -> None:
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None


class CatalogSession(QObject):
    """The open catalog (or none). Signals: `opened(Path | None)` when another catalog is shown (None: closed),
    `catalog_changed(CatalogChange)` after every write and every announced indexing batch, `write_failed(str)`
    when an edit could not be stored, `sidecar_failed(str)` when a sidecar could not be written."""

    opened = Signal(object)
    catalog_changed = Signal(object)
    write_failed = Signal(str)
    sidecar_failed = Signal(str)

    def __init__(self, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        runner.add_lane(READ_LANE)
        runner.add_lane(WRITE_LANE, finish_on_shutdown=True)
        self._reader = _LaneConnection(readonly=True)
        self._writer = _LaneConnection(readonly=False)
        self._path: Path | None = None
        self._epoch = 0  # bumped on every open/close: answers about the previous catalog are dropped
        self._writes_in_flight = 0
        self._held_reads: dict[str, Callable[[], None]] = {}
        self.sidecar_style: str | None = None  # "darktable" / "adobe": write sidecars as the user works; None: off

    @property
    def path(self) -> Path | None:
        return self._path

    # --- opening ---

    def open(self, path: Path | str) -> str | None:
        """Show the catalog at `path`; returns the folder it was indexed from (None: not indexed yet).

        This one step runs on the calling (GUI) thread, on purpose: it creates or migrates the file before
        any read-only connection needs it, and an unusable file raises CatalogError here, at once, for the
        window to explain, instead of failing later in a background lane."""
        path = Path(path)
        with Catalog(path) as catalog:
            root = catalog.get_meta("root")
        self._switch(path)
        return root

    def close(self) -> None:
        if self._path is not None:
            self._switch(None)

    def shutdown(self) -> None:
        """Close the lanes' connections; call after the runner's shutdown (no task uses them any more)."""
        self.close()
        self._reader.close()
        self._writer.close()

    def _switch(self, path: Path | None) -> None:
        self._path = path
        self._epoch += 1
        self._held_reads.clear()
        self.opened.emit(path)

    # --- reads ---

    def read(
        self,
        key: str,
        fn: Callable[[Catalog], T],
        on_result: Callable[[T], None],
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        """Run `fn(catalog)` in the read lane and hand its result to `on_result` on the GUI thread. A newer
        read with the same `key` replaces this one if it has not started. Nothing happens without a catalog,
        and an answer about a catalog that is no longer shown is dropped."""
        if self._path is None:
            return
        if self._writes_in_flight:
            self._held_reads[key] = lambda: self.read(key, fn, on_result, on_error)
            return
        path, epoch = self._path, self._epoch

        def current(callback: Callable[[Any], None]) -> Callable[[Any], None]:
            return lambda value: callback(value) if epoch == self._epoch else None

        self.runner.submit(
            READ_LANE,
            lambda _context: fn(self._reader.catalog(path)),
            key=key,
            on_result=current(on_result),
            on_error=current(on_error) if on_error is not None else current(_log_failure(f"catalog read {key!r}")),
        )

    # --- writes ---

    def write(
        self,
        fn: Callable[[Catalog], T],
        change: CatalogChange,
        on_result: Callable[[T], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
        user_edit: bool = True,
    ) -> None:
        """Run `fn(catalog)` in the write lane (in order with every other write), then `on_result` and one
        `catalog_changed(change)` on the GUI thread. A failure emits `write_failed` (and calls `on_error`). A
        `user_edit` is followed by writing the sidecars of the photos it changed, when that setting is on."""
        if self._path is None:
            return
        path, epoch = self._path, self._epoch
        self._writes_in_flight += 1

        def succeeded(result: T) -> None:
            if epoch != self._epoch:
                return
            if on_result is not None:
                on_result(result)
            if change.photo_ids or change.whole_catalog:
                self.catalog_changed.emit(change)
            if user_edit and self.sidecar_style:
                self._sync_sidecars(sorted(change.photo_ids), self.sidecar_style)

        def failed(exc: Exception) -> None:
            log.error("catalog write failed", exc_info=(type(exc), exc, exc.__traceback__))
            if epoch == self._epoch:
                if on_error is not None:
                    on_error(exc)
                self.write_failed.emit(f"Could not save the change: {exc}")

        self.runner.submit(
            WRITE_LANE,
            lambda _context: fn(self._writer.catalog(path)),
            on_result=succeeded,
            on_error=failed,
            on_done=self._write_done,
        )

    def set_pick(self, photo_ids: Iterable[int], state: int, on_result: Callable[[int], None] | None = None) -> None:
        """Pick, reject or unflag photos; `on_result(number changed)`."""
        ids = list(photo_ids)
        self.write(lambda catalog: catalog.set_pick(ids, state), CatalogChange.of(ids), on_result)

    def set_correction(self, photo_id: int, face_id: int, label: str | None) -> None:
        """The user's expression for a face of `photo_id` (None: back to the model's)."""
        self.write(lambda catalog: catalog.set_correction(face_id, label), CatalogChange.of([photo_id]))

    def set_rating(self, photo_ids: Iterable[int], stars: int, on_result: Callable[[int], None] | None = None) -> None:
        """0-5 stars for photos (0: no rating); `on_result(number changed)`."""
        ids = list(photo_ids)
        self.write(lambda catalog: catalog.set_rating(ids, stars), CatalogChange.of(ids), on_result)

    def set_ignored(self, photo_id: int, face_id: int, ignored: bool) -> None:
        """A face of `photo_id` is not a person in the photo (or counts again)."""
        self.write(lambda catalog: catalog.set_ignored(face_id, ignored), CatalogChange.of([photo_id]))

    def add_face(
        self,
        photo_id: int,
        face: FaceResult,
        on_result: Callable[[int], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        """A face the user drew (already scored) joins the photo; `on_result(new face id)`."""
        self.write(lambda catalog: catalog.add_face(photo_id, face), CatalogChange.of([photo_id]), on_result, on_error)

    def remove_face(self, photo_id: int, face_id: int) -> None:
        """Delete a face the user added."""
        self.write(lambda catalog: catalog.remove_face(face_id), CatalogChange.of([photo_id]))

    def announce(self, change: CatalogChange) -> None:
        """Tell the listeners about a change written elsewhere (the indexer's own connection)."""
        if self._path is not None:
            self.catalog_changed.emit(change)

    def _sync_sidecars(self, photo_ids: list[int], style: str) -> None:
        """Write the sidecars of these photos (write lane, after the edit that changed them)."""

        def sync(catalog: Catalog) -> tuple[list[int], list[str]]:
            try:
                from albumsorter.core.sidecar_sync import sync_photo_sidecar
            except ImportError as exc:  # a build without the XMP library: say so once per edit, never crash
                return [], [f"XMP sidecars cannot be written here: {exc}"]
            taken, errors = [], []
            for photo_id in photo_ids:
                summary = sync_photo_sidecar(catalog, photo_id, style)
                if summary.taken:
                    taken.append(photo_id)
                errors += [f"{path}: {reason}" for path, reason in summary.errors]
            return taken, errors

        def synced(answer: tuple[list[int], list[str]]) -> None:
            taken, errors = answer
            if taken:  # another tool's later rating or pick came into the catalog
                self.catalog_changed.emit(CatalogChange.of(taken))
            if errors:
                self.sidecar_failed.emit("Could not write the XMP sidecar: " + "; ".join(errors[:3]))

        self.write(sync, CatalogChange(), synced, user_edit=False)

    def _write_done(self) -> None:
        self._writes_in_flight -= 1
        if self._writes_in_flight == 0:
            held, self._held_reads = self._held_reads, {}
            for submit in held.values():
                submit()


def _log_failure(what: str) -> Callable[[Exception], None]:
    def log_it(exc: Exception) -> None:
        log.error("%s failed", what, exc_info=(type(exc), exc, exc.__traceback__))

    return log_it
