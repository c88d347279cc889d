"""The rules of 挂账/延期/回退/作废 requests: who asks, who decides, what it does, the register.

A request is a row of `approval_requests` written with its `request_*` event by the ticket
door; a decision is a conditional update of the pending row (of two deciders exactly one wins,
the other gets 409 `request_decided`) written with the approved effect (`suspend`,
`send_back`, `void`) or the refusal, in one transaction. 延期 wraps the tickets' extension
request: the register mirrors each `ExtensionRequest` one to one (`on_extension`), whichever
API asked or decided it. Who may decide is the workflow table's: a supervisor of the ticket's
area for every kind, a dispatcher of the area for 延期 and 回退; nobody decides their own.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q, Subquery
from tortoise.functions import Count

from app.accounts.models import Role, User
from app.accounts.scope import scope_of
from app.accounts.service import scoped_area_paths
from app.approvals import notices
from app.approvals.models import ApprovalKind, ApprovalRequest, ApprovalStatus
from app.approvals.schemas import (
    KIND_LABELS,
    STATUS_LABELS,
    ApprovalIn,
    ApprovalKindRate,
    ApprovalOut,
    ApprovalPage,
    ApprovalQuery,
    ApprovalRates,
    ApprovalRatesQuery,
)
from app.core.errors import AppError, Conflict, Forbidden, Invalid, NotFound
from app.core.paging import BY_NEWEST, keyset_page
from app.core.paths import under_any
from app.core.workcalendar import SHANGHAI
from app.tickets import actions, workflow
from app.tickets.access import get_visible_or_raise, ticket_roles
from app.tickets.door import Change
from app.tickets.models import ExtensionRequest, ExtensionStatus, Ticket
from app.tickets.workflow import Status

REGISTER_ROLES = (Role.SUPERVISOR, Role.DISPATCHER)
WORKERS = (Role.HANDLER, Role.GRID_WORKER)
# The action that asks for each kind (延期: the tickets' own) and the one that grants it.
ASK = {ApprovalKind.SUSPEND: "request_suspend", ApprovalKind.SEND_BACK: "request_send_back",
       ApprovalKind.VOID: "request_void", ApprovalKind.EXTEND: "request_extension"}
GRANT = {ApprovalKind.SUSPEND: "suspend", ApprovalKind.SEND_BACK: "send_back",
         ApprovalKind.VOID: "void", ApprovalKind.EXTEND: "approve_extension"}
# Where a pending request still makes sense: where its grant applies.
APPLIES = {kind: workflow.TRANSITIONS[action].from_states for kind, action in GRANT.items()}


def _pending_key(ticket_id: int, kind: str) -> str:
    return f"{ticket_id}:{kind}"


def _pending_conflict(kind: str) -> Conflict:
    return Conflict(f"该案件已有待审批的{KIND_LABELS[ApprovalKind(kind)]}申请",
                    code="request_pending")


async def _out(row: ApprovalRequest) -> ApprovalOut:
    number = await Ticket.filter(id=row.ticket_id).first().values_list("number", flat=True)
    return ApprovalOut.from_model(row, cast(str | None, number))


def _requester_role(kind: ApprovalKind, roles: set[str]) -> str | None:
    """The role a request is asked in: a dispatcher's 回退/作废, else the worker's."""
    if kind in (ApprovalKind.VOID, ApprovalKind.SEND_BACK) and Role.DISPATCHER in roles:
        return Role.DISPATCHER
    return next((role for role in WORKERS if role in roles), None)


async def create_request(*, actor: User, ticket_id: int, body: ApprovalIn) -> ApprovalOut:
    """Ask for a 挂账, 延期, 回退 or 作废 on a ticket; it waits for a supervisor."""
    is_extend = body.kind == ApprovalKind.EXTEND
    if is_extend != (body.extra_value is not None and body.extra_unit is not None):
        raise Invalid("延期申请须填写延期时长和单位，其他申请不填", code="extension_amount")
    if body.back_to is not None and body.kind != ApprovalKind.SEND_BACK:
        raise Invalid("只有回退申请可以指定回退环节", code="back_to_not_allowed")
    _, roles = await get_visible_or_raise(user=actor, ticket_id=ticket_id)
    if is_extend:
        extension = await actions.request_extension(
            actor=actor, ticket_id=ticket_id, reason=body.reason,
            extra_value=cast(int, body.extra_value), extra_unit=cast(str, body.extra_unit),
            version=None)
        return await _out(await ApprovalRequest.get(extension_id=extension.id))
    role = _requester_role(body.kind, roles)
    created: list[ApprovalRequest] = []

    async def write(ticket: Ticket, change: Change) -> None:
        key = _pending_key(ticket.id, body.kind)
        if await ApprovalRequest.filter(pending_key=key).exists():
            raise _pending_conflict(body.kind)
        row = await ApprovalRequest.create(
            ticket_id=ticket.id, kind=body.kind, unit_id=ticket.unit_id,
            area_path=ticket.area_path, requested_by=actor, requester_role=role or "",
            reason=body.reason, pending_key=key,
            back_to="dispatch" if body.kind == ApprovalKind.SEND_BACK else None)
        created.append(row)
        change.data.update(approval_id=row.id, kind=body.kind.value)

    try:
        await actions.record_request(actor=actor, ticket_id=ticket_id, action=ASK[body.kind],
                                     note=body.reason, acting_as=role, also=write)
    except IntegrityError:  # a concurrent request of the same kind won the unique key
        raise _pending_conflict(body.kind) from None
    return await _out(created[0])


async def on_extension(ticket: Ticket, extension: ExtensionRequest, actor: User) -> None:
    """The tickets' hook: mirror a 延期 request, or its decision, in the register."""
    now = datetime.now(UTC)
    if extension.status == ExtensionStatus.PENDING:
        roles = ticket_roles(actor, ticket)
        await ApprovalRequest.create(
            ticket_id=ticket.id, kind=ApprovalKind.EXTEND, unit_id=ticket.unit_id,
            area_path=ticket.area_path, requested_by_id=extension.requested_by_id,
            requester_role=next((r for r in WORKERS if r in roles), ""),
            reason=extension.reason, extension_id=extension.id,
            pending_key=_pending_key(ticket.id, ApprovalKind.EXTEND),
            extra_value=extension.extra_value, extra_unit=extension.extra_unit)
        return
    decision = (ApprovalStatus.APPROVED if extension.status == ExtensionStatus.APPROVED
                else ApprovalStatus.DENIED)
    won = await ApprovalRequest.filter(extension_id=extension.id,
                                       status=ApprovalStatus.PENDING).update(
        status=decision, decided_by_id=actor.id, decided_at=now, pending_key=None)
    if not won and await ApprovalRequest.filter(extension_id=extension.id).exists():
        raise Conflict("该申请已被他人处理", code="request_decided")


async def _visible(user: User) -> Q:
    """The register rows `user` may read: their area's (supervisors, dispatchers), their
    units' (handlers), and their own requests."""
    scope = scope_of(user)
    visible = Q(requested_by_id=user.id)
    if paths := scope.paths(*REGISTER_ROLES):
        visible |= under_any("area_path", paths)
    if scope.has(Role.DISPATCHER):
        visible |= Q(area_path="")  # unlocated tickets are every dispatcher's
    if units := scope.unit_ids.get(Role.HANDLER, ()):
        visible |= Q(unit_id__in=list(units))
    return visible


async def get_request(*, user: User, approval_id: int) -> ApprovalOut:
    return await _out(await _visible_row(user, approval_id))


async def _visible_row(user: User, approval_id: int) -> ApprovalRequest:
    row = await ApprovalRequest.filter(await _visible(user), id=approval_id).first()
    if row is None:
        raise NotFound("找不到该申请", code="approval_not_found")
    return row


def _closed(row: ApprovalRequest) -> Conflict:
    if row.status == ApprovalStatus.LAPSED:
        return Conflict("案件状态已变化，该申请已失效", code="request_lapsed")
    return Conflict("该申请已被他人处理", code="request_decided")


async def decide(*, actor: User, approval_id: int, approve: bool, note: str) -> ApprovalOut:
    """Approve (the effect through the door) or deny a pending request, race-safe."""
    row = await _visible_row(actor, approval_id)
    # Who may decide comes first (as at the door), then the request's state.
    ticket = await Ticket.get(id=row.ticket_id)
    if workflow.TRANSITIONS[GRANT[row.kind]].roles.isdisjoint(ticket_roles(actor, ticket)):
        raise Forbidden("您的角色不能审批该申请", code="role_not_allowed")
    if row.status != ApprovalStatus.PENDING:
        raise _closed(row)
    if row.requested_by_id == actor.id:
        raise Forbidden("不能审批自己提出的申请", code="own_request")
    if not approve and not note.strip():
        raise Invalid("驳回申请需要填写原因", code="reason_required")
    now = datetime.now(UTC)
    status = ApprovalStatus.APPROVED if approve else ApprovalStatus.DENIED

    async def write(ticket: Ticket, change: Change) -> None:
        won = await ApprovalRequest.filter(id=row.id, status=ApprovalStatus.PENDING).update(
            status=status, decided_by_id=actor.id, decided_at=now, decision_note=note,
            pending_key=None)
        if not won:
            raise Conflict("该申请已被他人处理", code="request_decided")
        change.data.update(approval_id=row.id, kind=row.kind.value)
        change.notify.append((notices.DECIDED, row.requested_by_id))

    try:
        if row.kind == ApprovalKind.EXTEND:
            await actions.decide_extension(actor=actor, ticket_id=row.ticket_id,
                                           extension_id=cast(int, row.extension_id),
                                           approve=approve, reason=note, version=None)
            await ApprovalRequest.filter(id=row.id).update(decision_note=note)
        elif not approve:
            await actions.refuse_request(actor=actor, ticket_id=row.ticket_id, note=note,
                                         also=write)
        else:
            verb = {ApprovalKind.SUSPEND: actions.suspend, ApprovalKind.SEND_BACK:
                    actions.send_back, ApprovalKind.VOID: actions.void}[row.kind]
            await verb(actor=actor, ticket_id=row.ticket_id, note=note, also=write)
    except AppError as exc:
        # Lost a race (another decider, or the ticket moved on): say which, not the door's
        # "stale version" or "invalid transition".
        if exc.status_code == 409:
            latest = await ApprovalRequest.get(id=row.id)
            if latest.status != ApprovalStatus.PENDING:
                raise _closed(latest) from None
        raise
    return await _out(await ApprovalRequest.get(id=row.id))


async def resume(*, actor: User, ticket_id: int, note: str) -> Ticket:
    """恢复办理 of a suspended ticket (a supervisor or dispatcher of its area)."""
    return await actions.resume(actor=actor, ticket_id=ticket_id, note=note)


async def lapse_with_ticket(before: Ticket | None, after: Ticket) -> None:
    """A door listener: pending requests lapse when their ticket leaves where they apply."""
    if before is None or before.status == after.status:
        return
    gone = [kind for kind, states in APPLIES.items()
            if before.status in states and after.status not in states]
    if not gone:
        return
    now = datetime.now(UTC)
    label = workflow.status_label(after.status)
    await ApprovalRequest.filter(ticket_id=after.id, kind__in=gone,
                                 status=ApprovalStatus.PENDING).update(
        status=ApprovalStatus.LAPSED, decided_at=now, pending_key=None,
        decision_note=f"案件状态变为「{label}」，申请自动失效")
    if ApprovalKind.EXTEND in gone:
        await ExtensionRequest.filter(ticket_id=after.id, status=ExtensionStatus.PENDING
                                      ).update(status=ExtensionStatus.LAPSED, decided_at=now)


def _filtered(qs: Any, query: ApprovalQuery, paths: Sequence[str] | None) -> Any:
    if paths is not None:
        qs = qs.filter(under_any("area_path", paths))
    if query.kind is not None:
        qs = qs.filter(kind=query.kind)
    if query.status is not None:
        qs = qs.filter(status=query.status)
    if query.unit is not None:
        qs = qs.filter(unit_id=query.unit)
    if query.ticket is not None:
        qs = qs.filter(ticket_id=query.ticket)
    if query.from_ is not None:
        qs = qs.filter(created_at__gte=query.from_)
    if query.to is not None:
        qs = qs.filter(created_at__lt=query.to)
    return qs


def _require_plausible(*times: datetime | None) -> None:
    """422 for a time no request can have (far dates would overflow on the way to UTC)."""
    if any(t is not None and not 2000 <= t.year <= 2100 for t in times):
        raise Invalid("时间超出范围", code="invalid_period")


async def _register_qs(user: User, query: ApprovalQuery) -> Any:
    scope = scope_of(user)
    if not scope.has(*REGISTER_ROLES, *WORKERS):
        raise Forbidden("只有工作人员可以查看申请台账", code="not_allowed")
    _require_plausible(query.from_, query.to)
    if query.from_ is not None and query.to is not None and query.to <= query.from_:
        raise Invalid("结束时间必须晚于开始时间", code="invalid_period")
    paths = None
    if query.area:
        paths = await scoped_area_paths(scope=scope, roles=REGISTER_ROLES, area_code=query.area)
    return _filtered(ApprovalRequest.filter(await _visible(user)), query, paths)


async def register(*, user: User, query: ApprovalQuery) -> ApprovalPage:
    """申请台账: newest first, keyset paged, filtered by kind, status, unit, area, period."""
    qs = await _register_qs(user, query)
    rows, next_cursor = await keyset_page(qs, ordering=BY_NEWEST, limit=query.limit,
                                          cursor=query.cursor)
    ids = {r.ticket_id for r in rows}
    numbers = dict(cast(list[tuple[int, str | None]], await Ticket.filter(
        id__in=list(ids)).values_list("id", "number"))) if ids else {}
    return ApprovalPage(items=[ApprovalOut.from_model(r, numbers.get(r.ticket_id))
                               for r in rows], next=next_cursor)


EXPORT_MAX = 10_000  # rows of one CSV export, newest first; narrow the filters for more
_CSV_HEADER = ("申请编号", "案件编号", "类型", "状态", "处置单位", "申请人", "申请角色", "申请理由",
               "申请时间", "审批人", "审批时间", "审批意见", "延期时长", "延期单位", "回退至")


def _local(value: datetime | None) -> str:
    return value.astimezone(SHANGHAI).isoformat(timespec="seconds") if value else ""


async def export_csv(*, user: User, query: ApprovalQuery) -> str:
    """The register as CSV (UTF-8 with BOM, for Excel), the filters of the list applied."""
    qs = await _register_qs(user, query)
    rows = await qs.order_by("-id").limit(EXPORT_MAX)
    ids = {r.ticket_id for r in rows}
    numbers = dict(cast(list[tuple[int, str | None]], await Ticket.filter(
        id__in=list(ids)).values_list("id", "number"))) if ids else {}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_CSV_HEADER)
    for r in rows:
        writer.writerow((r.id, numbers.get(r.ticket_id) or "", KIND_LABELS[r.kind],
                         STATUS_LABELS[r.status], r.unit_id or "", r.requested_by_id,
                         r.requester_role, r.reason, _local(r.created_at),
                         r.decided_by_id or "", _local(r.decided_at), r.decision_note,
                         r.extra_value or "", r.extra_unit or "", r.back_to or ""))
    return "\ufeff" + out.getvalue()


RATE_VIEWERS = (Role.SUPERVISOR, Role.DISPATCHER, Role.COMMUNITY_STAFF, Role.ADMIN)
RATE_LABELS = {ApprovalKind.SUSPEND: "挂账率", ApprovalKind.EXTEND: "延期率",
               ApprovalKind.SEND_BACK: "回退率", ApprovalKind.VOID: "作废率"}


async def rates(*, user: User, query: ApprovalRatesQuery) -> ApprovalRates:
    """Each kind's requests in the period and its rate (docs/metrics.md, "Requests")."""
    scope = scope_of(user)
    if not scope.has(*RATE_VIEWERS):
        raise Forbidden("只有工作人员可以查看统计", code="not_allowed")
    _require_plausible(query.from_, query.to)
    start, end = query.from_.astimezone(UTC), query.to.astimezone(UTC)
    if end <= start or end - start > timedelta(days=400):
        raise Invalid("结束时间须晚于开始时间，区间不超过 400 天", code="invalid_period")
    paths = await scoped_area_paths(scope=scope, roles=RATE_VIEWERS, area_code=query.area)
    in_scope = Q(under_any("area_path", paths), is_self_disposed=False)
    # 应处置: first dispatched in the period; 立案: accepted in it. Neither counts a merged
    # duplicate; 应处置 counts no voided or forwarded ticket either (both are out of the rates).
    should_handle = Ticket.filter(in_scope, first_dispatched_at__gte=start,
                                  first_dispatched_at__lt=end).exclude(
        status__in=[Status.MERGED, Status.VOIDED, Status.FORWARDED])
    accepted = Ticket.filter(in_scope, accepted_at__gte=start, accepted_at__lt=end).exclude(
        status=Status.MERGED)
    counts: dict[tuple[str, str], int] = {}
    for row in await (ApprovalRequest.filter(under_any("area_path", paths),
                                             created_at__gte=start, created_at__lt=end)
                      .annotate(n=Count("id")).group_by("kind", "status")
                      .values("kind", "status", "n")):
        counts[(str(row["kind"]), str(row["status"]))] = int(row["n"])
    base_handle = await should_handle.count()
    base_accepted = await accepted.count()
    kinds = []
    for kind in ApprovalKind:
        base_qs, base = ((accepted, base_accepted) if kind == ApprovalKind.VOID
                         else (should_handle, base_handle))
        granted = ApprovalRequest.filter(kind=kind, status=ApprovalStatus.APPROVED)
        tickets = await base_qs.filter(id__in=Subquery(granted.values("ticket_id"))).count()
        by_status = {s: counts.get((kind.value, s.value), 0) for s in ApprovalStatus}
        kinds.append(ApprovalKindRate(
            kind=kind, label=RATE_LABELS[kind], requested=sum(by_status.values()),
            approved=by_status[ApprovalStatus.APPROVED],
            denied=by_status[ApprovalStatus.DENIED], lapsed=by_status[ApprovalStatus.LAPSED],
            pending=by_status[ApprovalStatus.PENDING], tickets=tickets, base=base,
            rate=tickets / base if base else None))
    return ApprovalRates(period_from=query.from_, period_to=query.to, kinds=kinds)
