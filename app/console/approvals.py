"""挂账, 回退, 作废 on the case page: ask for one, and decide one that waits.

The requests register (app/approvals) decides everything — who may ask on which ticket, one
pending request per kind, who may grant, nobody grants their own — exactly as through
`POST /api/v1/tickets/{id}/approvals` and `POST /api/v1/approvals/{id}/approve|deny`. This module
only reads what the case page needs to offer: the kinds the workflow table lets this user ask
for now, the ticket's requests, and which pending ones this user may decide. 延期 keeps its own
forms (申请 by the unit in the field, 批准/驳回 among the case's actions).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.accounts.models import Role, User
from app.approvals import service as approvals
from app.approvals.models import ApprovalKind, ApprovalStatus
from app.approvals.schemas import (
    KIND_LABELS,
    ApprovalDecisionIn,
    ApprovalIn,
    ApprovalOut,
    ApprovalQuery,
)
from app.core.errors import AppError
from app.tickets import workflow
from app.tickets.access import get_visible_or_raise

KINDS = (ApprovalKind.SEND_BACK, ApprovalKind.SUSPEND, ApprovalKind.VOID)  # the page's order
ASK_TEXT = {ApprovalKind.SEND_BACK: "回退（退回派遣环节重新派遣）",
            ApprovalKind.SUSPEND: "挂账（暂缓办理，停止计时）",
            ApprovalKind.VOID: "作废（不再办理，不计入考核）"}


@dataclass
class CaseRequests:
    """What the case page shows and offers about requests."""

    items: list[ApprovalOut] = field(default_factory=list)
    askable: list[tuple[str, str]] = field(default_factory=list)  # (kind, label)
    decidable: set[int] = field(default_factory=set)  # ids of requests this user may decide


async def _askable(user: User, ticket_id: int, allowed: list[str]) -> list[tuple[str, str]]:
    """The kinds `user` may ask for now. The ticket's allowed actions leave out the task's
    duties when the task is not this user's; a dispatcher's 回退 needs no duty (the door lets
    it pass), so it is offered by the table's own rule for the dispatcher's role."""
    ticket, roles = await get_visible_or_raise(user=user, ticket_id=ticket_id)
    kinds = []
    for kind in KINDS:
        rule = workflow.TRANSITIONS[approvals.ASK[kind]]
        by_office = (Role.DISPATCHER in roles & rule.roles and ticket.status in rule.from_states)
        if rule.action in allowed or by_office:
            kinds.append((kind.value, ASK_TEXT[kind]))
    return kinds


async def of_case(*, user: User, ticket_id: int, allowed: list[str]) -> CaseRequests:
    """The ticket's requests (newest first) and what `user` may do about them."""
    found = CaseRequests(askable=await _askable(user, ticket_id, allowed))
    try:
        page = await approvals.register(user=user, query=ApprovalQuery(ticket=ticket_id, limit=20))
    except AppError:  # a role without a register (e.g. an admin): nothing to list
        return found
    found.items = [r for r in page.items if r.kind != ApprovalKind.EXTEND]
    found.decidable = {r.id for r in found.items
                       if r.status == ApprovalStatus.PENDING and r.requested_by != user.id
                       and approvals.GRANT[r.kind] in allowed}
    return found


async def ask(*, actor: User, ticket_id: int, kind: str, reason: str) -> str:
    """Ask for a request; answers the notice to show."""
    try:
        body = ApprovalIn(kind=ApprovalKind(kind), reason=reason)
    except ValueError:
        raise _invalid("请选择申请类型并填写申请理由") from None
    await approvals.create_request(actor=actor, ticket_id=ticket_id, body=body)
    return f"已提交{KIND_LABELS[body.kind]}申请，等待审批"


async def decide(*, actor: User, ticket_id: int, approval_id: int, approve: bool,
                 note: str) -> str:
    """Approve or deny a request of this ticket; answers the notice to show."""
    row = await approvals.get_request(user=actor, approval_id=approval_id)
    if row.ticket_id != ticket_id:
        raise approvals.NotFound("找不到该申请", code="approval_not_found")
    done = await approvals.decide(actor=actor, approval_id=approval_id, approve=approve,
                                  note=ApprovalDecisionIn(note=note).note)
    return f"已{'批准' if approve else '驳回'}{done.kind_label}申请"


def _invalid(message: str) -> AppError:
    return approvals.Invalid(message, code="invalid_request")
