"""Runner owner ids, and telling whether the runner behind an owner id is certainly gone.

An owner id is ``HOST:KEY:PID:START:NONCE``: the host name, a key naming this kernel boot and
pid namespace (so containers sharing a host name never judge each other), the process id, the
process's start time (kernel clock ticks after boot, so a reused pid is told apart) and a
random nonce (one per runner: a process may run several).

:func:`owner_gone` answers True only when it is certain: the owner lived on this host, in this
pid namespace, and its process has exited (or the pid now belongs to another process), or it
is this very process and no runner here uses that id any more. Anything else (another host,
no ``/proc``) is "unknown": the caller then relies on the heartbeat lease alone.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import uuid
from pathlib import Path

__all__ = ["new_owner_id", "owner_gone", "register_live", "unregister_live"]

_live_lock = threading.Lock()
_live: set[str] = set()


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def _namespace_key() -> str:
    """This boot and pid namespace, hashed; ``-`` where /proc does not tell."""
    boot = _read("/proc/sys/kernel/random/boot_id")
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = None
    if boot is None or namespace is None:
        return "-"
    return hashlib.sha256(f"{boot}/{namespace}".encode()).hexdigest()[:12]


def _start_ticks(pid: int) -> str | None:
    """Process ``pid``'s start time (clock ticks after boot); None if it is gone or a zombie."""
    stat = _read(f"/proc/{pid}/stat")
    if stat is None:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses; cut after the last ")".
    fields = stat[stat.rfind(")") + 2 :].split()
    if len(fields) <= 19 or fields[0] in ("Z", "X"):  # exited, not yet reaped: gone all the same
        return None
    return fields[19]  # field 22 of proc(5), counted from field 3


_HOST = socket.gethostname() or "localhost"
_KEY = _namespace_key()


def new_owner_id() -> str:
    """A fresh owner id for a runner in this process (see the module doc)."""
    pid = os.getpid()
    start = _start_ticks(pid) or "-"
    return f"{_HOST}:{_KEY}:{pid}:{start}:{uuid.uuid4().hex[:12]}"


def register_live(owner: str) -> None:
    """Mark ``owner`` as a runner alive in this process."""
    with _live_lock:
        _live.add(owner)


def unregister_live(owner: str) -> None:
    """``owner``'s runner stopped: from now on :func:`owner_gone` may judge it gone."""
    with _live_lock:
        _live.discard(owner)


def owner_gone(owner: str) -> bool:
    """True when the runner ``owner`` certainly runs no more; False if alive or unknown."""
    with _live_lock:
        if owner in _live:
            return False
    parts = owner.rsplit(":", 4)
    if len(parts) != 5:
        return False
    host, key, pid_text, start, _nonce = parts
    if host != _HOST or key != _KEY or key == "-" or start == "-" or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return True  # this process (or an earlier one with its pid), no live runner by that id
    return _start_ticks(pid) != start
