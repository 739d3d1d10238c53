"""Flavors through the real ``nova`` client against ``shoal up`` (issue 14): the client
finds compute in the catalog and negotiates its newest microversion with shoal's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e._cli import ok as _ok
from tests.shoal_up import ShoalUp, openrc_env, run_client


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShoalUp]:
    with ShoalUp.start(tmp_path_factory.mktemp("flavors") / "data") as running:
        yield running


def _nova(up: ShoalUp, *args: str) -> str:
    return _ok(run_client(up, "nova", *args, cloud=None, env=openrc_env(up)))


def _rows(table: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split("|")]
            for line in table.splitlines() if line.startswith("|")][1:]


def test_seeded_flavors_create_extra_specs_access_delete(up: ShoalUp) -> None:
    listed = _rows(_nova(up, "flavor-list"))
    assert [(r[0], r[1], r[2], r[3], r[6]) for r in listed] == [
        ("1", "m1.tiny", "512", "1", "1"), ("2", "m1.small", "2048", "20", "1"),
        ("3", "m1.medium", "4096", "40", "2"), ("4", "m1.large", "8192", "80", "4"),
        ("5", "m1.xlarge", "16384", "160", "8")]
    _nova(up, "flavor-create", "--is-public", "false", "--ephemeral", "2", "--swap", "128",
          "small.private", "auto", "256", "1", "1")
    _nova(up, "flavor-key", "small.private", "set", "hw:mem_page_size=large")
    shown = dict(r[:2] for r in _rows(_nova(up, "flavor-show", "small.private")))
    assert shown["extra_specs"] == '{"hw:mem_page_size": "large"}'
    assert (shown["ram"], shown["swap"], shown["OS-FLV-EXT-DATA:ephemeral"],
            shown["os-flavor-access:is_public"]) == ("256", "128", "2", "False")
    demo = run_client(up, "openstack", "project", "show", "demo", "-f", "value", "-c", "id")
    project = _ok(demo).strip()
    _nova(up, "flavor-access-add", "small.private", project)
    access = _rows(_nova(up, "flavor-access-list", "--flavor", "small.private"))
    assert [r[1] for r in access] == [project]
    _nova(up, "flavor-delete", "small.private")
    assert "small.private" not in _nova(up, "flavor-list", "--all")
