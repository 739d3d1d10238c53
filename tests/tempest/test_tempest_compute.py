"""Tempest's compute API tests (``tempest.api.compute``) against ``shoal up`` (issue 14).

Tempest 47.0.0 runs with pre-provisioned accounts and ``--concurrency 1`` (CLIENTS.md)
against a ``shoal up`` with two compute hosts (``[shoal] compute_hosts = compute1,compute2``),
configured as a deployment with shoal's compute feature set would configure it: Nova, Cinder
and Glance available, no Neutron, no Swift; compute API 2.1 to 2.96; no hypervisor, so no
console, no SSH validation, no metadata service or config drive, no rescue, no shelve, no
password change, no interface attach; pause, suspend, resize, cold and live migration (two
hosts, shared RBD storage: no block migration) and snapshots on. With ``neutron = False``
Tempest skips every class that sets ``create_default_network`` (most server, image, volume
attach and live-migration classes): they are reported as skipped. ``[compute] image_ref`` and
``image_ref_alt`` are small raw images the admin uploads first; ``flavor_ref`` and
``flavor_ref_alt`` are the seeded ``m1.tiny`` and ``m1.small``.

Selected (:data:`COMPUTE`): flavors, servers (create, list, get, actions, metadata, delete,
instance actions), volume attach, images created from servers, keypairs, limits, quotas,
hypervisors, services, availability zones, admin servers and migrations; not the classes of
:data:`NEEDS_OTHER_ACCOUNTS` (dynamic credentials or a ``project_manager`` account).

Asserted: every test listed in ``compute_passing.txt`` (the ones passing when it was written)
still passes; at least :data:`MIN_PASS_RATE` of the tests that are not skipped pass; no
test fails or skips on a Tempest configuration or accounts error. The counts, skip reasons,
failures and tracebacks are printed and written to ``tempest-report.txt`` beside Tempest's
workspace (``workspace/logs/tempest.log`` holds every request and response).

Deselect with ``-m "not tempest"``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shoal.config._write import default_text
from tests.shoal_up import ShoalUp
from tests.tempest._harness import (
    TempestError,
    TempestRun,
    causes_report,
    failure_causes,
    init_workspace,
    provision_accounts,
    run_tempest,
    tempest_bin,
    upload_image,
    write_config,
)
from tests.tempest.test_tempest_volume import config_errors

pytestmark = pytest.mark.tempest

_SERVERS = ("create_server", "list_server_filters", "list_servers_negative", "servers",
            "server_actions", "server_metadata", "server_metadata_negative",
            "delete_server", "instance_actions", "instance_actions_negative",
            "servers_negative", "availability_zone", "attach_volume")
_ADMIN = ("quotas", "hypervisor", "hypervisor_negative", "services", "services_negative",
          "availability_zone", "servers", "servers_negative", "live_migration",
          "live_migration_negative", "migrations", "flavors_access", "flavors_extra_specs",
          "create_server")
#: Classes that cannot run with pre-provisioned accounts: ``force_tenant_isolation`` (dynamic
#: credentials only) or a ``project_manager`` account the harness does not provision.
NEEDS_OTHER_ACCOUNTS = ("QuotasAdminTestJSON", "QuotasAdminTestV236", "QuotasAdminTestV257",
                        "MigrationsAdminTest")
COMPUTE = (r"^tempest\.api\.compute\.(?!.*\.(" + "|".join(NEEDS_OTHER_ACCOUNTS) + r")\.)("
           r"flavors\."
           r"|servers\.test_(" + "|".join(_SERVERS) + r")\."
           r"|volumes\.test_attach_volume"
           r"|images\.test_images(_oneserver)?(_negative)?\."
           r"|keypairs\.|limits\.|test_quotas\.|test_versions\.|test_extensions\."
           r"|admin\.test_(" + "|".join(_ADMIN) + r")\."
           r"|servers\.test_availability_zone\.)")
#: The tests that passed when this test was written: each must keep passing.
PASSING_FILE = Path(__file__).with_name("compute_passing.txt")
#: Share of the non-skipped tests that must pass (87.5 % pass now: 126 of 144).
MIN_PASS_RATE = 0.85
#: Tempest's images (``[compute] image_ref``, ``image_ref_alt``): 1 MiB raw each.
IMAGE_NAMES = ("tempest-compute-image", "tempest-compute-image-alt")
IMAGE_BYTES = 1024 * 1024
#: The Tempest admin's own project (admin tests compare its servers with the primary's).
ADMIN_PROJECT = "tempest-admin"
COMPUTE_HOSTS = ("compute1", "compute2")


def compute_overrides(image_ref: str, image_ref_alt: str, *, neutron: bool = False
                      ) -> dict[str, dict[str, object]]:
    """The ``tempest.conf`` options of a compute run (added to the harness's image config).

    ``neutron`` is False as shoal has no networking; Tempest then skips every class that
    sets ``create_default_network`` (most server, image, attach and live-migration classes).
    ``neutron=True`` is what the volume run does (with pre-provisioned accounts naming no
    network, no network call is made) -- for an experiment, not the asserted run.
    """
    return {
        "service_available": {"glance": True, "cinder": True, "nova": True,
                              "neutron": neutron, "swift": False},
        "enforce_scope": {"glance": True, "cinder": True},
        "compute": {
            "image_ref": image_ref, "image_ref_alt": image_ref_alt,
            "flavor_ref": "1", "flavor_ref_alt": "2",   # m1.tiny, m1.small
            "catalog_type": "compute", "endpoint_type": "public", "region": "RegionOne",
            "min_microversion": "2.1", "max_microversion": "2.96",
            "min_compute_nodes": len(COMPUTE_HOSTS),
            "build_timeout": 60, "build_interval": 1,
        },
        "compute-feature-enabled": {
            "disk_config": True,             # OS-DCF:diskConfig is recorded and shown
            "change_password": False,        # no guest agent
            "console_output": False,         # no hypervisor, no console log
            "resize": True, "cold_migration": True,
            "live_migration": True,          # two hosts, the RBD disk stays in place
            "live_migrate_back_and_forth": False,
            "block_migration_for_live_migration": False,  # shared storage (RBD)
            "volume_backed_live_migration": False,
            "can_migrate_between_any_hosts": True,
            "pause": True, "suspend": True,  # power states recorded
            "shelve": False, "shelve_migrate": False,
            "rescue": False, "stable_rescue": False,
            "metadata_service": False, "config_drive": False,
            "enable_instance_password": True,  # adminPass is returned (not set)
            "personality": False,
            "vnc_console": False, "spice_console": False, "serial_console": False,
            "interface_attach": False,       # no networking
            "snapshot": True,                # createImage: RBD direct snapshot
            "attach_encrypted_volume": False,
            "swap_volume": False, "volume_multiattach": False,
            "ide_bus": False, "unified_limits": False,
            "hostname_fqdn_sanitization": False,
        },
        "validation": {"run_validation": False},
        "volume": {"catalog_type": "block-storage", "endpoint_type": "public",
                   "region": "RegionOne", "volume_size": 1, "build_timeout": 60,
                   "build_interval": 1},
        "volume-feature-enabled": {"snapshot": True, "backup": False},
    }


def passing_floor() -> list[str]:
    """The test ids of :data:`PASSING_FILE` (``#`` comments and blank lines ignored)."""
    lines = (line.split("#", 1)[0].strip() for line in PASSING_FILE.read_text().splitlines())
    return [line for line in lines if line]


def run_compute_tempest(tmp_path: Path, bin_dir: Path, regex: str = COMPUTE, *,
                        neutron: bool = False) -> tuple[TempestRun, Path]:
    """Start ``shoal up`` with two compute hosts, configure Tempest and run ``regex``
    (default :data:`COMPUTE`); the run and its workspace."""
    data = tmp_path / "data"
    data.mkdir(parents=True, exist_ok=True)
    text = default_text(ceph_conf=str(data / "ceph.conf"))
    (data / "shoal.conf").write_text(text.replace(
        "[shoal]\n", f"[shoal]\ncompute_hosts = {','.join(COMPUTE_HOSTS)}\n", 1))
    with ShoalUp.start(data) as up:
        identity = up.urls["identity"]
        accounts = provision_accounts(identity, up.data_dir, admin_project=ADMIN_PROJECT)
        image_ref, image_ref_alt = (
            upload_image(identity, up.urls["image"], up.data_dir, name, bytes(IMAGE_BYTES))
            for name in IMAGE_NAMES)
        workspace = init_workspace(bin_dir, tmp_path / "workspace")
        config = write_config(identity, workspace, accounts,
                              compute_overrides(image_ref, image_ref_alt, neutron=neutron))
        return run_tempest(bin_dir, workspace, config, regex), workspace


def test_tempest_compute(tmp_path: Path) -> None:
    try:
        bin_dir = tempest_bin()
    except TempestError as exc:
        pytest.fail(str(exc))
    run, workspace = run_compute_tempest(tmp_path, bin_dir)
    report = run.report() + "\n" + causes_report(
        failure_causes(run, workspace / "logs" / "tempest.log"))
    report_file = tmp_path / "tempest-report.txt"
    report_file.write_text(report)
    print(report)
    print(f"report: {report_file}; Tempest's log: {workspace / 'logs' / 'tempest.log'}")
    floor = passing_floor()
    regressed = [i for i in floor if run.outcomes.get(i) is None
                 or run.outcomes[i].status != "passed"]
    assert not regressed, "tests that passed before no longer pass:\n" + "\n".join(
        regressed) + "\n\n" + report
    assert not config_errors(run), report
    assert run.counts()["passed"] >= len(floor), report
    assert run.pass_rate() >= MIN_PASS_RATE, report
