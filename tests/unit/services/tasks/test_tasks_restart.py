"""A real restart: a process running two tasks is SIGKILLed; the next runner cleans up.

The child (this module run as ``python -m tests.unit.services.tasks.test_tasks_restart URL
DIR``) starts a runner with a slow resumable copy and a slow non-resumable conversion and
waits to be killed.
The parent kills it mid-task, then a new runner's ``recover()`` must resume the copy to
completion (without redoing finished chunks) and fail the conversion, running its hook.
``RestartContract`` also runs on PostgreSQL (tests/pg/test_pg_tasks.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shoal.db import Database, default_url
from shoal.services.tasks import TaskContext, TaskRunner, TaskState
from tests.unit.services.tasks.test_tasks import (
    REPO_ROOT,
    WAIT_S,
    add_volume,
    chunk_writer,
    prepare,
    set_status,
    volume,
    volume_error,
    wait_until,
)

CHUNKS = 40
CHUNK_DELAY_S = 0.05
# Long enough that only the dead process (not an expired lease) makes the tasks recoverable.
LEASE_S = 120.0
CHILD_TIMEOUT_S = 60.0


def slow_convert(ctx: TaskContext) -> None:
    """A non-resumable step: logs its start, works ``steps`` times ``delay_s``, then finishes."""
    directory = Path(ctx.params["dir"])
    with (directory / "convert.log").open("a") as log:
        log.write(f"started {ctx.attempt}\n")
    for _ in range(int(ctx.params["steps"])):
        ctx.heartbeat()
        time.sleep(float(ctx.params["delay_s"]))
    with ctx.finish() as session:
        set_status(session, ctx.resource.id, "available")


def make_runner(db: Database) -> TaskRunner:
    runner = TaskRunner(db, workers=2, lease_s=LEASE_S, poll_s=0.05)
    runner.register("test.copy", chunk_writer, resumable=True, on_failure=volume_error)
    runner.register("test.convert", slow_convert, resumable=False, on_failure=volume_error)
    return runner


def child_main(url: str, workdir: Path) -> None:
    """Start both tasks, report their ids, and run until killed."""
    db = Database(url)
    runner = make_runner(db)
    runner.start()
    (workdir / "chunks").mkdir()
    with db.session() as session:
        copy = runner.submit(
            "test.copy",
            add_volume(session, "copy-vol"),
            {"dir": str(workdir / "chunks"), "chunks": CHUNKS, "delay_s": CHUNK_DELAY_S},
            session=session,
        )
        convert = runner.submit(
            "test.convert",
            add_volume(session, "convert-vol"),
            {"dir": str(workdir), "steps": 10_000, "delay_s": 0.01},
            session=session,
        )
    print(json.dumps({"owner": runner.owner, "copy": copy, "convert": convert}), flush=True)
    time.sleep(CHILD_TIMEOUT_S)  # the parent kills us long before
    sys.exit("not killed")


class RestartContract:
    @pytest.fixture
    def db_url(self) -> str:
        raise NotImplementedError

    @pytest.fixture
    def db(self, db_url: str) -> Iterator[Database]:
        with Database(db_url) as database:
            prepare(database)
            yield database

    def test_sigkilled_runner_is_resumed_or_failed_by_the_next(
        self, db: Database, db_url: str, tmp_path: Path
    ) -> None:
        chunks = tmp_path / "chunks"
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.unit.services.tasks.test_tasks_restart", db_url,
             str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO_ROOT,
        )
        try:
            assert child.stdout is not None
            line = child.stdout.readline()
            assert line, f"the child died: {child.communicate()[1]}"
            started = json.loads(line)

            def mid_task() -> bool:
                assert child.poll() is None, "the child exited early"
                log = chunks / "log"
                done = len(log.read_text().splitlines()) if log.exists() else 0
                return done >= 5 and (tmp_path / "convert.log").exists()

            wait_until(mid_task, "both tasks to be under way")
            os.kill(child.pid, signal.SIGKILL)
        finally:
            if child.poll() is None:
                child.kill()
            child.communicate(timeout=CHILD_TIMEOUT_S)
        assert child.returncode == -signal.SIGKILL
        # complete chunks are renamed into place: what exists now is what attempt 1 finished
        first_attempt = {int(path.name[5:]) for path in chunks.glob("chunk????")}
        assert 5 <= len(first_attempt) < CHUNKS

        runner = make_runner(db)
        try:
            for task_id in (started["copy"], started["convert"]):
                left = runner.get(task_id)
                assert left.state == TaskState.RUNNING and left.owner == started["owner"]
            report = runner.recover()
            assert report.resumed == (started["copy"],)
            assert report.failed == (started["convert"],)
            failed = runner.get(started["convert"])
            assert failed.state == TaskState.FAILED and failed.error is not None
            assert failed.error.startswith("interrupted: its runner")
            assert volume(db, "convert-vol") == ("error", failed.error)

            runner.start()
            copied = runner.wait(started["copy"], timeout_s=WAIT_S)
        finally:
            runner.shutdown(wait_s=10)
        assert copied.state == TaskState.SUCCEEDED and copied.attempts == 2
        assert volume(db, "copy-vol") == ("available", None)
        entries = [line.split() for line in (chunks / "log").read_text().splitlines()]
        second_attempt = [int(index) for attempt, index in entries if attempt == "2"]
        assert {int(index) for attempt, index in entries if attempt == "1"} <= first_attempt
        assert all(attempt in ("1", "2") for attempt, _ in entries)
        assert len(second_attempt) == len(set(second_attempt))
        assert set(second_attempt).isdisjoint(first_attempt)  # finished chunks not redone
        assert first_attempt | set(second_attempt) == set(range(CHUNKS))
        for index in range(CHUNKS):
            assert (chunks / f"chunk{index:04d}").read_bytes() == bytes([index]) * 4096
        assert list(chunks.glob("*.part")) == []
        # the conversion never ran again
        assert (tmp_path / "convert.log").read_text() == "started 1\n"


class TestRestartSQLite(RestartContract):
    @pytest.fixture
    def db_url(self, tmp_path: Path) -> str:
        (tmp_path / "db").mkdir()
        return default_url(tmp_path / "db")


if __name__ == "__main__":
    child_main(sys.argv[1], Path(sys.argv[2]))
