"""The verbs on an existing ticket: accept, dispatch, claim, handle, verify, close, rework, ….

Each one checks what only it knows (the unit exists, the claimant is the actor, an extension
request is pending), then passes its action and an effect to the door, which checks the
workflow table and writes. New tickets come in through `intake`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from app.accounts.models import Role, User
from app.areas import service as areas
from app.catalog import service as catalog
from app.catalog.models import Category
from app.core.contentsafety import Scene, Verdict, check_text
from app.core.errors import Conflict, Forbidden, Invalid, NotFound
from app.media import service as media_service
from app.media.models import MediaPurpose
from app.routing import service as routing
from app.settings import current as current_settings
from app.tickets import notices, workflow
from app.tickets.access import get_visible_or_raise, require_on_duty, ticket_roles
from app.tickets.deadlines import compute_deadline, limit_of
from app.tickets.door import Change, Effect, transition
from app.tickets.models import (
    ExtensionRequest,
    ExtensionStatus,
    MediaStage,
    RoutedBy,
    Ticket,
    TicketEvent,
    TicketFollower,
)
from app.tickets.workflow import Status
from app.units import service as unit_service


async def _category_of(ticket: Ticket) -> Category:
    return (await catalog.categories_by_id())[ticket.category_id]


def dispatch_effect(unit_id: int, category: Category) -> Effect:
    """What a dispatch to `unit_id` writes: the unit, the deadline, the handlers' notices."""
    async def effect(ticket: Ticket, change: Change) -> None:
        now = datetime.now(UTC)
        fields: dict[str, Any] = {"unit_id": unit_id, "dispatched_at": now, "assignee_id": None}
        if ticket.first_dispatched_at is None:
            fields["first_dispatched_at"] = now
        # The clock starts at the first dispatch and restarts for a rework cycle (返工); a
        # ticket returned as "not ours" keeps its original deadline. So a dispatched ticket
        # always has a deadline (the task pool pages on it).
        if ticket.deadline_at is None or ticket.status == Status.REOPENED:
            value, unit = limit_of(category, ticket.urgency)
            fields["deadline_at"] = await compute_deadline(now, value=value, unit=unit)
            fields["is_overdue"] = False
        change.fields.update(fields)
        change.data["unit_id"] = unit_id
        members = await unit_service.handlers_of(unit_id)
        change.notify += [(notices.TASK_ASSIGNED, uid) for uid in members]

    return effect


async def auto_dispatch(*, ticket: Ticket, category: Category | None = None) -> Ticket:
    """Dispatch an accepted ticket to its routed unit, if routing found one."""
    if ticket.status != Status.ACCEPTED or ticket.unit_id is None:
        return ticket
    category = category or await _category_of(ticket)
    return await transition(ticket_id=ticket.id, action="dispatch", actor=None,
                            effect=dispatch_effect(ticket.unit_id, category))


async def accept(*, actor: User, ticket_id: int, version: int | None) -> Ticket:
    ticket = await transition(ticket_id=ticket_id, action="accept", actor=actor,
                              expected_version=version)
    return await auto_dispatch(ticket=ticket)


def _stamp(**values: Any) -> Effect:
    async def effect(ticket: Ticket, change: Change) -> None:
        change.fields.update(values)

    return effect


async def reject(*, actor: User, ticket_id: int, reason: str, version: int | None) -> Ticket:
    return await transition(ticket_id=ticket_id, action="reject", actor=actor, note=reason,
                            expected_version=version,
                            effect=_stamp(reject_reason=reason))


async def dispatch(*, actor: User, ticket_id: int, unit_id: int, version: int | None) -> Ticket:
    unit = (await unit_service.units_by_id([unit_id])).get(unit_id)
    if unit is None or not unit.is_active:
        raise Invalid("处置单位不存在或已停用", code="unknown_unit")

    async def effect(ticket: Ticket, change: Change) -> None:
        await dispatch_effect(unit_id, await _category_of(ticket))(ticket, change)
        change.fields["routed_by"] = RoutedBy.DISPATCHER

    return await transition(ticket_id=ticket_id, action="dispatch", actor=actor,
                            expected_version=version, effect=effect)


async def recategorise(*, actor: User, ticket_id: int, category_code: str,
                       version: int | None) -> Ticket:
    """Change the category and run routing again (the dispatcher still accepts/dispatches)."""
    category = await catalog.get_active_leaf_or_raise(code=category_code)

    async def effect(ticket: Ticket, change: Change) -> None:
        cell = None
        if ticket.cell_id is not None:
            cell = (await areas.areas_by_id([ticket.cell_id])).get(ticket.cell_id)
        route = await routing.decide_route(category=category, cell=cell)
        change.fields.update(category_id=category.id, unit_id=route.unit_id,
                             routed_by=route.routed_by, routing_rule_id=route.rule_id)
        change.data.update(category=category.code, unit_id=route.unit_id)

    ticket = await transition(ticket_id=ticket_id, action="recategorise", actor=actor,
                              expected_version=version, effect=effect)
    return await auto_dispatch(ticket=ticket, category=category)


async def merge(*, actor: User, ticket_id: int, duplicate_of: int, version: int | None) -> Ticket:
    if duplicate_of == ticket_id:
        raise Invalid("不能与自身合并", code="invalid_duplicate")
    original, roles = await get_visible_or_raise(user=actor, ticket_id=duplicate_of)
    if original.status in workflow.DROPPED_STATUSES or Role.DISPATCHER not in roles:
        raise Invalid("目标案件不可合并", code="invalid_duplicate")

    async def effect(ticket: Ticket, change: Change) -> None:
        change.data["duplicate_of"] = original.number
        # The duplicate's reporter follows the original from now on.
        if ticket.reporter_id and ticket.reporter_id != original.reporter_id:
            _, created = await TicketFollower.get_or_create(ticket_id=original.id,
                                                            user_id=ticket.reporter_id)
            if created:
                await Ticket.filter(id=original.id).update(follower_count=F("follower_count") + 1)

    # The door writes duplicate_of_id (the table requires it of a merge).
    return await transition(ticket_id=ticket_id, action="merge", actor=actor,
                            duplicate_of=original.id, expected_version=version, effect=effect)


async def claim(*, actor: User, ticket_id: int, version: int | None) -> Ticket:
    async def effect(ticket: Ticket, change: Change) -> None:
        await require_on_duty(actor, ticket)
        change.fields.update(assignee_id=actor.id, claimed_at=datetime.now(UTC))

    return await transition(ticket_id=ticket_id, action="claim", actor=actor,
                            expected_version=version, effect=effect)


def _only_assignee(actor: User) -> Effect:
    """The assignment's worker (`require_on_duty`) who claimed it, or anyone on duty if unclaimed."""
    async def effect(ticket: Ticket, change: Change) -> None:
        await require_on_duty(actor, ticket)
        if ticket.assignee_id is not None and ticket.assignee_id != actor.id:
            raise Forbidden("该任务由其他人认领", code="not_your_task")

    return effect


async def release(*, actor: User, ticket_id: int, version: int | None) -> Ticket:
    check = _only_assignee(actor)

    async def effect(ticket: Ticket, change: Change) -> None:
        await check(ticket, change)
        change.fields.update(assignee_id=None, claimed_at=None)

    return await transition(ticket_id=ticket_id, action="release", actor=actor,
                            expected_version=version, effect=effect)


async def return_to_dispatch(*, actor: User, ticket_id: int, reason: str,
                             version: int | None) -> Ticket:
    check = _only_assignee(actor)

    async def effect(ticket: Ticket, change: Change) -> None:
        await check(ticket, change)
        change.fields.update(assignee_id=None, unit_id=None, return_count=ticket.return_count + 1)
        change.data["returned_by_unit"] = ticket.unit_id

    return await transition(ticket_id=ticket_id, action="return", actor=actor, note=reason,
                            expected_version=version, effect=effect)


# Asked in the transaction of each handling, before anything is written: a refusal stops it.
# 主办/协办 (app/escalation, wired in app.wiring) refuses while a co-unit has not reported.
HandleGuard = Callable[[Ticket], Awaitable[None]]
handle_guards: list[HandleGuard] = []


async def handle(*, actor: User, ticket_id: int, note: str, media_ids: Sequence[int],
                 version: int | None) -> Ticket:
    photos = await media_service.claim_for_attachment(owner=actor, media_ids=media_ids,
                                                      purpose=MediaPurpose.HANDLING)
    check = _only_assignee(actor)

    async def effect(ticket: Ticket, change: Change) -> None:
        await check(ticket, change)
        for guard in handle_guards:
            await guard(ticket)
        now = datetime.now(UTC)
        change.fields["handled_at"] = now
        if ticket.first_handled_at is None:
            change.fields["first_handled_at"] = now
            change.fields["handled_on_time"] = (ticket.deadline_at is None
                                                or now <= ticket.deadline_at)
        change.media, change.stage = photos, MediaStage.HANDLING

    # Field verification (核查) follows every handling, in the same transaction.
    return await transition(ticket_id=ticket_id, action="handle", actor=actor, note=note,
                            expected_version=version, effect=effect,
                            then=("request_verification",))


async def verify(*, actor: User, ticket_id: int, passed: bool, note: str,
                 media_ids: Sequence[int], version: int | None) -> Ticket:
    """核查: pass closes; fail (the door requires a reason) sends it back to the same unit."""
    photos = await media_service.claim_for_attachment(owner=actor, media_ids=media_ids,
                                                      purpose=MediaPurpose.VERIFICATION)

    async def effect(ticket: Ticket, change: Change) -> None:
        change.media, change.stage = photos, MediaStage.VERIFICATION
        if passed:
            change.fields.update(_close_fields(ticket))
        else:
            change.fields.update(rework_count=ticket.rework_count + 1, closed_at=None,
                                 assignee_id=None)

    action = "verify_pass" if passed else "verify_fail"
    ticket = await transition(ticket_id=ticket_id, action=action, actor=actor, note=note,
                              expected_version=version, effect=effect)
    if not passed:  # 返工: back to the same unit for a new cycle
        ticket = await _redispatch_same_unit(ticket)
    return ticket


def _close_fields(ticket: Ticket) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"closed_at": now,
            "closed_on_time": ticket.deadline_at is None or now <= ticket.deadline_at}


async def close(*, actor: User, ticket_id: int, note: str, version: int | None) -> Ticket:
    async def effect(ticket: Ticket, change: Change) -> None:
        change.fields.update(_close_fields(ticket))

    return await transition(ticket_id=ticket_id, action="close", actor=actor, note=note,
                            expected_version=version, effect=effect)


async def rework(*, actor: User, ticket_id: int, reason: str, version: int | None) -> Ticket:
    """重办 after an unsatisfied rating: a new dispatch cycle on the same ticket, same unit."""
    async def effect(ticket: Ticket, change: Change) -> None:
        change.fields.update(rework_count=ticket.rework_count + 1, closed_at=None,
                             assignee_id=None)

    ticket = await transition(ticket_id=ticket_id, action="rate_rework", actor=actor, note=reason,
                              expected_version=version, effect=effect)
    return await _redispatch_same_unit(ticket)


async def _redispatch_same_unit(ticket: Ticket) -> Ticket:
    if ticket.status != Status.REOPENED or ticket.unit_id is None:
        return ticket  # stays reopened in the dispatchers' queue
    return await transition(ticket_id=ticket.id, action="dispatch", actor=None,
                            effect=dispatch_effect(ticket.unit_id, await _category_of(ticket)))


# Told in the transaction of each 延期 request and decision, with the request as written: the
# register of requests (app/approvals, wired in app.wiring) keeps its row in step with it.
ExtensionHook = Callable[[Ticket, ExtensionRequest, User], Awaitable[None]]
extension_hooks: list[ExtensionHook] = []


async def request_extension(*, actor: User, ticket_id: int, reason: str, extra_value: int,
                            extra_unit: str, version: int | None) -> ExtensionRequest:
    created: list[ExtensionRequest] = []

    async def effect(ticket: Ticket, change: Change) -> None:
        await require_on_duty(actor, ticket)
        if await ExtensionRequest.filter(ticket_id=ticket.id,
                                         status=ExtensionStatus.PENDING).exists():
            raise Conflict("已有待审批的延期申请", code="extension_pending")
        created.append(await ExtensionRequest.create(
            ticket_id=ticket.id, requested_by=actor, reason=reason, extra_value=extra_value,
            extra_unit=extra_unit))
        change.data.update(extra_value=extra_value, extra_unit=extra_unit)
        for hook in extension_hooks:
            await hook(ticket, created[0], actor)

    await transition(ticket_id=ticket_id, action="request_extension", actor=actor, note=reason,
                     expected_version=version, effect=effect)
    return created[0]


async def decide_extension(*, actor: User, ticket_id: int, extension_id: int, approve: bool,
                           reason: str, version: int | None) -> Ticket:
    """Approving moves the deadline by the requested time; refusing leaves it."""
    async def effect(ticket: Ticket, change: Change) -> None:
        request = await ExtensionRequest.get_or_none(id=extension_id, ticket_id=ticket.id)
        if request is None:
            raise NotFound("找不到该延期申请", code="extension_not_found")
        if request.status != ExtensionStatus.PENDING:
            raise Conflict("该延期申请已处理", code="extension_decided")
        request.status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REFUSED
        request.decided_by = actor
        request.decided_at = datetime.now(UTC)
        await request.save(update_fields=["status", "decided_by_id", "decided_at"])
        for hook in extension_hooks:
            await hook(ticket, request, actor)
        change.data["extension_id"] = request.id
        if approve and ticket.deadline_at is not None:
            new_deadline = await compute_deadline(ticket.deadline_at, value=request.extra_value,
                                                  unit=request.extra_unit)
            change.fields.update(deadline_at=new_deadline, is_overdue=False,
                                 extension_count=ticket.extension_count + 1)
            change.data["deadline_at"] = new_deadline.isoformat()
        if request.requested_by_id:
            change.notify.append((notices.EXTENSION_DECIDED, request.requested_by_id))

    action = "approve_extension" if approve else "refuse_extension"
    return await transition(ticket_id=ticket_id, action=action, actor=actor, note=reason,
                            expected_version=version, effect=effect)


async def withdraw(*, actor: User, ticket_id: int, reason: str, version: int | None) -> Ticket:
    """撤回: the reporter withdraws a report nobody has accepted (立案) yet.

    It ends as rejected with the reason "居民撤回…"; rejected_at stays unset (the door only
    stamps it when the action leaves it out), so the statistics count it as reported but
    never as 不予立案.
    """
    note = f"居民撤回：{reason.strip()}" if reason.strip() else "居民撤回"
    return await transition(ticket_id=ticket_id, action="withdraw", actor=actor, note=note,
                            expected_version=version,
                            effect=_stamp(reject_reason=note, rejected_at=None))


async def add_info(*, actor: User, ticket_id: int, note: str, media_ids: Sequence[int],
                   version: int | None) -> Ticket:
    """补充信息: the reporter adds a note and/or photos to an open report, on its timeline."""
    note = note.strip()
    if not note and not media_ids:
        raise Invalid("请填写补充说明或添加照片", code="note_required")
    photos = await media_service.claim_for_attachment(owner=actor, media_ids=media_ids,
                                                      purpose=MediaPurpose.REPORT)
    # The timeline is public with the ticket: a risky note holds the ticket for review, as
    # a risky description does.
    verdict = await check_text(note, openid=actor.openid, scene=Scene.FORUM)

    async def effect(ticket: Ticket, change: Change) -> None:
        change.media, change.stage = photos, MediaStage.REPORT
        if verdict == Verdict.HOLD:
            change.fields["content_held"] = True
        if current_settings().pause_clock_for_info:
            await _resume_clock_after_answer(ticket, change)

    return await transition(ticket_id=ticket_id, action="add_info", actor=actor, note=note,
                            expected_version=version, effect=effect)


async def _resume_clock_after_answer(ticket: Ticket, change: Change) -> None:
    """The reporter answers 请求补充信息: the deadline moves on by the time the case waited
    (from the latest ask_info not yet answered), as the district's PAUSE_CLOCK_FOR_INFO says."""
    if ticket.deadline_at is None or ticket.status not in workflow.ON_THE_CLOCK:
        return
    last = await TicketEvent.filter(ticket_id=ticket.id, action__in=["ask_info", "add_info"]
                                    ).order_by("-id").first()
    if last is None or last.action != "ask_info":
        return
    now = datetime.now(UTC)
    deadline = ticket.deadline_at + (now - last.created_at)
    change.fields.update(deadline_at=deadline, is_overdue=deadline < now)
    change.data.update(deadline_at=deadline.isoformat(),
                       paused_s=int((now - last.created_at).total_seconds()))


async def follow(*, actor: User, ticket_id: int) -> Ticket:
    """"Me too": the resident follows an open ticket instead of reporting it again."""
    ticket, _ = await get_visible_or_raise(user=actor, ticket_id=ticket_id)
    if ticket.status not in workflow.OPEN_STATUSES:
        raise Conflict("该案件已办结", code="ticket_not_open")
    if ticket.reporter_id == actor.id:
        return ticket
    try:
        async with in_transaction("default"):
            await TicketFollower.create(ticket_id=ticket.id, user_id=actor.id)
            await Ticket.filter(id=ticket.id).update(follower_count=F("follower_count") + 1)
    except IntegrityError:
        pass  # already following: a double tap changes nothing
    return await Ticket.get(id=ticket.id)


async def release_content(*, actor: User, ticket_id: int) -> Ticket:
    """A reviewer clears a held description: the ticket becomes visible as its reporter chose."""
    ticket = await Ticket.get_or_none(id=ticket_id)
    if ticket is None or not ({Role.DISPATCHER, Role.COMMUNITY_STAFF}
                              & ticket_roles(actor, ticket)):
        raise NotFound("找不到该案件", code="ticket_not_found")
    await Ticket.filter(id=ticket.id).update(content_held=False)
    return await Ticket.get(id=ticket.id)


async def mark_overdue(*, now: datetime | None = None) -> int:
    """The periodic job: flag open tickets whose deadline has passed. Returns how many."""
    now = now or datetime.now(UTC)
    return await Ticket.filter(status__in=list(workflow.ON_THE_CLOCK), deadline_at__lt=now,
                               is_overdue=False).update(is_overdue=True)


# --- 挂账, 回退, 作废 (issue 15 item 4): requests are the register's (app/approvals), which
# passes its own row's write as `also`, so the request and its effect commit together.

async def record_request(*, actor: User, ticket_id: int, action: str, note: str,
                         acting_as: str | None, also: Effect) -> Ticket:
    """申请挂账/回退/作废 on the timeline (status kept); a worker must hold the task."""
    async def effect(ticket: Ticket, change: Change) -> None:
        if acting_as in (Role.GRID_WORKER, Role.HANDLER):
            await _only_assignee(actor)(ticket, change)
        await also(ticket, change)

    return await transition(ticket_id=ticket_id, action=action, actor=actor, note=note,
                            acting_as=acting_as, effect=effect)


async def refuse_request(*, actor: User, ticket_id: int, note: str, also: Effect) -> Ticket:
    return await transition(ticket_id=ticket_id, action="refuse_request", actor=actor,
                            note=note, effect=also)


async def suspend(*, actor: User, ticket_id: int, note: str, also: Effect) -> Ticket:
    """挂账 approved: the ticket waits, off the clock, until it is resumed."""
    async def effect(ticket: Ticket, change: Change) -> None:
        await also(ticket, change)
        change.fields.update(suspended_at=datetime.now(UTC),
                             suspend_count=ticket.suspend_count + 1)

    return await transition(ticket_id=ticket_id, action="suspend", actor=actor, note=note,
                            effect=effect)


async def resume(*, actor: User | None, ticket_id: int, note: str = "",
                 version: int | None = None) -> Ticket:
    """恢复办理: back to the unit's task pool; the deadline moves by the time suspended."""
    async def effect(ticket: Ticket, change: Change) -> None:
        now = datetime.now(UTC)
        paused = now - (ticket.suspended_at or now)
        change.fields.update(suspended_at=None, assignee_id=None, claimed_at=None)
        if ticket.deadline_at is not None:
            change.fields["deadline_at"] = ticket.deadline_at + paused
            change.data["deadline_at"] = (ticket.deadline_at + paused).isoformat()
        change.data["paused_seconds"] = int(paused.total_seconds())
        if ticket.unit_id is not None:
            members = await unit_service.handlers_of(ticket.unit_id)
            change.notify += [(notices.TASK_ASSIGNED, uid) for uid in members]

    return await transition(ticket_id=ticket_id, action="resume", actor=actor, note=note,
                            expected_version=version, effect=effect)


async def send_back(*, actor: User, ticket_id: int, note: str, also: Effect) -> Ticket:
    """回退 approved: off the unit, back in the dispatchers' queue (the deadline is kept)."""
    async def effect(ticket: Ticket, change: Change) -> None:
        await also(ticket, change)
        change.data["sent_back_from_unit"] = ticket.unit_id
        change.fields.update(assignee_id=None, unit_id=None, claimed_at=None)

    return await transition(ticket_id=ticket_id, action="send_back", actor=actor, note=note,
                            effect=effect)


async def void(*, actor: User, ticket_id: int, note: str, also: Effect) -> Ticket:
    """作废 approved: the ticket ends, out of the rates (docs/metrics.md)."""
    async def effect(ticket: Ticket, change: Change) -> None:
        await also(ticket, change)
        change.fields.update(suspended_at=None)

    return await transition(ticket_id=ticket_id, action="void", actor=actor, note=note,
                            effect=effect)
