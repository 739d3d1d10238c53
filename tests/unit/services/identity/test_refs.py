"""References by id or name + domain, and their parsing from Keystone request objects."""

from __future__ import annotations

from typing import Any

import pytest

from shoal import errors
from shoal.services.identity import DomainRef, ProjectRef, UserRef


def test_domain_by_id_or_name() -> None:
    assert DomainRef.from_json({"id": "default"}) == DomainRef(id="default")
    assert DomainRef.from_json({"name": "Default"}) == DomainRef(name="Default")
    assert str(DomainRef(name="Default")) == "domain 'Default'"


@pytest.mark.parametrize("value", [{}, {"id": "a", "name": "b"}, {"id": ""}, {"id": 5}, "x"])
def test_bad_domains(value: Any) -> None:
    with pytest.raises(errors.InvalidArgument, match="domain"):
        DomainRef.from_json(value)


def test_user_from_keystone_password_object() -> None:
    body = {"name": "admin", "domain": {"id": "default"}, "password": "secret"}
    assert UserRef.from_json(body) == UserRef(name="admin", domain=DomainRef(id="default"))
    assert UserRef.from_json({"id": "abc"}) == UserRef(id="abc")
    assert str(UserRef(id="abc")) == "user id 'abc'"


def test_project_from_scope_object() -> None:
    body = {"name": "demo", "domain": {"name": "Default"}}
    ref = ProjectRef.from_json(body)
    assert ref == ProjectRef(name="demo", domain=DomainRef(name="Default"))
    assert str(ref) == "project 'demo' in domain 'Default'"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"name": "admin"}, "needs a 'domain'"),
        ({"id": "a", "name": "b"}, "not both"),
        ({}, "needs an 'id'"),
        ({"name": ""}, "non-empty"),
        ({"name": "a", "domain": "default"}, "domain must be an object"),
        ([], "must be an object"),
    ],
)
def test_bad_users_say_what_to_fix(value: Any, message: str) -> None:
    with pytest.raises(errors.InvalidArgument, match=message):
        UserRef.from_json(value)
