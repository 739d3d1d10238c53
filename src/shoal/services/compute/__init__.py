"""The compute service (Nova's API semantics over shoal's volume and image services and
guest disks in RBD pools). Being built for issue 14: flavors so far (:mod:`._flavors`), and
the libvirt side (:mod:`.libvirt`: domain XML, secrets), guest disk names and sizes
(:mod:`.disks`)."""

from __future__ import annotations

from shoal.services.compute._flavors import DEFAULT_FLAVORS as DEFAULT_FLAVORS
from shoal.services.compute._flavors import FlavorQuery as FlavorQuery
from shoal.services.compute._flavors import FlavorRecord as FlavorRecord
from shoal.services.compute._flavors import Flavors as Flavors
from shoal.services.compute._flavors import NewFlavor as NewFlavor

__all__ = ["DEFAULT_FLAVORS", "FlavorQuery", "FlavorRecord", "Flavors", "NewFlavor"]
