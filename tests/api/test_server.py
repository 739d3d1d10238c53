"""The multi-port server: a real process on free 127.0.0.1 ports answering every version
document over real HTTP, stopping cleanly on SIGTERM and SIGINT; and the Python API."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from shoal.api import Binding, Server, compute_app, identity_app, volume_app
from shoal.errors import Unavailable

SERVICES = ("identity", "image", "volume", "compute")


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports free on 127.0.0.1 right now."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def start(ports: dict[str, int]) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "shoal.api"]
    for name, port in ports.items():
        args += ["--port", f"{name}={port}"]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    ports = dict(zip(SERVICES, free_ports(4), strict=True))
    process = start(ports)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, process.stderr.read() if process.stderr else ""
        urls = json.loads(line)
        assert urls == {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        yield process, urls
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)  # also closes the pipes


def test_real_process_serves_every_version_document(
    served: tuple[subprocess.Popen[str], dict[str, str]],
) -> None:
    process, urls = served
    expected = [
        ("identity", "/identity", 300),
        ("identity", "/identity/v3", 200),
        ("image", "/image", 300),
        ("image", "/image/versions", 200),
        ("volume", "/volume/", 300),
        ("volume", "/volume/v3/", 200),
        ("compute", "/compute/", 200),
        ("compute", "/compute/v2.1", 200),
    ]
    with httpx.Client(timeout=5) as client:
        for service, path, status in expected:
            response = client.get(urls[service] + path)
            assert response.status_code == status, (service, path)
            assert response.headers["content-type"] == "application/json"
            assert urls[service] in response.text  # links name the host:port asked
        versioned = client.get(urls["compute"] + "/compute/v2.1",
                               headers={"OpenStack-API-Version": "compute 2.79"})
        assert versioned.headers["X-OpenStack-Nova-API-Version"] == "2.79"
        missing = client.get(urls["volume"] + "/volume/v3/volumes")
        assert (missing.status_code, list(missing.json())) == (404, ["itemNotFound"])
        assert "server" not in missing.headers
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0
    for url in urls.values():
        with pytest.raises(httpx.ConnectError):
            httpx.get(url + "/", timeout=2)


def test_sigint_stops_cleanly(served: tuple[subprocess.Popen[str], dict[str, str]]) -> None:
    process, urls = served
    assert httpx.get(urls["image"] + "/image/versions", timeout=5).status_code == 200
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=15) == 0
    assert process.stderr is not None
    assert "Traceback" not in process.stderr.read()


def test_port_in_use_fails_with_a_message() -> None:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    try:
        taken = int(blocker.getsockname()[1])
        free = free_ports(3)
        process = start(dict(zip(SERVICES, [free[0], free[1], taken, free[2]], strict=True)))
        _, err = process.communicate(timeout=30)
        assert process.returncode == 1
        assert f"cannot listen for volume on 127.0.0.1:{taken}" in err
        assert "Traceback" not in err
    finally:
        blocker.close()


def test_python_api_start_stop_on_port_zero() -> None:
    async def scenario() -> None:
        server = Server([
            Binding("identity", identity_app(), 0),
            Binding("volume", volume_app(), 0),
            Binding("compute", compute_app(), 0),
        ])
        await server.start()
        try:
            assert set(server.ports) == {"identity", "volume", "compute"}
            assert all(port > 0 for port in server.ports.values())
            async with httpx.AsyncClient(timeout=5) as client:
                r = await client.get(server.urls["identity"] + "/identity/v3")
                assert r.status_code == 200
                assert r.json()["version"]["links"][0]["href"] == (
                    server.urls["identity"] + "/identity/v3/"
                )
        finally:
            await server.stop()
        assert server.ports == {}

    asyncio.run(scenario())


def test_listeners_disable_nagle() -> None:
    """Accepted connections inherit TCP_NODELAY from the listener: a keep-alive reply is
    not held back until the client's delayed ACK (40 ms a request before this)."""

    async def scenario() -> None:
        server = Server([Binding("identity", identity_app(), 0)])
        await server.start()
        try:
            listener = server._sockets["identity"]
            assert listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        finally:
            await server.stop()

    asyncio.run(scenario())


def test_binding_and_server_validation() -> None:
    with pytest.raises(ValueError):
        Binding("x", identity_app(), 70000)
    with pytest.raises(ValueError):
        Server([Binding("x", identity_app(), 0), Binding("x", volume_app(), 0)])
    with pytest.raises(ValueError):
        Server([])


def test_start_failure_leaves_nothing_listening() -> None:
    async def scenario() -> int:
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        first = free_ports(1)[0]
        server = Server([
            Binding("identity", identity_app(), first),
            Binding("volume", volume_app(), int(blocker.getsockname()[1])),
        ])
        try:
            with pytest.raises(Unavailable, match="cannot listen for volume"):
                await server.start()
        finally:
            blocker.close()
        return first

    first = asyncio.run(scenario())
    probe = socket.socket()
    try:
        probe.bind(("127.0.0.1", first))  # the first binding's socket was released
    finally:
        probe.close()
