"""The compute service (Nova's API semantics over shoal's volume and image services and
guest disks in RBD pools), issue 14: flavors (:mod:`._flavors`), key pairs
(:mod:`._keypairs`), servers (:mod:`._servers`, their tasks :mod:`._server_work`), the
libvirt side (:mod:`.libvirt`: domain XML, secrets) and guest disks (:mod:`.disks`)."""

from __future__ import annotations

from shoal.services.compute._flavors import DEFAULT_FLAVORS as DEFAULT_FLAVORS
from shoal.services.compute._flavors import FlavorQuery as FlavorQuery
from shoal.services.compute._flavors import FlavorRecord as FlavorRecord
from shoal.services.compute._flavors import Flavors as Flavors
from shoal.services.compute._flavors import NewFlavor as NewFlavor
from shoal.services.compute._hosts import ComputeHosts as ComputeHosts
from shoal.services.compute._hosts import ServiceRecord as ServiceRecord
from shoal.services.compute._keypairs import CreatedKeypair as CreatedKeypair
from shoal.services.compute._keypairs import KeypairRecord as KeypairRecord
from shoal.services.compute._keypairs import Keypairs as Keypairs
from shoal.services.compute._moves import ServerMoves as ServerMoves
from shoal.services.compute._quota_sets import ComputeQuotas as ComputeQuotas
from shoal.services.compute._server_images import ServerImages as ServerImages
from shoal.services.compute._server_types import BlockDevice as BlockDevice
from shoal.services.compute._server_types import NewServer as NewServer
from shoal.services.compute._server_types import ServerQuery as ServerQuery
from shoal.services.compute._server_types import ServerRecord as ServerRecord
from shoal.services.compute._server_types import VolumeAttached as VolumeAttached
from shoal.services.compute._server_types import server_status as server_status
from shoal.services.compute._server_volumes import ServerVolumes as ServerVolumes
from shoal.services.compute._server_work import DiskMaker as DiskMaker
from shoal.services.compute._server_work import ServerWork as ServerWork
from shoal.services.compute._servers import QUOTA_DEFAULTS as QUOTA_DEFAULTS
from shoal.services.compute._servers import ServerOptions as ServerOptions
from shoal.services.compute._servers import Servers as Servers

__all__ = ["DEFAULT_FLAVORS", "QUOTA_DEFAULTS", "BlockDevice", "ComputeHosts", "ComputeQuotas",
           "CreatedKeypair", "DiskMaker", "FlavorQuery", "FlavorRecord", "Flavors",
           "KeypairRecord", "Keypairs", "NewFlavor", "NewServer", "ServerImages", "ServerMoves",
           "ServerOptions", "ServerQuery", "ServerRecord", "ServerVolumes", "ServerWork",
           "Servers", "ServiceRecord", "VolumeAttached", "server_status"]
