"""The volume views against Tempest's own response schemas, per microversion.

Tempest validates every Cinder reply against strict JSON schemas (unknown fields fail)
and picks the schema by microversion the way its clients do (``schema_versions_info``).
The schemas are not copied here: when Tempest's venv exists (``bash
scripts/tempest-venv``, or ``$SHOAL_TEMPEST_BIN``), one subprocess of its Python imports
the clients and schemas and validates every body these tests render; otherwise the
tests are skipped, saying so.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shoal.api._microversion import APIVersion
from shoal.api.cinder import service_views, views
from shoal.api.cinder.options import DEFAULT_OPTIONS
from shoal.api.cinder.viewcontext import ViewContext
from shoal.services.volume.records import ServiceRecord, VolumeTypeRecord
from tests._tools import missing_tool
from tests.unit.services.volume.test_records import (
    BASE_TIME,
    P1,
    TYPE_ID,
    make_attachment,
    make_backup,
    make_snapshot,
    make_volume,
    rid,
)

REPO = Path(__file__).resolve().parents[4]
ENDPOINT = "http://127.0.0.1:8776/volume/v3"
_CLIENTS = "tempest.lib.services.volume.v3"
_SCHEMAS = "tempest.lib.api_schema.response.volume"
VOLUMES = f"{_CLIENTS}.volumes_client:VolumesClient"
BACKUPS = f"{_CLIENTS}.backups_client:BackupsClient"
SERVICES = f"{_CLIENTS}.services_client:ServicesClient"

#: Run in Tempest's Python: validate each case as Tempest's client would.
_VALIDATOR = r"""
import importlib, json, sys
import jsonschema
from tempest.lib.common import jsonschema_validator as jv

def version(text):
    return tuple(int(p) for p in text.split("."))

def schema_module(case):
    if case["client"] is None:
        return importlib.import_module(case["module"])
    module_name, _, class_name = case["client"].partition(":")
    client = getattr(importlib.import_module(module_name), class_name)
    wanted = version(case["version"])
    for item in client.schema_versions_info:
        low = item["min"] is None or version(item["min"]) <= wanted
        high = item["max"] is None or wanted <= version(item["max"])
        if low and high:
            return item["schema"]
    raise LookupError("no schema for " + case["version"])

results = {}
for case in json.load(sys.stdin):
    try:
        schema = getattr(schema_module(case), case["schema"])
        if case["status"] not in schema["status_code"]:
            raise ValueError(f"status {case['status']} not in {schema['status_code']}")
        jsonschema.validate(case["body"], schema["response_body"],
                            cls=jv.JSONSCHEMA_VALIDATOR, format_checker=jv.FORMAT_CHECKER)
    except Exception as exc:
        results[case["id"]] = f"{type(exc).__name__}: {exc}"[:2000]
    else:
        results[case["id"]] = None
json.dump(results, sys.stdout)
"""


def _tempest_python() -> Path | None:
    env = os.environ.get("SHOAL_TEMPEST_BIN")
    bin_dir = Path(env) if env else REPO / ".venv-tempest" / "bin"
    python = bin_dir / "python"
    return python if python.exists() and (bin_dir / "tempest").exists() else None


@dataclass(frozen=True)
class Case:
    """One body and the Tempest schema its client would check it with."""

    id: str
    schema: str
    status: int
    version: str
    render: Callable[[], dict[str, Any]]
    client: str | None = None
    module: str | None = None


def ctx(version: str, admin: bool) -> ViewContext:
    return ViewContext(version=APIVersion.parse(version), endpoint=ENDPOINT, project_id=P1,
                       is_admin=admin)


def _volumes() -> list[Any]:
    attached = make_volume(1, status="in-use", bootable=True, multiattach=True,
                           metadata={"k": "v"}, admin_metadata={"readonly": "False"},
                           image_metadata={"image_id": rid("i", 1), "disk_format": "raw"},
                           attachments=[make_attachment(1)], group_id=rid("v", 8),
                           encryption_key_id="7c1d0e2f-3a4b-4c5d-8e6f-708192a3b4c5")
    migrated = make_volume(2, migration_status="success", name_id=rid("v", 9),
                           snapshot_id=rid("s", 1), host=None, shared_targets=None)
    return [attached, migrated]


VOLUME_VERSIONS = ("3.0", "3.9", "3.11", "3.12", "3.13", "3.21", "3.48", "3.55", "3.57",
                   "3.60", "3.61", "3.62", "3.63", "3.64", "3.65", "3.68", "3.69", "3.71")


def _volume_cases() -> list[Case]:
    cases = []
    for version in VOLUME_VERSIONS:
        for admin in (False, True):
            who = f"{version}-{'admin' if admin else 'member'}"
            c = ctx(version, admin)
            creating = make_volume(3, status="creating", host=None, updated_at=None)
            cases += [
                Case(f"create_volume-{who}", "create_volume", 202, version,
                     lambda c=c, v=creating: views.volume_body(v, c, extended=False),
                     client=VOLUMES),
                Case(f"show_volume-{who}", "show_volume", 200, version,
                     lambda c=c: views.volume_body(_volumes()[0], c), client=VOLUMES),
                Case(f"list_volumes-{who}", "list_volumes_no_detail", 200, version,
                     lambda c=c: views.volumes_body(_volumes(), c, detail=False, limit=2,
                                                    params=[("limit", "2")]),
                     client=VOLUMES),
                Case(f"list_volumes_detail-{who}", "list_volumes_with_detail", 200, version,
                     lambda c=c: views.volumes_body(_volumes(), c, detail=True, limit=2),
                     client=VOLUMES),
            ]
            if APIVersion.parse(version) < APIVersion(3, 61):  # the client's base schema
                cases.append(Case(f"update_volume-{who}", "update_volume", 200, version,
                                  lambda c=c: views.volume_body(_volumes()[1], c,
                                                                extended=False),
                                  module=f"{_SCHEMAS}.volumes"))
    return cases


def _snapshot_cases() -> list[Case]:
    cases = []
    snapshot = make_snapshot(metadata={"k": "v"}, description="d")
    module = f"{_SCHEMAS}.snapshots"
    for version in ("3.0", "3.9", "3.12", "3.13"):  # later fields are not in its schema
        c = ctx(version, False)
        cases += [
            Case(f"create_snapshot-{version}", "create_snapshot", 202, version,
                 lambda c=c: views.snapshot_body(snapshot, c, extended=False), module=module),
            Case(f"update_snapshot-{version}", "update_snapshot", 200, version,
                 lambda c=c: views.snapshot_body(snapshot, c, extended=False), module=module),
            Case(f"show_snapshot-{version}", "show_snapshot", 200, version,
                 lambda c=c: views.snapshot_body(snapshot, c), module=module),
            Case(f"list_snapshots-{version}", "list_snapshots_no_detail", 200, version,
                 lambda c=c: views.snapshots_body([snapshot], c, detail=False, limit=1),
                 module=module),
            Case(f"list_snapshots_detail-{version}", "list_snapshots_with_detail", 200,
                 version, lambda c=c: views.snapshots_body([snapshot], c, detail=True,
                                                           limit=1), module=module),
        ]
    return cases


def _backup_cases() -> list[Case]:
    cases = []
    backup = make_backup(parent_id=rid("b", 9), metadata={"k": "v"}, snapshot_id=rid("s", 1),
                         encryption_key_id="7c1d0e2f-3a4b-4c5d-8e6f-708192a3b4c5")
    base = f"{_SCHEMAS}.backups"
    for version in ("3.0", "3.9", "3.18", "3.43", "3.51", "3.56", "3.57", "3.64", "3.71"):
        for admin in (False, True):
            who = f"{version}-{'admin' if admin else 'member'}"
            c = ctx(version, admin)
            cases += [
                Case(f"create_backup-{who}", "create_backup", 202, version,
                     lambda c=c: views.backup_body(backup, c, detail=False), module=base),
                Case(f"restore_backup-{who}", "restore_backup", 202, version,
                     lambda: views.backup_restore_body(rid("b", 1), rid("v", 2), "restored"),
                     module=base),
                Case(f"show_backup-{who}", "show_backup", 200, version,
                     lambda c=c: views.backup_body(backup, c), client=BACKUPS),
                Case(f"list_backups-{who}", "list_backups_no_detail", 200, version,
                     lambda c=c: views.backups_body([backup], c, detail=False, limit=1000),
                     client=BACKUPS),
                Case(f"list_backups_detail-{who}", "list_backups_with_detail", 200, version,
                     lambda c=c: views.backups_body([backup], c, detail=True, limit=1000),
                     client=BACKUPS),
            ]
            if version != "3.0":
                cases.append(Case(f"update_backup-{who}", "update_backup", 200, version,
                                  lambda c=c: views.backup_body(backup, c, detail=False),
                                  module=base))
    return cases


def _service_cases() -> list[Case]:
    module = f"{_SCHEMAS}.volume_types"
    volume_type = VolumeTypeRecord(id=TYPE_ID, name="ceph", description=None,
                                   extra_specs={"volume_backend_name": "ceph",
                                                "multiattach": "<is> True"})
    services = [
        ServiceRecord(binary="cinder-volume", host="shoal@ceph", availability_zone="nova",
                      created_at=BASE_TIME, updated_at=BASE_TIME, backend_state="up"),
        ServiceRecord(binary="cinder-backup", host="shoal", availability_zone="nova",
                      created_at=BASE_TIME, updated_at=BASE_TIME, disabled=True,
                      disabled_reason="x"),
    ]
    now = BASE_TIME + timedelta(seconds=10)
    cases = []
    for admin in (False, True):
        who = "admin" if admin else "member"
        c = ctx("3.0", admin)
        cases += [
            Case(f"show_volume_type-{who}", "show_volume_type", 200, "3.0",
                 lambda c=c: service_views.volume_type_body(volume_type, c), module=module),
            Case(f"list_volume_types-{who}", "list_volume_types", 200, "3.0",
                 lambda c=c: service_views.volume_types_body([volume_type], c, limit=1000),
                 module=module),
        ]
    admin = ctx("3.0", True)
    cases += [
        Case("create_volume_type", "create_volume_type", 200, "3.0",
             lambda: service_views.volume_type_body(volume_type, admin, purpose="create"),
             module=module),
        Case("update_volume_type", "update_volume_types", 200, "3.0",
             lambda: service_views.volume_type_body(volume_type, admin, purpose="update"),
             module=module),
        Case("show_limits", "show_limits", 200, "3.0",
             lambda: service_views.limits_body({"volumes": 10}, {"volumes": 1}),
             module=f"{_SCHEMAS}.limits"),
    ]
    for version in ("3.0", "3.6", "3.7", "3.49", "3.71"):
        c = ctx(version, True)
        cases.append(Case(f"list_services-{version}", "list_services", 200, version,
                          lambda c=c: service_views.services_body(
                              services, c, now=now, options=DEFAULT_OPTIONS),
                          client=SERVICES))
    return cases


CASES = _volume_cases() + _snapshot_cases() + _backup_cases() + _service_cases()


@pytest.fixture(scope="module")
def tempest_results() -> dict[str, str | None]:
    python = _tempest_python()
    if python is None:
        missing_tool("Tempest's venv (.venv-tempest or $SHOAL_TEMPEST_BIN)",
                     "run `bash scripts/tempest-venv` to check the views against its schemas")
    payload = [{"id": case.id, "schema": case.schema, "status": case.status,
                "version": case.version, "client": case.client, "module": case.module,
                "body": case.render()} for case in CASES]
    done = subprocess.run([str(python), "-c", _VALIDATOR], input=json.dumps(payload),
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    results: dict[str, str | None] = json.loads(done.stdout)
    return results


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_tempest_accepts_the_body(case: Case, tempest_results: dict[str, str | None]) -> None:
    assert case.id in tempest_results
    assert tempest_results[case.id] is None, tempest_results[case.id]


def test_the_check_catches_an_unknown_field(tempest_results: dict[str, str | None]) -> None:
    """The harness is no rubber stamp: a 3.0 create reply holding an admin-only field
    (as CLIENTS.md warns) fails Tempest's schema."""
    python = _tempest_python()
    assert python is not None
    body = views.volume_body(make_volume(), ctx("3.0", True), extended=False)
    body["volume"]["os-vol-host-attr:host"] = "shoal@ceph#ceph"
    payload = [{"id": "bad", "schema": "create_volume", "status": 202, "version": "3.0",
                "client": VOLUMES, "module": None, "body": body}]
    done = subprocess.run([str(python), "-c", _VALIDATOR], input=json.dumps(payload),
                          capture_output=True, text=True, timeout=300, check=True)
    error = json.loads(done.stdout)["bad"]
    assert error is not None and "os-vol-host-attr:host" in error
