"""``python -m shoal.api [--host H] [--port NAME=PORT ...]``: the four service apps with
their version documents only (no routes, no token validator), for trying the edge and for
tests. Prints one JSON line ``{"identity": "http://127.0.0.1:PORT", ...}`` once listening;
stops on SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import json
import sys

from starlette.types import ASGIApp

from shoal.api._app import compute_app, identity_app, image_app, volume_app
from shoal.api._server import Server, serve
from shoal.errors import ShoalError

DEFAULT_PORTS = {"identity": 5000, "image": 9292, "volume": 8776, "compute": 8774}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shoal.api")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port",
        action="append",
        default=[],
        metavar="NAME=PORT",
        help="port of one service (identity, image, volume, compute); 0 picks a free one",
    )
    args = parser.parse_args(argv)
    ports = dict(DEFAULT_PORTS)
    for item in args.port:
        name, _, value = item.partition("=")
        if name not in ports or not value.isdigit():
            parser.error(f"--port wants NAME=PORT with NAME in {sorted(ports)}, got {item!r}")
        ports[name] = int(value)
    apps: dict[str, ASGIApp] = {
        "identity": identity_app(),
        "image": image_app(),
        "volume": volume_app(),
        "compute": compute_app(),
    }

    def ready(server: Server) -> None:
        print(json.dumps(server.urls), flush=True)

    try:
        serve(apps, ports, host=args.host, ready=ready)
    except ShoalError as exc:
        print(f"python -m shoal.api: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
