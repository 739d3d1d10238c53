"""The task runner on a real PostgreSQL: the same test bodies as on SQLite (tests/unit)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from shoal.services.tasks import ResourceRef, TaskContext, TaskRunner, TaskState
from tests.unit.services.tasks.test_tasks import WAIT_S, TaskRunnerContract, volume_error
from tests.unit.services.tasks.test_tasks_restart import RestartContract


class TestTaskRunnerPostgres(TaskRunnerContract):
    @pytest.fixture
    def db_url(self, pg_url: str) -> str:
        return pg_url

    def test_many_runners_claim_disjoint_tasks(
        self, make_runner: Callable[..., TaskRunner]
    ) -> None:
        """Four runners racing for 60 tasks (FOR UPDATE SKIP LOCKED): each runs once."""
        lock = threading.Lock()
        ran: list[str] = []

        def work(ctx: TaskContext) -> None:
            time.sleep(0.005)
            with lock:
                ran.append(ctx.task_id)

        runners = [make_runner(workers=4, poll_s=0.01) for _ in range(4)]
        for runner in runners:
            runner.register("work", work, resumable=True, on_failure=volume_error)
        ids = [runners[0].submit("work", ResourceRef("volume", f"v{i}")) for i in range(60)]
        for runner in runners:
            runner.start()
        for task_id in ids:
            info = runners[0].wait(task_id, timeout_s=WAIT_S)
            assert info.state == TaskState.SUCCEEDED and info.attempts == 1
        assert sorted(ran) == sorted(ids)


class TestRestartPostgres(RestartContract):
    @pytest.fixture
    def db_url(self, pg_url: str) -> str:
        return pg_url
