"""Adding a face the detector missed: the box the user drew is scored like any detected face (key points found on
a crop around it, then every face scorer), in the task runner's face-scoring lane, and then stored as a face the
user added (kept across re-indexing). The models are loaded for the one face and released after it."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from albumsorter._qt.catalog_session import CatalogSession
from albumsorter._qt.tasks import TaskRunner
from albumsorter.core.face import Box, FaceResult

LANE = "face-scoring"


def score_box(path: str, box: Box) -> FaceResult:
    """The drawn face, scored (runs in the lane). Raises PhotoError / ValueError / ModelError with a reason."""
    from albumsorter.core.analysis import Analyzer, load_scorer_specs, score_drawn_face
    from albumsorter.core.detection import DetectionSettings

    _card, specs = load_scorer_specs()
    analyzer = Analyzer(specs, DetectionSettings())
    try:
        return score_drawn_face(analyzer, path, box)
    finally:
        analyzer.close()


class FaceAdder(QObject):
    """Signals: added(photo id, face id) once the face is stored; failed(photo id, reason)."""

    added = Signal(int, int)
    failed = Signal(int, str)

    def __init__(
        self,
        runner: TaskRunner,
        session: CatalogSession,
        scorer: Callable[[str, Box], FaceResult] = score_box,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        runner.add_lane(LANE)
        self.session = session
        self.scorer = scorer
        self.in_flight = 0

    def add(self, photo_id: int, path: str, box: Box) -> None:
        """Score the box, then store it as a face of the photo (both off the GUI thread)."""
        self.in_flight += 1
        scorer = self.scorer

        def scored(face: FaceResult) -> None:
            if self.session.path is None:
                return  # the catalog was closed meanwhile
            self.in_flight += 1  # the write still to come
            self.session.add_face(
                photo_id,
                face,
                on_result=lambda face_id: self._done(lambda: self.added.emit(photo_id, face_id)),
                on_error=lambda exc: self._done(lambda: self.failed.emit(photo_id, f"Could not store the face: {exc}")),
            )

        self.runner.submit(
            LANE,
            lambda _context: scorer(path, box),
            on_result=scored,
            on_error=lambda exc: self.failed.emit(photo_id, f"Could not read that face: {exc}"),
            on_done=lambda: self._done(None),
        )

    def _done(self, then: Callable[[], None] | None) -> None:
        self.in_flight -= 1
        if then is not None:
            then()
