"""An in-process Nova app for the API tests, whose replies are checked against Tempest's
own response schemas (run in Tempest's venv, as Tempest's service clients check them)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from starlette.routing import BaseRoute

from shoal.api import ApiSettings, compute_app
from tests.api.conftest import TOKENS, FakeValidator, call
from tests.tempest._harness import tempest_bin

__all__ = ["NovaApi"]

_SCRIPT = (
    "import importlib, json, sys\n"
    "from tempest.lib.common import rest_client\n"
    "for case in json.load(open(sys.argv[1])):\n"
    "    mod = importlib.import_module("
    "'tempest.lib.api_schema.response.compute.' + case['module'])\n"
    "    schema = getattr(mod, case['schema'])\n"
    "    class R(dict):\n"
    "        status = case['status']\n"
    "    rest_client.RestClient.validate_response(schema, R(), case['body'])\n"
)


def _version(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


class NovaApi:
    """``routes`` under ``/compute/v2.1`` with the fake token table; a call given a
    ``schema`` (a Tempest schema's name) has its status and body recorded for
    :meth:`check_tempest_schemas`."""

    def __init__(self, routes: Sequence[BaseRoute], token: str) -> None:
        self.app = compute_app(routes=list(routes), validator=FakeValidator(TOKENS),
                               settings=ApiSettings())
        self.token = token
        self.replies: list[tuple[str, str, int, Any]] = []

    def __call__(self, method: str, path: str, token: str | None = None,
                 version: str = "2.1", schema: str | None = None, **kwargs: Any
                 ) -> httpx.Response:
        headers = {"X-Auth-Token": token or self.token,
                   "OpenStack-API-Version": f"compute {version}"}
        reply = call(self.app, method, f"/compute/v2.1{path}", headers=headers, **kwargs)
        if schema is not None:
            self.replies.append((version, schema, reply.status_code,
                                 reply.json() if reply.content else None))
        return reply

    def check_tempest_schemas(self, resource: str, modules: Sequence[tuple[str, str]],
                              tmp_path: Path) -> None:
        """Validate every recorded reply with Tempest's
        ``response/compute/<module>/<resource>`` schemas; ``modules`` pairs a microversion
        with the module that holds its schemas (newest first: a reply takes the newest at
        or below its own)."""
        if not self.replies:
            return
        cases = []
        for version, schema, status, body in self.replies:
            module = next(m for v, m in modules if _version(version) >= _version(v))
            cases.append({"module": f"{module}.{resource}", "schema": schema,
                          "status": status, "body": body})
        path = tmp_path / "replies.json"
        path.write_text(json.dumps(cases))
        done = subprocess.run([str(tempest_bin() / "python"), "-c", _SCRIPT, str(path)],
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
