"""Invalid caps strings are refused with Ceph's own message (checked against Ceph 16)."""

from __future__ import annotations

import pytest

from shoal.cluster import caps

# (service, caps, what Ceph 16.2.15's monitor answered to `auth get-or-create ... SERVICE CAPS`)
CEPH_ANSWERS = [
    ("mon", "allow rr", "mon capability parse failed, stopped at 'r' of 'allow rr'"),
    ("osd", "allow rwx pool=volumes pool=vms",
     "osd capability parse failed, stopped at 'pool=vms' of 'allow rwx pool=volumes pool=vms'"),
    ("osd", "allow foo", "osd capability parse failed, stopped at 'allow foo' of 'allow foo'"),
    ("osd", "allow rwx pool=",
     "osd capability parse failed, stopped at 'pool=' of 'allow rwx pool='"),
    ("osd", "allow r, allow foo",
     "osd capability parse failed, stopped at ', allow foo' of 'allow r, allow foo'"),
    ("osd", "allow r,", "osd capability parse failed, stopped at ',' of 'allow r,'"),
    ("osd", "allow r pool=x object_prefix",
     "osd capability parse failed, stopped at 'object_prefix' of 'allow r pool=x object_prefix'"),
    ("mgr", "allow rwz", "mgr capability parse failed, stopped at 'z' of 'allow rwz'"),
    ("mds", "allow rw path", "mds capability parse failed, stopped at 'path' of 'allow rw path'"),
]


@pytest.mark.parametrize(("service", "text", "message"), CEPH_ANSWERS)
def test_message_is_cephs(service: str, text: str, message: str) -> None:
    assert caps.ceph_parse_error(service, text) == message


@pytest.mark.parametrize(("service", "text"), [
    ("osd", "allow class-read object_prefix rbd_children, allow rwx pool=images"),
    ("mon", "allow r"), ("mon", ""), ("mds", "allow"),
])
def test_valid_caps_have_no_message(service: str, text: str) -> None:
    assert caps.ceph_parse_error(service, text) is None
