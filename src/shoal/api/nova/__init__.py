"""Nova's compute API v2.1 over :mod:`shoal.services.compute` (issue 14): flavors, key
pairs, servers, and what Nova says of its hosts, zones and limits."""

from __future__ import annotations

from shoal.api.nova.external_events import external_event_routes as external_event_routes
from shoal.api.nova.flavors import flavor_routes as flavor_routes
from shoal.api.nova.host_routes import HostFacts as HostFacts
from shoal.api.nova.host_routes import host_routes as host_routes
from shoal.api.nova.keypairs import keypair_routes as keypair_routes
from shoal.api.nova.migrations import migration_routes as migration_routes
from shoal.api.nova.quota_sets import quota_set_routes as quota_set_routes
from shoal.api.nova.servers import server_routes as server_routes
from shoal.api.nova.volume_attachments import (
    volume_attachment_routes as volume_attachment_routes,
)

__all__ = ["HostFacts", "external_event_routes", "flavor_routes", "host_routes", "keypair_routes",
           "migration_routes", "quota_set_routes", "server_routes", "volume_attachment_routes"]
