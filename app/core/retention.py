"""Bounded deletes for retention jobs: the oldest `batch` rows of a query, by primary key."""

from __future__ import annotations

from typing import Any


async def delete_oldest(qs: Any, *, batch: int) -> int:
    """Delete at most `batch` rows of `qs`, oldest id first; how many went.

    Ids first, then a delete by id: MySQL refuses LIMIT in a DELETE with a subquery on the same
    table, and a bounded round holds no long locks, so a backlog drains over several rounds.
    """
    ids = await qs.order_by("id").limit(batch).values_list("id", flat=True)
    return await qs.model.filter(id__in=list(ids)).delete() if ids else 0
