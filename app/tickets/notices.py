"""What tickets tell people: one notice kind per action that notifies, and the task kinds.

`LOOKUP` is what notifications may read of tickets (registered by the composition root, so
notifications imports no ticket module).

The door writes one row per notified person with `notice(kind, …)`: the reporter and the
followers hear of the actions in `NOTICE_FOR_ACTION`; `change.notify` names the others
(`TASK_ASSIGNED` to a unit's handlers, `EXTENSION_DECIDED` to whoever asked). The deadline
job writes `DEADLINE_NEAR`. Payloads carry `number`, `action`, `status` (and `deadline_at`
for reminders); the texts below read them through `values`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from tortoise.expressions import Subquery

from app.core.paths import under_any
from app.notifications.outbox import NoticeKind, TicketLookup
from app.notifications.templates import format_time, when_of
from app.tickets.models import Ticket
from app.tickets.workflow import status_label

PROGRESS = "ticket_progress"  # WeChat 案件进度提醒
TASK = "task_assigned"  # WeChat 任务派发提醒

_EXTENSION_RESULTS = {"approve_extension": "已批准", "refuse_extension": "未获批准"}


def values(payload: Mapping[str, Any]) -> dict[str, str]:
    """The ticket words a payload's texts use: the status label, an extension's outcome and
    the deadline (each with a fallback, so a thin payload still renders)."""
    status, deadline = payload.get("status"), when_of(payload.get("deadline_at"))
    return {
        "status_label": status_label(str(status)) if status else "已更新",
        "result": _EXTENSION_RESULTS.get(str(payload.get("action", "")), "已处理"),
        "deadline": format_time(deadline) if deadline else "时限",
    }


def _kind(action: str, title: str, body: str, hint: str, template: str = PROGRESS) -> NoticeKind:
    return NoticeKind(f"ticket.{action}", title, body, template=template, hint=hint,
                      values=values)


_ACCEPTED = ("案件已受理", "您反映的问题（编号 {number}）已受理立案，我们会尽快安排处理。",
             "您反映的问题已受理立案")

ACCEPT = _kind("accept", *_ACCEPTED)
AUTO_ACCEPT = _kind("auto_accept", *_ACCEPTED)
REJECT = _kind("reject", "案件不予立案",
               "您反映的问题（编号 {number}）经审核不予立案，原因请在案件详情中查看。",
               "经审核不予立案，原因请查看详情")
DISPATCH = _kind("dispatch", "案件已派遣",
                 "您反映的问题（编号 {number}）已派遣至处置单位，请耐心等待处理。",
                 "已派遣至处置单位，请耐心等待")
HANDLE = _kind("handle", "案件已处置", "您反映的问题（编号 {number}）已处置完毕，正在等待现场核查。",
               "已处置完毕，等待现场核查")
VERIFY_PASS = _kind("verify_pass", "案件核查通过",
                    "您反映的问题（编号 {number}）经现场核查已解决，感谢您的参与。",
                    "经现场核查问题已解决")
CLOSE = _kind("close", "案件已结案", "您反映的问题（编号 {number}）已办结，欢迎对处理结果进行评价。",
              "已办结，欢迎评价处理结果")
MERGE = _kind("merge", "案件已合并",
              "您反映的问题（编号 {number}）已与相同问题合并处理，进展将在原案件中更新。",
              "已与相同问题合并处理")
SUSPEND = _kind("suspend", "案件暂缓处理",
                 "您反映的问题（编号 {number}）经批准暂缓处理（挂账），恢复处理后会继续跟进。",
                 "经批准暂缓处理，恢复后继续跟进")
RESUME = _kind("resume", "案件恢复处理", "您反映的问题（编号 {number}）已恢复处理，请耐心等待。",
               "已恢复处理，请耐心等待")
PROGRESS_NOTE = _kind("progress_note", "案件有新进展",
                      "您关注的案件（编号 {number}）有新的进展说明，请在案件详情中查看。",
                      "工作人员更新了处理进展")
VOID = _kind("void", "案件已作废", "您反映的问题（编号 {number}）经审核作废，原因请在案件详情中查看。",
             "经审核作废，原因请查看详情")
TASK_ASSIGNED = _kind("task_assigned", "新任务待处理",
                      "案件 {number} 已派给您所在的单位，请及时认领处理。",
                      "新任务已派发，请及时认领处理", template=TASK)
EXTENSION_DECIDED = _kind("extension_decided", "延期申请{result}",
                          "案件 {number} 的延期申请{result}。", "延期申请{result}")
# Written by the deadline job, at most once per person and deadline (Outbox.dedupe_key).
DEADLINE_NEAR = _kind("deadline_near", "任务即将超时",
                      "案件 {number} 的处理时限已过八成，将于 {deadline} 到期，请抓紧处理。",
                      "处理时限将到，请抓紧处理", template=TASK)
# Rows of a ticket kind this release does not know (written by another one) still render.
FALLBACK = _kind("*", "案件有新进展", "案件 {number} 当前状态：{status_label}。",
                 "案件有新进展，请查看详情")

# action → what the reporter and the followers are told (other actions tell them nothing).
NOTICE_FOR_ACTION: dict[str, NoticeKind] = {
    "accept": ACCEPT,
    "auto_accept": AUTO_ACCEPT,
    "reject": REJECT,
    "dispatch": DISPATCH,
    "handle": HANDLE,
    "verify_pass": VERIFY_PASS,
    "close": CLOSE,
    "merge": MERGE,
    "suspend": SUSPEND,
    "resume": RESUME,
    "void": VOID,
    "progress_note": PROGRESS_NOTE,
}
NOTIFY_REPORTER = frozenset(NOTICE_FOR_ACTION)

KINDS: tuple[NoticeKind, ...] = (*NOTICE_FOR_ACTION.values(), TASK_ASSIGNED, EXTENSION_DECIDED,
                                 DEADLINE_NEAR, FALLBACK)


# --- what notifications may read of tickets ---------------------------------------------------


async def _descriptions(ticket_ids: Collection[int]) -> Mapping[int, str]:
    # Text held by the content check is not pushed out through WeChat.
    return dict(await Ticket.filter(id__in=list(ticket_ids), content_held=False)
                .values_list("id", "description"))


def _ids_under(paths: Sequence[str]) -> Any:
    return Subquery(Ticket.filter(under_any("area_path", paths)).values("id"))


LOOKUP = TicketLookup(descriptions=_descriptions, ids_under=_ids_under)
