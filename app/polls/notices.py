"""What polls tell people: a poll opened (to its area's residents) and a poll closed (to its
voters). Both are broadcasts: one recipient-less row each, fanned out on delivery to the
audience `polls.jobs.BROADCASTS` names. Never more than "it closed": no counts, no answers
(anonymous polls above all).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.notifications.outbox import NoticeKind
from app.notifications.templates import clean, format_time, when_of

TEMPLATE = "poll_notice"  # WeChat 社区投票通知


def values(payload: Mapping[str, Any]) -> dict[str, str]:
    """The poll's title and closing time, with fallbacks for a thin payload."""
    closes = when_of(payload.get("closes_at"))
    return {"title": clean(str(payload.get("title") or "社区投票")),
            "closes": format_time(closes) if closes else "到期"}


OPENED = NoticeKind("poll.opened", "社区投票开始了", "「{title}」已开始投票，{closes} 截止，欢迎参与。",
                    template=TEMPLATE, hint="社区投票已开始，欢迎参与", values=values,
                    broadcast=True)
CLOSED = NoticeKind("poll.closed", "投票已结束", "「{title}」已结束，感谢您的参与，结果可在投票页查看。",
                    template=TEMPLATE, hint="投票已结束，可查看结果", values=values,
                    broadcast=True)

KINDS: tuple[NoticeKind, ...] = (OPENED, CLOSED)
