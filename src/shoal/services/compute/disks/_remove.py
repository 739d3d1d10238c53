"""Removing a guest disk as Nova's ``_destroy_volume`` does: retried while busy.

One try (:func:`try_remove`) removes the image; if it has snapshots (a
``nova-resize`` or a direct snapshot left behind), they are unprotected and
removed first, then the image again. A disk another client has open (it has
watchers: a running guest, a ``rbd map``) is busy; so is one whose snapshots
still have clones. :func:`destroy` makes ``attempts`` tries with ``pause()``
between them, then raises :class:`DiskBusy` saying why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from shoal.services.compute.disks._errors import DiskBusy
from shoal.services.volume.driver import Pool

__all__ = ["destroy", "try_remove"]

log = logging.getLogger("shoal.services.compute")


def _in_use(pool: Pool, name: str) -> str:
    """Why ``name`` is busy, naming its watchers' addresses when they can be read."""
    try:
        with pool.open(name, read_only=True) as img:
            watchers = [str(w.get("addr", "?")) for w in img.watchers_list()]
    except pool.lib.ImageNotFound:
        return "it was open by another client"
    if not watchers:
        return "it is locked by another client"
    return f"it is open by another client ({', '.join(watchers)})"


def _remove_once(pool: Pool, name: str) -> str | None:
    """``rbd rm``: None once ``name`` is gone (also if it was not there), else why
    not; ``ImageHasSnapshots`` passes to the caller."""
    try:
        pool.lib.RBD().remove(pool.ioctx, name)
    except pool.lib.ImageNotFound:
        return None
    except pool.lib.ImageBusy:
        return _in_use(pool, name)
    return None


def _drop_snaps(pool: Pool, name: str) -> list[str]:
    """Unprotect and remove every snapshot of ``name``; return those kept (clones of
    them exist). Opens the image for writing only if it has snapshots."""
    with pool.open(name, read_only=True) as img:
        snaps = [str(s["name"]) for s in img.list_snaps()]
    if not snaps:
        return []
    with pool.open(name) as img:
        return [snap for snap in snaps if not pool.remove_snap(img, snap)]


def try_remove(pool: Pool, name: str) -> str | None:
    """One try at removing image ``name`` with its snapshots: None once it is gone,
    else why it is still there (busy; the caller may try again)."""
    try:
        return _remove_once(pool, name)
    except pool.lib.ImageHasSnapshots:
        pass
    try:
        kept = _drop_snaps(pool, name)
    except pool.lib.ImageNotFound:
        return None
    except pool.lib.ImageBusy:
        return _in_use(pool, name)
    if kept:
        return f"clones of its snapshots {', '.join(kept)} exist"
    try:
        return _remove_once(pool, name)
    except pool.lib.ImageHasSnapshots:
        return "it still has snapshots (with clones, or taken meanwhile)"


def destroy(pool: Pool, name: str, attempts: int, interval_s: float,
            pause: Callable[[], None]) -> None:
    """Remove image ``name`` of ``pool``, trying ``attempts`` (>= 1) times with
    ``pause()`` (``interval_s`` seconds, for the message) between two tries.

    Raises:
        DiskBusy: still busy after the last try (its ``busy`` is ``[name]``).
    """
    assert attempts >= 1
    why: str | None = None
    for attempt in range(attempts):
        if attempt:
            pause()
        why = try_remove(pool, name)
        if why is None:
            return
        log.warning("removing guest disk %s/%s failed (try %d of %d): %s", pool.name, name,
                    attempt + 1, attempts, why)
    raise DiskBusy(
        f"guest disk {pool.name}/{name} could not be removed after {attempts} tries "
        f"{interval_s:g} s apart: {why}; retry once it is released ([libvirt] "
        "rbd_destroy_volume_retries and rbd_destroy_volume_retry_interval set how long "
        "removal waits)", busy=[name], removed=[])
