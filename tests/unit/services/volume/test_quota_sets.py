"""Quota classes (``os-quota-class-sets``) in :class:`QuotaSets` and :mod:`.quotas`: the
``default`` class replaces the configured defaults of every project, in what is shown and in
what is enforced; a project's own limits still win."""

from __future__ import annotations

import pytest

from shoal import errors
from shoal.db import Database
from shoal.services.volume import QuotaSets
from shoal.services.volume.policy import PolicyNotAuthorized
from shoal.services.volume.quotas import QuotaDefaults, limits_for
from tests.unit.services.volume.test_qos import add_type, db
from tests.unit.services.volume.test_service import ADMIN, ALICE

__all__ = ["db"]


def test_default_class_changes_every_projects_defaults(db: Database) -> None:
    quota_sets = QuotaSets(db, QuotaDefaults(volumes=7))
    add_type(db, "gold")
    assert quota_sets.class_defaults(ADMIN).limits["volumes"] == 7
    done = quota_sets.update_class(ADMIN, "default", {"volumes": 8, "volumes_gold": 3})
    assert (done.limits["volumes"], done.limits["volumes_gold"]) == (8, 3)
    assert done.limits["gigabytes"] == 1000  # not set: the configured default
    assert quota_sets.class_defaults(ADMIN, "default").limits["volumes"] == 8
    assert quota_sets.defaults_for(ADMIN, "p-new").limits["volumes_gold"] == 3
    assert quota_sets.show(ADMIN, "p-new").limits["volumes"] == 8
    quota_sets.update(ADMIN, "p1", {"volumes": 2})
    assert quota_sets.show(ADMIN, "p1").limits["volumes"] == 2  # the project's own wins
    with db.session(readonly=True) as session:  # enforcement reads the same limits
        assert limits_for(session, "p-new", quota_sets.defaults, ["gold"])["volumes"] == 8
    quota_sets.update_class(ADMIN, "default", {"volumes": 9})
    assert quota_sets.defaults_for(ADMIN, "p-new").limits["volumes"] == 9


def test_other_classes_fall_back_to_the_default_class(db: Database) -> None:
    quota_sets = QuotaSets(db, QuotaDefaults())
    quota_sets.update_class(ADMIN, "default", {"snapshots": 4})
    quota_sets.update_class(ADMIN, "gold", {"volumes": 50})
    gold = quota_sets.class_defaults(ADMIN, "gold")
    assert (gold.project_id, gold.limits["volumes"], gold.limits["snapshots"]) == (
        "gold", 50, 4)
    assert quota_sets.defaults_for(ADMIN, "p1").limits["volumes"] == 10


def test_bad_keys_names_and_policy(db: Database) -> None:
    quota_sets = QuotaSets(db, QuotaDefaults())
    with pytest.raises(errors.InvalidArgument, match=r"Bad key\(s\) in quota class set: x, y"):
        quota_sets.update_class(ADMIN, "default", {"y": 1, "x": 1, "volumes": 1})
    assert quota_sets.class_defaults(ADMIN).limits["volumes"] == 10  # nothing was set
    with pytest.raises(errors.InvalidArgument, match="quota_class_name"):
        quota_sets.update_class(ADMIN, "c" * 256, {"volumes": 1})
    with pytest.raises(PolicyNotAuthorized):
        quota_sets.update_class(ALICE, "default", {"volumes": 1})
