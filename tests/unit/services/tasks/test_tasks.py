"""The task runner: states, failure hooks, recovery, shutdown, claiming.

``TaskRunnerContract`` also runs on PostgreSQL (tests/pg/test_pg_tasks.py). The resource the
tasks work on is a small test table (``test_task_volumes``) outside shoal's models.
"""

from __future__ import annotations

import math
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, MetaData, String, Table, Text, insert, select, update
from sqlalchemy.orm import Session

from shoal import errors
from shoal.db import Database, default_url
from shoal.services.tasks import (
    RecoveryReport,
    ResourceRef,
    TaskContext,
    TaskInfo,
    TaskInterrupted,
    TaskRunner,
    TaskState,
    _owner,
)
from shoal.services.tasks._store import utcnow
from shoal.services.tasks.models import ERROR_LENGTH_MAX, Task

REPO_ROOT = Path(__file__).resolve().parents[4]
WAIT_S = 20.0

VOLUMES = Table(
    "test_task_volumes",
    MetaData(),
    Column("id", String(64), primary_key=True),
    Column("status", String(32), nullable=False),
    Column("failure", Text, nullable=True),
)


# -- helpers shared with test_tasks_restart and tests/pg -------------------------------------


def prepare(db: Database) -> None:
    """Migrate ``db`` and add the test resource table."""
    db.upgrade()
    VOLUMES.metadata.create_all(db.engine)


def add_volume(session: Session, volume_id: str, status: str = "creating") -> ResourceRef:
    session.execute(insert(VOLUMES).values(id=volume_id, status=status))
    return ResourceRef("volume", volume_id, "project-1")


def set_status(session: Session, volume_id: str, status: str) -> None:
    session.execute(update(VOLUMES).where(VOLUMES.c.id == volume_id).values(status=status))


def volume(db: Database, volume_id: str) -> tuple[str, str | None] | None:
    """(status, failure) of the volume, None if there is none."""
    with db.session(readonly=True) as session:
        row = session.execute(
            select(VOLUMES.c.status, VOLUMES.c.failure).where(VOLUMES.c.id == volume_id)
        ).first()
    return None if row is None else (row[0], row[1])


def status(db: Database, volume_id: str) -> str | None:
    found = volume(db, volume_id)
    return None if found is None else found[0]


def volume_error(session: Session, task: TaskInfo, message: str) -> None:
    """The on_failure hook: status ``error``, the message kept for the test to read."""
    session.execute(
        update(VOLUMES)
        .where(VOLUMES.c.id == task.resource.id)
        .values(status="error", failure=message)
    )


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def plant_running(
    db: Database,
    kind: str,
    resource: ResourceRef,
    params: dict[str, Any],
    *,
    owner: str,
    attempts: int = 1,
    heartbeat_at: datetime | None = None,
) -> str:
    """A ``running`` task as a runner that then vanished would have left it."""
    now = utcnow()
    task = Task(
        kind=kind,
        resource_type=resource.type,
        resource_id=resource.id,
        project_id=resource.project_id,
        params=params,
        state="running",
        attempts=attempts,
        owner=owner,
        heartbeat_at=heartbeat_at or now,
        created_at=now,
        updated_at=now,
    )
    with db.session() as session:
        session.add(task)
        session.flush()
        return task.id


def dead_owner_id() -> str:
    """The owner id of a runner in a process that has exited (and was reaped)."""
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from shoal.services.tasks._owner import new_owner_id as n\nprint(n())",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    )
    return proc.stdout.strip()


def chunk_writer(ctx: TaskContext) -> None:
    """A resumable copy: writes chunk files (atomically, by rename), skipping finished ones.

    params: ``dir`` (existing), ``chunks`` (count), ``delay_s`` (per chunk). Each chunk written
    appends ``<attempt> <index>`` to ``dir/log``; the last write flips the volume available.
    """
    directory = Path(ctx.params["dir"])
    chunks = int(ctx.params["chunks"])
    for index in range(chunks):
        ctx.heartbeat(progress=index * 100 // chunks)
        target = directory / f"chunk{index:04d}"
        if target.exists():
            continue  # an earlier attempt wrote it
        time.sleep(float(ctx.params["delay_s"]))
        partial = directory / f"chunk{index:04d}.part"
        partial.write_bytes(bytes([index % 256]) * 4096)
        partial.rename(target)
        with (directory / "log").open("a") as log:
            log.write(f"{ctx.attempt} {index}\n")
    with ctx.finish() as session:
        set_status(session, ctx.resource.id, "available")


class TaskRunnerContract:
    """One test body per behaviour; subclasses give ``db_url`` (an empty database)."""

    @pytest.fixture
    def db_url(self) -> str:
        raise NotImplementedError

    @pytest.fixture
    def db(self, db_url: str) -> Iterator[Database]:
        with Database(db_url) as database:
            prepare(database)
            yield database

    @pytest.fixture
    def make_runner(self, db: Database) -> Iterator[Callable[..., TaskRunner]]:
        made: list[TaskRunner] = []

        def make(**options: Any) -> TaskRunner:
            options.setdefault("lease_s", 10.0)
            options.setdefault("poll_s", 0.05)
            runner = TaskRunner(db, **options)
            made.append(runner)
            return runner

        yield make
        for runner in made:
            runner.shutdown(wait_s=5)

    # -- the normal path ----------------------------------------------------------------------

    def test_task_runs_off_the_request_path_pending_running_succeeded(
        self, db: Database, make_runner: Callable[..., TaskRunner]
    ) -> None:
        gate = threading.Event()
        seen: list[tuple[str, int, bool]] = []
        runner = make_runner()

        def create(ctx: TaskContext) -> None:
            seen.append((runner.get(ctx.task_id).state, ctx.attempt, ctx.resumed))
            assert dict(ctx.params) == {"size": 1, "names": ["a", "b"]}
            while not gate.wait(0.01):
                ctx.heartbeat()
            with ctx.finish() as session:
                set_status(session, ctx.resource.id, "available")

        runner.register("volume.create", create, resumable=True, on_failure=volume_error)
        with db.session() as session:
            resource = add_volume(session, "v1")
            task_id = runner.submit(
                "volume.create", resource, {"size": 1, "names": ("a", "b")}, session=session
            )
            with pytest.raises(errors.NotFound):
                runner.get(task_id)  # not visible outside the transaction yet
        first = runner.get(task_id)
        assert first.state == TaskState.PENDING and first.attempts == 0 and first.owner is None
        assert first.resource == resource and first.kind == "volume.create"
        runner.start()
        wait_until(lambda: runner.get(task_id).state == TaskState.RUNNING, "the claim")
        running = runner.get(task_id)
        assert running.owner == runner.owner and running.attempts == 1
        assert running.heartbeat_at is not None
        assert volume(db, "v1") == ("creating", None)  # submit returned; the work goes on
        gate.set()
        done = runner.wait(task_id, timeout_s=WAIT_S)
        assert done.state == TaskState.SUCCEEDED and done.error is None and done.progress == 100
        assert seen == [(TaskState.RUNNING, 1, False)]
        assert volume(db, "v1") == ("available", None)
        assert runner.tasks_for(resource) == [done]

    def test_handler_without_finish_is_marked_succeeded_after_returning(
        self, db: Database, make_runner: Callable[..., TaskRunner]
    ) -> None:
        runner = make_runner()
        runner.register("noop", lambda ctx: None, resumable=False, on_failure=volume_error)
        runner.start()
        task_id = runner.submit("noop", ResourceRef("volume", "v"))
        assert runner.wait(task_id, timeout_s=WAIT_S).state == TaskState.SUCCEEDED

    def test_rolled_back_submit_leaves_no_task_and_runs_nothing(
        self, db: Database, make_runner: Callable[..., TaskRunner]
    ) -> None:
        calls: list[str] = []
        runner = make_runner()
        runner.register(
            "volume.create",
            lambda ctx: calls.append(ctx.task_id),
            resumable=True,
            on_failure=volume_error,
        )
        runner.start()
        with pytest.raises(RuntimeError, match="abort"), db.session() as session:
            resource = add_volume(session, "v1")
            runner.submit("volume.create", resource, {}, session=session)
            raise RuntimeError("abort")
        # the runner polls every 0.05 s: a committed task would have run by now
        marker = runner.submit("volume.create", ResourceRef("volume", "v2"))
        runner.wait(marker, timeout_s=WAIT_S)
        assert calls == [marker]
        assert runner.tasks_for(resource) == []
        assert volume(db, "v1") is None

    def test_progress_is_recorded(
        self, db: Database, make_runner: Callable[..., TaskRunner]
    ) -> None:
        gate = threading.Event()
        runner = make_runner()

        def work(ctx: TaskContext) -> None:
            ctx.heartbeat(progress=40)
            gate.wait(WAIT_S)

        runner.register("work", work, resumable=False, on_failure=volume_error)
        runner.start()
        task_id = runner.submit("work", ResourceRef("volume", "v"))
        wait_until(lambda: runner.get(task_id).progress == 40, "progress 40")
        gate.set()
        assert runner.wait(task_id, timeout_s=WAIT_S).progress == 100

    def test_workers_bound_how_many_tasks_run_at_once(
        self, make_runner: Callable[..., TaskRunner]
    ) -> None:
        lock = threading.Lock()
        now_running = [0]
        most = [0]

        def work(ctx: TaskContext) -> None:
            with lock:
                now_running[0] += 1
                most[0] = max(most[0], now_running[0])
            time.sleep(0.15)
            with lock:
                now_running[0] -= 1

        runner = make_runner(workers=2)
        runner.register("work", work, resumable=False, on_failure=volume_error)
        ids = [runner.submit("work", ResourceRef("volume", f"v{i}")) for i in range(6)]
        runner.start()
        for task_id in ids:
            assert runner.wait(task_id, timeout_s=WAIT_S).state == TaskState.SUCCEEDED
        assert most[0] == 2

    def test_two_runners_share_the_queue_and_run_each_task_once(
        self, make_runner: Callable[..., TaskRunner]
    ) -> None:
        lock = threading.Lock()
        ran: list[tuple[str, str]] = []

        def work(ctx: TaskContext) -> None:
            time.sleep(0.02)
            with lock:
                ran.append((ctx.task_id, ctx.owner))

        first, second = make_runner(workers=3), make_runner(workers=3)
        for runner in (first, second):
            runner.register("work", work, resumable=True, on_failure=volume_error)
        ids = [first.submit("work", ResourceRef("volume", f"v{i}")) for i in range(24)]
        first.start()
        second.start()
        for task_id in ids:
            info = first.wait(task_id, timeout_s=WAIT_S)
            assert info.state == TaskState.SUCCEEDED and info.attempts == 1
        assert sorted(task_id for task_id, _ in ran) == sorted(ids)
        assert {owner for _, owner in ran} <= {first.owner, second.owner}

    # -- failures -----------------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("raised", "message"),
        [
            (errors.NoSpace("pool volumes is full"), "pool volumes is full"),
            (ValueError("bad size"), "ValueError: bad size"),
            (KeyError(), "KeyError"),
        ],
    )
    def test_failure_runs_the_hook_with_the_message_and_never_stays_running(
        self,
        db: Database,
        make_runner: Callable[..., TaskRunner],
        raised: Exception,
        message: str,
    ) -> None:
        def create(ctx: TaskContext) -> None:
            raise raised

        runner = make_runner()
        runner.register("volume.create", create, resumable=True, on_failure=volume_error)
        runner.start()
        with db.session() as session:
            task_id = runner.submit("volume.create", add_volume(session, "v1"), session=session)
        info = runner.wait(task_id, timeout_s=WAIT_S)
        assert info.state == TaskState.FAILED and info.error == message
        assert info.attempts == 1
        assert volume(db, "v1") == ("error", message)

    def test_long_error_messages_are_cut(
        self, db: Database, make_runner: Callable[..., TaskRunner]
    ) -> None:
        def create(ctx: TaskContext) -> None:
            raise errors.Unavailable("x" * 10_000)

        runner = make_runner()
        runner.register("volume.create", create, resumable=False, on_failure=volume_error)
        runner.start()
        task_id = runner.submit("volume.create", ResourceRef("volume", "v"))
        error = runner.wait(task_id, timeout_s=WAIT_S).error
        assert error is not None and len(error) == ERROR_LENGTH_MAX and error.endswith("(cut)")

    def test_failing_hook_rolls_back_its_writes_and_still_fails_the_task(
        self, db: Database, make_runner: Callable[..., TaskRunner]
    ) -> None:
        def broken_hook(session: Session, task: TaskInfo, message: str) -> None:
            volume_error(session, task, message)
            raise RuntimeError("hook broke")

        def create(ctx: TaskContext) -> None:
            raise errors.NoSpace("full")

        runner = make_runner()
        runner.register("volume.create", create, resumable=False, on_failure=broken_hook)
        runner.start()
        with db.session() as session:
            task_id = runner.submit("volume.create", add_volume(session, "v1"), session=session)
        info = runner.wait(task_id, timeout_s=WAIT_S)
        assert info.state == TaskState.FAILED
        assert info.error == "full (and its on_failure hook failed: RuntimeError: hook broke)"
        assert volume(db, "v1") == ("creating", None)  # the hook's half-done write is gone

    def test_finish_after_the_claim_was_lost_rolls_back_the_handlers_writes(
        self, db: Database, make_runner: Callable[..., TaskRunner]
    ) -> None:
        runner = make_runner()
        outcome: list[str] = []

        def create(ctx: TaskContext) -> None:
            with db.session() as session:  # someone else takes the task over
                session.execute(update(Task).where(Task.id == ctx.task_id).values(attempts=9))
            try:
                with ctx.finish() as session:
                    set_status(session, ctx.resource.id, "available")
            except TaskInterrupted as exc:
                outcome.append(exc.reason)
                raise

        runner.register("volume.create", create, resumable=True, on_failure=volume_error)
        runner.start()
        with db.session() as session:
            task_id = runner.submit("volume.create", add_volume(session, "v1"), session=session)
        wait_until(lambda: outcome == ["lost"], "the handler to be told")
        wait_until(lambda: runner.running_tasks() == [], "the worker to let go")
        info = runner.get(task_id)
        assert info.state == TaskState.RUNNING and info.attempts == 9  # the new claim's
        assert volume(db, "v1") == ("creating", None)

    def test_lost_claim_interrupts_the_handler_at_its_heartbeat(
        self, db: Database, make_runner: Callable[..., TaskRunner]
    ) -> None:
        runner = make_runner(lease_s=0.6)
        reasons: list[str] = []

        def create(ctx: TaskContext) -> None:
            try:
                while True:
                    ctx.heartbeat()
                    time.sleep(0.01)
            except TaskInterrupted as exc:
                reasons.append(exc.reason)
                raise

        runner.register("volume.create", create, resumable=False, on_failure=volume_error)
        runner.start()
        with db.session() as session:
            task_id = runner.submit("volume.create", add_volume(session, "v1"), session=session)
        wait_until(lambda: runner.get(task_id).state == TaskState.RUNNING, "the claim")
        thief = "elsewhere:key:1:1:thief"
        with db.session() as session:  # a live runner elsewhere holds it now (fresh lease)
            session.execute(
                update(Task)
                .where(Task.id == task_id)
                .values(owner=thief, heartbeat_at=utcnow() + timedelta(hours=1))
            )
        wait_until(lambda: reasons == ["lost"], "the handler to be interrupted")
        wait_until(lambda: runner.running_tasks() == [], "the worker to let go")
        info = runner.get(task_id)
        assert info.state == TaskState.RUNNING and info.owner == thief
        assert volume(db, "v1") == ("creating", None)  # no hook: the task is not ours to fail

    # -- refusals -----------------------------------------------------------------------------

    def test_bad_submissions_are_refused_and_write_nothing(
        self, make_runner: Callable[..., TaskRunner]
    ) -> None:
        runner = make_runner()
        runner.register("work", lambda ctx: None, resumable=False, on_failure=volume_error)
        resource = ResourceRef("volume", "v1")
        with pytest.raises(ValueError, match="no handler registered"):
            runner.submit("other", resource)
        with pytest.raises(ValueError, match="JSON"):
            runner.submit("work", resource, {"x": {1, 2}})
        with pytest.raises(ValueError, match="JSON"):
            runner.submit("work", resource, {"x": math.nan})
        with pytest.raises(ValueError, match="exceed"):
            runner.submit("work", resource, {"x": "y" * 70_000})
        with pytest.raises(ValueError, match="string keys"):
            runner.submit("work", resource, {1: "x"})  # type: ignore[dict-item]
        with pytest.raises(ValueError, match="resource id"):
            runner.submit("work", ResourceRef("volume", "v" * 65))
        with pytest.raises(ValueError, match="resource type"):
            runner.submit("work", ResourceRef("", "v1"))
        assert runner.tasks_for(resource) == []

    def test_register_refuses_duplicates_and_bad_options(
        self, make_runner: Callable[..., TaskRunner], db: Database
    ) -> None:
        runner = make_runner()
        runner.register("work", lambda ctx: None, resumable=False, on_failure=volume_error)
        with pytest.raises(ValueError, match="already registered"):
            runner.register("work", lambda ctx: None, resumable=False, on_failure=volume_error)
        with pytest.raises(ValueError, match="task kind"):
            runner.register("k" * 65, lambda ctx: None, resumable=False, on_failure=volume_error)
        with pytest.raises(ValueError, match="max_attempts"):
            runner.register(
                "x", lambda ctx: None, resumable=True, on_failure=volume_error, max_attempts=0
            )
        with pytest.raises(ValueError, match="workers"):
            TaskRunner(db, workers=0)
        with pytest.raises(ValueError, match="positive"):
            TaskRunner(db, lease_s=0)

    def test_get_and_wait_report_missing_and_unfinished_tasks(
        self, make_runner: Callable[..., TaskRunner]
    ) -> None:
        runner = make_runner()
        runner.register("work", lambda ctx: None, resumable=False, on_failure=volume_error)
        with pytest.raises(errors.NotFound):
            runner.get("nope")
        task_id = runner.submit("work", ResourceRef("volume", "v1"))  # never started
        with pytest.raises(errors.TimedOut, match="still pending"):
            runner.wait(task_id, timeout_s=0.1)

    def test_purge_deletes_only_old_finished_tasks(
        self, make_runner: Callable[..., TaskRunner]
    ) -> None:
        runner = make_runner()
        runner.register("work", lambda ctx: None, resumable=False, on_failure=volume_error)
        runner.start()
        done = runner.submit("work", ResourceRef("volume", "v1"))
        runner.wait(done, timeout_s=WAIT_S)
        runner.shutdown(wait_s=5)
        pending = runner.submit("work", ResourceRef("volume", "v2"))
        assert runner.purge(older_than_s=3600) == 0
        assert runner.purge(older_than_s=0) == 1
        with pytest.raises(errors.NotFound):
            runner.get(done)
        assert runner.get(pending).state == TaskState.PENDING

    # -- recovery -----------------------------------------------------------------------------

    def test_recover_resumes_a_resumable_task_of_a_dead_process(
        self, db: Database, make_runner: Callable[..., TaskRunner], tmp_path: Path
    ) -> None:
        with db.session() as session:
            resource = add_volume(session, "v1")
        directory = tmp_path / "chunks"
        directory.mkdir()
        for index in range(3):  # what the first attempt got done
            (directory / f"chunk{index:04d}").write_bytes(bytes([index]) * 4096)
        params = {"dir": str(directory), "chunks": 8, "delay_s": 0.0}
        task_id = plant_running(db, "copy", resource, params, owner=dead_owner_id())
        runner = make_runner()  # lease 10 s: only the dead pid makes the task recoverable
        runner.register("copy", chunk_writer, resumable=True, on_failure=volume_error)
        report = runner.recover()
        assert (report.resumed, report.failed, report.unknown) == ((task_id,), (), ())
        pending = runner.get(task_id)
        assert pending.state == TaskState.PENDING and pending.owner is None
        runner.start()
        info = runner.wait(task_id, timeout_s=WAIT_S)
        assert info.state == TaskState.SUCCEEDED and info.attempts == 2
        # idempotent: the second attempt wrote exactly what the first had not
        assert (directory / "log").read_text().split("\n")[:-1] == [f"2 {i}" for i in range(3, 8)]
        assert sorted(p.name for p in directory.glob("chunk*")) == [
            f"chunk{i:04d}" for i in range(8)
        ]
        assert volume(db, "v1") == ("available", None)

    def test_recover_fails_a_non_resumable_task_with_its_hook(
        self, db: Database, make_runner: Callable[..., TaskRunner]
    ) -> None:
        calls: list[str] = []
        with db.session() as session:
            resource = add_volume(session, "v1")
        owner = dead_owner_id()
        task_id = plant_running(db, "convert", resource, {}, owner=owner)
        runner = make_runner()
        runner.register(
            "convert", lambda ctx: calls.append("ran"), resumable=False, on_failure=volume_error
        )
        report = runner.recover()
        assert (report.resumed, report.failed) == ((), (task_id,))
        info = runner.get(task_id)
        assert info.state == TaskState.FAILED
        assert info.error == f"interrupted: its runner ({owner}) stopped during attempt 1"
        assert volume(db, "v1") == ("error", info.error)
        assert runner.recover() == RecoveryReport()  # nothing left to do
        runner.start()
        time.sleep(0.2)
        assert calls == []

    def test_recover_gives_up_after_max_attempts(
        self, db: Database, make_runner: Callable[..., TaskRunner]
    ) -> None:
        with db.session() as session:
            resource = add_volume(session, "v1")
        task_id = plant_running(db, "copy", resource, {}, owner=dead_owner_id(), attempts=2)
        runner = make_runner()
        runner.register(
            "copy", lambda ctx: None, resumable=True, on_failure=volume_error, max_attempts=2
        )
        assert runner.recover().failed == (task_id,)
        error = runner.get(task_id).error
        assert error is not None and error.endswith("; gave up after 2 attempts")
        assert volume(db, "v1") == ("error", error)

    def test_recover_respects_live_owners_and_takes_over_lapsed_leases(
        self, db: Database, make_runner: Callable[..., TaskRunner]
    ) -> None:
        resource = ResourceRef("volume", "v")
        live_elsewhere = plant_running(db, "copy", resource, {}, owner="far:k:7:7:live")
        lapsed_elsewhere = plant_running(
            db,
            "copy",
            resource,
            {},
            owner="far:k:8:8:gone",
            heartbeat_at=utcnow() - timedelta(seconds=11),
        )
        alive_here = make_runner()
        alive_here.start()  # a live runner of this process, renewing its claims
        mine = plant_running(db, "copy", resource, {}, owner=alive_here.owner)
        other_kind = plant_running(db, "other", resource, {}, owner=dead_owner_id())
        runner = make_runner()
        runner.register("copy", lambda ctx: None, resumable=True, on_failure=volume_error)
        report = runner.recover()
        assert report.resumed == (lapsed_elsewhere,)
        assert report.unknown == (other_kind,) and report.failed == ()
        for task_id in (live_elsewhere, mine, other_kind):
            assert runner.get(task_id).state == TaskState.RUNNING

    def test_running_runner_sweeps_up_tasks_of_dead_runners(
        self, db: Database, make_runner: Callable[..., TaskRunner]
    ) -> None:
        with db.session() as session:
            resource = add_volume(session, "v1")
        runner = make_runner(lease_s=0.5)  # sweeps every 0.25 s
        runner.register("convert", lambda ctx: None, resumable=False, on_failure=volume_error)
        runner.start()
        task_id = plant_running(db, "convert", resource, {}, owner=dead_owner_id())
        assert runner.wait(task_id, timeout_s=WAIT_S).state == TaskState.FAILED
        assert status(db, "v1") == "error"

    # -- shutdown -----------------------------------------------------------------------------

    def test_shutdown_returns_resumable_tasks_and_lets_the_others_finish(
        self, db: Database, make_runner: Callable[..., TaskRunner]
    ) -> None:
        interrupted: list[str] = []
        started = threading.Event()

        def copy(ctx: TaskContext) -> None:
            if ctx.resumed:
                return
            try:
                while True:
                    ctx.heartbeat()
                    time.sleep(0.01)
            except TaskInterrupted as exc:
                interrupted.append(exc.reason)
                raise

        def convert(ctx: TaskContext) -> None:
            started.set()
            time.sleep(0.5)  # no heartbeat: shutdown must wait for it

        runner = make_runner()
        runner.register("copy", copy, resumable=True, on_failure=volume_error)
        runner.register("convert", convert, resumable=False, on_failure=volume_error)
        runner.start()
        copy_id = runner.submit("copy", ResourceRef("volume", "v1"))
        convert_id = runner.submit("convert", ResourceRef("volume", "v2"))
        wait_until(lambda: runner.get(copy_id).state == TaskState.RUNNING, "copy to run")
        assert started.wait(WAIT_S)
        assert runner.shutdown(wait_s=WAIT_S) is True
        assert interrupted == ["shutdown"]
        back = runner.get(copy_id)
        assert back.state == TaskState.PENDING and back.owner is None and back.attempts == 1
        assert runner.get(convert_id).state == TaskState.SUCCEEDED
        later = runner.submit("convert", ResourceRef("volume", "v3"))  # for the next runner
        assert runner.get(later).state == TaskState.PENDING
        successor = make_runner()
        successor.register("copy", copy, resumable=True, on_failure=volume_error)
        successor.register("convert", convert, resumable=False, on_failure=volume_error)
        successor.start()
        info = successor.wait(copy_id, timeout_s=WAIT_S)
        assert info.state == TaskState.SUCCEEDED and info.attempts == 2
        assert successor.wait(later, timeout_s=WAIT_S).state == TaskState.SUCCEEDED

    def test_a_handler_may_still_finish_during_shutdown(
        self, db: Database, make_runner: Callable[..., TaskRunner]
    ) -> None:
        gate = threading.Event()

        def create(ctx: TaskContext) -> None:
            gate.wait(WAIT_S)
            assert ctx.interrupted == "shutdown"
            with ctx.finish() as session:  # done anyway: finishing beats resuming
                set_status(session, ctx.resource.id, "available")

        runner = make_runner()
        runner.register("volume.create", create, resumable=True, on_failure=volume_error)
        runner.start()
        with db.session() as session:
            task_id = runner.submit("volume.create", add_volume(session, "v1"), session=session)
        wait_until(lambda: runner.running_tasks() == [task_id], "the claim")
        threading.Timer(0.2, gate.set).start()
        assert runner.shutdown(wait_s=WAIT_S) is True
        assert runner.get(task_id).state == TaskState.SUCCEEDED
        assert volume(db, "v1") == ("available", None)
        with pytest.raises(RuntimeError, match="shut down"):
            runner.start()

    def test_shutdown_gives_up_waiting_and_recovery_fails_the_leftover(
        self, db: Database, make_runner: Callable[..., TaskRunner]
    ) -> None:
        release = threading.Event()

        def stuck(ctx: TaskContext) -> None:
            release.wait(WAIT_S)

        with db.session() as session:
            resource = add_volume(session, "v1")
        runner = make_runner()
        runner.register("stuck", stuck, resumable=False, on_failure=volume_error)
        runner.start()
        task_id = runner.submit("stuck", resource)
        wait_until(lambda: runner.get(task_id).state == TaskState.RUNNING, "the claim")
        began = time.monotonic()
        assert runner.shutdown(wait_s=0.3) is False
        assert time.monotonic() - began < 3
        assert runner.get(task_id).owner == runner.owner  # still running, unrenewed
        successor = make_runner()
        successor.register("stuck", stuck, resumable=False, on_failure=volume_error)
        assert successor.recover().failed == (task_id,)
        release.set()  # the old handler returns: its claim is gone, nothing is overwritten
        wait_until(lambda: runner.running_tasks() == [], "the old worker to finish")
        assert runner.get(task_id).state == TaskState.FAILED
        assert status(db, "v1") == "error"


class TestTaskRunnerSQLite(TaskRunnerContract):
    @pytest.fixture
    def db_url(self, tmp_path: Path) -> str:
        return default_url(tmp_path)


def test_public_names_are_exactly_all() -> None:
    import shoal.services.tasks as tasks

    assert len(tasks.__all__) == len(set(tasks.__all__))
    public = {
        n for n in vars(tasks) if not n.startswith("_") and n not in ("annotations", "models")
    }
    assert public == set(tasks.__all__)


# -- owner ids ----------------------------------------------------------------------------------


def test_owner_ids_are_unique_and_live_while_registered() -> None:
    first, second = _owner.new_owner_id(), _owner.new_owner_id()
    assert first != second
    _owner.register_live(first)
    try:
        assert not _owner.owner_gone(first)
    finally:
        _owner.unregister_live(first)
    assert _owner.owner_gone(first)  # this process, but no runner by that id any more


def test_owner_of_an_exited_process_is_gone_and_others_are_unknown() -> None:
    assert _owner.owner_gone(dead_owner_id())
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\nfrom shoal.services.tasks._owner import new_owner_id as n\n"
            "print(n(), flush=True)\nsys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    try:
        assert proc.stdout is not None
        alive = proc.stdout.readline().strip()
        assert not _owner.owner_gone(alive)
        host, key, pid, start, nonce = alive.rsplit(":", 4)
        assert _owner.owner_gone(f"{host}:{key}:{pid}:{int(start) + 1}:{nonce}")  # pid reused
        assert not _owner.owner_gone(f"otherhost:{key}:{pid}:{start}:{nonce}")
        assert not _owner.owner_gone(f"{host}:otherns:{pid}:{start}:{nonce}")
        assert not _owner.owner_gone("garbage")
    finally:
        proc.communicate("")
    assert _owner.owner_gone(alive)
