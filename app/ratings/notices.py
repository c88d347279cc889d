"""What ratings tell people: the "please rate" reminder and the reply to a rating.

Both concern a closed ticket, so they push with the ticket-progress template and read the
ticket's status words (`tickets.notices.values`).
"""

from __future__ import annotations

from app.notifications.outbox import NoticeKind
from app.tickets import notices as ticket_notices

# Written by the reminder job, at most once per ticket and person (Outbox.dedupe_key).
REMIND = NoticeKind(
    "rating.remind", "请评价处理结果",
    "您反映的问题（编号 {number}）已办结，请对处理结果进行评价，您的意见会帮助我们改进工作。",
    template=ticket_notices.PROGRESS, hint="问题已办结，请您评价处理结果",
    values=ticket_notices.values)
REPLIED = NoticeKind(
    "rating.replied", "您的评价有了回复", "工作人员回复了您对案件 {number} 的评价，请查看。",
    template=ticket_notices.PROGRESS, hint="工作人员回复了您的评价",
    values=ticket_notices.values)

KINDS: tuple[NoticeKind, ...] = (REMIND, REPLIED)
