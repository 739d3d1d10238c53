"""The services (identity, image, tasks): domain logic and policy, no HTTP."""

from __future__ import annotations

from shoal.services._caller import Caller as Caller

__all__ = ["Caller"]
