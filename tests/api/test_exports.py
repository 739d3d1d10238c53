"""shoal.api's public names: all present, no duplicates, nothing public left unexported."""

from __future__ import annotations

import shoal.api


def test_all_matches_the_public_namespace() -> None:
    names = shoal.api.__all__
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(shoal.api, name), name
    subpackages = {"keystone", "glance", "cinder", "nova"}  # one subpackage per service
    public = {n for n in vars(shoal.api)
              if not n.startswith("_") and n != "annotations" and n not in subpackages}
    assert public == set(names)
