"""``TaskRunner``: durable long operations run by worker threads, off the request path."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

from shoal import errors
from shoal.db import Database
from shoal.services.tasks import _store
from shoal.services.tasks._context import TaskContext
from shoal.services.tasks._owner import new_owner_id, owner_gone, register_live, unregister_live
from shoal.services.tasks._types import (
    FailureHook,
    Handler,
    RecoveryReport,
    ResourceRef,
    TaskInfo,
    TaskInterrupted,
    TaskState,
)
from shoal.services.tasks.models import KIND_LENGTH_MAX

__all__ = [
    "DEFAULT_LEASE_S",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_POLL_S",
    "DEFAULT_WORKERS",
    "WORKERS_MAX",
    "TaskRunner",
]

log = logging.getLogger("shoal.tasks")

#: Worker threads of a runner unless told otherwise.
DEFAULT_WORKERS = 4
#: Most worker threads of one runner.
WORKERS_MAX = 64
#: How long a claim lives without renewal, seconds. The runner renews every third of it; a
#: task whose owner has not renewed for a whole lease is taken over. Must exceed the clock
#: skew between hosts sharing a database.
DEFAULT_LEASE_S = 30.0
#: How often an idle runner looks for pending tasks submitted elsewhere, seconds (tasks
#: submitted through this runner wake it at once).
DEFAULT_POLL_S = 1.0
#: How many times a resumable task is claimed before an interruption fails it for good.
DEFAULT_MAX_ATTEMPTS = 5
# Waiting for a task in wait(), seconds between reads.
_WAIT_POLL_S = 0.05
# Retrying a write while the database is unreachable, seconds (first, last pause).
_RETRY_FIRST_S = 0.1
_RETRY_LAST_S = 5.0

_T = TypeVar("_T")


@dataclass(frozen=True)
class _Registration:
    kind: str
    handler: Handler
    resumable: bool
    on_failure: FailureHook
    max_attempts: int


class _HookFailed(Exception):
    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def describe(exc: BaseException) -> str:
    """The message recorded for a failure: a ShoalError's own, else ``Type: text``."""
    if isinstance(exc, errors.ShoalError):
        return exc.message
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class TaskRunner:
    """Runs registered long operations in worker threads; every task is a database row.

    Start-up::

        runner = TaskRunner(db, workers=4)
        runner.register("volume.create", create_volume, resumable=True, on_failure=set_error)
        report = runner.recover()   # tasks of runners that died: resumed, or failed
        runner.start()
        ...
        task_id = runner.submit("volume.create", ResourceRef("volume", vid, pid),
                                {"size_gib": 1}, session=session)  # commits with the volume row
        ...
        runner.shutdown(wait_s=30)

    Life cycle of a task: ``pending`` (submitted) → ``running`` (claimed by one runner) →
    ``succeeded`` (the handler returned) or ``failed`` (it raised: the kind's ``on_failure``
    hook runs in the transaction recording the failure, so the resource's ``error`` status
    and the failed task commit together). A task is never left ``running`` by a runner
    that goes on living; one whose runner died is handled by :meth:`recover`: resumable →
    ``pending`` again (then run with ``ctx.attempt`` one higher), otherwise → ``failed``
    with its hook.

    Several runners (threads, processes, hosts) may share one database: claims and
    take-overs are guarded updates, so each claim of a task runs in exactly one runner.
    A runner only claims, and only recovers, tasks of the kinds registered with it.

    Args:
        db: the database (migrated to head).
        workers: worker threads, 1..:data:`WORKERS_MAX`: at most that many tasks run at once.
        lease_s: claim lease, seconds (see :data:`DEFAULT_LEASE_S`).
        poll_s: idle poll for tasks submitted by other processes, seconds.

    Raises:
        ValueError: workers, lease_s or poll_s out of range.
    """

    def __init__(
        self,
        db: Database,
        *,
        workers: int = DEFAULT_WORKERS,
        lease_s: float = DEFAULT_LEASE_S,
        poll_s: float = DEFAULT_POLL_S,
    ) -> None:
        if not 1 <= workers <= WORKERS_MAX:
            raise ValueError(f"workers must be 1..{WORKERS_MAX}, not {workers}")
        if not lease_s > 0 or not poll_s > 0:
            raise ValueError(f"lease_s and poll_s must be positive, not {lease_s}, {poll_s}")
        self.db = db
        self.workers = workers
        self.lease_s = lease_s
        self.poll_s = poll_s
        #: This runner's owner id (written into the tasks it claims).
        self.owner = new_owner_id()
        self._handlers: dict[str, _Registration] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._inflight: dict[str, TaskContext] = {}
        self._queue: queue.SimpleQueue[TaskContext | None] = queue.SimpleQueue()
        self._dispatch_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()  # no more claims, no more sweeps
        self._stopped = threading.Event()  # the supervisor exits
        self._threads: list[threading.Thread] = []
        self._started = False

        def wake_on_commit(_session: Session) -> None:
            self._wake.set()

        self._wake_on_commit = wake_on_commit

    def __repr__(self) -> str:
        return f"TaskRunner({self.owner!r}, workers={self.workers})"

    def __enter__(self) -> TaskRunner:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # -- registration and submission ----------------------------------------------------------

    def register(
        self,
        kind: str,
        handler: Handler,
        *,
        resumable: bool,
        on_failure: FailureHook,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        """Run tasks of ``kind`` with ``handler``.

        Args:
            kind: the task kind, e.g. ``"volume.create"`` (at most 64 characters).
            handler: ``handler(ctx)`` does the work; returning means success, raising failure
                (the exception's message is recorded). It should call ``ctx.heartbeat()``
                between steps.
            resumable: True when the handler can be run again after an interruption at any
                point (it must then be idempotent: find what an earlier attempt did, and carry
                on). False: an interrupted task fails (with ``on_failure``).
            on_failure: ``on_failure(session, task, message)`` runs in the transaction that
                marks the task failed; e.g. sets the resource's status to ``error``. It may run
                more than once for one task if the process dies at the wrong moment: make it
                idempotent.
            max_attempts: a resumable task interrupted on its ``max_attempts``-th claim fails
                instead of running again (a task that kills its process cannot loop forever).

        Raises:
            ValueError: a bad or already registered kind, or max_attempts below 1.
        """
        if not isinstance(kind, str) or not kind or len(kind) > KIND_LENGTH_MAX:
            raise ValueError(f"task kind must be 1..{KIND_LENGTH_MAX} characters: {kind!r}")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
        with self._lock:
            if kind in self._handlers:
                raise ValueError(f"task kind {kind!r} is already registered")
            self._handlers[kind] = _Registration(kind, handler, resumable, on_failure, max_attempts)
        self._wake.set()

    def submit(
        self,
        kind: str,
        resource: ResourceRef,
        params: Mapping[str, Any] | None = None,
        *,
        session: Session | None = None,
    ) -> str:
        """Queue a task; returns its id at once (the work runs in a worker thread).

        With ``session``, the task row is added to that transaction: it exists (and runs) only
        if the caller commits, together with whatever else the caller wrote (the resource row
        in status ``creating``). Without, it is committed in a transaction of its own.

        ``params`` must be a JSON object (at most 64 KiB); the handler gets it back after a
        JSON round trip on every attempt (tuples become lists).

        Raises:
            ValueError: ``kind`` is not registered, or bad resource or params.
            Unavailable: the database cannot be reached (own transaction only).
        """
        with self._lock:
            registered = kind in self._handlers
        if not registered:
            raise ValueError(f"no handler registered for task kind {kind!r}")
        if session is None:
            with self.db.session() as own:
                task_id = _store.insert(own, kind, resource, params or {})
            self._wake.set()
            return task_id
        task_id = _store.insert(session, kind, resource, params or {})
        if not event.contains(session, "after_commit", self._wake_on_commit):
            event.listen(session, "after_commit", self._wake_on_commit)
        return task_id

    # -- reading ------------------------------------------------------------------------------

    def get(self, task_id: str) -> TaskInfo:
        """The task ``task_id`` as stored now.

        Raises:
            NotFound: no such task (or it was purged).
        """
        info = _store.get(self.db, task_id)
        if info is None:
            raise errors.NotFound(f"task {task_id} not found")
        return info

    def tasks_for(self, resource: ResourceRef) -> list[TaskInfo]:
        """Every task on ``resource`` (matched by type and id), oldest first."""
        return _store.tasks_for(self.db, resource)

    def wait(self, task_id: str, timeout_s: float) -> TaskInfo:
        """Wait until the task is ``succeeded`` or ``failed``; return it.

        Raises:
            NotFound: no such task.
            TimedOut: still not finished after ``timeout_s`` seconds.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            info = self.get(task_id)
            if info.state.final:
                return info
            if time.monotonic() >= deadline:
                raise errors.TimedOut(
                    f"task {task_id} ({info.kind}) is still {info.state} after {timeout_s} s"
                )
            time.sleep(_WAIT_POLL_S)

    def purge(self, older_than_s: float) -> int:
        """Delete finished tasks not updated for ``older_than_s`` seconds; returns how many."""
        return _store.purge(self.db, _store.utcnow() - timedelta(seconds=older_than_s))

    # -- running ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker threads and the supervisor (claims, lease renewal, sweeps).

        Call :meth:`recover` first at start-up to learn what happened to the tasks of runners
        that died; the supervisor also sweeps every half lease for tasks whose owner died.

        Raises:
            RuntimeError: already started, or shut down.
        """
        if self._started or self._stopping.is_set():
            raise RuntimeError(f"{self!r} was already started or shut down")
        self._started = True
        register_live(self.owner)
        supervisor = threading.Thread(
            target=self._supervise, name=f"tasks-supervisor-{self.owner[-12:]}", daemon=True
        )
        self._threads.append(supervisor)
        for number in range(self.workers):
            self._threads.append(
                threading.Thread(
                    target=self._work, name=f"tasks-worker-{number}-{self.owner[-12:]}", daemon=True
                )
            )
        for thread in self._threads:
            thread.start()

    def shutdown(self, wait_s: float = 30.0) -> bool:
        """Stop: claim nothing more, interrupt resumable tasks, wait for running ones.

        Resumable handlers are interrupted at their next ``ctx.heartbeat()`` and their tasks
        go back to ``pending`` (the next runner resumes them). Non-resumable tasks are left to
        finish. After ``wait_s`` seconds the runner stops waiting: tasks still running stay
        ``running`` under this owner, and the next runner's :meth:`recover` handles them
        once this process has exited (or their lease lapsed). Idempotent.

        Returns:
            True if no task was left running.
        """
        self._stopping.set()
        with self._dispatch_lock, self._lock:
            for ctx in self._inflight.values():
                if ctx.resumable:
                    ctx.interrupt("shutdown")
        deadline = time.monotonic() + wait_s
        with self._idle:
            while self._inflight and (remaining := deadline - time.monotonic()) > 0:
                self._idle.wait(remaining)
            clean = not self._inflight
        self._stopped.set()
        self._wake.set()
        if self._started:
            for _ in range(self.workers):
                self._queue.put(None)
            for thread in self._threads:
                thread.join(timeout=1.0 if clean else 0.0)
        unregister_live(self.owner)
        return clean

    def running_tasks(self) -> list[str]:
        """Ids of the tasks this runner is running now."""
        with self._lock:
            return list(self._inflight)

    def recover(self) -> RecoveryReport:
        """Handle the running tasks whose owner is dead; call it at start-up.

        An owner is dead when its claim was not renewed for a whole lease, or (sooner) when
        it provably ran on this host and its process has exited. Such a task, if its kind is
        registered here, is resumed (back to ``pending``; claimed again with the attempt
        count one higher) when resumable and not over its ``max_attempts``, otherwise marked
        ``failed`` with its ``on_failure`` hook. Tasks of other kinds are left alone (listed
        as ``unknown``). Safe to run in several runners at once: each task is handled once.
        """
        resumed: list[str] = []
        failed: list[str] = []
        unknown: list[str] = []
        cutoff = _store.utcnow() - timedelta(seconds=self.lease_s)
        with self._lock:
            handlers = dict(self._handlers)
            mine = set(self._inflight)
        for info in _store.running(self.db):
            if info.owner == self.owner and info.id in mine:
                continue
            lapsed = info.heartbeat_at is None or info.heartbeat_at < cutoff
            if not (lapsed or info.owner is None or owner_gone(info.owner)):
                continue
            registration = handlers.get(info.kind)
            if registration is None:
                unknown.append(info.id)
            elif registration.resumable and info.attempts < registration.max_attempts:
                if self._resume(info):
                    resumed.append(info.id)
            elif self._abandon(info, registration):
                failed.append(info.id)
        if resumed:
            self._wake.set()
        return RecoveryReport(tuple(resumed), tuple(failed), tuple(unknown))

    def _resume(self, seen: TaskInfo) -> bool:
        def write(session: Session) -> bool:
            return _store.take_over(session, seen, TaskState.PENDING, None)

        if not self._persist(write):
            return False
        log.info("task %s (%s) will resume: runner %s is gone", seen.id, seen.kind, seen.owner)
        return True

    def _abandon(self, seen: TaskInfo, registration: _Registration) -> bool:
        message = f"interrupted: its runner ({seen.owner}) stopped during attempt {seen.attempts}"
        if registration.resumable:
            message += f"; gave up after {seen.attempts} attempts"

        def mark(session: Session, text: str) -> TaskInfo | None:
            if not _store.take_over(session, seen, TaskState.FAILED, text):
                return None
            return _store.load(session, seen.id)

        if not self._record_failure(registration, message, mark):
            return False
        log.warning("task %s (%s) failed: %s", seen.id, seen.kind, message)
        return True

    # -- threads ------------------------------------------------------------------------------

    def _supervise(self) -> None:
        renew_every = self.lease_s / 3
        sweep_every = self.lease_s / 2
        now = time.monotonic()
        next_renew, next_sweep, next_poll = now + renew_every, now + sweep_every, now
        while not self._stopped.is_set():
            woken = self._wake.is_set()
            self._wake.clear()
            now = time.monotonic()
            try:
                if now >= next_renew:
                    next_renew = now + renew_every
                    self._renew()
                if not self._stopping.is_set() and now >= next_sweep:
                    next_sweep = now + sweep_every
                    self.recover()
                if not self._stopping.is_set() and (woken or now >= next_poll):
                    next_poll = now + self.poll_s
                    self._dispatch()
            except Exception:
                log.exception("%r: supervisor step failed (retrying)", self)
            self._wake.wait(max(0.0, min(next_renew, next_sweep, next_poll) - time.monotonic()))

    def _renew(self) -> None:
        with self._lock:
            contexts = dict(self._inflight)
        if not contexts:
            return
        held = _store.renew(self.db, self.owner, contexts)
        for task_id, ctx in contexts.items():
            if held.get(task_id) != (self.owner, ctx.attempt):
                ctx.interrupt("lost")

    def _dispatch(self) -> None:
        with self._dispatch_lock:
            if self._stopping.is_set():
                return
            with self._lock:
                free = self.workers - len(self._inflight)
                kinds = list(self._handlers)
            if free <= 0 or not _store.has_pending(self.db, kinds):
                return
            for info in _store.claim(self.db, self.owner, kinds, free):
                ctx = TaskContext(
                    self.db, info, self.owner, resumable=self._handlers[info.kind].resumable
                )
                with self._lock:
                    self._inflight[info.id] = ctx
                self._queue.put(ctx)

    def _work(self) -> None:
        while (ctx := self._queue.get()) is not None:
            try:
                self._run(ctx)
            except BaseException:
                log.exception("%r: recording the outcome of %r failed", self, ctx)
            finally:
                with self._idle:
                    self._inflight.pop(ctx.task_id, None)
                    self._idle.notify_all()
                self._wake.set()

    def _run(self, ctx: TaskContext) -> None:
        registration = self._handlers[ctx.kind]
        try:
            registration.handler(ctx)
        except TaskInterrupted as exc:
            reason = ctx.interrupted
            if reason == "lost":
                log.warning("%r: another runner took the task over; stopped", ctx)
            elif reason == "shutdown" and registration.resumable:
                if self._persist(lambda s: _store.release(s, ctx.task_id, self.owner, ctx.attempt)):
                    log.info("%r: interrupted by shutdown, back to pending", ctx)
            else:
                self._fail(ctx, registration, f"interrupted: {exc}")
            return
        except BaseException as exc:
            log.info("%r failed: %s", ctx, describe(exc), exc_info=True)
            self._fail(ctx, registration, describe(exc))
            return
        if ctx.finished:
            return
        if not self._persist(lambda s: _store.succeed(s, ctx.task_id, self.owner, ctx.attempt)):
            log.warning("%r: returned, but its claim was lost; outcome not recorded", ctx)

    def _fail(self, ctx: TaskContext, registration: _Registration, message: str) -> None:
        def mark(session: Session, text: str) -> TaskInfo | None:
            return _store.fail(session, ctx.task_id, self.owner, ctx.attempt, text)

        if not self._record_failure(registration, message, mark):
            log.warning("%r: failed, but its claim was lost; failure not recorded", ctx)

    def _record_failure(
        self,
        registration: _Registration,
        message: str,
        mark: Callable[[Session, str], TaskInfo | None],
    ) -> bool:
        """Mark a task failed with ``mark`` and run the hook, in one transaction.

        If the hook raises, the task is still marked failed (without it), its error saying
        so. Returns False when ``mark`` found the claim gone (nothing written).
        """

        def with_hook(session: Session) -> bool:
            info = mark(session, message)
            if info is None:
                return False
            try:
                registration.on_failure(session, info, message)
            except errors.Unavailable:
                raise
            except Exception as exc:
                raise _HookFailed(exc) from exc
            return True

        try:
            return bool(self._persist(with_hook))
        except _HookFailed as failure:
            log.error("on_failure hook of %s failed", registration.kind, exc_info=failure.cause)
            note = f"{message} (and its on_failure hook failed: {describe(failure.cause)})"
            return bool(self._persist(lambda s: mark(s, note) is not None))

    def _persist(self, write: Callable[[Session], _T]) -> _T | None:
        """Run ``write`` in a transaction, retrying while the database is unreachable.

        Gives up (None) after a lease: the task then stays ``running`` under this owner,
        unrenewed, and a sweep takes it over when the database is back.
        """
        deadline = time.monotonic() + self.lease_s
        pause = _RETRY_FIRST_S
        while True:
            try:
                with self.db.session() as session:
                    return write(session)
            except errors.Unavailable:
                if time.monotonic() + pause > deadline:
                    log.error("%r: database unreachable; giving up on a write", self)
                    return None
                log.warning("%r: database unreachable; retrying in %.1f s", self, pause)
                time.sleep(pause)
                pause = min(pause * 2, _RETRY_LAST_S)
