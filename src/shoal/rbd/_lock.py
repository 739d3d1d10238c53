"""Exclusive-lock ownership for the embedded engine.

One writer per image: the first write-type operation of an image handle (with the
``exclusive-lock`` feature) takes the lock on ``rbd_header.<id>``; a second
handle gets ImageBusy while the owner lives. An owner is a handle identified by
a random cookie, recorded with its host, pid and process start time; when that
process is gone (or the pid was reused) the lock is broken and taken over, as
Ceph does after blocklisting a dead client.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from typing import Any

__all__ = ["LockOwner", "is_alive", "new_owner"]


def _start_time(pid: int) -> str | None:
    """The process start time (clock ticks since boot), None if no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # Field 22; the command name (field 2) may contain spaces, so split after ')'.
    rest = stat[stat.rfind(b")") + 2 :].split()
    return rest[19].decode() if len(rest) > 19 else None


@dataclass(frozen=True)
class LockOwner:
    cookie: str
    entity: str
    host: str
    pid: int
    start: str

    def as_doc(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "host": self.host,
            "pid": self.pid,
            "start": self.start,
            "address": f"{self.host}:0/{self.pid}",
        }


def new_owner(entity: str) -> LockOwner:
    pid = os.getpid()
    return LockOwner(
        secrets.token_hex(8), entity, socket.gethostname(), pid, _start_time(pid) or "?"
    )


def is_alive(held: dict[str, Any]) -> bool:
    """Whether the recorded owner process still runs (unknown hosts count as alive)."""
    if held.get("host") != socket.gethostname():
        return True
    pid = int(held.get("pid", 0))
    return pid > 0 and _start_time(pid) == held.get("start")
