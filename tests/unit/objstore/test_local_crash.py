"""Crash safety of the local store: a writer killed with SIGKILL at random moments.

After every kill the store must open, be consistent, hold every acknowledged
operation, and show the operation in flight either fully applied or not at all
— at the head and at every live snapshot (the workload makes clones, rolls
back and trims snaps too).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shoal import errors
from shoal.objstore.local import LocalStore
from tests.unit.objstore._store_workload import Model, State, object_names, operations

WORKLOAD = Path(__file__).with_name("_store_workload.py")
TRIALS = int(os.environ.get("SHOAL_CRASH_TRIALS", "30"))
OPS_PER_TRIAL = 400

#: The heads, and every object at each live snap (by snap ordinal).
Expected = tuple[State, dict[int, State]]


def read_state(root: Path, prefix: str | None = None) -> State:
    """Every head in pool ``crash`` (objects starting with ``prefix`` if given)."""
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


def read_snap_states(root: Path, prefix: str, snap_ids: list[int]) -> dict[int, State]:
    """The run's objects as readers at each of ``snap_ids`` see them."""
    store = LocalStore(root)
    try:
        io = store.open_ioctx("crash")
        out: dict[int, State] = {}
        for snap_id in snap_ids:
            io.set_read(snap_id)
            state: State = {}
            for name in object_names(prefix):
                try:
                    size = io.stat(name).size
                except errors.ObjectNotFound:
                    continue
                data = io.read(name, size, 0)
                assert len(data) == size
                state[name] = (data, io.get_xattrs(name), dict(io.omap_iter(name)))
            out[snap_id] = state
        return out
    finally:
        store.close()


def run_until_killed(root: Path, prefix: str, seed: int, delay: float) -> tuple[int, list[str]]:
    """Start the workload, SIGKILL it ``delay`` s after it is ready.

    Returns the last acknowledged operation and the ack lines.
    """
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
    acks = [line.split() for line in out.splitlines() if line.startswith("ack ")]
    return (int(acks[-1][1]) if acks else -1), out.splitlines()


def snap_ids_from_acks(prefix: str, seed: int, lines: list[str]) -> dict[int, int]:
    """Snap ordinal -> snap id, for every acknowledged snap creation."""
    ops = operations(prefix, seed, OPS_PER_TRIAL)
    ids: dict[int, int] = {}
    for line in lines:
        parts = line.split()
        if parts[0] == "ack" and len(parts) == 3:
            op = ops[int(parts[1])]
            assert op[0] == "snap"
            ids[op[2]] = int(parts[2])
    return ids


def model_states(prefix: str, seed: int, last_ack: int) -> tuple[Expected, Expected]:
    """The model after every acknowledged op, and after the one in flight too."""
    ops = operations(prefix, seed, OPS_PER_TRIAL)
    model = Model()
    for op in ops[: last_ack + 1]:
        model.apply(op)
    done = (model.snapshot(), model.snap_states())
    if last_ack + 1 < len(ops):
        model.apply(ops[last_ack + 1])
    return done, (model.snapshot(), model.snap_states())


def matches(
    root: Path, prefix: str, expected: Expected, ids: dict[int, int]
) -> dict[int, State] | None:
    """If the store holds ``expected``, its snap states by snap id; else None.

    A snap created by the operation in flight has no known id and is not read
    (nothing was written under it).
    """
    heads, snaps = expected
    if read_state(root, prefix) != heads:
        return None
    known = {ids[o]: state for o, state in snaps.items() if o in ids}
    if read_snap_states(root, prefix, sorted(known)) != known:
        return None
    return known


@pytest.mark.slow
def test_sigkill_at_random_moments(tmp_path: Path) -> None:
    rng = random.Random(1234)
    before: State = {}
    at_snaps: dict[str, dict[int, State]] = {}  # every run's live snaps, read back
    for trial in range(TRIALS):
        prefix = f"t{trial:03d}"
        seed = rng.randrange(1 << 30)
        last_ack, lines = run_until_killed(tmp_path, prefix, seed, rng.uniform(0.005, 0.25))
        ids = snap_ids_from_acks(prefix, seed, lines)
        done, with_next = model_states(prefix, seed, last_ack)
        found = matches(tmp_path, prefix, done, ids)
        if found is None:
            found = matches(tmp_path, prefix, with_next, ids)
        assert found is not None, f"trial {trial}: state matches neither model"
        at_snaps[prefix] = found
        everything = read_state(tmp_path)
        others = {k: v for k, v in everything.items() if not k.startswith(prefix)}
        assert others == before, f"trial {trial}: earlier trials' objects changed"
        before = everything
    store = LocalStore(tmp_path)
    try:
        store.scrub()
        assert store.scrub() == 0
    finally:
        store.close()
    assert read_state(tmp_path) == before
    for prefix, states in at_snaps.items():
        assert read_snap_states(tmp_path, prefix, sorted(states)) == states, prefix


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


@pytest.mark.parametrize("seed", [7, 8])
def test_workload_model_agrees_with_the_store(tmp_path: Path, seed: int) -> None:
    """Without crashes, the store ends exactly where the model says (heads and snaps)."""
    from tests.unit.objstore._store_workload import Runner

    ops = operations("m", seed, 250)
    assert {op[0] for op in ops} >= {"snap", "rmsnap", "rollback", "write", "remove"}
    store = LocalStore(tmp_path)
    try:
        store.create_pool("crash", 16)
        runner = Runner(store.open_ioctx("crash"))
        model = Model()
        for i, op in enumerate(ops):
            runner.run(op)
            model.apply(op)
            if i % 50 == 49 or i == len(ops) - 1:
                store.flush()
                expected = (model.snapshot(), model.snap_states())
                assert matches(tmp_path, "m", expected, runner.ids) is not None, f"after op {i}"
    finally:
        store.close()
