"""What 督办 tells people: the unit's handlers (or the claimant) hear of a new 督办."""

from __future__ import annotations

from app.notifications.outbox import NoticeKind
from app.tickets.notices import TASK, values

RAISED = NoticeKind("supervision.raised", "案件被督办",
                    "案件 {number} 已被督办，请在督办时限内加快办理并反馈。",
                    template=TASK, hint="案件被督办，请加快办理", values=values)

KINDS: tuple[NoticeKind, ...] = (RAISED,)
