"""Hashing image data in worker threads, so that it overlaps with storing it.

Glance computes two digests of every upload (md5 ``checksum`` and the ``os_hash_value``
multihash, sha512 by default). Done in the writing thread they cost about as much time as
the write itself; hashlib releases the GIL on large buffers, so each digest runs in its own
thread and the writer only hands pieces over (bounded queues: memory stays at ``depth``
pieces per digest).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from typing import Any

__all__ = ["BackgroundDigests"]

_END = object()


class _Worker:
    def __init__(self, digest: Any, depth: int) -> None:
        self.digest = digest
        self.pieces: queue.Queue[object] = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="shoal-digest", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            piece = self.pieces.get()
            if piece is _END:
                return
            if self.error is None:
                try:
                    self.digest.update(piece)
                except BaseException as exc:  # reported by finish()
                    self.error = exc


class BackgroundDigests:
    """``update`` hands a piece to every digest's thread; ``finish`` waits for them.

    Use as a context manager: leaving the block stops the threads (after ``finish``, or
    on an error, without waiting for the remaining pieces to be hashed).
    """

    def __init__(self, digests: Sequence[Any], depth: int = 4) -> None:
        self._workers = [_Worker(d, depth) for d in digests]
        self._finished = False

    def update(self, piece: bytes) -> None:
        """Queue ``piece`` (bytes: not changed afterwards) for every digest."""
        for worker in self._workers:
            worker.pieces.put(piece)

    def finish(self) -> None:
        """Wait until every piece is hashed; re-raise a digest's error."""
        self._stop()
        for worker in self._workers:
            if worker.error is not None:
                raise worker.error

    def _stop(self) -> None:
        if self._finished:
            return
        self._finished = True
        for worker in self._workers:
            worker.pieces.put(_END)
        for worker in self._workers:
            worker.thread.join()

    def __enter__(self) -> BackgroundDigests:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._finished:
            for worker in self._workers:
                worker.error = worker.error or RuntimeError("abandoned")
                while True:  # drop what is queued: nobody needs these digests now
                    try:
                        worker.pieces.get_nowait()
                    except queue.Empty:
                        break
            self._stop()
