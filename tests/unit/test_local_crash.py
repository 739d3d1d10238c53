"""Crash safety of the local store: a writer killed with SIGKILL at random moments.

After every kill the store must open, be consistent, hold every acknowledged
operation, and show the operation in flight either fully applied or not at all.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from shoal import errors
from shoal.objstore.local import LocalStore

from ._store_workload import Model, operations

WORKLOAD = Path(__file__).with_name("_store_workload.py")
TRIALS = int(os.environ.get("SHOAL_CRASH_TRIALS", "30"))
OPS_PER_TRIAL = 400

State = dict[str, tuple[bytes, dict[str, bytes], dict[str, bytes]]]


def read_state(root: Path, prefix: str | None = None) -> State:
    """Everything in pool ``crash`` (objects starting with ``prefix`` if given)."""
    store = LocalStore(root)
    try:
        io = store.open_ioctx("crash")
        state: State = {}
        cursor: str | None = None
        while True:
            page = io.list_objects(prefix or "", cursor, 1000)
            for name in page.names:
                size = io.stat(name).size
                data = io.read(name, size, 0)
                assert len(data) == size
                state[name] = (data, io.get_xattrs(name), dict(io.omap_iter(name)))
            cursor = page.cursor
            if cursor is None:
                return state
    finally:
        store.close()


def run_until_killed(root: Path, prefix: str, seed: int, delay: float) -> int:
    """Start the workload, SIGKILL it ``delay`` s after it is ready; return the last ack."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    with subprocess.Popen(
        [sys.executable, str(WORKLOAD), str(root), prefix, str(seed), str(OPS_PER_TRIAL)],
        stdout=subprocess.PIPE,
        env=env,
    ) as child:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        out = child.stdout.read().decode()
    acks = [int(line.split()[1]) for line in out.splitlines() if line.startswith("ack ")]
    return acks[-1] if acks else -1


def model_states(prefix: str, seed: int, last_ack: int) -> tuple[Any, Any]:
    """The model after every acknowledged op, and after the one in flight too."""
    ops = operations(prefix, seed, OPS_PER_TRIAL)
    model = Model()
    for op in ops[: last_ack + 1]:
        model.apply(op)
    done = model.snapshot()
    if last_ack + 1 < len(ops):
        model.apply(ops[last_ack + 1])
    return done, model.snapshot()


@pytest.mark.slow
def test_sigkill_at_random_moments(tmp_path: Path) -> None:
    rng = random.Random(1234)
    before: State = {}
    for trial in range(TRIALS):
        prefix = f"t{trial:03d}"
        seed = rng.randrange(1 << 30)
        last_ack = run_until_killed(tmp_path, prefix, seed, rng.uniform(0.005, 0.25))
        done, with_next = model_states(prefix, seed, last_ack)
        mine = read_state(tmp_path, prefix)
        assert mine in (done, with_next), f"trial {trial}: state matches neither model"
        everything = read_state(tmp_path)
        others = {k: v for k, v in everything.items() if not k.startswith(prefix)}
        assert others == before, f"trial {trial}: earlier trials' objects changed"
        before = everything
    store = LocalStore(tmp_path)
    try:
        store.scrub()
    finally:
        store.close()
    assert read_state(tmp_path) == before


def test_store_usable_after_kill_during_open(tmp_path: Path) -> None:
    """A store whose creator died right after start opens and works."""
    run_until_killed(tmp_path, "x", 1, 0.0)
    store = LocalStore(tmp_path)
    try:
        io = store.open_ioctx("crash")
        io.write_full("after", b"ok")
        assert io.read("after") == b"ok"
        with pytest.raises(errors.ObjectNotFound):
            io.stat("never")
    finally:
        store.close()
