"""Cinder's ``CapabilitiesFilter`` and ``extra_specs_ops`` as the volume scheduler applies
them to a type's extra specs."""

from __future__ import annotations

from typing import Any

import pytest

from shoal.services.volume._scheduler import backend_passes, spec_matches

RBD = {"vendor_name": "Open Source", "storage_protocol": "ceph", "volume_backend_name": "ceph",
       "multiattach": True, "thin_provisioning_support": True, "reserved_percentage": 0,
       "max_over_subscription_ratio": "20.0", "driver_version": "1.3.0",
       "nested": {"level": "gold"}, "listed": ["a", "b"]}


@pytest.mark.parametrize(("value", "wanted", "expected"), [
    ("ceph", "ceph", True),
    ("ceph", "Ceph", False),
    (True, "True", False),  # plain words compare as given, as in Cinder
    (True, "<is> True", True),
    (True, "<is> yes", True),
    (False, "<is> True", False),
    ("false", "<is> False", True),
    ("20.0", "= 10", True),  # "=" means at least
    ("20.0", "= 30", False),
    (20, "== 20", True),
    (20, "!= 20", False),
    ("5", ">= 5", True),
    ("5", "<= 4", False),
    ("abc", "s== abc", True),
    ("abc", "s!= abc", False),
    ("abc", "s< abd", True),
    ("abc", "s>= abd", False),
    ("ceph rbd", "<in> rbd", True),
    ("ceph", "<in> nfs", False),
    ("ssd", "<or> hdd <or> ssd", True),
    ("nvme", "<or> hdd <or> ssd", False),
    ("x", ">= not-a-number", False),
    (None, ">= 1", False),
    (None, None, True),
    ("x", None, False),
    (5, "<in> 5", False),  # not a container: no match, no error
])
def test_spec_matches(value: Any, wanted: str | None, expected: bool) -> None:
    assert spec_matches(value, wanted) is expected


def test_every_requirement_must_pass() -> None:
    assert backend_passes(RBD, {})
    assert backend_passes(RBD, {"volume_backend_name": "ceph", "vendor_name": "Open Source",
                                "storage_protocol": "ceph", "multiattach": "<is> True"})
    assert not backend_passes(RBD, {"volume_backend_name": "nope"})
    assert not backend_passes(RBD, {"volume_backend_name": "ceph", "vendor_name": "x"})


def test_unreported_capabilities_fail_and_other_scopes_are_not_requirements() -> None:
    assert not backend_passes(RBD, {"storage_pool": "fast"})
    assert backend_passes(RBD, {"qos:read_iops_sec": "100", "hw:cpu": "x",
                                "RESKEY:availability_zones": "az1"})
    assert backend_passes(RBD, {"capabilities:storage_protocol": "ceph"})
    assert not backend_passes(RBD, {"capabilities:storage_protocol": "iSCSI"})
    assert backend_passes(RBD, {"capabilities:nested:level": "gold"})
    assert not backend_passes(RBD, {"capabilities:nested:missing": "gold"})
    assert not backend_passes(RBD, {"capabilities:vendor_name:deeper": "x"})


def test_a_list_capability_passes_when_any_item_does() -> None:
    assert backend_passes(RBD, {"listed": "b"})
    assert not backend_passes(RBD, {"listed": "c"})
