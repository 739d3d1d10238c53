"""shoal's configuration: the guide's glance/cinder/nova/ceph options, typed.

One INI file, ``shoal.conf``, whose sections take the guide's snippets
verbatim, or a directory of the real ``glance-api.conf``, ``cinder.conf``,
``nova.conf`` and ``ceph.conf`` (plus an optional ``shoal.conf``)::

    cfg = load_config(file="/var/lib/shoal/shoal.conf")   # or directory=..., or neither
    cfg.glance_store.rbd_store_chunk_size                 # 8 (int, MiB)
    cfg.cinder_backend("ceph").rbd_flatten_volume_from_snapshot   # False
    cfg.libvirt.images_type                               # "rbd"
    cfg.keystone_authtoken.enabled                        # False: shoal's own Keystone
    cfg.setting("glance_store", "default_store").source  # shoal.conf:52 [glance_store] ...
    cfg.warnings                                          # unknown options, old spellings

Every option (:data:`OPTIONS`) has a type, upstream's built-in default and a
help text; :func:`write_default` writes the guide's values. Invalid values raise
:class:`ConfigInvalid` (an :class:`~shoal.errors.InvalidArgument`) naming the
option, the section, the file and the line.
"""

from __future__ import annotations

from shoal.config._config import ShoalConfig as ShoalConfig
from shoal.config._config import load_config as load_config
from shoal.config._load import DIR_FILES as DIR_FILES
from shoal.config._load import ENV_OVERRIDES as ENV_OVERRIDES
from shoal.config._option import BACKEND as BACKEND
from shoal.config._option import Option as Option
from shoal.config._registry import OPTIONS as OPTIONS
from shoal.config._sections import KEYSTONE_TIMEOUT_S_DEFAULT as KEYSTONE_TIMEOUT_S_DEFAULT
from shoal.config._sections import CephClientSection as CephClientSection
from shoal.config._sections import CinderBackendSection as CinderBackendSection
from shoal.config._sections import CinderSection as CinderSection
from shoal.config._sections import GlanceSection as GlanceSection
from shoal.config._sections import GlanceStoreSection as GlanceStoreSection
from shoal.config._sections import KeystoneAuthtokenSection as KeystoneAuthtokenSection
from shoal.config._sections import LibvirtSection as LibvirtSection
from shoal.config._sections import NovaSection as NovaSection
from shoal.config._sections import ShoalSection as ShoalSection
from shoal.config._sections import WorkaroundsSection as WorkaroundsSection
from shoal.config._source import ConfigInvalid as ConfigInvalid
from shoal.config._source import Setting as Setting
from shoal.config._source import Source as Source
from shoal.config._write import GUIDE_BACKEND as GUIDE_BACKEND
from shoal.config._write import default_text as default_text
from shoal.config._write import write_default as write_default

#: File name of shoal's configuration inside the data directory.
CONFIG_FILE_NAME = "shoal.conf"

__all__ = [
    "BACKEND",
    "CONFIG_FILE_NAME",
    "DIR_FILES",
    "ENV_OVERRIDES",
    "GUIDE_BACKEND",
    "KEYSTONE_TIMEOUT_S_DEFAULT",
    "OPTIONS",
    "CephClientSection",
    "CinderBackendSection",
    "CinderSection",
    "ConfigInvalid",
    "GlanceSection",
    "GlanceStoreSection",
    "KeystoneAuthtokenSection",
    "LibvirtSection",
    "NovaSection",
    "Option",
    "Setting",
    "ShoalConfig",
    "ShoalSection",
    "Source",
    "WorkaroundsSection",
    "default_text",
    "load_config",
    "write_default",
]
