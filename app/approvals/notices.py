"""What the register tells people: whoever asked hears how their request was decided.

A 延期 decision is told by the tickets' own `EXTENSION_DECIDED`, so it has none here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.notifications.outbox import NoticeKind
from app.tickets.notices import TASK
from app.tickets.notices import values as ticket_values

_APPROVED = frozenset({"suspend", "send_back", "void"})


def values(payload: Mapping[str, Any]) -> dict[str, str]:
    words = ticket_values(payload)
    words["result"] = "已批准" if payload.get("action") in _APPROVED else "未获批准"
    return words


DECIDED = NoticeKind("approval.decided", "申请{result}",
                     "案件 {number} 的挂账/回退/作废申请{result}，当前状态：{status_label}。",
                     template=TASK, hint="申请{result}", values=values)

KINDS: tuple[NoticeKind, ...] = (DECIDED,)
