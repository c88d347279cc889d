"""The hotline's notice kinds: the status push to 12345, and what a reporter hears of 热线推送."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.notifications.outbox import NoticeKind
from app.tickets.notices import PROGRESS
from app.tickets.notices import values as ticket_values

# Written without a recipient (no person reads it), so `broadcast` (which `notice` requires of
# a row without one); but never fanned out: `push.send`, registered for this kind in
# app/wiring.py, delivers it to the platform's endpoint. Not registered as a message kind
# (KINDS below): it has no in-app text or WeChat template to render.
STATUS_PUSH = NoticeKind("hotline.status_push", "12345 工单状态回推",
                         "案件 {number} 的状态已回推 12345 平台。", broadcast=True)


def values(payload: Mapping[str, Any]) -> dict[str, str]:
    """The ticket's words and the outside body's name (`body`) a forward's payload carries."""
    words = ticket_values(payload)
    words["body"] = str(payload.get("body") or "相关单位")
    return words


# 热线推送: the reporter and the followers hear that the case went to an outside body, and
# again when that body's answer is recorded.
FORWARDED = NoticeKind(
    "hotline.forwarded", "案件已转交{body}",
    "您反映的问题（编号 {number}）不属于本区职责范围，已转交{body}办理，对方答复后将告知您。",
    template=PROGRESS, hint="已转交{body}办理", values=values)
FORWARD_REPLIED = NoticeKind(
    "hotline.forward_replied", "{body}已答复",
    "您反映的问题（编号 {number}）已收到{body}的答复，请在案件详情中查看。",
    template=PROGRESS, hint="{body}已答复，请查看详情", values=values)

KINDS: tuple[NoticeKind, ...] = (FORWARDED, FORWARD_REPLIED)
