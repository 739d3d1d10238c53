"""The compute service (Nova's API semantics over shoal's volume and image services and
guest disks in RBD pools). Being built for issue 14: flavors (:mod:`._flavors`) and key
pairs (:mod:`._keypairs`) so far, and the libvirt side (:mod:`.libvirt`: domain XML,
secrets), guest disk names and sizes (:mod:`.disks`)."""

from __future__ import annotations

from shoal.services.compute._flavors import DEFAULT_FLAVORS as DEFAULT_FLAVORS
from shoal.services.compute._flavors import FlavorQuery as FlavorQuery
from shoal.services.compute._flavors import FlavorRecord as FlavorRecord
from shoal.services.compute._flavors import Flavors as Flavors
from shoal.services.compute._flavors import NewFlavor as NewFlavor
from shoal.services.compute._keypairs import CreatedKeypair as CreatedKeypair
from shoal.services.compute._keypairs import KeypairRecord as KeypairRecord
from shoal.services.compute._keypairs import Keypairs as Keypairs

__all__ = ["DEFAULT_FLAVORS", "CreatedKeypair", "FlavorQuery", "FlavorRecord", "Flavors",
           "KeypairRecord", "Keypairs", "NewFlavor"]
