"""One task runner for all of the window's background work: thumbnails, catalog reads and writes, indexing,
viewer loads and export.

Why one: background work used to run four different ways (a QThread per worker, two private thread pools and
a query thread), each with its own way back to the GUI thread and its own shutdown. Here every piece of work
is a plain function run on one QThreadPool, and what it reports comes back as callbacks on the GUI thread.

Work is grouped in named lanes. A lane runs at most `threads` of its tasks at once, in the order they were
submitted, so a serial lane (threads=1) can own a SQLite connection that its tasks use one after another.
A task submitted with a `key` replaces a task of the same lane and key that is still queued: the newest
request wins, so a grid query made stale by a newer filter never runs at all.

Callbacks run on the GUI thread through queued signals, in the order the task reported: any number of
`on_progress`, then `on_result` or `on_error`, then `on_done` (also for a task dropped before it ran). A
detached task's callbacks are skipped: the answer is no longer wanted (the window moved on to another catalog).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal

log = logging.getLogger(__name__)

QUEUED, RUNNING, FINISHED, DROPPED = "queued", "running", "finished", "dropped"


class TaskContext:
    """What a running task may use: `report(progress)` (delivered to on_progress) and `cancelled`."""

    def __init__(self, task: Task) -> None:
        self._task = task

    @property
    def cancelled(self) -> bool:
        return self._task.cancel_requested

    def report(self, progress: object) -> None:
        self._task.runner._relay.progressed.emit(self._task, progress)


class Task:
    """One piece of background work; the handle `TaskRunner.submit` returns."""

    def __init__(
        self,
        runner: TaskRunner,
        lane: str,
        fn: Callable[[TaskContext], Any],
        key: str | None,
        on_progress: Callable[[Any], None] | None,
        on_result: Callable[[Any], None] | None,
        on_error: Callable[[Exception], None] | None,
        on_done: Callable[[], None] | None,
    ) -> None:
        self.runner = runner
        self.lane = lane
        self.fn = fn
        self.key = key
        self.on_progress, self.on_result, self.on_error, self.on_done = on_progress, on_result, on_error, on_done
        self.state = QUEUED
        self.detached = False
        self._cancel = threading.Event()
        self._ended = threading.Event()  # set once it ran to the end, or was dropped before running

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    def cancel(self) -> None:
        """Ask it to stop: a queued task is dropped (never runs); a running one sees `context.cancelled`."""
        self._cancel.set()
        self.runner._drop_if_queued(self)

    def detach(self) -> None:
        """Skip every callback still to come (GUI thread only)."""
        self.detached = True

    def wait(self, timeout_ms: int = -1) -> bool:
        """Block until the function returned (or the task was dropped); callbacks come later, on the GUI
        thread's event loop. Returns False on timeout."""
        return self._ended.wait(None if timeout_ms < 0 else timeout_ms / 1000)

    def _run(self) -> None:
        relay = self.runner._relay
        try:
            result = self.fn(TaskContext(self))
        except Exception as exc:  # reported to on_error on the GUI thread, never lost in a worker thread
            relay.failed.emit(self, exc)
        else:
            relay.succeeded.emit(self, result)
        finally:
            self.state = FINISHED
            self._ended.set()
            relay.ended.emit(self)

    def _drop(self) -> None:
        self.state = DROPPED
        self._ended.set()


class _Lane:
    def __init__(self, name: str, threads: int, finish_on_shutdown: bool) -> None:
        self.name = name
        self.threads = threads
        self.finish_on_shutdown = finish_on_shutdown
        self.lock = threading.Lock()
        self.queue: deque[Task] = deque()
        self.running: set[Task] = set()
        self.workers = 0  # pool runnables draining this lane (at most `threads`)


class _LaneWorker(QRunnable):
    """Runs a lane's queued tasks one after another until the lane is empty, then ends. Scheduling happens
    here, in the worker thread, so queued writes still run while the GUI thread waits in shutdown()."""

    def __init__(self, lane: _Lane) -> None:
        super().__init__()
        self.lane = lane
        self.setAutoDelete(True)

    def run(self) -> None:
        lane = self.lane
        while True:
            with lane.lock:
                if not lane.queue:
                    lane.workers -= 1
                    return
                task = lane.queue.popleft()
                task.state = RUNNING
                lane.running.add(task)
            task._run()
            with lane.lock:
                lane.running.discard(task)


class _Relay(QObject):
    """Carries what tasks report from the pool's threads to the GUI thread (queued connections)."""

    progressed = Signal(object, object)  # task, progress
    succeeded = Signal(object, object)  # task, result
    failed = Signal(object, object)  # task, exception
    ended = Signal(object)  # task


class TaskRunner(QObject):
    """Runs functions off the GUI thread in lanes (see the module docstring). Register lanes with `add_lane`
    (each part of the window declares the lanes it needs), then `submit`. `shutdown` before the window goes."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._lanes: dict[str, _Lane] = {}
        self._closed = False
        self._relay = _Relay(self)
        queued = Qt.ConnectionType.QueuedConnection  # also from the GUI thread (dropped tasks): never re-entrant
        self._relay.progressed.connect(self._deliver_progress, queued)
        self._relay.succeeded.connect(self._deliver_result, queued)
        self._relay.failed.connect(self._deliver_error, queued)
        self._relay.ended.connect(self._deliver_done, queued)

    # --- lanes ---

    def add_lane(self, name: str, threads: int = 1, finish_on_shutdown: bool = False) -> None:
        """Declare a lane. `finish_on_shutdown`: its queued tasks still run when the window closes (the
        user's edits); other lanes' queued tasks are dropped then. Declaring the same lane again is a no-op."""
        existing = self._lanes.get(name)
        if existing is not None:
            if (existing.threads, existing.finish_on_shutdown) != (threads, finish_on_shutdown):
                raise ValueError(f"lane {name!r} already declared with other settings")
            return
        self._lanes[name] = _Lane(name, max(1, threads), finish_on_shutdown)
        # One pool thread for every lane thread: a long task in one lane (indexing) never delays another.
        self._pool.setMaxThreadCount(sum(lane.threads for lane in self._lanes.values()))

    def has_lane(self, name: str) -> bool:
        return name in self._lanes

    # --- work ---

    def submit(
        self,
        lane: str,
        fn: Callable[[TaskContext], Any],
        *,
        key: str | None = None,
        on_progress: Callable[[Any], None] | None = None,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
        on_done: Callable[[], None] | None = None,
    ) -> Task:
        """Run `fn(context)` in `lane`. Without `on_error`, a failure is logged. After `shutdown` the task is
        dropped at once and no callback runs."""
        if lane not in self._lanes:
            raise KeyError(f"unknown lane {lane!r}; declare it with add_lane() first")
        task = Task(self, lane, fn, key, on_progress, on_result, on_error, on_done)
        if self._closed:
            task._drop()
            return task
        lane_state = self._lanes[lane]
        replaced: list[Task] = []
        with lane_state.lock:
            if key is not None:
                replaced = [t for t in lane_state.queue if t.key == key]
                for old in replaced:
                    lane_state.queue.remove(old)
            lane_state.queue.append(task)
            start_worker = lane_state.workers < lane_state.threads
            if start_worker:
                lane_state.workers += 1
        for old in replaced:
            self._dropped(old)
        if start_worker:
            self._pool.start(_LaneWorker(lane_state))
        return task

    def idle(self, lane: str | None = None) -> bool:
        """Nothing queued or running (in `lane`, or anywhere)."""
        lanes = [self._lanes[lane]] if lane is not None else list(self._lanes.values())
        for state in lanes:
            with state.lock:
                if state.queue or state.running:
                    return False
        return True

    def shutdown(self, wait_ms: int = 60000) -> bool:
        """Stop taking work; drop what is queued in lanes that need not finish, ask their running tasks to
        stop, and wait for every thread. Queued writes still run (the user's last pick is not lost). No
        callback runs afterwards: the window it would update is closing. Returns False on timeout."""
        if self._closed:
            return True
        self._closed = True
        for lane in self._lanes.values():
            with lane.lock:
                if lane.finish_on_shutdown:
                    continue
                dropped = list(lane.queue)
                lane.queue.clear()
                for task in lane.running:
                    task._cancel.set()
            for task in dropped:
                task._drop()
        return self._pool.waitForDone(wait_ms)

    @property
    def closed(self) -> bool:
        return self._closed

    # --- internals ---

    def _drop_if_queued(self, task: Task) -> None:
        lane = self._lanes[task.lane]
        with lane.lock:
            if task not in lane.queue:
                return
            lane.queue.remove(task)
        self._dropped(task)

    def _dropped(self, task: Task) -> None:
        task._drop()
        self._relay.ended.emit(task)  # on_done still runs, so owners can clean up

    def _wanted(self, task: Task) -> bool:
        return not self._closed and not task.detached

    def _deliver_progress(self, task: Task, progress: object) -> None:
        if task.on_progress is not None and self._wanted(task):
            task.on_progress(progress)

    def _deliver_result(self, task: Task, result: object) -> None:
        if task.on_result is not None and self._wanted(task):
            task.on_result(result)

    def _deliver_error(self, task: Task, exc: Exception) -> None:
        if not self._wanted(task):
            return
        if task.on_error is not None:
            task.on_error(exc)
        else:
            log.error("background task in lane %s failed", task.lane, exc_info=(type(exc), exc, exc.__traceback__))

    def _deliver_done(self, task: Task) -> None:
        if task.on_done is not None and self._wanted(task):
            task.on_done()
