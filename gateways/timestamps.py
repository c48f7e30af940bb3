"""One rule for every timestamp the bot compares: aware UTC.

Site Recovery, vCenter and databases may send a timestamp without a zone; the bot reads it
as UTC (Site Recovery's own `...Z` convention), so no comparison mixes naive and aware values.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


@overload
def utc(moment: datetime) -> datetime: ...
@overload
def utc(moment: None) -> None: ...
def utc(moment: datetime | None) -> datetime | None:
    """`moment` as aware UTC; a naive one is taken to be UTC already."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
