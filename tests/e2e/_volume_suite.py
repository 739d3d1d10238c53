"""The volume service through the real clients against ``shoal up`` (issue 12), for every
backend: the guide's COW volume from an image, snapshots, volumes from snapshots (with and
without ``rbd_flatten_volume_from_snapshot``) and from volumes (past ``rbd_max_clone_depth``),
extend, delete of parents with clones, quotas, transfers, and refusals that leave nothing
behind.

``VolumeSuite`` holds the scenarios; a subclass gives two class-scoped fixtures:

- ``up``: a running ``shoal up`` whose ``DATA_DIR/shoal.conf`` is :func:`suite_config`'s
  (the guide's configuration plus the second backend :data:`FLAT_BACKEND`);
- ``rbd``: ``rbd(*args, admin=False)`` runs ``rbd ARGS`` as ``client.cinder`` (as
  ``client.admin`` with ``admin``) and returns its stdout (``shoal rbd`` on the embedded
  cluster, Ceph's own ``rbd`` tool on Ceph).

``tests/e2e/test_volumes.py`` runs it on the embedded backend,
``tests/ceph/test_volumes_ceph.py`` on the throwaway Ceph cluster. The scenarios run in
their order on one deployment; the last one deletes everything and checks that the
``volumes`` pool is left empty.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from shoal.config import default_text
from tests.e2e._cli import ok as _ok
from tests.e2e._cli import out_json as _json
from tests.shoal_up import ShoalUp, openrc_env, openstack, run_client

MiB = 1 << 20
WAIT_S = 60
#: The image the guide makes volumes from (its data size, MiB).
IMAGE_MIB = 50
#: A second RBD backend on the same pool, with ``rbd_flatten_volume_from_snapshot`` on and a
#: short clone chain (so that ``rbd_max_clone_depth`` is reached in three clones).
FLAT_BACKEND = "ceph-flat"
FLAT_MAX_CLONE_DEPTH = 2
#: The volume type that selects it.
FLAT_TYPE = "flat"

#: ``rbd(*args, admin=False)``: the stdout of ``rbd ARGS`` as ``client.cinder`` (``admin``:
#: ``client.admin``); the test fails on an error.
Rbd = Callable[..., str]


def suite_config(ceph_conf: str, *, backend: str = "embedded") -> str:
    """The text of the suite's ``shoal.conf``: the guide's (``ceph_conf`` for every
    service), served on ``backend`` (``embedded``/``ceph``, whose ``[shoal] ceph_conf`` is
    ``ceph_conf`` too), with :data:`FLAT_BACKEND` enabled after the guide's ``ceph``."""
    text = default_text(ceph_conf=ceph_conf)
    for old, new in (
        ("enabled_backends = ceph\n", f"enabled_backends = ceph,{FLAT_BACKEND}\n"),
        ("backend = embedded\n", f"backend = {backend}\nceph_conf = {ceph_conf}\n"),
    ):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text + (
        f"\n[{FLAT_BACKEND}]\n"
        "volume_driver = cinder.volume.drivers.rbd.RBDDriver\n"
        f"volume_backend_name = {FLAT_BACKEND}\n"
        "rbd_pool = volumes\n"
        f"rbd_ceph_conf = {ceph_conf}\n"
        "rbd_user = cinder\n"
        "rbd_flatten_volume_from_snapshot = true\n"
        f"rbd_max_clone_depth = {FLAT_MAX_CLONE_DEPTH}\n"
    )


_LOG_PROBLEM = re.compile(r" \d+ (ERROR|CRITICAL) |^Traceback ")


def log_problems(up: ShoalUp) -> list[str]:
    """The lines of ``up``'s log that report errors (``ERROR``/``CRITICAL`` records and
    tracebacks): a scenario may be refused, but the service itself must not fail."""
    return [line for line in up.lines if _LOG_PROBLEM.search(line)]


def _volume(up: ShoalUp, name: str, cloud: str = "shoal") -> dict[str, Any]:
    shown = _json(openstack(up, "volume", "show", "-f", "json", name, cloud=cloud))
    assert isinstance(shown, dict)
    return shown


def _wait(up: ShoalUp, kind: str, name: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while True:
        shown = _json(openstack(up, kind, "show", "-f", "json", name)) if kind != "volume" \
            else _volume(up, name)
        if shown["status"] == status:
            return dict(shown)
        assert not str(shown["status"]).startswith("error"), shown
        assert time.monotonic() < deadline, f"{kind} {name} stays {shown['status']}"
        time.sleep(0.2)


def _gone(up: ShoalUp, name: str, kind: str = "volume") -> None:
    deadline = time.monotonic() + WAIT_S
    while openstack(up, *kind.split(), "show", name).returncode == 0:
        assert time.monotonic() < deadline, f"{kind} {name} is not deleted"
        time.sleep(0.2)


def _create(up: ShoalUp, name: str, *args: str) -> dict[str, Any]:
    """``openstack volume create ARGS NAME``, then wait for ``available``."""
    _ok(openstack(up, "volume", "create", *args, name))
    return _wait(up, "volume", name, "available")


def _cinder(up: ShoalUp, *args: str, version: str = "3.71") -> str:
    return _ok(run_client(up, "cinder", "--os-volume-api-version", version, *args,
                          cloud=None, env=openrc_env(up)))


def _parent(info: str) -> str | None:
    """The ``parent:`` of ``rbd info``'s text (``pool/image@snap``), None without one."""
    for line in info.splitlines():
        key, _, value = line.strip().partition(": ")
        if key == "parent":
            return value.strip()
    return None


class VolumeSuite:
    """The scenarios (see the module doc); subclasses give the class-scoped fixtures
    ``up`` and ``rbd``."""

    @pytest.fixture(scope="class")
    @classmethod
    def centos7(cls, up: ShoalUp, tmp_path_factory: pytest.TempPathFactory) -> str:
        """The guide's raw image ``Centos7`` (:data:`IMAGE_MIB` of data), public; its id."""
        path = tmp_path_factory.mktemp("raw") / "centos7.raw"
        path.write_bytes(os.urandom(IMAGE_MIB * MiB))
        _ok(openstack(up, "image", "create", "--file", str(path), "--disk-format", "raw",
                      "--container-format", "bare", "--min-disk", "8", "--public",
                      "Centos7"))
        return str(_json(openstack(up, "image", "show", "-f", "json", "Centos7"))["id"])

    @pytest.fixture(scope="class")
    @classmethod
    def flat_type(cls, up: ShoalUp) -> str:
        """The volume type of :data:`FLAT_BACKEND`; its name."""
        _ok(openstack(up, "volume", "type", "create", "--property",
                      f"volume_backend_name={FLAT_BACKEND}", FLAT_TYPE))
        return FLAT_TYPE

    def test_the_guides_cow_volume(self, up: ShoalUp, rbd: Rbd, centos7: str) -> None:
        made = _json(openstack(up, "volume", "create", "--image", "Centos7", "--size", "10",
                               "-f", "json", "volume_cow"))
        assert made["status"] == "creating" and made["size"] == 10
        shown = _wait(up, "volume", "volume_cow", "available")
        assert shown["bootable"] is True  # Cinder says "true"; openstack shows a boolean
        meta = shown["volume_image_metadata"]
        assert meta["image_id"] == centos7 and meta["image_name"] == "Centos7"
        assert meta["disk_format"] == "raw" and meta["container_format"] == "bare"
        assert meta["min_disk"] == "8" and meta["size"] == str(IMAGE_MIB * MiB)
        assert meta["checksum"]
        assert shown["os-vol-host-attr:host"].endswith("@ceph#ceph")  # admin sees the host
        # cinder show as the guide runs it (all_tenants + name filter)
        cinder = _ok(run_client(up, "cinder", "show", "volume_cow", cloud=None,
                                env=openrc_env(up)))
        assert "| bootable " in cinder and "true" in cinder
        info = rbd("info", f"volumes/volume-{shown['id']}")
        assert _parent(info) == f"images/{centos7}@snap"
        assert f"overlap: {IMAGE_MIB} MiB" in info
        assert "size 10 GiB" in info
        children = rbd("children", f"images/{centos7}@snap")
        assert f"volumes/volume-{shown['id']}" in children
        assert rbd("info", f"volumes/volume-{shown['id']}", admin=True) == info

    def test_cinder_create_by_image_name(self, up: ShoalUp, rbd: Rbd, centos7: str) -> None:
        out = _ok(run_client(up, "cinder", "create", "--image", "Centos7", "--name",
                             "by_name", "9", cloud=None, env=openrc_env(up)))
        assert "by_name" in out
        shown = _wait(up, "volume", "by_name", "available")
        assert shown["volume_image_metadata"]["image_id"] == centos7
        assert _parent(rbd("info", f"volumes/volume-{shown['id']}")) == f"images/{centos7}@snap"
        _ok(openstack(up, "volume", "delete", "by_name"))
        _gone(up, "by_name")
        assert f"volume-{shown['id']}" not in rbd("ls", "volumes")

    def test_snapshots_clones_extend_and_cascade(self, up: ShoalUp, rbd: Rbd) -> None:
        base = _create(up, "base", "--size", "1")
        snap = _json(openstack(up, "volume", "snapshot", "create", "--volume", "base", "-f",
                               "json", "base_snap"))
        _wait(up, "volume snapshot", "base_snap", "available")
        assert rbd("snap", "ls", f"volumes/volume-{base['id']}").count(
            f"snapshot-{snap['id']}") == 1
        from_snap = _create(up, "from_snap", "--snapshot", "base_snap")
        assert from_snap["snapshot_id"] == snap["id"] and from_snap["size"] == 1
        # rbd_flatten_volume_from_snapshot = false (the guide's): a COW clone of the snapshot
        assert _parent(rbd("info", f"volumes/volume-{from_snap['id']}")) == \
            f"volumes/volume-{base['id']}@snapshot-{snap['id']}"
        clone = _create(up, "clone", "--source", "base", "--size", "2")
        assert clone["source_volid"] == base["id"] and clone["size"] == 2
        assert _parent(rbd("info", f"volumes/volume-{clone['id']}")) == \
            f"volumes/volume-{base['id']}@volume-{clone['id']}.clone_snap"
        _ok(openstack(up, "volume", "set", "--size", "3", "clone"))
        assert _wait(up, "volume", "clone", "available")["size"] == 3
        assert "size 3 GiB" in rbd("info", f"volumes/volume-{clone['id']}")
        # a volume with snapshots: 400 without --purge (cascade), deleted with it
        refused = openstack(up, "volume", "delete", "base")
        assert refused.returncode != 0 and "have snapshots" in refused.stderr
        _ok(openstack(up, "volume", "delete", "--purge", "base"))
        _gone(up, "base")
        for name in ("from_snap", "clone"):
            _wait(up, "volume", name, "available")
        # the snapshot's clone was flattened; the volume's clone keeps its hidden parent
        assert _parent(rbd("info", f"volumes/volume-{from_snap['id']}")) is None
        assert _parent(rbd("info", f"volumes/volume-{clone['id']}")) == \
            f"volumes/volume-{base['id']}.deleted@volume-{clone['id']}.clone_snap"

    def test_volume_from_snapshot_flattened(self, up: ShoalUp, rbd: Rbd,
                                            flat_type: str) -> None:
        src = _create(up, "flat_src", "--type", flat_type, "--size", "1")
        assert src["os-vol-host-attr:host"].endswith(f"@{FLAT_BACKEND}#{FLAT_BACKEND}")
        snap = _json(openstack(up, "volume", "snapshot", "create", "--volume", "flat_src",
                               "-f", "json", "flat_snap"))
        _wait(up, "volume snapshot", "flat_snap", "available")
        made = _create(up, "flat_copy", "--snapshot", "flat_snap", "--type", flat_type,
                       "--size", "2")
        assert made["snapshot_id"] == snap["id"] and made["size"] == 2
        info = rbd("info", f"volumes/volume-{made['id']}")
        assert _parent(info) is None and "size 2 GiB" in info
        # flattened: the snapshot has no clone left, so it goes at once with its volume
        assert rbd("children", f"volumes/volume-{src['id']}@snapshot-{snap['id']}") == ""
        _ok(openstack(up, "volume", "delete", "--purge", "flat_src", "flat_copy"))
        for name in ("flat_src", "flat_copy"):
            _gone(up, name)
        listed = rbd("ls", "volumes")
        assert f"volume-{src['id']}" not in listed and f"volume-{made['id']}" not in listed

    def test_clone_chain_past_max_clone_depth(self, up: ShoalUp, rbd: Rbd,
                                              flat_type: str) -> None:
        chain = [_create(up, "chain0", "--type", flat_type, "--size", "1")["id"]]
        for depth in range(1, FLAT_MAX_CLONE_DEPTH + 2):
            chain.append(_create(up, f"chain{depth}", "--type", flat_type, "--source",
                                 f"chain{depth - 1}")["id"])
        for parent, child in itertools.pairwise(chain[:-1]):
            assert _parent(rbd("info", f"volumes/volume-{child}")) == \
                f"volumes/volume-{parent}@volume-{child}.clone_snap"
        # the source is rbd_max_clone_depth clones deep: the new clone is flattened, and the
        # source's snapshot for it is gone
        last, source = chain[-1], chain[-2]
        assert _parent(rbd("info", f"volumes/volume-{last}")) is None
        assert f"volume-{last}.clone_snap" not in rbd("snap", "ls", f"volumes/volume-{source}")
        # a parent with clones goes from the API at once, and from the pool with its last clone
        _ok(openstack(up, "volume", "delete", "chain0"))
        _gone(up, "chain0")
        assert f"volume-{chain[0]}.deleted" in rbd("ls", "volumes").split()
        assert _parent(rbd("info", f"volumes/volume-{chain[1]}")) == \
            f"volumes/volume-{chain[0]}.deleted@volume-{chain[1]}.clone_snap"
        _ok(openstack(up, "volume", "delete", *chain[1:]))
        for volume_id in chain[1:]:
            _gone(up, volume_id)
        listed = rbd("ls", "volumes")
        assert not [v for v in chain if v in listed], listed

    def test_bad_requests_leave_nothing(self, up: ShoalUp, rbd: Rbd) -> None:
        before = _ok(openstack(up, "volume", "list", "-f", "value", "-c", "ID"))
        images_before = rbd("ls", "volumes")
        for args, message in (
            (("--size", "0"), "size"),
            (("--size", "100000"), "quota"),
            (("--size", "1", "--type", "no-such-type"), "no-such-type"),
            (("--size", "1", "--availability-zone", "mars"), "mars"),
            (("--snapshot", "00000000-0000-0000-0000-000000000000"), "no snapshot found"),
        ):
            result = openstack(up, "volume", "create", *args, "refused")
            assert result.returncode != 0, args
            assert message in (result.stderr + result.stdout).lower(), (args, result.stderr)
        assert _ok(openstack(up, "volume", "list", "-f", "value", "-c", "ID")) == before
        assert rbd("ls", "volumes") == images_before

    def test_member_sees_only_its_project(self, up: ShoalUp) -> None:
        _ok(openstack(up, "volume", "create", "--size", "1", "demo_vol", cloud="shoal-demo"))
        deadline = time.monotonic() + WAIT_S
        while _volume(up, "demo_vol", cloud="shoal-demo")["status"] != "available":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        demo_view = _volume(up, "demo_vol", cloud="shoal-demo")
        assert "os-vol-host-attr:host" not in demo_view or demo_view["os-vol-host-attr:host"] \
            is None
        listed = _ok(openstack(up, "volume", "list", "-f", "value", "-c", "Name",
                               cloud="shoal-demo")).split()
        assert listed == ["demo_vol"]

    def test_limits_show_usage(self, up: ShoalUp) -> None:
        _ok(openstack(up, "volume", "create", "--size", "2", "limits_vol", cloud="shoal-demo"))
        limits = _json(openstack(up, "limits", "show", "--absolute", "-f", "json",
                                 cloud="shoal-demo"))
        values = {row["Name"]: row["Value"] for row in limits}
        # the SDK renames Cinder's maxTotalVolumes... to snake case
        assert values["max_total_volumes"] == 10, limits
        assert values["max_total_volume_gigabytes"] == 1000
        assert values["total_volumes_used"] >= 1
        assert values["total_gigabytes_used"] >= 2

    def test_attachments_connection_info_and_detach(self, up: ShoalUp) -> None:
        vol = _json(openstack(up, "volume", "create", "--size", "1", "-f", "json",
                              "attach_me"))
        _wait(up, "volume", "attach_me", "available")
        server = "11111111-2222-3333-4444-555555555555"
        out = _cinder(up, "attachment-create", "--connect", "True", "--host", "compute1",
                      "--ip", "127.0.0.1", "--initiator", "none", "--mountpoint", "/dev/vdb",
                      vol["id"], server)
        attachment_id = next(line.split("|")[2].strip() for line in out.splitlines()
                             if line.startswith("| id "))
        shown = _volume(up, "attach_me")
        assert shown["status"] == "attaching"
        info = json.loads(_ok(run_client(up, "openstack", "--os-volume-api-version", "3.27",
                                         "volume", "attachment", "show", "-f", "json",
                                         attachment_id)))
        assert info["Status"] == "attaching" and info["Attach Mode"] == "rw"
        conn = info["Properties"]
        assert conn["driver_volume_type"] == "rbd"
        data = conn["data"]
        assert data["name"] == f"volumes/volume-{vol['id']}"
        assert data["auth_username"] == "cinder"
        assert data["secret_type"] == "ceph" and data["discard"] is True
        assert data["access_mode"] == "rw" and data["volume_id"] == vol["id"]
        conf = (up.data_dir / "shoal.conf").read_text()
        assert f"rbd_secret_uuid = {data['secret_uuid']}" in conf
        _cinder(up, "attachment-complete", attachment_id, version="3.44")
        shown = _volume(up, "attach_me")
        assert shown["status"] == "in-use"
        assert shown["attachments"][0]["server_id"] == server
        refused = openstack(up, "volume", "delete", "attach_me")
        assert refused.returncode != 0 and "attached" in refused.stderr
        _cinder(up, "attachment-delete", attachment_id)
        assert _volume(up, "attach_me")["status"] == "available"
        _ok(openstack(up, "volume", "delete", "attach_me"))
        _gone(up, "attach_me")

    def test_flags_metadata_and_admin_actions(self, up: ShoalUp) -> None:
        vol = _create(up, "flags", "--size", "1", "--property", "a=1")
        _ok(openstack(up, "volume", "set", "--bootable", "--read-only", "--property", "b=2",
                      "--image-property", "os_distro=centos", "flags"))
        shown = _volume(up, "flags")
        assert shown["bootable"] is True
        assert shown["properties"] == {"a": "1", "b": "2", "readonly": "True"}
        assert shown["volume_image_metadata"] == {"os_distro": "centos"}
        _ok(openstack(up, "volume", "unset", "--property", "a", "--image-property",
                      "os_distro", "flags"))
        shown = _volume(up, "flags")
        assert "a" not in shown["properties"] and not shown.get("volume_image_metadata")
        _cinder(up, "reset-state", "--state", "error", vol["id"])
        assert _volume(up, "flags")["status"] == "error"
        demo_refused = run_client(up, "openstack", "volume", "set", "--state", "available",
                                  vol["id"], cloud="shoal-demo")
        assert demo_refused.returncode != 0
        _ok(openstack(up, "volume", "delete", "--force", "flags"))
        _gone(up, "flags")

    def test_transfer_between_projects(self, up: ShoalUp, rbd: Rbd) -> None:
        vol = _create(up, "moving", "--size", "1")
        offer = _json(openstack(up, "volume", "transfer", "request", "create", "-f", "json",
                                "--name", "gift", "moving"))
        assert offer["volume_id"] == vol["id"] and len(offer["auth_key"]) == 16
        assert _volume(up, "moving")["status"] == "awaiting-transfer"
        listed = _json(openstack(up, "volume", "transfer", "request", "list", "-f", "json"))
        assert [t["ID"] for t in listed] == [offer["id"]]
        wrong = openstack(up, "volume", "transfer", "request", "accept", "--auth-key",
                          "0123456789abcdef", offer["id"], cloud="shoal-demo")
        assert wrong.returncode != 0 and "invalid auth key" in wrong.stderr.lower()
        _ok(openstack(up, "volume", "transfer", "request", "accept", "--auth-key",
                      offer["auth_key"], offer["id"], cloud="shoal-demo"))
        taken = _volume(up, vol["id"], cloud="shoal-demo")
        assert taken["status"] == "available"
        demo_project = _json(openstack(up, "token", "issue", "-f", "json",
                                       cloud="shoal-demo"))["project_id"]
        assert _volume(up, vol["id"])["os-vol-tenant-attr:tenant_id"] == demo_project
        assert _json(openstack(up, "volume", "transfer", "request", "list", "-f",
                               "json")) == []
        # the image stays where it was: a transfer only changes the owner
        assert f"volume-{vol['id']}" in rbd("ls", "volumes").split()
        # withdrawing an offer gives the volume back
        _create(up, "kept", "--size", "1")
        offer = _json(openstack(up, "volume", "transfer", "request", "create", "-f", "json",
                                "kept"))
        _ok(openstack(up, "volume", "transfer", "request", "delete", offer["id"]))
        assert _volume(up, "kept")["status"] == "available"

    def test_deleting_everything_leaves_nothing(self, up: ShoalUp, rbd: Rbd,
                                                centos7: str) -> None:
        """Last: every volume of every project goes, then the image; the pools keep
        nothing of them (no ``.deleted`` parent, nothing in the trash)."""
        left = _json(openstack(up, "volume", "list", "--all-projects", "-f", "json"))
        assert left, "the scenarios above leave volumes"
        _ok(openstack(up, "volume", "delete", "--purge", *(row["ID"] for row in left)))
        for row in left:
            _gone(up, row["ID"])
        listed = (rbd("ls", "volumes"), rbd("ls", "volumes", admin=True),
                  rbd("trash", "ls", "volumes", admin=True))
        assert listed == ("", "", ""), (f"left in the pool (ls, admin ls, trash): {listed}; "
                                        f"shoal's log: {up.lines[-60:]}")
        _ok(openstack(up, "image", "delete", "Centos7"))
        _gone(up, centos7, kind="image")
        assert centos7 not in rbd("ls", "images")
