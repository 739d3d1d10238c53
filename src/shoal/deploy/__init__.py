"""Deploying shoal on one machine: what ``shoal up`` does.

::

    from shoal.deploy import UpOptions, prepare

    with prepare(UpOptions(data_dir=Path("/var/lib/shoal"))) as deployment:
        deployment.serve(ready=print)   # Endpoints(...) once listening; until SIGINT/SIGTERM

This package sits on top of the others (it wires cluster, database, identity and the API
apps together); only the CLI imports it.
"""

from __future__ import annotations

from shoal.deploy._clients import CLOUD_NAME as CLOUD_NAME
from shoal.deploy._clients import DEMO_CLOUD_NAME as DEMO_CLOUD_NAME
from shoal.deploy._clients import Login as Login
from shoal.deploy._clients import clouds_yaml as clouds_yaml
from shoal.deploy._clients import openrc as openrc
from shoal.deploy._logging import LOG_FILE_NAME as LOG_FILE_NAME
from shoal.deploy._logging import LogOptions as LogOptions
from shoal.deploy._logging import LogSetup as LogSetup
from shoal.deploy._logging import setup_logging as setup_logging
from shoal.deploy._platform import SERVICES as SERVICES
from shoal.deploy._platform import Deployment as Deployment
from shoal.deploy._platform import Endpoints as Endpoints
from shoal.deploy._platform import UpOptions as UpOptions
from shoal.deploy._platform import prepare as prepare
from shoal.deploy._provision import GUIDE_POOLS as GUIDE_POOLS
from shoal.deploy._provision import GUIDE_USERS as GUIDE_USERS
from shoal.deploy._provision import ProvisionReport as ProvisionReport
from shoal.deploy._provision import provision_cluster as provision_cluster

__all__ = [
    "CLOUD_NAME",
    "DEMO_CLOUD_NAME",
    "GUIDE_POOLS",
    "GUIDE_USERS",
    "LOG_FILE_NAME",
    "SERVICES",
    "Deployment",
    "Endpoints",
    "LogOptions",
    "LogSetup",
    "Login",
    "ProvisionReport",
    "UpOptions",
    "clouds_yaml",
    "openrc",
    "prepare",
    "provision_cluster",
    "setup_logging",
]
