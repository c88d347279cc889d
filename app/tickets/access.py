"""Who may see and act on a ticket: the roles a user holds for it, with their scope applied."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.queryset import ValuesQuery

from app.accounts.models import Role, User
from app.accounts.scope import Scope, scope_of
from app.core.errors import Conflict, Forbidden, NotFound
from app.core.paths import under_any
from app.settings import current as current_settings
from app.tickets.models import Ticket, TicketFollower
from app.tickets.workflow import SEPARATED_FROM_HANDLING, Status
from app.units import service as unit_service
from app.units.models import UnitKind

FOLLOWER = "follower"  # not a role: a resident who follows someone else's ticket
# The worker's verbs on a task. They follow the assignment, not only the map: the unit's
# handlers work a unit's task, the cell's grid workers a grid-team task. A grid worker whose
# cell holds a department's task still sees it (and verifies it, which is their duty), but may
# not claim, handle, return, release it or ask for more time on it.
# 挂账 and 回退 requests (app/approvals) are asked by whoever holds the task as well; a
# dispatcher's 回退 request passes the door without the duty, but lists filter by this set.
# 上报 (app/escalation) is offered as a button to whoever holds the task; staff of the case's
# level may escalate it too (the service checks their level), without the button here.
DUTY_ACTIONS = frozenset({"claim", "handle", "release", "return", "request_extension",
                          "request_suspend", "request_send_back", "escalate"})


# Speaking for a case (进展说明, 请求补充信息): the command centre and the community for any case
# in their scope, a grid worker or handler only while its task is theirs.
SPEAKER_ACTIONS = frozenset({"progress_note", "ask_info"})
OFFICE_ROLES = frozenset({Role.DISPATCHER, Role.COMMUNITY_STAFF})


def off_duty_actions(actions: list[str], roles: set[str]) -> list[str]:
    """`actions` as someone whose task this is not may take them."""
    return [a for a in actions if a not in DUTY_ACTIONS
            and (a not in SPEAKER_ACTIONS or roles & OFFICE_ROLES)]


def ticket_roles(user: User, ticket: Ticket, scope: Scope | None = None) -> set[str]:
    """The roles `user` holds *for this ticket* (scope applied); empty = may not see it."""
    scope = scope or scope_of(user)
    roles: set[str] = set()
    path = ticket.area_path
    # Unlocated tickets (outside every cell) are in every dispatcher's manual queue.
    if scope.has(Role.DISPATCHER) and (not path or scope.covers(path, Role.DISPATCHER)):
        roles.add(Role.DISPATCHER)
    if path and scope.covers(path, Role.COMMUNITY_STAFF):
        roles.add(Role.COMMUNITY_STAFF)
    if path and scope.covers(path, Role.ADMIN):
        roles.add(Role.ADMIN)
    if path and scope.covers(path, Role.GRID_WORKER):
        roles.add(Role.GRID_WORKER)
    if path and scope.covers(path, Role.SUPERVISOR):
        roles.add(Role.SUPERVISOR)
    if ticket.unit_id is not None and ticket.unit_id in scope.unit_ids.get(Role.HANDLER, ()):
        roles.add(Role.HANDLER)
    if ticket.reporter_id == user.id:
        roles.add(Role.RESIDENT)
    return roles


def may_have_followers(ticket: Ticket) -> bool:
    """Whether looking up the ticket's followers can find any: `follower_count` is raised in
    the transaction that adds a follower and never lowered, so a ticket counting none has none."""
    return bool(ticket.follower_count)


async def _is_follower(user: User, ticket: Ticket) -> bool:
    return may_have_followers(ticket) and await TicketFollower.filter(
        ticket_id=ticket.id, user_id=user.id).exists()


async def get_visible_or_raise(*, user: User, ticket_id: int) -> tuple[Ticket, set[str]]:
    """The ticket and the caller's roles on it; 404 if they may not see it at all."""
    ticket = await Ticket.get_or_none(id=ticket_id)
    if ticket is None:
        raise NotFound("找不到该案件", code="ticket_not_found")
    return ticket, await visible_roles_or_raise(user=user, ticket=ticket)


async def visible_roles_or_raise(*, user: User, ticket: Ticket) -> set[str]:
    """The caller's roles on a ticket in hand (`get_visible_or_raise` without the read)."""
    roles = ticket_roles(user, ticket)
    if not roles and await _is_follower(user, ticket):
        roles.add(FOLLOWER)
    if not roles and (not ticket.is_public or ticket.content_held):
        raise NotFound("找不到该案件", code="ticket_not_found")
    return roles


def on_duty(ticket: Ticket, scope: Scope, unit_kind: str | None) -> bool:
    """Whether the task is assigned to the holder of `scope` (`unit_kind`: the ticket's unit's)."""
    if ticket.unit_id is None:
        return False
    if ticket.unit_id in scope.unit_ids.get(Role.HANDLER, ()):
        return True
    return (unit_kind == UnitKind.GRID_TEAM and bool(ticket.area_path)
            and scope.covers(ticket.area_path, Role.GRID_WORKER))


async def require_on_duty(user: User, ticket: Ticket) -> None:
    """403 unless the ticket's task is assigned to `user` (their unit, or their cell's team)."""
    unit = None
    if ticket.unit_id is not None:
        unit = (await unit_service.units_by_id([ticket.unit_id])).get(ticket.unit_id)
    if not on_duty(ticket, scope_of(user), unit.kind if unit is not None else None):
        raise Forbidden("该任务未派给您所在的单位或网格", code="not_your_task")


def in_scope(scope: Scope, roles: Sequence[Role]) -> Q:
    """The tickets under the areas where `scope` holds any of `roles` (a list's filter)."""
    return under_any("area_path", scope.paths(*roles))


async def held_for_review(*, user: User, limit: int = 100,
                          reviewed: ValuesQuery[Any] | None = None) -> list[Ticket]:
    """Tickets whose text the content check held, oldest first, that `user` may release
    (`actions.release_content`'s rule: a dispatcher or community staff of the ticket's area).
    `reviewed`: ids (a values query) of tickets a reviewer kept, left off the list."""
    qs = Ticket.filter(in_scope(scope_of(user), [Role.DISPATCHER, Role.COMMUNITY_STAFF]),
                       content_held=True)
    if reviewed is not None:
        qs = qs.exclude(id__in=Subquery(reviewed))
    return list(await qs.order_by("id").limit(limit))


async def held_ticket_for_review(*, user: User, ticket_id: int) -> Ticket:
    """A held ticket `user` may release or keep (as `held_for_review` lists them): 404 when
    not theirs to review, 409 when nothing is held any more."""
    ticket = await Ticket.get_or_none(id=ticket_id)
    if ticket is None or not ({Role.DISPATCHER, Role.COMMUNITY_STAFF}
                              & ticket_roles(user, ticket)):
        raise NotFound("找不到该案件", code="ticket_not_found")
    if not ticket.content_held:
        raise Conflict("该案件的内容已审核", code="not_held")
    return ticket


def checks_own_handling(user: User, ticket: Ticket) -> bool:
    """Whether `user` handled the work on `ticket` now waiting to be checked (issue 15).

    For lists and buttons: while a ticket is handled or verifying its assignee is the worker
    who handled it. The door itself asks the timeline (`door._require_separation`).
    """
    return (current_settings().separate_verification
            and ticket.status in (Status.HANDLED, Status.VERIFYING)
            and ticket.assignee_id == user.id)


def without_own_checks(user: User, ticket: Ticket, actions: list[str]) -> list[str]:
    """`actions` less 核查 and close when `user` would check their own handling."""
    if not checks_own_handling(user, ticket):
        return actions
    return [a for a in actions if a not in SEPARATED_FROM_HANDLING]


def not_handled_by(user: User) -> Q:
    """The 核查 queue's filter: tickets whose handling under check is not `user`'s."""
    if not current_settings().separate_verification:
        return Q()
    return Q(assignee_id__isnull=True) | Q(assignee_id__not=user.id)
