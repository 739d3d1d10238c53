"""Image data over HTTP: the upload body bridged to the (blocking) store, and downloads.

An upload streams: the request body is read on the event loop and handed, in pieces of
up to :data:`UPLOAD_PIECE_BYTES`, through a small bounded queue to the store writing in a
worker thread, so receiving and writing overlap and memory stays bounded
(``UPLOAD_QUEUE_PIECES`` times the piece size). If the writer stops early (refused, failed), the
rest of the body is not read. A client that disconnects mid-body makes the writer's
iterator raise, so the store removes what it wrote.
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeVar

import anyio
import anyio.to_thread
from starlette.requests import ClientDisconnect, Request

from shoal import errors
from shoal.services.image.store import RangeNotSatisfiable

__all__ = ["parse_range", "stream_reader", "upload_stream"]

T = TypeVar("T")

UPLOAD_PIECE_BYTES = 4 << 20
UPLOAD_QUEUE_PIECES = 4
_END = object()


class _Abandoned(Exception):
    pass


async def upload_stream(request: Request, write: Callable[[Iterator[bytes]], T]) -> T:
    """Run ``write(pieces)`` in a worker thread, feeding it the request body; return its
    result. ``pieces`` raises BadRequest-like errors if the client goes away mid-body."""
    pieces: queue.Queue[object] = queue.Queue(maxsize=UPLOAD_QUEUE_PIECES)
    abandoned = threading.Event()

    def consume() -> Iterator[bytes]:
        while True:
            item = pieces.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, bytes | bytearray)
            yield bytes(item)

    def run() -> T:
        try:
            return write(consume())
        finally:
            abandoned.set()
            while True:  # unblock a producer waiting for room
                try:
                    pieces.get_nowait()
                except queue.Empty:
                    break

    async def put(item: object) -> None:
        while not abandoned.is_set():
            try:
                pieces.put_nowait(item)
                return
            except queue.Full:
                await anyio.sleep(0.002)

    async def produce() -> None:
        buffer = bytearray()
        try:
            async for chunk in request.stream():
                if abandoned.is_set():
                    return
                buffer += chunk
                if len(buffer) >= UPLOAD_PIECE_BYTES:
                    await put(bytes(buffer))
                    buffer.clear()
            if buffer:
                await put(bytes(buffer))
            await put(_END)
        except ClientDisconnect:
            await put(errors.InvalidArgument(
                "the client disconnected before sending all the image data"))

    result: list[T] = []
    failure: list[BaseException] = []

    async with anyio.create_task_group() as group:
        group.start_soon(produce)
        try:
            result.append(await anyio.to_thread.run_sync(run))
        except Exception as exc:  # re-raised below, not wrapped in an ExceptionGroup
            failure.append(exc)
        group.cancel_scope.cancel()
    if failure:
        raise failure[0]
    return result[0]


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(offset, length)`` of a single-range ``Range: bytes=a-b`` header over ``size``
    bytes; None when absent or not a single byte range (serve the whole image).

    Raises:
        RangeNotSatisfiable: the range starts past the end (416).
    """
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":  # the last N bytes
        count = min(int(last), size)
        return size - count, count
    start = int(first)
    if start >= size:
        raise RangeNotSatisfiable(f"the range starts at {start}, past the image's {size} bytes")
    end = size - 1 if last == "" else min(int(last), size - 1)
    if end < start:
        return None
    return start, end - start + 1


async def stream_reader(reader: Iterator[bytes], close: Callable[[], None]
                        ) -> AsyncIterator[bytes]:
    """The pieces of a blocking ``reader``, each read in a worker thread; ``close`` ends it."""
    try:
        while True:
            piece = await anyio.to_thread.run_sync(next, reader, _END)
            if piece is _END:
                return
            assert isinstance(piece, bytes)
            yield piece
    finally:
        await anyio.to_thread.run_sync(close)
