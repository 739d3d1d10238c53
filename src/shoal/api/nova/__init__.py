"""Nova's compute API v2.1 over :mod:`shoal.services.compute` (being built for issue 14:
flavors and key pairs so far; the catalog lists compute only once servers are served)."""

from __future__ import annotations

from shoal.api.nova.flavors import flavor_routes as flavor_routes
from shoal.api.nova.keypairs import keypair_routes as keypair_routes

__all__ = ["flavor_routes", "keypair_routes"]
