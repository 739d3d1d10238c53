"""RBD store locations: quoting, the legacy form, and what is refused."""

from __future__ import annotations

import pytest

from shoal.services.image.store import BadStoreUri, StoreLocation, parse_location


@pytest.mark.parametrize("name", ["plain", "a/b", "with space", "100%", "ü-名前", "a@b?c#d"])
def test_every_name_round_trips(name: str) -> None:
    loc = StoreLocation(image=name, fsid="f5d2-aa", pool=name, snapshot=name)
    assert loc.uri.removeprefix("rbd://").count("/") == 3  # only the separators
    assert parse_location(loc.uri) == loc
    assert str(loc) == loc.uri


def test_parts_are_quoted_with_no_safe_characters() -> None:
    loc = StoreLocation(image="a/b c", fsid="fsid", pool="images", snapshot="snap")
    assert loc.uri == "rbd://fsid/images/a%2Fb%20c/snap"


def test_legacy_form() -> None:
    loc = parse_location("rbd://some%2Fimage")
    assert loc == StoreLocation(image="some/image")
    assert loc.is_legacy
    assert loc.uri == "rbd://some%2Fimage"
    assert not parse_location("rbd://f/p/i/s").is_legacy


@pytest.mark.parametrize("kwargs", [
    {"image": ""},
    {"image": "i", "fsid": "f"},
    {"image": "i", "fsid": "f", "pool": "p"},
    {"image": "i", "fsid": "", "pool": "p", "snapshot": "s"},
])
def test_incomplete_locations_are_refused(kwargs: dict[str, str]) -> None:
    with pytest.raises(BadStoreUri):
        StoreLocation(**kwargs)


@pytest.mark.parametrize("uri", [
    "", "rbd:/x", "RBD://x", "rbd://", "rbd://a/b", "rbd://a/b/c/d/e", "rbd:///b/c/d",
    "rbd://a/b/c/", "rbd://%C3%28",
])
def test_bad_uris(uri: str) -> None:
    with pytest.raises(BadStoreUri):
        parse_location(uri)
