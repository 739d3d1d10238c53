"""Serve several ASGI apps on 127.0.0.1 ports from one process, stopping on SIGINT/SIGTERM.

::

    server = Server([Binding("identity", identity_app(...), 5000), ...])
    server.run()                        # blocks; returns after SIGINT or SIGTERM

or inside a running event loop::

    await server.start()                # every port listens when this returns
    server.urls                         # {"identity": "http://127.0.0.1:5000", ...}
    await server.stop()

Port 0 picks a free port (read it back from :attr:`Server.ports`). Each app runs on its
own uvicorn server; signals are handled once, by :meth:`Server.serve_forever`, not by
uvicorn, so one signal stops them all and the process exits normally (status 0). uvicorn
configures no logging and writes no access log: the apps log each request themselves
(``ApiSettings.access_log``), with its request id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from shoal.errors import Unavailable

__all__ = ["Binding", "Server", "serve"]

log = logging.getLogger("shoal.api")

#: How long start() waits for every server to listen, and stop() for requests to finish.
START_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Binding:
    """One app on one address. ``port`` 0 lets the OS pick a free port."""

    name: str
    app: ASGIApp
    port: int
    host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"{self.name}: port must be 0..65535, got {self.port}")


#: Seconds an idle keep-alive connection stays open.
KEEP_ALIVE_S = 75


class _UvicornServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to :class:`Server`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _listen(binding: Binding) -> socket.socket:
    family = socket.AF_INET6 if ":" in binding.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit it: without, a reply written in two pieces (head,
        # then body) waits for the client's delayed ACK, 40 ms a request on keep-alive.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((binding.host, binding.port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise Unavailable(
            f"cannot listen for {binding.name} on {binding.host}:{binding.port}: "
            f"{exc.strerror or exc}; choose another port"
        ) from exc
    return sock


class Server:
    """The uvicorn servers for ``bindings``, started and stopped together."""

    def __init__(self, bindings: Sequence[Binding]) -> None:
        names = [b.name for b in bindings]
        if len(set(names)) != len(names):
            raise ValueError(f"binding names must be unique, got {names}")
        if not bindings:
            raise ValueError("Server needs at least one binding")
        self.bindings = list(bindings)
        self._sockets: dict[str, socket.socket] = {}
        self._servers: dict[str, _UvicornServer] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    @property
    def ports(self) -> dict[str, int]:
        """Port each binding listens on (after :meth:`start`)."""
        return {name: int(sock.getsockname()[1]) for name, sock in self._sockets.items()}

    @property
    def urls(self) -> dict[str, str]:
        """``http://host:port`` of each binding (after :meth:`start`)."""
        hosts = {b.name: b.host for b in self.bindings}
        out = {}
        for name, port in self.ports.items():
            host = hosts[name]
            out[name] = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        return out

    async def start(self) -> None:
        """Listen on every binding and serve; returns once all accept connections.

        Raises:
            Unavailable: a port cannot be bound (in use, not permitted), or a server
                failed to start; nothing is left listening then.
        """
        if self._tasks:
            raise RuntimeError("Server already started")
        try:
            for binding in self.bindings:
                self._sockets[binding.name] = _listen(binding)
        except Unavailable:
            self._close_sockets()
            raise
        for binding in self.bindings:
            config = uvicorn.Config(
                binding.app,
                lifespan="off",
                log_config=None,  # the process's logging is the caller's (shoal.deploy)
                access_log=False,  # the apps write their own (ApiSettings.access_log)
                server_header=False,
                # an idle connection is kept 75 s (nginx's default), not uvicorn's 5 s: a
                # client that reuses it just as the server drops it gets "Remote end
                # closed connection" (keystoneauth does not retry), which a slow client
                # on a busy machine met between two requests of one command
                timeout_keep_alive=KEEP_ALIVE_S,
            )
            server = _UvicornServer(config)
            self._servers[binding.name] = server
            sockets = [self._sockets[binding.name]]
            self._tasks[binding.name] = asyncio.create_task(server.serve(sockets=sockets))
        await self._wait_started()

    async def _wait_started(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT_SECONDS
        while not all(s.started for s in self._servers.values()):
            failed = [n for n, t in self._tasks.items() if t.done()]
            if failed or loop.time() > deadline:
                await self.stop()
                raise Unavailable(f"API servers did not start: {failed or 'timed out'}")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Stop accepting, let running requests finish (up to STOP_TIMEOUT_SECONDS), close."""
        for server in self._servers.values():
            server.should_exit = True
        if self._tasks:
            done, pending = await asyncio.wait(
                self._tasks.values(), timeout=STOP_TIMEOUT_SECONDS
            )
            for server in self._servers.values():
                server.force_exit = True
            if pending:
                await asyncio.wait(pending, timeout=1.0)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    log.error("API server failed", exc_info=task.exception())
        self._tasks.clear()
        self._servers.clear()
        self._close_sockets()

    def _close_sockets(self) -> None:
        for sock in self._sockets.values():
            sock.close()
        self._sockets.clear()

    async def serve_forever(
        self, ready: Callable[[Server], None] | None = None
    ) -> None:
        """Start, call ``ready(self)``, serve until SIGINT or SIGTERM, then stop.

        Must run in the main thread (signal handlers).
        """
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        signals = (signal.SIGINT, signal.SIGTERM)
        for sig in signals:
            loop.add_signal_handler(sig, stopping.set)
        try:
            await self.start()
            if ready is not None:
                ready(self)
            await stopping.wait()
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)
            await self.stop()

    def run(self, ready: Callable[[Server], None] | None = None) -> None:
        """:meth:`serve_forever` in a new event loop (blocks until a signal)."""
        asyncio.run(self.serve_forever(ready))


def serve(
    apps: Mapping[str, ASGIApp],
    ports: Mapping[str, int],
    *,
    host: str = "127.0.0.1",
    ready: Callable[[Server], None] | None = None,
) -> None:
    """Serve each app of ``apps`` on ``host``:``ports[name]`` until SIGINT/SIGTERM.

    Raises:
        ValueError: an app has no port.
        Unavailable: a port cannot be bound.
    """
    missing = sorted(set(apps) - set(ports))
    if missing:
        raise ValueError(f"no port given for {missing}")
    Server([Binding(name, app, ports[name], host) for name, app in apps.items()]).run(ready)
