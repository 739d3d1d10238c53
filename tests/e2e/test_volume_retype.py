"""Retype, scheduling by a type's extra specs, and the user messages that say why, through
the real clients against ``shoal up`` (Glance hiding locations: volumes from images are
copied, not cloned, and a message says so)."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e._cli import ok as _ok
from tests.e2e._cli import out_json as _json
from tests.shoal_cli import run_shoal_cli
from tests.shoal_up import ShoalUp, openrc_env, openstack, run_client

MiB = 1 << 20
WAIT_S = 60


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShoalUp]:
    data = tmp_path_factory.mktemp("retype") / "data"
    with ShoalUp.start(data):
        pass
    conf = data / "shoal.conf"
    conf.write_text(conf.read_text().replace("show_image_direct_url = True",
                                             "show_image_direct_url = False"))
    with ShoalUp.start(data) as running:
        yield running


def _cinder(up: ShoalUp, *args: str) -> subprocess.CompletedProcess[str]:
    return run_client(up, "cinder", *args, cloud=None, env=openrc_env(up))


def _volume(up: ShoalUp, name: str) -> dict[str, Any]:
    shown = _json(openstack(up, "volume", "show", "-f", "json", name))
    assert isinstance(shown, dict)
    return shown


def _settled(up: ShoalUp, name: str) -> dict[str, Any]:
    """The volume once it left ``creating``."""
    deadline = time.monotonic() + WAIT_S
    while True:
        shown = _volume(up, name)
        if shown["status"] != "creating":
            return shown
        assert time.monotonic() < deadline, f"volume {name} stays creating"
        time.sleep(0.2)


def _message(up: ShoalUp, volume_id: str, event_id: str, level: str) -> str:
    """``cinder message-show`` of the one message about ``volume_id``, found with
    ``cinder message-list``; checks its event id and level (words joined by one space)."""
    listed = _ok(_cinder(up, "--os-volume-api-version", "3.3", "message-list"))
    rows = [line for line in listed.splitlines() if volume_id in line]
    assert len(rows) == 1 and event_id in rows[0], listed
    detail = _ok(_cinder(up, "--os-volume-api-version", "3.3", "message-show",
                         rows[0].split("|")[1].strip()))
    assert re.search(rf"\| message_level +\| {level} ", detail), detail
    return " ".join(detail.split())


def test_cinder_retype_and_openstack_volume_set_type(up: ShoalUp) -> None:
    for name in ("bronze", "silver"):
        _ok(_cinder(up, "type-create", name))
    _ok(openstack(up, "volume", "create", "--size", "1", "--type", "bronze", "rt"))
    assert _settled(up, "rt")["status"] == "available"
    _ok(_cinder(up, "retype", "rt", "silver"))
    shown = _volume(up, "rt")
    assert (shown["type"], shown["status"]) == ("silver", "available")
    _ok(openstack(up, "volume", "set", "--type", "bronze", "--retype-policy", "never", "rt"))
    assert _volume(up, "rt")["type"] == "bronze"
    same = _cinder(up, "retype", "rt", "bronze")
    assert same.returncode != 0 and "requested type has to be different" in same.stderr
    _ok(openstack(up, "volume", "type", "create", "--property", "volume_backend_name=nope",
                  "nowhere"))
    moved = _cinder(up, "retype", "--migration-policy", "on-demand", "rt", "nowhere")
    assert moved.returncode != 0 and "No valid backend" in moved.stderr
    assert "(HTTP 400)" in moved.stderr
    assert _volume(up, "rt")["type"] == "bronze"
    _ok(openstack(up, "volume", "delete", "rt"))


def test_a_type_no_backend_has_makes_an_error_volume_and_a_message(up: ShoalUp) -> None:
    _ok(openstack(up, "volume", "type", "create", "--property", "volume_backend_name=nope",
                  "lost"))
    made = _json(openstack(up, "volume", "create", "--size", "1", "--type", "lost", "-f",
                           "json", "stray"))
    shown = _settled(up, "stray")
    assert shown["status"] == "error" and shown["id"] == made["id"]
    detail = _message(up, shown["id"], "VOLUME_VOLUME_001_003", "ERROR")
    assert "schedule allocate volume: Could not find any available weighted backend." in detail
    _ok(openstack(up, "volume", "delete", "stray"))  # no backend: deleted at once
    assert openstack(up, "volume", "show", "stray").returncode != 0


def test_a_volume_from_an_image_without_location_says_why_it_was_copied(
        up: ShoalUp, tmp_path: Path) -> None:
    path = tmp_path / "tiny.raw"
    path.write_bytes(os.urandom(2 * MiB))
    _ok(openstack(up, "image", "create", "--file", str(path), "--disk-format", "raw",
                  "--container-format", "bare", "tiny"))
    _ok(openstack(up, "volume", "create", "--image", "tiny", "--size", "1", "copied"))
    shown = _settled(up, "copied")
    assert shown["status"] == "available"
    info = run_shoal_cli(up.data_dir, "rbd", "info", f"volumes/volume-{shown['id']}")
    assert info.returncode == 0 and "parent:" not in info.stdout  # copied, not cloned
    detail = _message(up, shown["id"], "VOLUME_VOLUME_005_902", "INFO")
    assert "copy image to volume: Image was not cloned" in detail
    assert "show_image_direct_url is off" in detail
