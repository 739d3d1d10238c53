"""``os-volume_upload_image`` and volumes from non-raw images under ``shoal up``, with the
real clients: the in-cluster upload (clone + flatten, a protected ``snap``, no parent) that
volumes then clone copy-on-write, a qcow2 upload ``qemu-img`` reads as qcow2, a volume from a
qcow2 image with the right bytes, the 400s that leave nothing behind, and ``shoal up`` killed
mid-upload."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.shoal_cli import run_shoal_cli
from tests.shoal_up import ShoalUp, openrc_env, openstack, run_client, token

pytestmark = [pytest.mark.e2e, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("qemu-img") is None, reason="needs qemu-img")]

MiB = 1 << 20
GiB = 1 << 30
WAIT_S = 120


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


def _json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(_ok(result))


@pytest.fixture
def api(up: ShoalUp) -> Iterator[Api]:
    with Api(up) as client:
        yield client


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShoalUp]:
    with ShoalUp.start(tmp_path_factory.mktemp("upload") / "data") as running:
        _ok(openstack(running, "quota", "set", "--volumes", "100", "admin"))
        yield running


class Api:
    """The volume and image APIs of one ``shoal up`` run, as the admin."""

    def __init__(self, up: ShoalUp, version: str = "3.1") -> None:
        headers = {"X-Auth-Token": token(up), "OpenStack-API-Version": f"volume {version}"}
        self.volume = httpx.Client(base_url=up.urls["volume"], timeout=60, headers=headers)
        self.image = httpx.Client(base_url=up.urls["image"] + "/v2", timeout=60,
                                  headers=headers)

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.volume.close()
        self.image.close()

    def wait_volume(self, volume_id: str, status: str) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT_S
        while True:
            body = self.volume.get(f"/volumes/{volume_id}").json()["volume"]
            if body["status"] == status:
                return dict(body)
            assert body["status"] not in ("error",) and time.monotonic() < deadline, body
            time.sleep(0.3)

    def wait_image(self, image_id: str, status: str = "active") -> dict[str, Any]:
        deadline = time.monotonic() + WAIT_S
        while True:
            got = self.image.get(f"/images/{image_id}")
            body = got.json() if got.status_code == 200 else {"status": f"{got.status_code}"}
            if body["status"] == status:
                return dict(body)
            assert time.monotonic() < deadline, body
            time.sleep(0.3)

    def create_volume(self, size: int = 1, **more: Any) -> str:
        made = self.volume.post("/volumes", json={"volume": {"size": size, **more}})
        assert made.status_code == 202, made.text
        volume_id = str(made.json()["volume"]["id"])
        self.wait_volume(volume_id, "available")
        return volume_id

    def upload(self, volume_id: str, **args: Any) -> httpx.Response:
        return self.volume.post(f"/volumes/{volume_id}/action",
                                json={"os-volume_upload_image": args})

    def images(self) -> set[str]:
        return {i["id"] for i in self.image.get("/images").json()["images"]}


def _rbd_info(data: Path, spec: str) -> dict[str, Any]:
    result = run_shoal_cli(data, "rbd", "info", "--format", "json", spec)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def _rbd_names(data: Path, pool: str) -> set[str]:
    result = run_shoal_cli(data, "rbd", "ls", pool)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def _snaps(data: Path, spec: str) -> list[dict[str, Any]]:
    result = run_shoal_cli(data, "rbd", "snap", "ls", "--format", "json", spec)
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def test_upload_in_cluster_then_cow_clone(up: ShoalUp, api: Api) -> None:
    data = up.data_dir
    volume = _json(openstack(up, "volume", "create", "--size", "1", "-f", "json", "src1"))
    api.wait_volume(volume["id"], "available")
    started = time.monotonic()
    image = _json(openstack(up, "image", "create", "--volume", "src1", "-f", "json",
                            "from-src1"))
    image_id = image.get("image_id") or image["id"]
    shown = api.wait_image(image_id)
    elapsed = time.monotonic() - started
    api.wait_volume(volume["id"], "available")
    assert shown["disk_format"] == "raw" and shown["size"] == GiB
    assert shown["os_hash_algo"] == "sha512" and shown["checksum"]
    info = _rbd_info(data, f"images/{image_id}")
    assert "parent" not in info, info
    snaps = _snaps(data, f"images/{image_id}")
    assert [s["name"] for s in snaps] == ["snap"]
    assert _rbd_info(data, f"images/{image_id}@snap").get("protected") in ("true", True)
    # no temporary snapshot stays on the volume
    assert _snaps(data, f"volumes/volume-{volume['id']}") == []
    clone = _json(openstack(up, "volume", "create", "--image", image_id, "--size", "1",
                            "-f", "json", "from-upload"))
    api.wait_volume(clone["id"], "available")
    parent = _rbd_info(data, f"volumes/volume-{clone['id']}")["parent"]
    assert (parent["pool"], parent["image"], parent["snapshot"]) == ("images", image_id,
                                                                     "snap")
    print(f"in-cluster upload of a 1 GiB volume: {elapsed:.1f} s")


def test_qcow2_upload_reads_as_qcow2(up: ShoalUp, api: Api, tmp_path: Path) -> None:
    volume = _json(openstack(up, "volume", "create", "--size", "1", "-f", "json", "src2"))
    api.wait_volume(volume["id"], "available")
    started = time.monotonic()
    out = _ok(run_client(up, "cinder", "upload-to-image", "--disk-format", "qcow2",
                         "src2", "as-qcow2", cloud=None, env=openrc_env(up)))
    image_id = next(line.split("|")[2].strip() for line in out.splitlines()
                    if line.startswith("|") and " image_id " in line)
    shown = api.wait_image(image_id)
    elapsed = time.monotonic() - started
    api.wait_volume(volume["id"], "available")
    assert shown["disk_format"] == "qcow2"
    path = tmp_path / "got.qcow2"
    _ok(openstack(up, "image", "save", "--file", str(path), image_id))
    info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", str(path)],
                                     capture_output=True, text=True, check=True).stdout)
    assert info["format"] == "qcow2" and info["virtual-size"] == GiB
    print(f"streamed qcow2 upload of a 1 GiB volume: {elapsed:.1f} s")


def test_volume_from_qcow2_image_has_the_bytes(up: ShoalUp, api: Api, tmp_path: Path) -> None:
    payload = os.urandom(3 * MiB) + bytes(2 * MiB) + os.urandom(MiB)
    raw, qcow2 = tmp_path / "disk.raw", tmp_path / "disk.qcow2"
    raw.write_bytes(payload)
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(qcow2)],
                   check=True)
    _ok(openstack(up, "image", "create", "--file", str(qcow2), "--disk-format", "qcow2",
                  "--container-format", "bare", "q1"))
    volume = _json(openstack(up, "volume", "create", "--image", "q1", "--size", "1", "-f",
                             "json", "from-qcow2"))
    api.wait_volume(volume["id"], "available")
    out = tmp_path / "vol.raw"
    got = run_shoal_cli(up.data_dir, "rbd", "export", f"volumes/volume-{volume['id']}",
                        str(out))
    assert got.returncode == 0, got.stderr
    data = out.read_bytes()
    assert len(data) == GiB and data[:len(payload)] == payload
    assert data[len(payload):len(payload) + 4 * MiB] == bytes(4 * MiB)


def test_qcow2_with_backing_file_is_refused(up: ShoalUp, api: Api, tmp_path: Path) -> None:
    """Glance takes the image; a volume from it is refused at once (400, Cinder's
    ImageUnacceptable wording), with no record and no RBD image left."""
    base, top = tmp_path / "base.raw", tmp_path / "top.qcow2"
    base.write_bytes(bytes(MiB))
    subprocess.run(["qemu-img", "create", "-f", "qcow2", "-F", "raw", "-b", str(base),
                    str(top)], check=True, capture_output=True)
    image = _json(openstack(up, "image", "create", "--file", str(top), "--disk-format",
                            "qcow2", "--container-format", "bare", "-f", "json", "backed"))
    before = _rbd_names(up.data_dir, "volumes")
    refused = api.volume.post("/volumes", json={"volume": {
        "size": 1, "imageRef": image["id"], "name": "from-backed"}})
    assert refused.status_code == 400, refused.text
    assert refused.json()["badRequest"]["message"] == (
        f"Image {image['id']} is unacceptable: fmt=qcow2 backed by: {base}")
    listed = api.volume.get("/volumes", params={"name": "from-backed"}).json()["volumes"]
    assert listed == []
    assert _rbd_names(up.data_dir, "volumes") == before


@pytest.mark.parametrize("args", [
    {},
    {"image_name": "x", "disk_format": "iso"},
    {"image_name": "x", "container_format": "nope"},
    {"image_name": "x", "force": "maybe"},
])
def test_bad_input_is_400_and_leaves_nothing(up: ShoalUp, api: Api, args: dict[str, Any]) -> None:
    volume_id = api.create_volume(name="bad-input")
    before = api.images()
    got = api.upload(volume_id, **args)
    assert got.status_code == 400, got.text
    assert api.images() == before
    assert api.wait_volume(volume_id, "available")["status"] == "available"


def test_in_use_without_force_is_400(up: ShoalUp, api: Api) -> None:
    volume_id = api.create_volume(name="in-use")
    attach = api.volume.post(f"/volumes/{volume_id}/action", json={"os-attach": {
        "mountpoint": "/dev/vdb", "host_name": "h1"}})
    assert attach.status_code == 202, attach.text
    api.wait_volume(volume_id, "in-use")
    before = api.images()
    for force in (False, True):  # enable_force_upload is off: force is ignored
        got = api.upload(volume_id, image_name="busy", force=force)
        assert got.status_code == 400, got.text
    assert api.images() == before
    assert api.wait_volume(volume_id, "in-use")["status"] == "in-use"


def test_reply_fields(up: ShoalUp, api: Api) -> None:
    volume_id = api.create_volume(name="reply")
    got = api.upload(volume_id, image_name="reply-img", visibility="shared",
                     protected=True)
    assert got.status_code == 202, got.text
    body = got.json()["os-volume_upload_image"]
    assert body["status"] == "uploading" and body["id"] == volume_id
    assert (body["image_name"], body["disk_format"], body["container_format"]) == (
        "reply-img", "raw", "bare")
    assert (body["visibility"], body["protected"]) == ("shared", True)
    assert body["volume_type"]["name"] == "__DEFAULT__"
    image = api.wait_image(body["image_id"])
    assert image["visibility"] == "shared" and image["protected"] is True
    assert image["owner"] == api.volume.get(f"/volumes/{volume_id}").json()[
        "volume"]["os-vol-tenant-attr:tenant_id"]


def test_killed_mid_upload_leaves_nothing_stuck(tmp_path: Path) -> None:
    """SIGKILL while volumes upload (in the cluster and streamed as qcow2): after each
    restart every volume is back to ``available``, every image ``active`` or gone, no
    temporary snapshot stays on a volume and no RBD image in ``images`` lacks its record."""
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    data = tmp_path / "data"
    raw = tmp_path / "disk.raw"
    raw.write_bytes(os.urandom(48 * MiB))
    up = ShoalUp.start(data)
    try:
        _ok(openstack(up, "image", "create", "--file", str(raw), "--disk-format", "raw",
                      "--container-format", "bare", "--public", "disk"))
        with Api(up) as api:
            disk = next(i["id"] for i in api.image.get("/images").json()["images"]
                        if i["name"] == "disk")
            volumes = [api.create_volume(imageRef=disk, name=f"v{i}") for i in range(3)]
        interrupted = 0
        for round_no in range(3):
            with Api(up) as api:
                for n, volume_id in enumerate(volumes):
                    fmt = "qcow2" if (n + round_no) % 2 else "raw"
                    got = api.upload(volume_id, image_name=f"r{round_no}-{n}",
                                     disk_format=fmt)
                    assert got.status_code == 202, got.text
                time.sleep(rng.uniform(0.2, 2.5))
                interrupted += sum(api.volume.get(f"/volumes/{v}").json()["volume"][
                    "status"] == "uploading" for v in volumes)
            up.kill()
            up = ShoalUp.start(data)
            with Api(up) as api:
                for volume_id in volumes:
                    api.wait_volume(volume_id, "available")
                deadline = time.monotonic() + WAIT_S
                while True:
                    images = api.image.get("/images").json()["images"]
                    moving = [i for i in images if i["status"] != "active"]
                    if not moving:
                        break
                    assert time.monotonic() < deadline, f"round {round_no}: {moving}"
                    time.sleep(0.3)
                known = {i["id"] for i in images}
            for volume_id in volumes:
                assert _snaps(data, f"volumes/volume-{volume_id}") == [], round_no
            stray = _rbd_names(data, "images") - known
            assert not stray, f"round {round_no}: RBD images without a record: {stray}"
        assert interrupted > 0, "no kill landed mid-upload: the test proved nothing"
    finally:
        up.stop()
