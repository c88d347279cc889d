"""What escalation and co-handling tell people: a co-unit hears of its part, the asker of the
acceptance (the new unit's handlers hear of their task through the tickets' TASK_ASSIGNED)."""

from __future__ import annotations

from app.notifications.outbox import NoticeKind
from app.tickets.notices import TASK, values

CO_UNIT_ADDED = NoticeKind("escalation.co_unit_added", "新协办任务",
                           "案件 {number} 需要您所在的单位协办，请处理后反馈协办情况。",
                           template=TASK, hint="新协办任务，请处理后反馈", values=values)
ACCEPTED = NoticeKind("escalation.accepted", "上报已受理",
                      "您上报的案件 {number} 已由上级受理并重新派遣，当前状态：{status_label}。",
                      template=TASK, hint="上报已由上级受理", values=values)

KINDS: tuple[NoticeKind, ...] = (CO_UNIT_ADDED, ACCEPTED)
