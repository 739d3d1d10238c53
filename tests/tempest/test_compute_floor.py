"""The floor of the Tempest compute run: its data file, its selection and its config."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from tests.tempest._harness import Account, write_config
from tests.tempest.test_tempest_compute import COMPUTE, compute_overrides, passing_floor

SERVERS = "tempest.api.compute.servers.test_servers.ServersTestJSON"


def test_passing_floor_ids_are_unique_and_selected() -> None:
    floor = passing_floor()
    assert len(floor) >= 50 and len(set(floor)) == len(floor)
    assert all(re.match(COMPUTE, test_id) for test_id in floor)
    assert not any("[" in test_id for test_id in floor)  # bare ids, as the run keys them


def test_selection_leaves_out_the_classes_needing_other_accounts() -> None:
    assert re.match(COMPUTE, f"{SERVERS}.test_create_specify_keypair[id-1]")
    assert re.match(COMPUTE, "tempest.api.compute.admin.test_live_migration."
                             "LiveMigrationTest.test_live_block_migration[id-2]")
    assert not re.match(COMPUTE, "tempest.api.compute.admin.test_quotas."
                                 "QuotasAdminTestJSON.test_get_default_quotas[id-3]")
    assert not re.match(COMPUTE, "tempest.api.compute.admin.test_migrations."
                                 "MigrationsAdminTest.test_list_migrations[id-4]")
    assert not re.match(COMPUTE, "tempest.api.compute.floating_ips.test_x.X.test_y")


def test_compute_overrides_reach_tempest_conf(tmp_path: Path) -> None:
    accounts = [Account("adm", "pw", "tempest-admin", ("admin",))]
    config = write_config("http://127.0.0.1:5/identity", tmp_path, accounts,
                          compute_overrides("IMAGE", "IMAGE-ALT"))
    parsed = configparser.ConfigParser(interpolation=None)
    parsed.read(config)
    assert parsed["service_available"]["nova"] == "True"
    assert parsed["service_available"]["neutron"] == "False"
    assert parsed["compute"]["image_ref_alt"] == "IMAGE-ALT"
    assert parsed["compute"]["min_compute_nodes"] == "2"
    features = parsed["compute-feature-enabled"]
    assert features["live_migration"] == "True" and features["console_output"] == "False"
    assert parsed["validation"]["run_validation"] == "False"
