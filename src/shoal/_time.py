"""The clock every layer reads: the current time as an aware UTC datetime.

It sits at the bottom of the package (it imports nothing of shoal), so objstore, services
and api code all take their default clock from here; tests pass their own clock instead.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["utcnow"]


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (microsecond resolution)."""
    return datetime.now(UTC)
