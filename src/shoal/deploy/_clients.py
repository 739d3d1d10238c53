"""The files a person points the real OpenStack clients at: ``clouds.yaml`` and ``openrc``.

``clouds.yaml`` (read by python-openstackclient and openstacksdk through
``OS_CLIENT_CONFIG_FILE``) holds two clouds: ``shoal`` (the admin user on the admin
project) and ``shoal-demo`` (the member user on its project). ``openrc`` exports the admin's
``OS_*`` variables for clients that read the environment (glanceclient, cinderclient)::

    export OS_CLIENT_CONFIG_FILE=/var/lib/shoal/clouds.yaml
    openstack --os-cloud shoal token issue
    . /var/lib/shoal/openrc && cinder list

Both are rewritten on each start (the ports may change) with mode 0600: they hold
passwords. Values are written as JSON strings, which YAML reads as they are.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

__all__ = ["CLOUD_NAME", "DEMO_CLOUD_NAME", "Login", "clouds_yaml", "openrc"]

CLOUD_NAME = "shoal"
DEMO_CLOUD_NAME = "shoal-demo"


@dataclass(frozen=True)
class Login:
    """One user's password login on one project (domain ``Default``)."""

    username: str
    password: str
    project_name: str


def _q(value: str) -> str:
    return json.dumps(value)


def _cloud(name: str, auth_url: str, login: Login, region: str) -> list[str]:
    return [
        f"  {_q(name)}:",
        "    auth:",
        f"      auth_url: {_q(auth_url)}",
        f"      username: {_q(login.username)}",
        f"      password: {_q(login.password)}",
        f"      project_name: {_q(login.project_name)}",
        '      user_domain_name: "Default"',
        '      project_domain_name: "Default"',
        f"    region_name: {_q(region)}",
        '    interface: "public"',
        '    identity_api_version: "3"',
        '    auth_type: "password"',
    ]


def clouds_yaml(auth_url: str, admin: Login, demo: Login, region: str = "RegionOne") -> str:
    """The text of ``clouds.yaml`` with the ``shoal`` and ``shoal-demo`` clouds."""
    lines = ["# Written by `shoal up`; rewritten on each start.", "clouds:",
             *_cloud(CLOUD_NAME, auth_url, admin, region),
             *_cloud(DEMO_CLOUD_NAME, auth_url, demo, region)]
    return "\n".join(lines) + "\n"


def openrc(auth_url: str, login: Login, region: str = "RegionOne") -> str:
    """Shell text exporting ``login``'s ``OS_*`` variables."""
    values = {
        "OS_AUTH_URL": auth_url,
        "OS_AUTH_TYPE": "password",
        "OS_IDENTITY_API_VERSION": "3",
        "OS_USERNAME": login.username,
        "OS_PASSWORD": login.password,
        "OS_PROJECT_NAME": login.project_name,
        "OS_USER_DOMAIN_NAME": "Default",
        "OS_PROJECT_DOMAIN_NAME": "Default",
        "OS_REGION_NAME": region,
        "OS_INTERFACE": "public",
        "OS_VOLUME_API_VERSION": "3",
        "OS_IMAGE_API_VERSION": "2",
    }
    lines = ["# Written by `shoal up`; rewritten on each start. Use: . openrc",
             "unset OS_CLOUD OS_TOKEN OS_PROJECT_ID OS_TENANT_NAME OS_TENANT_ID",
             *(f"export {k}={shlex.quote(v)}" for k, v in values.items())]
    return "\n".join(lines) + "\n"
