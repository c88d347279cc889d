"""What ratings hold about a person, for the export (app/accounts/personal.py).

Ratings stay after 注销: they are part of a case's record and of 满意率, and the tombstone they
point at names no one.
"""

from __future__ import annotations

from typing import Any

from app.accounts.personal import Holder
from app.ratings.models import Rating


async def _ratings(user_id: int) -> list[dict[str, Any]]:
    rows = await Rating.filter(user_id=user_id).order_by("id").values(
        "id", "ticket_id", "result", "service", "stars", "comment", "created_at", "updated_at")
    return [dict(r) for r in rows]


HOLDERS = (Holder("ratings", _ratings,
                  retention="评价随问题记录长期保存，用于满意率统计；注销后不再关联到您"),)
