"""The image service through the real clients against ``shoal up`` (issue 6): the guide's
commands, the rbd store's layout, failures that leave nothing behind."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.shoal_cli import run_shoal_cli
from tests.shoal_up import ShoalUp, openrc_env, openstack, run_client, sdk, token

MiB = 1 << 20


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShoalUp]:
    with ShoalUp.start(tmp_path_factory.mktemp("img") / "data") as running:
        yield running


@pytest.fixture(scope="module")
def raw_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 20 MB "disk" with a zero hole in the middle (not a multiple of the chunk size)."""
    path = tmp_path_factory.mktemp("raw") / "centos7.raw"
    data = os.urandom(9 * MiB) + bytes(2 * MiB) + os.urandom(20_000_000 - 11 * MiB)
    path.write_bytes(data)
    return path


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


def _show(up: ShoalUp, name: str) -> dict[str, object]:
    shown = json.loads(_ok(openstack(up, "image", "show", "-f", "json", name)))
    assert isinstance(shown, dict)
    return shown


def _fsid(data_dir: Path) -> str:
    for line in (data_dir / "ceph.conf").read_text().splitlines():
        if line.strip().startswith("fsid"):
            return line.split("=", 1)[1].strip()
    raise AssertionError("no fsid")


def _rbd(up: ShoalUp, *args: str) -> str:
    result = run_shoal_cli(up.data_dir, "rbd", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


# --- the guide ----------------------------------------------------------------------------


def test_the_guides_image_commands(up: ShoalUp, raw_file: Path, tmp_path: Path) -> None:
    _ok(openstack(up, "image", "create", "--file", str(raw_file), "--disk-format", "raw",
                  "--container-format", "bare", "--min-disk", "8", "--public", "Centos7"))
    _ok(openstack(up, "image", "set", "--property", "hw_scsi_model=virtio-scsi",
                  "--property", "hw_disk_bus=scsi", "--property", "hw_qemu_guest_agent=yes",
                  "--property", "os_require_quiesce=yes", "Centos7"))
    image_id = str(_show(up, "Centos7")["id"])
    data = raw_file.read_bytes()
    env = openrc_env(up)
    shown = _ok(run_client(up, "glance", "--os-image-api-version", "2", "image-show",
                           image_id, cloud=None, env=env))
    fields = {}
    for line in shown.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 4 and parts[1]:
            fields[parts[1]] = parts[2]
            last = parts[1]
        elif len(parts) == 4 and not parts[1] and parts[2]:
            fields[last] += parts[2]  # glance folds long values
    assert fields["direct_url"] == f"rbd://{_fsid(up.data_dir)}/images/{image_id}/snap"
    assert fields["checksum"] == hashlib.md5(data).hexdigest()
    assert fields["os_hash_algo"] == "sha512"
    assert fields["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert fields["size"] == str(len(data)) and fields["virtual_size"] == str(len(data))
    assert fields["min_disk"] == "8" and fields["visibility"] == "public"
    for key, value in (("hw_scsi_model", "virtio-scsi"), ("hw_disk_bus", "scsi"),
                       ("hw_qemu_guest_agent", "yes"), ("os_require_quiesce", "yes")):
        assert fields[key] == value
    snaps = _rbd(up, "snap", "ls", f"images/{image_id}", "--format", "json")
    assert [(s["name"], s["protected"]) for s in json.loads(snaps)] == [("snap", "true")]
    info = json.loads(_rbd(up, "info", f"images/{image_id}", "--format", "json"))
    assert info["order"] == 23  # rbd_store_chunk_size = 8 (MiB) in the guide's config
    assert info["size"] == len(data)
    out = tmp_path / "back.raw"
    _ok(run_client(up, "glance", "image-download", "--file", str(out), image_id, cloud=None,
                   env=env))
    assert out.read_bytes() == data
    saved = tmp_path / "saved.raw"
    _ok(openstack(up, "image", "save", "--file", str(saved), "Centos7"))
    assert saved.read_bytes() == data


def test_glanceclient_uploads_chunked(up: ShoalUp, raw_file: Path) -> None:
    shown = _ok(run_client(up, "glance", "image-create", "--name", "chunked", "--disk-format",
                           "raw", "--container-format", "bare", "--file", str(raw_file),
                           cloud=None, env=openrc_env(up)))
    assert "| active" in shown
    assert hashlib.md5(raw_file.read_bytes()).hexdigest() in shown


def test_delete_while_cloned_is_409_and_changes_nothing(up: ShoalUp, raw_file: Path) -> None:
    _ok(openstack(up, "image", "create", "--file", str(raw_file), "--disk-format", "raw",
                  "--container-format", "bare", "parent-image"))
    image_id = str(_show(up, "parent-image")["id"])
    _rbd(up, "clone", f"images/{image_id}@snap", "volumes/volume-from-parent")
    refused = openstack(up, "image", "delete", "parent-image")
    assert refused.returncode != 0
    assert "409" in refused.stderr and "cloned from it" in refused.stderr
    assert _show(up, "parent-image")["status"] == "active"
    assert image_id in _rbd(up, "ls", "images").split()
    _rbd(up, "rm", "volumes/volume-from-parent")
    _ok(openstack(up, "image", "delete", "parent-image"))
    assert image_id not in _rbd(up, "ls", "images").split()


def test_members_cannot_touch_anothers_image(up: ShoalUp, raw_file: Path) -> None:
    _ok(openstack(up, "image", "create", "--private", "--disk-format", "raw",
                  "--container-format", "bare", "admins-private"))
    hidden = openstack(up, "image", "show", "admins-private", cloud="shoal-demo")
    assert hidden.returncode != 0
    _ok(openstack(up, "image", "create", "--public", "--disk-format", "raw",
                  "--container-format", "bare", "admins-public"))
    public_id = str(_show(up, "admins-public")["id"])
    denied = openstack(up, "image", "delete", public_id, cloud="shoal-demo")
    assert denied.returncode != 0 and "403" in denied.stderr, denied.stderr
    demo_public = openstack(up, "image", "create", "--public", "--disk-format", "raw",
                            "--container-format", "bare", "demo-public", cloud="shoal-demo")
    assert demo_public.returncode != 0 and "403" in demo_public.stderr


# --- failures leave nothing behind --------------------------------------------------------


def _create(up: ShoalUp, auth: str, name: str) -> str:
    reply = httpx.post(up.urls["image"] + "/v2/images", headers={"X-Auth-Token": auth},
                       json={"name": name, "disk_format": "raw", "container_format": "bare"})
    assert reply.status_code == 201, reply.text
    return str(reply.json()["id"])


def _partial_upload(url: str, auth: str, image_id: str, declared: int, sent: int
                    ) -> socket.socket:
    """Start ``PUT .../file`` declaring ``declared`` bytes and send only ``sent``."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port))
    head = (f"PUT {parts.path}/v2/images/{image_id}/file HTTP/1.1\r\n"
            f"Host: {parts.netloc}\r\nX-Auth-Token: {auth}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {declared}\r\n\r\n")
    sock.sendall(head.encode() + os.urandom(sent))
    return sock


def _wait_status(up: ShoalUp, auth: str, image_id: str, wanted: str) -> dict[str, object]:
    deadline = time.monotonic() + 30
    while True:
        body = httpx.get(f"{up.urls['image']}/v2/images/{image_id}",
                         headers={"X-Auth-Token": auth}).json()
        if body["status"] == wanted or time.monotonic() > deadline:
            assert body["status"] == wanted, body
            return dict(body)
        time.sleep(0.1)


def test_a_client_that_disconnects_mid_upload_leaves_nothing(up: ShoalUp) -> None:
    auth = token(up)
    image_id = _create(up, auth, "interrupted")
    sock = _partial_upload(up.urls["image"], auth, image_id, 30 * MiB, 9 * MiB)
    _wait_status(up, auth, image_id, "saving")
    sock.close()
    _wait_status(up, auth, image_id, "queued")
    assert image_id not in _rbd(up, "ls", "images").split()
    again = httpx.put(f"{up.urls['image']}/v2/images/{image_id}/file",
                      headers={"X-Auth-Token": auth, "Content-Type": "application/octet-stream"},
                      content=b"x" * 1000)
    assert again.status_code == 204, again.text  # queued again: the client may retry
    assert _wait_status(up, auth, image_id, "active")["size"] == 1000


def test_upload_errors_are_clear_4xx(up: ShoalUp) -> None:
    auth = token(up)
    headers = {"X-Auth-Token": auth, "Content-Type": "application/octet-stream"}
    base = up.urls["image"] + "/v2/images"
    no_formats = httpx.post(base, headers={"X-Auth-Token": auth}, json={"name": "bare"})
    image_id = no_formats.json()["id"]
    reply = httpx.put(f"{base}/{image_id}/file", headers=headers, content=b"abc")
    assert reply.status_code == 400 and "must be set prior to saving data" in reply.text
    image_id = _create(up, auth, "typed")
    reply = httpx.put(f"{base}/{image_id}/file", headers={**headers, "Content-Type": "text/plain"},
                      content=b"abc")
    assert reply.status_code == 415
    assert httpx.put(f"{base}/{image_id}/file", headers=headers, content=b"abc").status_code == 204
    reply = httpx.put(f"{base}/{image_id}/file", headers=headers, content=b"abc")
    assert reply.status_code == 409  # active: no second upload
    bad = httpx.patch(f"{base}/{image_id}", headers={
        "X-Auth-Token": auth, "Content-Type": "application/openstack-images-v2.1-json-patch",
        "Accept": "application/json"},
        content=b'[{"op": "add", "path": "/min_disk", "value": -1}]')
    assert bad.status_code == 400 and bad.json()["code"] == "400 Bad Request"
    assert httpx.get(f"{base}/not-a-uuid", headers={"X-Auth-Token": auth}).status_code == 404


def test_error_messages_reach_glanceclient_and_the_cli(up: ShoalUp) -> None:
    missing = "6b6c3a3e-0000-4000-8000-000000000000"
    shown = run_client(up, "glance", "image-show", missing, cloud=None, env=openrc_env(up))
    assert shown.returncode != 0
    assert f"No image found with ID {missing}" in shown.stderr, shown.stderr
    # (python-openstackclient words every 404 of `image delete` as "Multi Backend support
    # not enabled": its own quirk; the SDK's error carries the message)
    deleted = sdk(up, "import openstack\nopenstack.connect(cloud='shoal').image.delete_image("
                  f"'{missing}', ignore_missing=False)")
    assert deleted.returncode != 0 and f"No image found with ID {missing}" in deleted.stderr


def test_ranges_and_content_md5(up: ShoalUp) -> None:
    auth = token(up)
    image_id = _create(up, auth, "ranged")
    data = os.urandom(3 * MiB + 5)
    url = f"{up.urls['image']}/v2/images/{image_id}/file"
    put = httpx.put(url, headers={"X-Auth-Token": auth,
                                  "Content-Type": "application/octet-stream"}, content=data)
    assert put.status_code == 204
    whole = httpx.get(url, headers={"X-Auth-Token": auth})
    assert whole.content == data
    assert whole.headers["content-md5"] == hashlib.md5(data).hexdigest()
    part = httpx.get(url, headers={"X-Auth-Token": auth, "Range": "bytes=1048570-1048590"})
    assert part.status_code == 206 and part.content == data[1048570:1048591]
    assert part.headers["content-range"] == f"bytes 1048570-1048590/{len(data)}"
    assert httpx.get(url, headers={"X-Auth-Token": auth,
                                   "Range": f"bytes={len(data)}-"}).status_code == 416


# --- restarts and configuration -----------------------------------------------------------


def test_an_upload_killed_with_the_server_is_queued_again_after_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = ShoalUp.start(data_dir)
    auth = token(first)
    image_id = _create(first, auth, "killed-mid-upload")
    sock = _partial_upload(first.urls["image"], auth, image_id, 40 * MiB, 17 * MiB)
    _wait_status(first, auth, image_id, "saving")
    os.kill(first.proc.pid, signal.SIGKILL)
    first.stop()
    sock.close()
    assert image_id in run_shoal_cli(data_dir, "rbd", "ls", "images").stdout  # half-written
    with ShoalUp.start(data_dir) as second:
        body = _wait_status(second, token(second), image_id, "queued")
        assert body["size"] is None
        assert image_id not in _rbd(second, "ls", "images").split()


def test_qcow2_is_converted_when_configured_and_direct_url_hidden(tmp_path: Path) -> None:
    conf = tmp_path / "shoal.conf"
    written = run_shoal_cli(tmp_path / "data", "config", "write-default", "--config",
                            str(conf))
    assert written.returncode == 0, written.stderr
    text = conf.read_text().replace("show_image_direct_url = True",
                                    "show_image_direct_url = False")
    conf.write_text(text + "\n[image_conversion]\noutput_format = raw\n")
    raw = tmp_path / "disk.raw"
    content = os.urandom(3 * MiB) + bytes(5 * MiB) + os.urandom(MiB)
    raw.write_bytes(content)
    qcow2 = tmp_path / "disk.qcow2"
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(qcow2)],
                   check=True, capture_output=True)
    with ShoalUp.start(tmp_path / "data", "--config", str(conf)) as up:
        _ok(openstack(up, "image", "create", "--file", str(qcow2), "--disk-format", "qcow2",
                      "--container-format", "bare", "converted"))
        shown = _show(up, "converted")
        assert shown["disk_format"] == "raw"
        assert shown["virtual_size"] == len(content) and shown["size"] == len(content)
        assert "direct_url" not in json.dumps(shown)
        out = tmp_path / "out.raw"
        _ok(openstack(up, "image", "save", "--file", str(out), "converted"))
        assert out.read_bytes() == content


# --- listing, sharing, tags, deactivation through the clients -----------------------------


def test_listing_filters_paging_and_sorting(up: ShoalUp) -> None:
    auth = token(up)
    ids = [_create(up, auth, f"page-{n}") for n in range(5)]
    base = up.urls["image"] + "/v2/images"
    headers = {"X-Auth-Token": auth}
    seen: list[str] = []
    names = ",".join(f"page-{n}" for n in range(5))
    url: str | None = f"{base}?limit=2&sort_key=name&sort_dir=asc&name=in:{names}"
    while url:
        page = httpx.get(url, headers=headers).json()
        assert len(page["images"]) <= 2
        seen += [image["name"] for image in page["images"]]
        url = up.urls["image"] + page["next"] if "next" in page else None
    assert seen == [f"page-{n}" for n in range(5)]
    chosen = httpx.get(f"{base}?id=in:{ids[1]},{ids[3]}", headers=headers).json()["images"]
    assert sorted(image["id"] for image in chosen) == sorted([ids[1], ids[3]])
    listed = json.loads(_ok(openstack(up, "image", "list", "--name", "page-2", "-f", "json")))
    assert [row["ID"] for row in listed] == [ids[2]]
    bad = httpx.get(f"{base}?limit=-1", headers=headers)
    assert bad.status_code == 400


def test_sharing_an_image_with_another_project(up: ShoalUp) -> None:
    _ok(openstack(up, "image", "create", "--shared", "--disk-format", "raw",
                  "--container-format", "bare", "to-share"))
    image_id = str(_show(up, "to-share")["id"])
    demo_project = json.loads(_ok(openstack(up, "project", "show", "demo", "-f", "json")))["id"]
    assert openstack(up, "image", "show", image_id, cloud="shoal-demo").returncode != 0
    _ok(openstack(up, "image", "add", "project", image_id, demo_project))
    pending = json.loads(_ok(openstack(up, "image", "list", "--member-status", "pending",
                                       "-f", "json", cloud="shoal-demo")))
    assert image_id in [row["ID"] for row in pending]
    _ok(openstack(up, "image", "set", "--accept", image_id, cloud="shoal-demo"))
    mine = json.loads(_ok(openstack(up, "image", "list", "-f", "json", cloud="shoal-demo")))
    assert image_id in [row["ID"] for row in mine]
    members = json.loads(_ok(openstack(up, "image", "member", "list", image_id, "-f", "json")))
    assert [(m["Member ID"], m["Status"]) for m in members] == [(demo_project, "accepted")]


def test_tags_and_deactivation(up: ShoalUp, raw_file: Path, tmp_path: Path) -> None:
    _ok(openstack(up, "image", "create", "--file", str(raw_file), "--disk-format", "raw",
                  "--container-format", "bare", "--public", "--tag", "golden", "tagged"))
    _ok(openstack(up, "image", "set", "--tag", "centos", "tagged"))
    assert sorted(_show(up, "tagged")["tags"]) == ["centos", "golden"]  # type: ignore[arg-type]
    _ok(openstack(up, "image", "unset", "--tag", "golden", "tagged"))
    assert _show(up, "tagged")["tags"] == ["centos"]
    _ok(openstack(up, "image", "set", "--deactivate", "tagged"))
    assert _show(up, "tagged")["status"] == "deactivated"
    refused = openstack(up, "image", "save", "--file", str(tmp_path / "x"), "tagged",
                        cloud="shoal-demo")
    assert refused.returncode != 0
    _ok(openstack(up, "image", "set", "--activate", "tagged"))
    assert _show(up, "tagged")["status"] == "active"


def test_the_real_glance_api_conf_from_a_directory(tmp_path: Path) -> None:
    """``shoal up --config-dir``: glance-api.conf's rbd_store_chunk_size decides the object
    size of the images; no shoal.conf there, so the passwords are generated and kept."""
    conf_dir = tmp_path / "etc"
    conf_dir.mkdir()
    (conf_dir / "glance-api.conf").write_text(
        "[DEFAULT]\nshow_image_direct_url = True\n\n[glance_store]\nstores = rbd\n"
        "default_store = rbd\nrbd_store_pool = images\nrbd_store_user = glance\n"
        "rbd_store_chunk_size = 4\n")
    data_dir = tmp_path / "data"
    with ShoalUp.start(data_dir, "--config-dir", str(conf_dir)) as up:
        assert (data_dir / "bootstrap-passwords.json").exists()
        assert not (data_dir / "shoal.conf").exists()
        disk = tmp_path / "disk.raw"
        disk.write_bytes(os.urandom(5 * MiB))
        _ok(openstack(up, "image", "create", "--file", str(disk), "--disk-format", "raw",
                      "--container-format", "bare", "four-mib"))
        shown = _show(up, "four-mib")
        info = json.loads(_rbd(up, "info", f"images/{shown['id']}", "--format", "json"))
        assert info["order"] == 22
        assert "rbd://" in json.dumps(shown)
