"""The image API as ``shoal up`` builds it, driven in-process.

One deployment per test module: :func:`shoal.deploy.prepare` on a temporary data
directory (embedded cluster, SQLite), its ``image`` app, and tokens issued by its identity
service for an admin, a member and a reader of the demo project, and a member of another
project. Requests go through ``httpx.ASGITransport``; nothing listens on a port.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from shoal.deploy import Deployment, UpOptions, prepare
from shoal.services.identity import DomainRef, ProjectRef, UserRef

BASE = "/image/v2"
_PASSWORD = "glance-tests-pw"
_DEFAULT = DomainRef(id="default")


@dataclass
class Glance:
    """The image app of a prepared deployment and a token per role."""

    deployment: Deployment
    app: Any
    tokens: dict[str, str]
    projects: dict[str, str]

    def call(self, method: str, path: str, *, as_: str | None = "member",
             accept: str = "application/json", **kwargs: Any) -> httpx.Response:
        """One request to ``path`` under ``/image/v2`` as ``as_`` (None: no token), body read.

        ``/image``, ``/image/versions`` and paths under ``/image/`` are taken as given."""
        absolute = path in ("/image", "/image/versions") or path.startswith("/image/")
        url = path if absolute else BASE + path
        headers = {"Accept": accept, **kwargs.pop("headers", {})}
        if as_ is not None:
            headers["X-Auth-Token"] = self.tokens[as_]

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport,
                                         base_url="http://shoal.test:9292") as client:
                response = await client.request(method, url, headers=headers, **kwargs)
                await response.aread()
                return response

        return asyncio.run(go())

    def create(self, as_: str = "member", **body: Any) -> dict[str, Any]:
        """A new image (``disk_format``/``container_format`` raw/bare unless given)."""
        body = {"name": "img", "disk_format": "raw", "container_format": "bare", **body}
        response = self.call("POST", "/images", as_=as_, json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def upload(self, image_id: str, data: bytes, as_: str = "member") -> httpx.Response:
        return self.call("PUT", f"/images/{image_id}/file", as_=as_, content=data,
                         headers={"Content-Type": "application/octet-stream"})


def _token(deployment: Deployment, user: str, project: str) -> str:
    identity = deployment.identity
    issued = identity.authenticate_password(UserRef(name=user, domain=_DEFAULT), _PASSWORD,
                                            ProjectRef(name=project, domain=_DEFAULT))
    return issued.id


@pytest.fixture(scope="module")
def glance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Glance]:
    data_dir = tmp_path_factory.mktemp("glance") / "data"
    with prepare(UpOptions(data_dir=data_dir)) as deployment:
        identity = deployment.identity
        demo = deployment.demo.project_name
        other = f"other-{uuid.uuid4().hex[:8]}"
        identity.create_project(other)
        for user, project, role in (("g-admin", demo, "admin"), ("g-member", demo, "member"),
                                    ("g-reader", demo, "reader"),
                                    ("g-other", other, "member")):
            identity.create_user(user, _PASSWORD)
            identity.assign_role(UserRef(name=user, domain=_DEFAULT),
                                 ProjectRef(name=project, domain=_DEFAULT), role)
        tokens = {name: _token(deployment, f"g-{name}", project)
                  for name, project in (("admin", demo), ("member", demo),
                                        ("reader", demo), ("other", other))}
        projects = {"demo": identity.get_project(ProjectRef(name=demo, domain=_DEFAULT)).id,
                    "other": identity.get_project(ProjectRef(name=other, domain=_DEFAULT)).id}
        yield Glance(deployment, deployment.apps()["image"], tokens, projects)

