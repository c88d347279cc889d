"""The one door for ticket state: the only code that writes a ticket's status.

`transition()` moves an existing ticket by one action (and the automatic actions that follow
it at once, e.g. a handling's 核查 request); `open_ticket()` inserts a new one in
the state its first actions reach (submit, then maybe auto-accept and dispatch). Both go
through `_apply`, which checks each action against the workflow table (its roles, its
from-states and its required inputs), runs the action's effect, and writes in the caller's
transaction: the status (a new row, or a conditional update on the version read, so of two
concurrent writers exactly one wins and the other gets 409), one TicketEvent per action, the
photo links, the outbox rows, and then tells the change listeners (the statistics, wired in
`app.wiring`, so this module does not import them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from copy import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from tortoise.transactions import in_transaction

from app.accounts.models import Role, User
from app.core import workcalendar
from app.core.errors import AppError, Conflict, Invalid, NotFound
from app.media.models import Media
from app.notifications.models import Outbox
from app.notifications.outbox import NoticeKind, enqueue, notice
from app.settings import current as current_settings
from app.tickets import workflow
from app.tickets.access import may_have_followers, ticket_roles
from app.tickets.models import MediaStage, Ticket, TicketEvent, TicketFollower, TicketMedia
from app.tickets.notices import NOTICE_FOR_ACTION
from app.tickets.reads import ID, Prepared
from app.tickets.workflow import Status

SYSTEM = workflow.SYSTEM
# Stage timestamps the statistics read, stamped by the door whichever action gets there.
STATUS_STAMPS: dict[str, str] = {Status.ACCEPTED: "accepted_at", Status.REJECTED: "rejected_at"}


class TicketError(AppError):
    """A workflow refusal rendered in the envelope (status set per code)."""


# A new ticket's public number, written once its id is known (SQL built once per process).
_SET_NUMBER = Prepared(Ticket, lambda number, key: Ticket.filter(id=key).update(number=number),
                       sentinels=("\x00number", ID))

_TRANSITION_STATUS = {"unknown_action": 400, "role_not_allowed": 403, "invalid_transition": 409,
                      workflow.SEPARATION_CODE: 403}


def _refusal(error: workflow.TransitionError) -> AppError:
    exc = TicketError(error.message, code=error.code)
    exc.status_code = _TRANSITION_STATUS.get(error.code, 409)
    return exc


@dataclass
class Change:
    """What an action does besides the status: fields, media, event data, notifications."""

    fields: dict[str, Any] = field(default_factory=dict)
    media: list[Media] = field(default_factory=list)
    stage: MediaStage | None = None
    data: dict[str, Any] = field(default_factory=dict)
    # People told besides the reporter and followers, e.g. a unit's handlers of a new task.
    notify: list[tuple[NoticeKind, int]] = field(default_factory=list)


# An action's own work, run after the table allowed it and before anything is written; it
# sees the ticket in the status the action starts from and fills in the Change (or refuses).
Effect = Callable[[Ticket, Change], Awaitable[None]]


@dataclass
class Step:
    """One action through the door, with the inputs the table may require of it."""

    action: str
    role: str | None = None  # the role acting; None: the first the table allows of those held
    actor: User | None = None  # None for automatic steps
    note: str = ""  # the reason or note, for actions that require one
    duplicate_of: int | None = None  # the original, for actions that require one (merge)
    change: Change = field(default_factory=Change)
    effect: Effect | None = None


@dataclass
class Opened:
    """A ticket as `open_ticket` wrote it: its steps and their events, in order."""

    ticket: Ticket
    steps: Sequence[Step] = ()
    events: list[TicketEvent] = field(default_factory=list)
    replayed: bool = False


# Called in the transaction of every change with (the ticket before, None for a new one;
# the ticket after). Their queries run in that transaction (Tortoise's context connection).
Listener = Callable[[Ticket | None, Ticket], Awaitable[None]]
_listeners: list[Listener] = []


def on_change(listener: Listener) -> None:
    """Have `listener` told of every change the door writes (registering twice is a no-op)."""
    if listener not in _listeners:
        _listeners.append(listener)


async def transition(
    *,
    ticket_id: int,
    action: str,
    actor: User | None,
    note: str = "",
    duplicate_of: int | None = None,
    expected_version: int | None = None,
    effect: Effect | None = None,
    acting_as: str | None = None,
    extra_roles: frozenset[str] = frozenset(),
    then: Sequence[str] = (),
) -> Ticket:
    """Apply `action` to the ticket in its own transaction; returns the ticket as written.

    `extra_roles` are roles the caller established beyond the map and the assignment, e.g. a
    co-handling unit's handler (app/escalation), who acts as a handler for their part only.
    `then`: automatic (system) actions that follow at once, e.g. a handling's
    request_verification, written in the same transaction: one event and one version each,
    the listeners told of every step, as if each were its own transition.
    """
    async with in_transaction("default"):
        ticket = await _locked(ticket_id)
        if actor is None:
            roles = {SYSTEM}
        else:
            roles = ticket_roles(actor, ticket) | extra_roles
            if not roles:
                raise NotFound("找不到该案件", code="ticket_not_found")
        if actor is not None and await _already_done(ticket, action, actor, expected_version):
            return ticket  # a retry whose answer was lost: it stands where the actor took it
        if action == "claim" and ticket.status == Status.CLAIMED:
            raise Conflict("该任务已被其他网格员认领", code="already_claimed")
        steps = [Step(action, acting_as, actor, note=note, duplicate_of=duplicate_of,
                      effect=effect)] + [Step(name, SYSTEM) for name in then]
        after, _ = await _apply(ticket, steps, roles=roles, expected_version=expected_version)
        return after


async def _already_done(ticket: Ticket, action: str, actor: User,
                        expected_version: int | None) -> bool:
    """Whether `action` repeats the actor's own last move on the ticket, already written.

    Issue 16: a claim or handle whose answer was lost after the commit is retried with the
    version the client saw before it. That is a retry, not a conflict, when the last move by
    a person was this action by this actor, only automatic steps followed it, and the
    version it started from is the one sent. Without a version only a claim can tell (the
    claimant holds the task); any other repeat without one stays a 409, as two dispatchers'
    clicks must.
    """
    rule = workflow.TRANSITIONS.get(action)
    if rule is None or not rule.changes_status:
        return False
    if expected_version is None:
        return (action == "claim" and ticket.status == Status.CLAIMED
                and ticket.assignee_id == actor.id)
    if expected_version >= ticket.version:
        return False
    recent = await (TicketEvent.filter(ticket_id=ticket.id).order_by("-id")
                    .limit(ticket.version - expected_version).values_list("action", "actor_id"))
    automatic = 0
    for done, actor_id in recent:
        if actor_id is None:
            automatic += 1  # each transition bumps the version once
            continue
        return (done == action and actor_id == actor.id
                and expected_version == ticket.version - 1 - automatic)
    return False


async def open_ticket(ticket: Ticket, steps: Sequence[Step]) -> Opened:
    """The door's entrance for new tickets, inside the caller's transaction.

    Each step is checked from the status the previous one reached (a creating action, such
    as submit or self_dispose, from "new") and applied in memory; the ticket is then inserted
    once, in the state the steps reach, with one event per step, its photo links and its
    outbox rows. An auto-accepted, auto-dispatched report so costs one insert per table
    instead of a transition per step.
    """
    after, events = await _apply(ticket, steps)
    return Opened(ticket=after, steps=steps, events=events)


async def _locked(ticket_id: int) -> Ticket:
    # FOR UPDATE serialises writers on MySQL/MariaDB (SQLite serialises transactions anyway,
    # and Tortoise drops the clause there); the version check guards both.
    ticket = await Ticket.filter(id=ticket_id).select_for_update().first()
    if ticket is None:
        raise NotFound("找不到该案件", code="ticket_not_found")
    return ticket


async def _apply(ticket: Ticket, steps: Sequence[Step], *, roles: set[str] | None = None,
                 expected_version: int | None = None) -> tuple[Ticket, list[TicketEvent]]:
    """The one step function: check and apply `steps` to `ticket`, then write everything.

    `ticket` is unsaved (a new ticket, inserted here) or the row locked by `transition`
    (updated here on its version, one version per step). `roles` are what the actor holds on
    it, for the steps with an actor (automatic steps act as the system); None means each step
    acts in its own `role` (new tickets).
    """
    is_new = ticket.id is None
    before = None if is_new else copy(ticket)
    now = datetime.now(UTC)
    status: str | None = None if is_new else ticket.status
    fields: dict[str, Any] = {}
    walked: list[tuple[Step, str, str | None, str]] = []
    passed: list[Ticket] = []  # an existing ticket as each step but the last left it
    for step in steps:
        row = workflow.TRANSITIONS.get(step.action)
        if row is not None:
            # A creating action starts from "new" even after another step: a self-disposal is
            # recorded as its report (submit) and its disposal (self_dispose), both from "new".
            if is_new and row.creates:
                status = None
            _require_inputs(row, step)
        if roles is None:
            held = {str(step.role)}
        else:
            held = roles if step.actor is not None else {SYSTEM}
        try:
            rule = workflow.resolve(action=step.action, status=status, roles=held)
        except workflow.TransitionError as exc:
            raise _refusal(exc) from None
        if roles is not None and step.actor is not None:
            await _require_separation(ticket, rule.action, step.actor)
        if expected_version is not None and expected_version != ticket.version:
            raise Conflict("案件已被他人更新，请刷新后重试", code="stale_version",
                           details={"version": ticket.version})
        # What the effect sees: the status the action starts from (None: not created yet).
        setattr(ticket, "status", status)  # noqa: B010 (None is not a Status)
        change = step.change
        if step.duplicate_of is not None:
            change.fields["duplicate_of_id"] = step.duplicate_of
        if step.effect is not None:
            await step.effect(ticket, change)
        new_status = rule.next_status(status)
        if new_status != status and (stamp := STATUS_STAMPS.get(new_status)):
            change.fields.setdefault(stamp, now)
        for name, value in change.fields.items():
            setattr(ticket, name, value)
        fields.update(change.fields)
        walked.append((step, step.role or _acting_role(rule.roles, held), status, new_status))
        status = new_status
        if before is not None and len(walked) < len(steps):
            passed.append(copy(ticket))
            passed[-1].status = Status(status)
            passed[-1].version, passed[-1].updated_at = before.version + len(walked), now
    assert status is not None, "no steps"
    ticket.status = Status(status)

    if before is None:
        await ticket.save()
        # The public number is derived from the id, so it is unique without another lookup.
        ticket.number = (f"{ticket.created_at.astimezone(workcalendar.SHANGHAI):%Y%m%d}"
                         f"{ticket.id:06d}")
        await _SET_NUMBER.execute(ticket.number, ticket.id)
    else:
        values = {**fields, "status": status, "version": before.version + len(steps),
                  "updated_at": now}
        # Conditional on the version we read: of two concurrent writers exactly one wins.
        if not await Ticket.filter(id=ticket.id, version=before.version).update(**values):
            if steps[0].action == "claim":
                raise Conflict("该任务已被其他网格员认领", code="already_claimed")
            raise Conflict("案件已被他人更新，请刷新后重试", code="stale_version")
        # The row is locked and now holds exactly the row read plus `values`: no read-back.
        ticket.version, ticket.updated_at = values["version"], now

    events = await _write_events(ticket, walked, now)
    # A new ticket has no followers yet.
    followers: Sequence[int] = []
    if before is not None and may_have_followers(ticket) and any(
            step.action in NOTICE_FOR_ACTION for step in steps):
        followers = cast(list[int], await TicketFollower.filter(ticket_id=ticket.id)
                         .values_list("user_id", flat=True))
    await enqueue([row for step, _, _, to_status in walked
                   for row in _notices(ticket, step=step, to_status=to_status,
                                       followers=followers, now=now)])
    for old, new in zip([before, *passed], [*passed, ticket], strict=True):
        for listener in _listeners:
            await listener(old, new)
    return ticket, events


async def _require_separation(ticket: Ticket, action: str, actor: User) -> None:
    """403 `own_handling` when `actor` handled the work they would verify or close."""
    if action not in workflow.SEPARATED_FROM_HANDLING or not current_settings().separate_verification:
        return
    # The handling under check is the latest one (a rework cycle is checked on its own work).
    latest = await (TicketEvent.filter(ticket_id=ticket.id, action="handle")
                    .order_by("-id").limit(1).values_list("actor_id", flat=True))
    handled_by = cast(int | None, latest[0]) if latest else None
    refusal = workflow.separation_refusal(action=action, actor_id=actor.id, handled_by=handled_by)
    if refusal is not None:
        raise _refusal(refusal)


def _require_inputs(rule: workflow.Transition, step: Step) -> None:
    """The inputs the table requires of an action.

    Checked before the ticket's status, like a request's own validation (422 whatever the
    state).
    """
    if rule.requires_reason and not step.note.strip():
        raise Invalid(f"「{rule.label}」需要填写原因", code="reason_required")
    if rule.requires_note and not step.note.strip():
        raise Invalid(f"「{rule.label}」需要填写说明", code="note_required")
    if rule.requires_duplicate_of and step.duplicate_of is None:
        raise Invalid("请指定重复的原案件", code="duplicate_required")


def _acting_role(allowed: frozenset[str], held: set[str]) -> str:
    for role in (SYSTEM, Role.DISPATCHER, Role.SUPERVISOR, Role.HANDLER, Role.GRID_WORKER,
                 Role.COMMUNITY_STAFF, Role.ADMIN, Role.RESIDENT):
        if role in allowed and role in held:
            return role
    return next(iter(held))


async def _write_events(ticket: Ticket, walked: Sequence[tuple[Step, str, str | None, str]],
                        now: datetime) -> list[TicketEvent]:
    """One event per step and the photo links of each, in as few inserts as the ids allow."""
    events: list[TicketEvent] = []
    pending: list[TicketEvent] = []  # written together; one with photos needs its id first
    links: list[TicketMedia] = []
    for step, role, from_status, to_status in walked:
        change = step.change
        event = TicketEvent(ticket_id=ticket.id, actor=step.actor, actor_role=role,
                            action=step.action, from_status=from_status, to_status=to_status,
                            note=step.note, created_at=now,
                            data={**change.data, "media_ids": [m.id for m in change.media]})
        if change.media and change.stage is not None:
            if pending:
                await TicketEvent.bulk_create(pending)
                pending = []
            await event.save()
            links += [TicketMedia(ticket_id=ticket.id, media_id=m.id, stage=change.stage,
                                  event_id=event.id) for m in change.media]
        else:
            pending.append(event)
        events.append(event)
    if pending:
        await TicketEvent.bulk_create(pending)
    if links:
        await TicketMedia.bulk_create(links)
    return events


def _notices(ticket: Ticket, *, step: Step, to_status: str, followers: Sequence[int],
             now: datetime) -> list[Outbox]:
    """The outbox rows of one step: `change.notify`, and the reporter's and followers'."""
    payload = {"number": ticket.number, "action": step.action, "status": to_status}

    def row(kind: NoticeKind, user_id: int) -> Outbox:
        return notice(kind, recipient_id=user_id, ticket_id=ticket.id, payload=dict(payload),
                      available_at=now)

    rows = [row(kind, user_id) for kind, user_id in step.change.notify]
    if kind := NOTICE_FOR_ACTION.get(step.action):
        recipients = {ticket.reporter_id} if ticket.reporter_id else set()
        recipients |= set(followers)
        recipients.discard(step.actor.id if step.actor else None)
        rows += [row(kind, uid) for uid in sorted(recipients)]
    return rows
