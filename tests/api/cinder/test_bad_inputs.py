"""The bad requests Cinder refuses, one by one, against the volume API of ``shoal up``:
each gets Cinder's status and message (its ``cinder/exception.py`` texts and its
JSON-schema validator's wording) in Cinder's error body, and leaves nothing behind: no
new volume, snapshot or transfer record, no new RBD image, the volume it aimed at as it
was.

Where shoal words a message with more detail than Cinder (the malformed body names the
parser's line and column), the table checks Cinder's text as a prefix. Known bugs outside
the request parsing are ``xfail(strict=True)`` with the bug named.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.cinder._cloud import Cloud, assert_cinder_error, open_cloud

NO_SUCH = "00000000-0000-4000-8000-000000000000"


@dataclass
class World:
    """The cloud and the records the cases aim at."""

    cloud: Cloud
    volume: str  # 2 GiB, available
    with_snapshot: str
    in_use: str
    transfer: str  # of ``transferred`` (awaiting-transfer)

    def state(self) -> tuple[dict[str, str], set[str], list[str], list[str]]:
        """Volume records and statuses, RBD volume images, snapshots, transfers."""
        c = self.cloud
        c.settle()
        return c.volume_rows(), c.rbd_volumes(), c.ids("snapshot"), c.ids("transfer")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with open_cloud(tmp_path_factory.mktemp("cinder-bad")) as cloud:
        zero = cloud.call("PUT", f"/os-quota-sets/{cloud.projects['other']}", as_="admin",
                          json={"quota_set": {"volumes": 0}})
        assert zero.status_code == 200, zero.text
        with_snapshot = cloud.volume()
        cloud.snapshot(with_snapshot)
        in_use = cloud.volume()
        cloud.attach(in_use)
        made = cloud.call("POST", "/volume-transfers", version="3.55",
                          json={"transfer": {"volume_id": cloud.volume(), "name": "t"}})
        assert made.status_code == 202, made.text
        yield World(cloud, cloud.volume(2), with_snapshot, in_use,
                    str(made.json()["transfer"]["id"]))


@dataclass(frozen=True)
class Case:
    """One bad request and Cinder's answer.

    ``path`` and ``body`` may be callables of the world (ids known only then);
    ``message`` is Cinder's whole message, or its start when ``prefix``.
    """

    id: str
    method: str
    path: str | Callable[[World], str]
    status: int
    message: str | Callable[[World], str]
    body: Any = None
    raw: bytes | None = None
    version: str | None = None
    as_: str = "member"
    prefix: bool = False
    xfail: str | None = None


def _volume(**fields: Any) -> dict[str, Any]:
    return {"volume": fields}


def _size_case(name: str, size: Any, problem: str) -> Case:
    return Case(f"size-{name}", "POST", "/volumes", 400,
                f"Invalid input for field/attribute size. Value: {size}. {problem}",
                body=_volume(size=size))


MALFORMED = "Malformed request body"
NOT_DELETABLE = (
    "Invalid volume: Volume status must be available or error or error_restoring or "
    "error_extending or error_managing and must not be migrating, attached, belong to a "
    "group, have snapshots, awaiting a transfer, or be disassociated from snapshots after "
    "volume transfer.")

CASES: tuple[Case, ...] = (
    Case("not-json", "POST", "/volumes", 400, MALFORMED, raw=b"{volume:", prefix=True),
    Case("not-utf8", "POST", "/volumes", 400, MALFORMED, raw=b'{"volume": "\xff"}',
         prefix=True),
    Case("digits-past-python-limit", "POST", "/volumes", 400, MALFORMED,
         raw=b'{"volume": {"size": ' + b"9" * 5000 + b"}}", prefix=True),
    Case("nested-too-deep", "POST", "/volumes", 400, MALFORMED,
         raw=b'{"volume": ' + b"[" * 20000 + b"]" * 20000 + b"}", prefix=True),
    Case("body-not-object", "POST", "/volumes", 400, "[] is not of type 'object'", body=[]),
    Case("no-volume-key", "POST", "/volumes", 400, "'volume' is a required property",
         body={}),
    Case("unknown-top-level-field", "POST", "/volumes", 400,
         "Additional properties are not allowed ('bogus' was unexpected)",
         body={"volume": {"size": 1}, "bogus": 1}),
    Case("unknown-volume-field-3.53", "POST", "/volumes", 400,
         "Invalid input for field/attribute volume. Value: {'size': 1, 'bogus': 1}. "
         "Additional properties are not allowed ('bogus' was unexpected)",
         body=_volume(size=1, bogus=1), version="3.53"),
    Case("unknown-update-field", "PUT", lambda w: f"/volumes/{w.volume}", 400,
         "Invalid input for field/attribute volume. Value: {'bogus': 1}. "
         "Additional properties are not allowed ('bogus' was unexpected)",
         body=_volume(bogus=1)),
    Case("unknown-snapshot-field", "POST", "/snapshots", 400,
         lambda w: f"Invalid input for field/attribute snapshot. Value: {{'volume_id': "
         f"'{w.volume}', 'bogus': 1}}. Additional properties are not allowed ('bogus' was "
         "unexpected)", body=lambda w: {"snapshot": {"volume_id": w.volume, "bogus": 1}}),
    Case("accept-without-key", "POST", lambda w: f"/volume-transfers/{w.transfer}/accept",
         400, "Invalid input for field/attribute accept. Value: {}. 'auth_key' is a "
         "required property", body={"accept": {}}, version="3.55", as_="other"),
    _size_case("0", 0, "0 is less than the minimum of 1"),
    _size_case("minus-1", -1, "-1 is less than the minimum of 1"),
    _size_case("int32-overflow", 2**31, "2147483648 is greater than the maximum of 2147483647"),
    _size_case("huge", 2**40, "1099511627776 is greater than the maximum of 2147483647"),
    _size_case("string", "abc", "'abc' does not match '^[0-9]+$'"),
    _size_case("decimal-string", "1.5", "'1.5' does not match '^[0-9]+$'"),
    _size_case("boolean", True, "True is not of type 'integer', 'string', 'null'"),
    Case("missing-image", "POST", "/volumes", 404, f"Image {NO_SUCH} could not be found.",
         body=_volume(size=1, imageRef=NO_SUCH)),
    Case("missing-backup", "POST", "/volumes", 404, f"Backup {NO_SUCH} could not be found.",
         body=_volume(backup_id=NO_SUCH), version="3.47"),
    Case("deleted-image", "POST", "/volumes", 404,
         lambda w: f"Image {w.cloud.images['deleted']} could not be found.",
         body=lambda w: _volume(size=1, imageRef=w.cloud.images["deleted"])),
    Case("deleted-image-as-admin", "POST", "/volumes", 404,
         lambda w: f"Image {w.cloud.images['deleted']} could not be found.",
         body=lambda w: _volume(size=1, imageRef=w.cloud.images["deleted"]), as_="admin"),
    Case("image-larger-than-volume", "POST", "/volumes", 400,
         "Invalid input received: Size of specified image 2GB is larger than volume size "
         "1GB.", body=lambda w: _volume(size=1, imageRef=w.cloud.images["big"])),
    Case("qcow2-with-backing-file", "POST", "/volumes", 400,
         lambda w: f"Image {w.cloud.images['backed']} is unacceptable: fmt=qcow2 backed by: ",
         body=lambda w: _volume(size=1, imageRef=w.cloud.images["backed"]), prefix=True),
    Case("unknown-type-name", "POST", "/volumes", 404,
         "Volume type with name no-such-type could not be found.",
         body=_volume(size=1, volume_type="no-such-type")),
    Case("unknown-type-id", "POST", "/volumes", 404,
         f"Volume type {NO_SUCH} could not be found.",
         body=_volume(size=1, volume_type=NO_SUCH)),
    Case("delete-in-use", "DELETE", lambda w: f"/volumes/{w.in_use}", 400, NOT_DELETABLE),
    Case("delete-with-snapshots", "DELETE", lambda w: f"/volumes/{w.with_snapshot}", 400,
         NOT_DELETABLE),
    Case("extend-smaller", "POST", lambda w: f"/volumes/{w.volume}/action", 400,
         "Invalid input received: New size for extend must be greater than current size. "
         "(current: 2, extended: 1).", body={"os-extend": {"new_size": 1}}),
    Case("extend-same", "POST", lambda w: f"/volumes/{w.volume}/action", 400,
         "Invalid input received: New size for extend must be greater than current size. "
         "(current: 2, extended: 2).", body={"os-extend": {"new_size": 2}}),
    Case("extend-0", "POST", lambda w: f"/volumes/{w.volume}/action", 400,
         "Invalid input for field/attribute new_size. Value: 0. 0 is less than the minimum "
         "of 1", body={"os-extend": {"new_size": 0}}),
    Case("extend-string", "POST", lambda w: f"/volumes/{w.volume}/action", 400,
         "Invalid input for field/attribute new_size. Value: big. 'big' does not match "
         "'^[0-9]+$'", body={"os-extend": {"new_size": "big"}}),
    Case("transfer-wrong-key", "POST", lambda w: f"/volume-transfers/{w.transfer}/accept",
         400, lambda w: f"Invalid auth key: Attempt to transfer {w.transfer} with invalid "
         "auth key.", body={"accept": {"auth_key": "wrong"}}, version="3.55", as_="other"),
    Case("over-gigabytes-quota", "POST", "/volumes", 413,
         "Requested volume or snapshot exceeds allowed gigabytes quota. Requested 1001G, "
         "quota is 1000G and ", body=_volume(size=1001), prefix=True),
    Case("over-volumes-quota", "POST", "/volumes", 413,
         "Maximum number of volumes allowed (0) exceeded for quota 'volumes'.",
         body=_volume(size=1), as_="other"),
    Case("microversion-past-digit-limit", "GET", "/volumes", 406,
         "Version 3.", version="3." + "9" * 5000, prefix=True),
)


def _value(world: World, value: Any) -> Any:
    return value(world) if callable(value) else value


@pytest.mark.parametrize("case", [
    pytest.param(c, id=c.id, marks=[pytest.mark.xfail(strict=True, reason=c.xfail)]
                 if c.xfail else []) for c in CASES])
def test_refused_with_cinders_answer_and_nothing_left(world: World, case: Case) -> None:
    before = world.state()
    kwargs: dict[str, Any] = {}
    if case.raw is not None:
        kwargs = {"content": case.raw, "headers": {"Content-Type": "application/json"}}
    elif case.body is not None:
        kwargs = {"json": _value(world, case.body)}
    response = world.cloud.call(case.method, _value(world, case.path), as_=case.as_,
                                version=case.version, **kwargs)
    assert response.status_code == case.status, response.text
    assert_cinder_error(response, case.id)
    message = next(iter(response.json().values()))["message"]
    expected = _value(world, case.message)
    if case.prefix:
        assert message.startswith(expected), message
    else:
        assert message == expected
    assert world.state() == before


#: Requests Cinder serves: (id, path under the world's volume, body, version, the reason
#: shoal still answers 501 to it, or None).
SERVED_BY_CINDER: tuple[tuple[str, str, Any, str, str | None], ...] = (
    ("os-retype", "/action", {"os-retype": {"new_type": "__DEFAULT__",
                                            "migration_policy": "never"}}, "3.0", None),
    ("os-reimage", "/action", {"os-reimage": {"image_id": "@raw"}}, "3.68",
     "routes.py answers 501 'not served yet' to os-reimage (Cinder: 202)"),
    ("os-volume_upload_image", "/action", {"os-volume_upload_image": {
        "image_name": "up", "disk_format": "raw", "container_format": "bare"}}, "3.0", None),
    ("create-from-backup", "", {"volume": {"backup_id": NO_SUCH}}, "3.47", None),
)


@pytest.mark.parametrize(("path", "body", "version"), [
    pytest.param(p, b, v, id=i, marks=[pytest.mark.xfail(strict=True, reason=why)]
                 if why else []) for i, p, b, v, why in SERVED_BY_CINDER])
def test_served_by_cinder_not_501(world: World, path: str, body: Any, version: str) -> None:
    c = world.cloud
    volume = c.volume()
    if "@raw" in str(body):
        body = {"os-reimage": {"image_id": c.images["raw"]}}
    url = f"/volumes/{volume}{path}" if path else "/volumes"
    response = c.call("POST", url, version=version, json=body)
    assert response.status_code < 500, response.text
