"""Shared fixtures: a temporary data directory, sessions, and the ``shoal`` CLI as a process."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from shoal.cluster import EmbeddedSession, connect
from shoal.objstore import ObjectStore
from shoal.objstore.memory import MemoryStore
from tests.shoal_cli import RunShoal, run_shoal_cli


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A fresh, not yet initialised data directory path."""
    return tmp_path / "shoal-data"


@pytest.fixture
def run_shoal(data_dir: Path) -> RunShoal:
    """Run ``shoal ARGS...`` as a subprocess with ``SHOAL_DATA_DIR=data_dir``.

    Keyword arguments: ``input`` (stdin text), ``env`` (extra environment).
    Returns the CompletedProcess (text mode); never raises on a non-zero exit.
    """

    def run(
        *args: str, input: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run_shoal_cli(data_dir, *args, input=input, env=env)

    return run


@pytest.fixture
def memory_store() -> Iterator[ObjectStore]:
    """An in-memory object store, closed after the test."""
    store = MemoryStore()
    yield store
    store.close()


@pytest.fixture
def admin(data_dir: Path, memory_store: ObjectStore) -> Iterator[EmbeddedSession]:
    """A client.admin session on ``data_dir`` whose objects live in ``memory_store``."""
    session = connect(data_dir, store=memory_store)
    yield session
    session.shutdown()
