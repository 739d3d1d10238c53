"""``shoal up`` as a real process, driven by the real ``openstack`` CLI and openstacksdk."""

from __future__ import annotations

import json
import signal
import socket
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shoal.config import load_config
from tests.e2e._guide import CAPS, POOLS
from tests.shoal_cli import run_shoal_cli, shoal_command
from tests.shoal_up import ShoalUp, clients_bin, openstack, run_client, sdk, token


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShoalUp]:
    """One ``shoal up`` on a fresh data directory for the client tests of this module."""
    with ShoalUp.start(tmp_path_factory.mktemp("up") / "data") as running:
        yield running


def _json(result: subprocess.CompletedProcess[str]) -> object:
    assert result.returncode == 0, result.stderr + result.stdout
    return json.loads(result.stdout)


# --- first start ----------------------------------------------------------------------


def test_first_start_writes_the_guides_configuration(up: ShoalUp) -> None:
    conf = up.data_dir / "shoal.conf"
    assert f"wrote the guide's configuration to {conf}" in up.output
    cfg = load_config(file=conf)
    assert cfg.glance_store.show_image_direct_url is True
    assert cfg.glance_store.default_store == "rbd"
    assert cfg.glance_store.rbd_store_chunk_size == 8
    backend = cfg.cinder_backend("ceph")
    assert backend.rbd_flatten_volume_from_snapshot is False
    assert backend.rbd_max_clone_depth == 5
    assert cfg.libvirt.images_type == "rbd" and cfg.libvirt.images_rbd_pool == "vms"
    assert cfg.libvirt.hw_disk_discard == "unmap"
    assert backend.rbd_secret_uuid and backend.rbd_secret_uuid == cfg.libvirt.rbd_secret_uuid
    for name in ("shoal.conf", "clouds.yaml", "openrc", "ceph.client.glance.keyring"):
        assert stat.S_IMODE((up.data_dir / name).stat().st_mode) == 0o600, name


def test_first_start_makes_the_guides_pools_and_users(up: ShoalUp) -> None:
    pools = run_shoal_cli(up.data_dir, "ceph", "osd", "pool", "ls", "detail",
                          "--format", "json")
    assert pools.returncode == 0, pools.stderr
    by_name = {p["pool_name"]: p for p in json.loads(pools.stdout)}
    for pool in POOLS:
        assert by_name[pool]["application_metadata"] == {"rbd": {}}, pool
    for entity, osd_caps in CAPS.items():
        got = run_shoal_cli(up.data_dir, "ceph", "auth", "get", entity, "--format", "json")
        assert got.returncode == 0, got.stderr
        assert json.loads(got.stdout)[0]["caps"] == {"mon": "allow r", "osd": osd_caps}
    # each service's keyring works, with the guide's caps: glance writes images, not volumes
    keyring = str(up.data_dir / "ceph.client.glance.keyring")
    ok = run_shoal_cli(up.data_dir, "--id", "glance", "-k", keyring, "rbd", "create",
                       "--size", "1", "images/probe")
    assert ok.returncode == 0, ok.stderr
    denied = run_shoal_cli(up.data_dir, "--id", "glance", "-k", keyring, "rbd", "create",
                           "--size", "1", "volumes/probe")
    assert denied.returncode != 0


def test_config_show_names_where_values_came_from(up: ShoalUp) -> None:
    shown = run_shoal_cli(up.data_dir, "config", "show", "--changed")
    assert shown.returncode == 0, shown.stderr
    assert "rbd_store_chunk_size = 8" in shown.stdout
    assert f"{up.data_dir / 'shoal.conf'}:" in shown.stdout
    password = (up.data_dir / "bootstrap-passwords.json")
    assert not password.exists()  # the passwords live in shoal.conf, which shows them masked
    assert "admin_password = ****" in shown.stdout


# --- the real clients ------------------------------------------------------------------


def test_openstack_token_issue_for_admin_and_demo(up: ShoalUp) -> None:
    admin = _json(openstack(up, "token", "issue", "-f", "json"))
    demo = _json(openstack(up, "token", "issue", "-f", "json", cloud="shoal-demo"))
    assert isinstance(admin, dict) and isinstance(demo, dict)
    assert admin["project_id"] != demo["project_id"]
    assert admin["user_id"] != demo["user_id"]
    assert admin["expires"] > "2000"


def test_openstack_catalog_list(up: ShoalUp) -> None:
    catalog = _json(openstack(up, "catalog", "list", "-f", "json"))
    assert isinstance(catalog, list)
    types = sorted(entry["Type"] for entry in catalog)
    # compute is catalogued: its servers are served (guest disks in RBD, images_type = rbd)
    assert types == ["block-storage", "compute", "identity", "image", "volumev3"]
    port = up.urls["volume"].split(":")[2].split("/")[0]
    volume = next(e for e in catalog if e["Type"] == "volumev3")
    assert all(f":{port}/volume/v3/" in ep["url"] for ep in volume["Endpoints"])


def test_openstack_versions_show_negotiates_every_service(up: ShoalUp) -> None:
    rows = _json(openstack(up, "versions", "show", "-f", "json"))
    assert isinstance(rows, list)
    current = {r["Service Type"]: r for r in rows if r["Status"] == "CURRENT"}
    assert current["identity"]["Version"].startswith("3.")
    assert current["block-storage"]["Max Microversion"] == "3.71"
    assert current["compute"]["Version"] == "2.1"
    assert current["compute"]["Max Microversion"] == "2.96"
    assert current["image"]["Version"].startswith("2.")


_SDK_VERSIONS = """
import json, openstack
conn = openstack.connect(cloud="shoal")
out = {}
for name in ("block_storage", "image", "identity", "compute"):
    data = getattr(conn, name).get_endpoint_data()
    out[name] = {"url": data.url, "min": data.min_microversion, "max": data.max_microversion,
                 "api": data.api_version}
print(json.dumps(out))
"""


def test_openstacksdk_discovers_versions_and_microversions(up: ShoalUp) -> None:
    found = _json(sdk(up, _SDK_VERSIONS))
    assert isinstance(found, dict)
    assert found["block_storage"]["max"] == [3, 71] and found["block_storage"]["min"] == [3, 0]
    assert found["image"]["api"][0] == 2 and found["identity"]["api"][0] == 3
    assert found["block_storage"]["url"].startswith(up.urls["volume"])
    assert found["compute"]["max"] == [2, 96] and found["compute"]["min"] == [2, 1]


def test_bad_password_is_401_for_the_cli(up: ShoalUp) -> None:
    result = run_client(up, "openstack", "--os-password", "wrong", "token", "issue")
    assert result.returncode != 0
    assert "HTTP 401" in result.stderr, result.stderr


def test_openrc_works_for_environment_clients(up: ShoalUp) -> None:
    script = f". {up.data_dir / 'openrc'} && openstack token issue -f value -c user_id"
    bin_dir = clients_bin()
    result = subprocess.run(["bash", "-c", f"PATH={bin_dir}:$PATH; {script}"],
                            capture_output=True, text=True, timeout=120, check=False,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(up.data_dir)})
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip()) == 32


def test_malformed_json_is_400_in_keystones_format(up: ShoalUp) -> None:
    reply = httpx.post(up.urls["identity"] + "/v3/auth/tokens", content=b'{"auth": ',
                       headers={"Content-Type": "application/json"})
    assert reply.status_code == 400
    body = reply.json()
    assert body["error"]["code"] == 400 and body["error"]["message"]


# --- lifecycle -------------------------------------------------------------------------


def _user_ids(up: ShoalUp) -> tuple[str, str]:
    admin = _json(openstack(up, "token", "issue", "-f", "json"))
    demo = _json(openstack(up, "token", "issue", "-f", "json", cloud="shoal-demo"))
    assert isinstance(admin, dict) and isinstance(demo, dict)
    return admin["user_id"], demo["user_id"]


def test_second_start_reuses_everything(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with ShoalUp.start(data) as first:
        ids = _user_ids(first)
    conf = (data / "shoal.conf").read_text()
    keyring = (data / "ceph.client.cinder.keyring").read_text()
    with ShoalUp.start(data) as second:
        assert "wrote the guide's configuration" not in second.output
        assert _user_ids(second) == ids
    assert (data / "shoal.conf").read_text() == conf
    assert (data / "ceph.client.cinder.keyring").read_text() == keyring


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_stops_cleanly_on_signals(tmp_path: Path, sig: int) -> None:
    up = ShoalUp.start(tmp_path / "data")
    port = int(up.urls["identity"].split(":")[2].split("/")[0])
    assert up.stop(sig) == 0
    assert "shoal stopped" in up.output
    assert "Traceback" not in up.output
    with socket.socket() as probe:  # the port is free again
        probe.bind(("127.0.0.1", port))


def test_a_second_shoal_up_on_the_same_data_dir_is_refused(up: ShoalUp) -> None:
    other = subprocess.run(
        [*shoal_command(), "--data-dir",
         str(up.data_dir), "up", "--port", "identity=0"],
        capture_output=True, text=True, timeout=60, check=False)
    assert other.returncode != 0
    assert "another `shoal up`" in other.stderr and str(up.proc.pid) in other.stderr
    assert _json(openstack(up, "token", "issue", "-f", "json"))  # the first one still serves


def test_an_invalid_option_stops_start_up_naming_option_and_file(tmp_path: Path) -> None:
    conf = tmp_path / "shoal.conf"
    conf.write_text("[ceph]\nvolume_driver = cinder.volume.drivers.rbd.RBDDriver\n"
                    "rbd_max_clone_depth = deep\n[DEFAULT]\nenabled_backends = ceph\n")
    result = run_shoal_cli(tmp_path / "data", "up", "--config", str(conf),
                           "--port", "identity=0")
    assert result.returncode != 0
    assert "rbd_max_clone_depth" in result.stderr and str(conf) in result.stderr
    assert "Traceback" not in result.stderr


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = run_shoal_cli(tmp_path / "data", "up", "--port", f"identity={port}",
                               "--port", "image=0", "--port", "volume=0", "--port",
                               "compute=0")
    assert result.returncode != 0
    assert f"127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr


def test_role_checks_with_the_cli(up: ShoalUp) -> None:
    projects = _json(openstack(up, "project", "list", "-f", "json"))
    assert isinstance(projects, list)
    assert {"admin", "demo"} <= {p["Name"] for p in projects}
    denied = openstack(up, "user", "create", "--password", "pw", "intruder", cloud="shoal-demo")
    assert denied.returncode != 0
    assert "403" in denied.stderr and "admin" in denied.stderr, denied.stderr
    made = _json(openstack(up, "user", "create", "--password", "pw", "--project", "demo",
                           "-f", "json", "someone"))
    assert isinstance(made, dict) and made["name"] == "someone"
    assert openstack(up, "role", "add", "--project", "demo", "--user", "someone",
                     "reader").returncode == 0
    users = _json(openstack(up, "user", "list", "-f", "json"))
    assert isinstance(users, list) and "someone" in {u["Name"] for u in users}
    assert openstack(up, "user", "delete", "someone").returncode == 0


def test_a_401_points_clients_at_keystone(up: ShoalUp) -> None:
    reply = httpx.get(up.urls["image"] + "/v2/images", headers={"X-Auth-Token": "bogus"})
    assert reply.status_code == 401
    assert reply.headers["WWW-Authenticate"] == f'Keystone uri="{up.urls["identity"]}"'


# --- logging ---------------------------------------------------------------------------


def test_debug_log_file_has_the_request_ids_and_no_secret(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    conf = tmp_path / "shoal.conf"
    conf.write_text(f"[DEFAULT]\nlog_dir = {logs}\n")
    with ShoalUp.start(tmp_path / "data", "--config", str(conf), "--debug",
                       "--access-log") as up:
        password = json.loads((up.data_dir / "bootstrap-passwords.json").read_text())["admin"]
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
        issued = httpx.post(up.urls["identity"] + "/v3/auth/tokens", json=body)
        assert issued.status_code == 201
        listed = httpx.get(up.urls["image"] + "/v2/images",
                           headers={"X-Auth-Token": issued.headers["X-Subject-Token"]})
        assert listed.status_code == 200
        cli_token = token(up)  # the real client: password login, catalog, token
    text = (logs / "shoal-up.log").read_text()
    assert "logging at DEBUG" in text
    for reply in (issued, listed):  # its headers at DEBUG first, its access line last
        request_id = reply.headers["X-OpenStack-Request-Id"]
        lines = [x for x in text.splitlines() if f"[{request_id}]" in x]
        assert " DEBUG shoal.api " in lines[0] and "headers {" in lines[0], lines
        assert "shoal.api.access" in lines[-1] and f"status: {reply.status_code}" in lines[-1]
    assert "'x-auth-token': '***'" in text
    assert password not in text
    assert issued.headers["X-Subject-Token"] not in text and cli_token not in text
    assert "shoal.api.access" not in up.output  # the file only, without use_stderr
