"""The cluster layer: the Ceph admin surface (fsid, pools, cephx users, caps, keyrings).

Public API::

    session = connect(data_dir, name="client.admin")   # embedded backend
    session.get_fsid()
    session.mon_command({"prefix": "osd pool create", "pool": "volumes", "pg_num": 128})
    io = session.open_ioctx("volumes")                  # caps-checked IoCtx
    session.shutdown()

:class:`Session` is shaped like librados ``rados.Rados`` so that a real-Ceph
backend (``mon_command`` over librados) is a thin adapter; the embedded backend
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
from shoal.cluster._poolinit import pool_init as rbd_pool_init
from shoal.cluster.datadir import DataDir as DataDir
from shoal.cluster.datadir import default_data_dir as default_data_dir
from shoal.cluster.datadir import ensure_data_dir as ensure_data_dir
from shoal.cluster.embedded import EmbeddedSession as EmbeddedSession
from shoal.cluster.embedded import connect as connect

__all__ = [
    "COMMANDS",
    "CommandSpec",
    "CommandSyntaxError",
    "DataDir",
    "EmbeddedSession",
    "MonCommand",
    "MonResult",
    "Session",
    "connect",
    "default_data_dir",
    "ensure_data_dir",
    "parse_words",
    "rbd_pool_init",
]
