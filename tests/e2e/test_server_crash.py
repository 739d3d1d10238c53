"""``shoal up`` killed (SIGKILL) at random moments, mid-request or mid-task, while servers
are built (a raw image's copy-on-write clone, and a qcow2 image downloaded, converted and
imported: the slow path), with ephemeral and swap disks or without, stopped, started and
deleted, some deleted while they build, in two projects (issue 14). Within a minute of every
restart:

- nothing stays BUILD or with a task_state;
- an ACTIVE or SHUTOFF server has exactly its disks, complete (``shoal.disk_made`` set), the
  root one the flavor's size, a clone of ``images/<raw image>@snap`` or an import, holding
  the image's data (its last MiB read back);
- an ERROR server has no disk, and a fault saying the kills interrupted its task too often
  (nothing else may fail here: the images, flavors and quotas are fine);
- a deleted server shows DELETED and has no disk; a delete the API accepted (204) ends the
  server; no server is deleted unasked, none the API accepted vanishes;
- no ``<uuid>_disk*`` image in ``vms`` lacks its server.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e._cli import ok
from tests.shoal_up import ShoalUp, openstack, token

pytestmark = pytest.mark.slow

MiB = 1 << 20
GiB = 1 << 30
ROUNDS = 8
#: How long after a restart everything may take to come right (statuses, then disks: a
#: build that outlived its server's delete removes its disks when it ends), seconds.
SETTLE_S = 60
#: Servers one project may have (Nova's default quota; deleting ones count until deleted).
INSTANCES_QUOTA = 10
#: Bytes of the image data read back from each disk (at the end of the image's data).
SAMPLE_BYTES = 1 * MiB
#: The image data's size: large enough that a download and import takes a while.
IMAGE_BYTES = 96 * MiB
#: Statuses a server may rest in with its disks (ERROR and DELETED: without).
WITH_DISKS = {"ACTIVE", "SHUTOFF"}
#: The runner's words for a task that the kills interrupted too often (the only failure a
#: valid request may end in here: images, flavors and quotas are fine).
INTERRUPTED = "interrupted: its runner"
FLAVORS = ("m1.tiny", "m1.eph")

#: Run in a subprocess (the embedded store as ``client.admin``, as ``shoal rbd`` opens it):
#: every image of POOL with its size, parent, image metadata and (root disks) the SHA-256
#: of LENGTH bytes from OFFSET, as JSON. ``shoal rbd`` has no ``image-meta``, hence this.
_SURVEY = """
import hashlib, json, sys
from pathlib import Path
from shoal.cluster.backend import BackendConfig, open_session
from shoal.rbd import RBD, Image, ImageNotFound
data_dir, pool, offset, length = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
session = open_session(BackendConfig(data_dir=Path(data_dir)))
try:
    io = session.open_ioctx(pool)
    out = {}
    for name in RBD().list(io):
        try:
            with Image(io, name, read_only=True) as img:
                try:
                    parent = "{}/{}@{}".format(*img.parent_info())
                except ImageNotFound:
                    parent = None
                sample = None
                if name.endswith("_disk") and img.size() >= offset + length:
                    sample = hashlib.sha256(img.read(offset, length)).hexdigest()
                out[name] = {"size": img.size(), "parent": parent, "sample": sample,
                             "meta": dict(img.metadata_list())}
        except ImageNotFound:
            pass
    print(json.dumps(out))
finally:
    session.shutdown()
"""


@dataclass
class Images:
    """The two images: ``raw`` (cloned), ``qcow2`` (downloaded); the data's sample hash."""

    raw: str
    qcow2: str
    sample: str


@dataclass
class Book:
    """What the test asked for, across rounds: the servers made (202), those asked deleted
    (the request sent, perhaps cut by the kill), and those whose delete was accepted (204)."""

    made: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    delete_accepted: set[str] = field(default_factory=set)


class Compute:
    """The compute API of one ``shoal up`` run as one project's user (microversion 2.79)."""

    def __init__(self, up: ShoalUp, cloud: str) -> None:
        self.client = httpx.Client(base_url=up.urls["compute"], timeout=30, headers={
            "X-Auth-Token": token(up, cloud), "OpenStack-API-Version": "compute 2.79"})

    def servers(self, **params: str) -> list[dict[str, Any]]:
        """``/servers/detail`` with ``params`` (``all_tenants``, ``deleted``...)."""
        reply = self.client.get("/servers/detail", params=params)
        reply.raise_for_status()
        return list(reply.json()["servers"])

    def create(self, name: str, image: str, flavor: str) -> str:
        reply = self.client.post("/servers", json={"server": {
            "name": name, "imageRef": image, "flavorRef": flavor, "networks": "none"}})
        assert reply.status_code == 202, reply.text
        return str(reply.json()["server"]["id"])

    def act(self, server_id: str, body: dict[str, Any]) -> None:
        reply = self.client.post(f"/servers/{server_id}/action", json=body)
        assert reply.status_code in (202, 409), reply.text  # 409: it moved meanwhile

    def delete(self, server_id: str) -> None:
        reply = self.client.delete(f"/servers/{server_id}")
        assert reply.status_code == 204, reply.text

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A data directory whose busy disks are retried every second (a build writing a disk
    keeps its delete waiting: long enough for an import to end, not Nova's minute)."""
    data = tmp_path / "data"
    with ShoalUp.start(data):
        pass
    conf = data / "shoal.conf"
    conf.write_text(conf.read_text().replace(
        "[libvirt]\n", "[libvirt]\nrbd_destroy_volume_retries = 20\n"
        "rbd_destroy_volume_retry_interval = 1\n", 1))
    yield data


def _survey(data: Path) -> dict[str, dict[str, Any]]:
    """Every image of ``vms`` (see :data:`_SURVEY`)."""
    result = subprocess.run(
        [sys.executable, "-c", _SURVEY, str(data), "vms", str(IMAGE_BYTES - SAMPLE_BYTES),
         str(SAMPLE_BYTES)], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def _upload(up: ShoalUp, tmp: Path) -> Images:
    """A raw image of random data, and the same data as qcow2 (``qemu-img convert``)."""
    raw, qcow2 = tmp / "disk.raw", tmp / "disk.qcow2"
    data = os.urandom(IMAGE_BYTES)
    raw.write_bytes(data)
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(qcow2)],
                   check=True, capture_output=True, timeout=120)
    ids = []
    for path, fmt in ((raw, "raw"), (qcow2, "qcow2")):
        ids.append(ok(openstack(up, "image", "create", "--file", str(path), "--disk-format",
                                fmt, "--container-format", "bare", "--public", "-f", "value",
                                "-c", "id", f"disk-{fmt}")).strip())
    sample = hashlib.sha256(data[IMAGE_BYTES - SAMPLE_BYTES:]).hexdigest()
    return Images(raw=ids[0], qcow2=ids[1], sample=sample)


def _settle(admin: Compute, deadline: float) -> list[dict[str, Any]]:
    """Wait until no server builds or has a task; return them all (every project).
    Fails the test at ``deadline`` (``time.monotonic()``)."""
    while True:
        servers = admin.servers(all_tenants="1")
        moving = [s for s in servers
                  if s["status"] == "BUILD" or s["OS-EXT-STS:task_state"] is not None]
        if not moving:
            return servers
        assert time.monotonic() < deadline, f"stuck after a restart: {moving}"
        time.sleep(0.3)


def _check(up: ShoalUp, images: Images, book: Book) -> tuple[list[dict[str, Any]], list[str]]:
    """Once settled, the servers and what is wrong (see :func:`_problems`), looked at again
    every second while something is, until :data:`SETTLE_S` after the call."""
    deadline = time.monotonic() + SETTLE_S
    admin = Compute(up, "shoal")
    try:
        while True:
            servers = _settle(admin, deadline)
            deleted = admin.servers(all_tenants="1", deleted="true")
            problems = _problems(servers, deleted, _survey(up.data_dir), images, book)
            if not problems or time.monotonic() >= deadline:
                return servers, problems
            time.sleep(1.0)
    finally:
        admin.close()


def _expected_disks(server_id: str, flavor: str) -> set[str]:
    """The disk names a server of ``flavor`` (a name of :data:`FLAVORS`) has in ``vms``."""
    root = f"{server_id}_disk"
    return {root, f"{root}.local", f"{root}.swap"} if flavor == "m1.eph" else {root}


def _problems(servers: list[dict[str, Any]], deleted: list[dict[str, Any]],
              disks: dict[str, dict[str, Any]], images: Images, book: Book) -> list[str]:
    """Every broken invariant (see the module doc), one line each."""
    out: list[str] = []
    owner = {name: name.split("_disk", 1)[0] for name in disks}
    of: dict[str, set[str]] = {}
    for name, server_id in owner.items():
        of.setdefault(server_id, set()).add(name)
    live = {s["id"]: s for s in servers}
    for server in servers:
        sid, status = server["id"], server["status"]
        have = of.get(sid, set())
        if status in WITH_DISKS:
            want = _expected_disks(sid, server["flavor"]["original_name"])
            if have != want:
                out.append(f"{status} server {sid} has disks {sorted(have)}, not "
                           f"{sorted(want)}")
            root = disks.get(f"{sid}_disk")
            if root is not None:
                out.extend(_root_problems(sid, server["image"]["id"], root, images))
            for name in want - {f"{sid}_disk"}:
                if name in disks and disks[name]["meta"].get("shoal.disk_made") != "blank":
                    out.append(f"disk {name} of {status} server {sid} is incomplete: "
                               f"{disks[name]}")
        elif status == "ERROR":
            fault = server.get("fault", {}).get("message", "")
            if INTERRUPTED not in fault:  # nothing else here may fail a build or a delete
                out.append(f"ERROR server {sid} failed for another reason than the kills: "
                           f"{fault or 'no fault'}")
            if have:
                out.append(f"ERROR server {sid} kept disks {sorted(have)}")
        else:
            out.append(f"server {sid} rests in {status}: {server}")
        if sid in book.delete_accepted and status != "ERROR":
            out.append(f"{status} server {sid} outlived the delete the API accepted")
    for server in deleted:
        sid = server["id"]
        if sid not in book.deleted:
            out.append(f"server {sid} was deleted but nobody asked: {server}")
        if server["status"] != "DELETED":
            out.append(f"deleted server {sid} shows {server['status']} (vm_state "
                       f"{server['OS-EXT-STS:vm_state']}, fault {server.get('fault')})")
        if of.get(sid):
            out.append(f"deleted server {sid} kept disks {sorted(of[sid])}")
    gone = {s["id"] for s in deleted}
    lost = book.made - set(live) - gone
    if lost:
        out.append(f"servers the API accepted are neither listed nor deleted: {sorted(lost)}")
    for sid, names in sorted(of.items()):
        if sid not in live and sid not in gone:
            out.append(f"disks without any server: {sorted(names)}")
    return out


def _root_problems(sid: str, image: str, root: dict[str, Any], images: Images
                   ) -> list[str]:
    """A live server's root disk: complete, as its ``image`` makes it, holding its data."""
    made = root["meta"].get("shoal.disk_made")
    want_made, want_parent = ("clone", f"images/{images.raw}@snap") if image == images.raw \
        else ("import", None)
    out = []
    if made != want_made or root["parent"] != want_parent:
        out.append(f"root disk of {sid} (image {image}) is {made!r} with parent "
                   f"{root['parent']!r}, not {want_made!r} of {want_parent!r}")
    if root["size"] != GiB:
        out.append(f"root disk of {sid} is {root['size']} bytes, not the flavor's {GiB}")
    if root["sample"] != images.sample:
        out.append(f"root disk of {sid} (image {image}, {made!r}) does not hold the image's "
                   "data (its last MiB differs)")
    return out


def _round(rng: random.Random, users: list[Compute], images: Images, flavors: dict[str, str],
           book: Book, round_no: int) -> None:
    """One round of requests: deletes, stops and starts of resting servers, then new
    servers (some deleted at once, while they build). A request cut by the kill ends it."""
    for user in users:
        resting = user.servers()
        for server in resting:
            pick = rng.random()
            if pick < 0.35:
                _delete(user, server["id"], book)
            elif pick < 0.55 and server["status"] == "ACTIVE":
                user.act(server["id"], {"os-stop": None})
            elif pick < 0.8 and server["status"] == "SHUTOFF":
                user.act(server["id"], {"os-start": None})
        for i in range(min(rng.randint(3, 5), INSTANCES_QUOTA - len(resting))):
            image = rng.choice((images.raw, images.qcow2))
            flavor = rng.choice(FLAVORS)
            sid = user.create(f"r{round_no}-{i}", image, flavors[flavor])
            book.made.add(sid)
            if rng.random() < 0.35:  # while it builds: the build must not outlive it
                _delete(user, sid, book)


def _delete(user: Compute, server_id: str, book: Book) -> None:
    book.deleted.add(server_id)  # first: the kill may cut the request
    user.delete(server_id)
    book.delete_accepted.add(server_id)


class _Killer:
    """SIGKILLs ``up`` after ``after_s`` seconds, from a timer thread; ``fired`` is set
    just before the signal (so a request it cuts can tell)."""

    def __init__(self, up: ShoalUp, after_s: float) -> None:
        self.fired = threading.Event()
        self._up = up
        self._timer = threading.Timer(after_s, self._kill)
        self._timer.start()

    def _kill(self) -> None:
        self.fired.set()
        self._up.proc.kill()

    def join(self) -> None:
        self._timer.join()


def test_killed_mid_operation_leaves_nothing_stuck(data_dir: Path, tmp_path: Path) -> None:
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    up = ShoalUp.start(data_dir)
    try:
        images = _upload(up, tmp_path)
        ok(openstack(up, "flavor", "create", "--ram", "64", "--vcpus", "1", "--disk", "1",
                     "--ephemeral", "1", "--swap", "64", "m1.eph"))
        book = Book()
        resumed = active = 0
        for round_no in range(ROUNDS):
            users = [Compute(up, "shoal"), Compute(up, "shoal-demo")]
            flavors = {f["name"]: f["id"] for f in
                       users[0].client.get("/flavors").raise_for_status().json()["flavors"]}
            killer = _Killer(up, rng.uniform(0.2, 2.5))  # mid-requests or mid-tasks
            try:
                _round(rng, users, images, flavors, book, round_no)
            except httpx.TransportError:
                if not killer.fired.is_set():  # not cut by the kill: a real failure
                    raise
            finally:
                killer.join()
                for user in users:
                    user.close()
            up.kill()
            up = ShoalUp.start(data_dir)
            resumed += sum("interrupted operations of an earlier run" in line
                           for line in up.lines)
            servers, problems = _check(up, images, book)
            assert not problems, f"round {round_no}:\n" + "\n".join(problems)
            active += sum(s["status"] == "ACTIVE" for s in servers)
        # the kills did land mid-operation and servers were made (else this proves nothing)
        assert active > 0 and resumed > 0, (active, resumed)
    finally:
        up.stop()
