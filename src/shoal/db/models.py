"""The modules declaring shoal's ORM models (imported by name: shoal.db imports no service).

Add a service's models module here when it gets tables; :func:`load_metadata` then covers it,
and the migration drift test checks the migrations against it.
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from shoal.db._base import Base

__all__ = ["MODEL_MODULES", "load_metadata"]

MODEL_MODULES: tuple[str, ...] = (
    "shoal.services.identity.models",
    "shoal.services.tasks.models",
    "shoal.services.image.models",
    "shoal.services.volume.models",
    "shoal.services.volume._qos_models",
    "shoal.services.volume._group_models",
    "shoal.services.backup._models",
    "shoal.services.compute._models",
    "shoal.services.compute._server_models",
    "shoal.services.compute._keypair_models",
    "shoal.services.compute._host_models",
    "shoal.services.compute._quota_models",
)


def load_metadata() -> MetaData:
    """Import every module of :data:`MODEL_MODULES`; return the complete ``Base.metadata``."""
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return Base.metadata
