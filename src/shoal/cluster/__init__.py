"""The cluster layer: the Ceph admin surface (fsid, pools, cephx users, caps, keyrings).

Public API::

    session = connect(data_dir, name="client.admin")   # embedded backend
    session = open_session(BackendConfig(backend="ceph", ceph_conf=path),
                           name="cinder", keyring=cinder_keyring)  # either backend
    session.get_fsid()
    session.mon_command({"prefix": "osd pool create", "pool": "volumes", "pg_num": 128})
    io = session.open_ioctx("volumes")                  # caps-checked IoCtx
    session.shutdown()

:class:`Session` is shaped like librados ``rados.Rados``: the Ceph backend
(:mod:`shoal.cluster.ceph`) is a thin adapter over it; the embedded backend
(:mod:`shoal.cluster.embedded`) implements Ceph's monitor commands itself with
Pacific's outputs. :func:`parse_words` turns ``ceph`` CLI words into a command
dict; :func:`rbd_pool_init` is ``rbd pool init``.
"""

from __future__ import annotations

from shoal.cluster._argparse import CommandSyntaxError as CommandSyntaxError
from shoal.cluster._argparse import parse_words as parse_words
from shoal.cluster._base import MonCommand as MonCommand
from shoal.cluster._base import MonResult as MonResult
from shoal.cluster._base import Session as Session
from shoal.cluster._commands import COMMANDS as COMMANDS
from shoal.cluster._commands import CommandSpec as CommandSpec
from shoal.cluster._poolinit import rbd_pool_init as rbd_pool_init
from shoal.cluster.backend import BackendConfig as BackendConfig
from shoal.cluster.backend import open_session as open_session
from shoal.cluster.ceph import CephSession as CephSession
from shoal.cluster.ceph import connect_ceph as connect_ceph
from shoal.cluster.datadir import DataDir as DataDir
from shoal.cluster.datadir import default_data_dir as default_data_dir
from shoal.cluster.datadir import ensure_data_dir as ensure_data_dir
from shoal.cluster.embedded import EmbeddedSession as EmbeddedSession
from shoal.cluster.embedded import connect as connect

__all__ = [
    "COMMANDS",
    "BackendConfig",
    "CephSession",
    "CommandSpec",
    "CommandSyntaxError",
    "DataDir",
    "EmbeddedSession",
    "MonCommand",
    "MonResult",
    "Session",
    "connect",
    "connect_ceph",
    "default_data_dir",
    "ensure_data_dir",
    "open_session",
    "parse_words",
    "rbd_pool_init",
]
