"""What the end-to-end modules share for talking to one ``shoal up`` run: a client's exit
checked (:func:`ok`, :func:`out_json`) and the volume API as the admin over HTTP
(:class:`AdminVolumeApi`, microversion 3.60)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import httpx

from tests.shoal_up import ShoalUp, token

__all__ = ["AdminVolumeApi", "ok", "out_json"]


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """The standard output of a client run that must succeed (its output otherwise)."""
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


def out_json(result: subprocess.CompletedProcess[str]) -> Any:
    """The JSON a client run that must succeed printed (``-f json``)."""
    return json.loads(ok(result))


class AdminVolumeApi:
    """The volume API of one ``shoal up`` run, as the admin, at microversion 3.60."""

    def __init__(self, up: ShoalUp) -> None:
        self.client = httpx.Client(base_url=up.urls["volume"], timeout=30,
                                   headers={"X-Auth-Token": token(up),
                                            "OpenStack-API-Version": "volume 3.60"})

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return self.client.post(path, json=body)

    def listed(self, what: str) -> list[dict[str, Any]]:
        """Every project's ``what`` (``volumes``, ``backups``...), in detail."""
        response = self.client.get(f"/{what}/detail", params={"all_tenants": "1"})
        response.raise_for_status()
        return list(response.json()[what])

    def close(self) -> None:
        self.client.close()
