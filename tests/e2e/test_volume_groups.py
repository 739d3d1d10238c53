"""Generic volume groups through the real clients against ``shoal up``: a group type, a group
with two volumes (cinder), a group snapshot (one RBD snapshot per member), a group made from
it (cinder), and everything deleted again (openstack)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e._cli import ok as _ok
from tests.shoal_cli import run_shoal_cli
from tests.shoal_up import ShoalUp, openrc_env, openstack, run_client

WAIT_S = 60
VERSION = ("--os-volume-api-version", "3.14")


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShoalUp]:
    with ShoalUp.start(tmp_path_factory.mktemp("groups") / "data") as running:
        yield running


def _osc(up: ShoalUp, *args: str) -> Any:
    """``openstack ARGS -f json`` at microversion 3.14; the keys of a shown resource as
    ``snake_case`` (the group commands title their columns: ``ID``, ``Is Public``)."""
    out = json.loads(_ok(openstack(up, *VERSION, *args, "-f", "json")))
    if isinstance(out, dict):
        return {k.lower().replace(" ", "_"): v for k, v in out.items()}
    return out


def _cinder(up: ShoalUp, *args: str) -> str:
    return _ok(run_client(up, "cinder", "--os-volume-api-version", "3.14", *args,
                          cloud=None, env=openrc_env(up)))


def _wait(up: ShoalUp, kind: str, ident: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while True:
        shown = _osc(up, *kind.split(), "show", ident)
        if shown["status"] == status:
            return dict(shown)
        assert not str(shown["status"]).startswith("error"), shown
        assert time.monotonic() < deadline, f"{kind} {ident} stays {shown['status']}"
        time.sleep(0.2)


def _gone(up: ShoalUp, kind: str, ident: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while openstack(up, *VERSION, *kind.split(), "show", ident).returncode == 0:
        assert time.monotonic() < deadline, f"{kind} {ident} is not deleted"
        time.sleep(0.2)


def _members(up: ShoalUp, group_id: str) -> list[str]:
    """The ids of the group's volumes (``cinder list --group_id``, 3.10+)."""
    listed = _cinder(up, "list", "--group_id", group_id)
    return sorted(re.findall(r"^\|\s*([0-9a-f-]{36})\s*\|", listed, flags=re.MULTILINE))


def test_group_type_group_snapshot_and_copy(up: ShoalUp) -> None:
    vtype = _osc(up, "volume", "type", "create", "gvt")["id"]
    gtype = _osc(up, "volume", "group", "type", "create", "--public", "gt1")["id"]
    shown_type = _osc(up, "volume", "group", "type", "show", gtype)
    assert shown_type["name"] == "gt1" and shown_type["is_public"] is True
    group = _osc(up, "volume", "group", "create", "--volume-group-type", gtype,
                 "--volume-type", vtype, "--name", "g1")["id"]
    _wait(up, "volume group", group, "available")

    created = [_cinder(up, "create", "--group-id", group, "--volume-type", vtype, "--name",
                       f"gv{i}", "1") for i in range(2)]
    assert all(group in text for text in created)
    members = _members(up, group)
    assert len(members) == 2
    for volume_id in members:
        _wait(up, "volume", volume_id, "available")

    gsnap = _osc(up, "volume", "group", "snapshot", "create", "--name", "gs1", group)["id"]
    _wait(up, "volume group snapshot", gsnap, "available")
    for volume_id in members:
        snaps = run_shoal_cli(up.data_dir, "rbd", "snap", "ls", f"volumes/volume-{volume_id}")
        assert snaps.returncode == 0, snaps.stderr
        assert "snapshot-" in snaps.stdout

    # cinder, not openstack: openstacksdk sends ``"source_group_id": null`` too, which
    # Cinder's schema refuses (400), as shoal's does
    made = _cinder(up, "group-create-from-src", "--group-snapshot", gsnap, "--name", "g2")
    found = re.search(r"\|\s*id\s*\|\s*([0-9a-f-]{36})\s*\|", made)
    assert found is not None, made
    copy = found.group(1)
    _wait(up, "volume group", copy, "available")
    copies = _members(up, copy)
    assert len(copies) == 2
    for volume_id in copies:
        _wait(up, "volume", volume_id, "available")

    _ok(openstack(up, *VERSION, "volume", "group", "delete", "--force", copy))
    _gone(up, "volume group", copy)
    _ok(openstack(up, *VERSION, "volume", "group", "snapshot", "delete", gsnap))
    _gone(up, "volume group snapshot", gsnap)
    _ok(openstack(up, *VERSION, "volume", "group", "delete", "--force", group))
    _gone(up, "volume group", group)
    for volume_id in members + copies:
        _gone(up, "volume", volume_id)
    _ok(openstack(up, *VERSION, "volume", "group", "type", "delete", gtype))
    _ok(openstack(up, "volume", "type", "delete", vtype))
    images = run_shoal_cli(up.data_dir, "rbd", "ls", "volumes")
    assert images.returncode == 0 and images.stdout.strip() == "", images.stdout
