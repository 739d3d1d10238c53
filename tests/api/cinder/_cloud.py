"""The volume API as ``shoal up`` builds it, driven in-process, with what the fuzz and the
bad-input tests check after every request.

:func:`open_cloud` runs :func:`shoal.deploy.prepare` on a temporary data directory (the
embedded cluster, SQLite, the guide's pools and cephx users), starts its task runner and
issues tokens for an admin, a member and a reader of the demo project and a member of
another project. It stores the images the volume tests need through the image app: a small
raw one, a qcow2 whose virtual size (2 GiB) exceeds a 1 GiB volume, a qcow2 with a backing
file, and the id of a deleted one. Requests go through ``httpx.ASGITransport``; nothing
listens on a port.

:meth:`Cloud.leftovers` compares the volume records with the RBD images ``volume-<id>`` of
the backend's pool (as client.cinder, the driver's user), once every task has ended.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

import shoal.rbd as rbd
from shoal.api._errors import fault_name
from shoal.deploy import Deployment, UpOptions, prepare
from shoal.services.backup._models import Backup
from shoal.services.identity import DomainRef, ProjectRef, UserRef
from shoal.services.tasks.models import Task
from shoal.services.volume._group_models import Group, GroupSnapshot, GroupType
from shoal.services.volume._qos_models import QosSpecs
from shoal.services.volume.models import Attachment, Snapshot, Transfer, Volume, VolumeType
from tests.api.conftest import call

BASE = "/volume/v3"
MiB = 1 << 20
GiB = 1 << 30
SETTLE_S = 30.0
_PASSWORD = "cinder-fuzz-pw"
_DEFAULT = DomainRef(id="default")
ROLES = ("admin", "member", "reader", "other")


@dataclass
class Cloud:
    """The volume and image apps of a prepared deployment, a token per role, the images."""

    deployment: Deployment
    volume_app: Any
    image_app: Any
    tokens: dict[str, str]
    projects: dict[str, str]
    images: dict[str, str] = field(default_factory=dict)

    def call(self, method: str, path: str, *, as_: str | None = "member",
             version: str | None = None, headers: Mapping[str, str] | None = None,
             app: Any = None, **kwargs: Any) -> httpx.Response:
        """One request under ``/volume/v3`` as ``as_`` (None: no token; a string that is
        no role: that string as the token), body read. ``version``: the volume
        microversion sent in ``OpenStack-API-Version``."""
        sent = {"Accept": "application/json", **(headers or {})}
        if as_ is not None:
            sent["X-Auth-Token"] = self.tokens.get(as_, as_)
        if version is not None:
            sent["OpenStack-API-Version"] = f"volume {version}"
        target = self.volume_app if app is None else app
        url = path if path.startswith("/image/") else BASE + path
        return call(target, method, url, headers=sent, **kwargs)

    # --- state ---------------------------------------------------------------------------

    def settle(self, timeout_s: float = SETTLE_S) -> None:
        """Wait until no task is pending or running."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self.deployment.db.session() as session:
                busy = session.execute(select(func.count()).select_from(Task).where(
                    Task.state.in_(("pending", "running")))).scalar_one()
            if not busy:
                return
            assert time.monotonic() < deadline, f"{busy} tasks still running"
            time.sleep(0.005)

    def volume_rows(self) -> dict[str, str]:
        """volume id → status, of every volume record."""
        with self.deployment.db.session() as session:
            return {row[0]: row[1] for row in session.execute(select(Volume.id, Volume.status))}

    def rbd_volumes(self) -> set[str]:
        """The ids of the RBD images ``volume-<id>`` in the backend's pool, and
        ``<id>.deleted`` for a deleted volume's image kept (renamed) for clones of it
        that the driver could not flatten, as Cinder's RBD driver keeps them."""
        stack = self.deployment.volumes
        assert stack is not None
        io = stack.sessions[0].open_ioctx("volumes")
        return {name.removeprefix("volume-") for name in rbd.RBD().list(io)
                if name.startswith("volume-")}

    def hidden_without_clones(self, names: set[str]) -> set[str]:
        """Of the ``<id>.deleted`` ``names``, those no clone needs any more."""
        stack = self.deployment.volumes
        assert stack is not None
        io = stack.sessions[0].open_ioctx("volumes")
        unneeded = set()
        for name in names:
            with rbd.Image(io, f"volume-{name}", read_only=True) as img:
                if not img.list_children2():
                    unneeded.add(name)
        return unneeded

    def leftovers(self) -> tuple[set[str], set[str]]:
        """(volume records without an RBD image, RBD images without a record: a
        ``.deleted`` one only when no clone needs it), once every task has ended."""
        self.settle()
        rows = self.volume_rows()
        images = self.rbd_volumes()
        orphans = images - set(rows)
        hidden = {name for name in orphans if name.endswith(".deleted")}
        return ({i for i in rows if i not in images},
                orphans - hidden | self.hidden_without_clones(hidden))

    def ids(self, kind: str) -> list[str]:
        """Ids of the live ``kind`` records (volume, snapshot, attachment, type, transfer,
        qos, group, group_type, group_snapshot, backup), oldest first (stable between calls)."""
        model: Any = {"volume": Volume, "snapshot": Snapshot, "attachment": Attachment,
                      "type": VolumeType, "transfer": Transfer, "qos": QosSpecs,
                      "group": Group, "group_type": GroupType,
                      "group_snapshot": GroupSnapshot, "backup": Backup}[kind]
        with self.deployment.db.session() as session:
            return list(session.execute(select(model.id).order_by(
                model.created_at, model.id)).scalars())

    # --- helpers for the seeds and the table -----------------------------------------------

    def volume(self, size: int = 1, as_: str = "member", **fields: Any) -> str:
        """A new volume, waited for until ``available``; its id."""
        made = self.call("POST", "/volumes", as_=as_,
                         json={"volume": {"size": size, **fields}})
        assert made.status_code == 202, made.text
        volume_id = str(made.json()["volume"]["id"])
        self.settle()
        status = self.volume_rows()[volume_id]
        assert status == "available", status
        return volume_id

    def snapshot(self, volume_id: str, as_: str = "member") -> str:
        made = self.call("POST", "/snapshots", as_=as_,
                         json={"snapshot": {"volume_id": volume_id, "name": "s"}})
        assert made.status_code == 202, made.text
        self.settle()
        return str(made.json()["snapshot"]["id"])

    def attach(self, volume_id: str, as_: str = "member") -> str:
        """Attach ``volume_id`` as Nova does (3.27 attachment with a connector, 3.44
        complete): the volume becomes ``in-use``; returns the attachment id."""
        connector = {"host": "compute1", "ip": "127.0.0.1", "initiator": "none"}
        made = self.call("POST", "/attachments", as_=as_, version="3.54", json={
            "attachment": {"volume_uuid": volume_id, "instance_uuid": str(uuid.uuid4()),
                           "connector": connector, "mode": "rw"}})
        assert made.status_code == 200, made.text
        attachment_id = str(made.json()["attachment"]["id"])
        done = self.call("POST", f"/attachments/{attachment_id}/action", as_=as_,
                         version="3.54", json={"os-complete": None})
        assert done.status_code == 204, done.text
        assert self.volume_rows()[volume_id] == "in-use"
        return attachment_id

    def store_image(self, name: str, data: bytes, disk_format: str = "raw") -> str:
        """A public image holding ``data`` (as the admin); its id."""
        made = self.call("POST", "/image/v2/images", as_="admin", app=self.image_app, json={
            "name": name, "disk_format": disk_format, "container_format": "bare",
            "visibility": "public"})
        assert made.status_code == 201, made.text
        image_id = str(made.json()["id"])
        put = self.call("PUT", f"/image/v2/images/{image_id}/file", as_="admin",
                        app=self.image_app, content=data,
                        headers={"Content-Type": "application/octet-stream"})
        assert put.status_code == 204, put.text
        return image_id


def assert_cinder_error(response: httpx.Response, context: object = "") -> None:
    """``response`` (4xx) has Cinder's error body: ``{<fault>: {"code", "message"}}``
    (Keystone's ``{"error": ...}`` for a 401, as the token check answers)."""
    status = response.status_code
    assert 400 <= status < 500, (status, response.text, context)
    if response.request.method == "HEAD":
        return
    body = response.json()
    key = "error" if status == 401 else fault_name(status)
    assert list(body) == [key], (body, context)
    assert body[key]["code"] == status, (body, context)
    message = body[key]["message"]
    assert isinstance(message, str) and message, (body, context)


def _token(deployment: Deployment, user: str, project: str) -> str:
    issued = deployment.identity.authenticate_password(
        UserRef(name=user, domain=_DEFAULT), _PASSWORD, ProjectRef(name=project, domain=_DEFAULT))
    return issued.id


def _qemu_img(*args: str) -> None:
    subprocess.run(["qemu-img", *args], check=True, capture_output=True)


def _store_test_images(cloud: Cloud, scratch: Path) -> None:
    cloud.images["raw"] = cloud.store_image("fuzz-raw", bytes(MiB))
    big = scratch / "big.qcow2"
    _qemu_img("create", "-f", "qcow2", str(big), "2G")
    cloud.images["big"] = cloud.store_image("fuzz-big", big.read_bytes(), "qcow2")
    base = scratch / "base.raw"
    base.write_bytes(bytes(MiB))
    backed = scratch / "backed.qcow2"
    _qemu_img("create", "-f", "qcow2", "-b", str(base), "-F", "raw", str(backed))
    cloud.images["backed"] = cloud.store_image("fuzz-backed", backed.read_bytes(), "qcow2")
    gone = cloud.store_image("fuzz-deleted", bytes(MiB))
    deleted = cloud.call("DELETE", f"/image/v2/images/{gone}", as_="admin",
                         app=cloud.image_app)
    assert deleted.status_code == 204, deleted.text
    cloud.images["deleted"] = gone


@contextmanager
def open_cloud(root: Path) -> Iterator[Cloud]:
    """A prepared deployment under ``root`` with its task runner started (see the module
    doc); closed on exit."""
    with prepare(UpOptions(data_dir=root / "data")) as deployment:
        identity = deployment.identity
        demo = deployment.demo.project_name
        other = f"other-{uuid.uuid4().hex[:8]}"
        identity.create_project(other)
        for role, project in (("admin", demo), ("member", demo), ("reader", demo),
                              ("other", other)):
            identity.create_user(f"f-{role}", _PASSWORD)
            identity.assign_role(UserRef(name=f"f-{role}", domain=_DEFAULT),
                                 ProjectRef(name=project, domain=_DEFAULT),
                                 "member" if role == "other" else role)
        tokens = {role: _token(deployment, f"f-{role}", other if role == "other" else demo)
                  for role in ROLES}
        projects = {name: identity.get_project(ProjectRef(name=name, domain=_DEFAULT)).id
                    for name in (demo, other)}
        apps = deployment.apps()
        cloud = Cloud(deployment, apps["volume"], apps["image"], tokens,
                      {"demo": projects[demo], "other": projects[other]})
        deployment.tasks.start()
        _store_test_images(cloud, root)
        yield cloud
