"""What the conversation tells people: the reporter is asked for more information.

(A progress note tells the reporter and followers through the tickets domain's own notice for
the `progress_note` action, like every other step they see.)
"""

from __future__ import annotations

from app.notifications.outbox import NoticeKind
from app.tickets.notices import PROGRESS, values

INFO_REQUESTED = NoticeKind(
    "conversation.info_requested", "请补充案件信息",
    "工作人员请您补充案件（编号 {number}）的信息，请在案件详情中查看并补充。",
    template=PROGRESS, hint="工作人员请您补充信息", values=values)

KINDS: tuple[NoticeKind, ...] = (INFO_REQUESTED,)
