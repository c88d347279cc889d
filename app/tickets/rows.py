"""A page of list rows (`TicketOut`): each row's access answers computed once per page.

A dispatcher's page of 50 holds a few dozen cells, a handful of units and statuses: the roles
a user holds on a ticket (`access.ticket_roles`), whether its task is theirs (`access.on_duty`)
and the buttons that follow (`workflow.allowed_actions` and its filters) are the same for every
row sharing the facts they read. They are computed through those same functions for the first
row with each combination of facts and reused for the others; the page is then validated in
one call. What a row says is what the per-row computation says (tests/tickets/test_list_rows.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from pydantic import TypeAdapter

from app.accounts.models import Role, User
from app.accounts.scope import Scope, scope_of, staff_label
from app.areas import service as areas
from app.catalog import service as catalog
from app.tickets import reads, workflow
from app.tickets.access import (
    checks_own_handling,
    may_have_followers,
    off_duty_actions,
    on_duty,
    ticket_roles,
    without_own_checks,
)
from app.tickets.deadlines import calendar_overrides, deadline_colour
from app.tickets.models import Ticket, TicketFollower
from app.tickets.schemas import TicketOut
from app.units import service as unit_service
from app.units.models import Unit, UnitKind

_PAGE = TypeAdapter(list[TicketOut])


class PageAccess:
    """One caller's access answers over one page, each worked out once per distinct input.

    `roles` depends on what `ticket_roles` reads of a ticket (its area path, its unit, whether
    the caller reported it), and so does the duty (`on_duty`: the unit, its kind, the path);
    the actions add the status and whether the caller would check their own handling.
    """

    def __init__(self, user: User, scope: Scope, units: dict[int, Unit]) -> None:
        self.user, self.scope, self.units = user, scope, units
        self._roles: dict[tuple[str, int | None, bool], tuple[frozenset[str], bool]] = {}
        self._actions: dict[tuple[Any, ...], list[str]] = {}

    def roles(self, t: Ticket) -> tuple[frozenset[str], bool]:
        """The caller's roles on `t`, and whether its task is theirs."""
        key = (t.area_path, t.unit_id, t.reporter_id == self.user.id)
        found = self._roles.get(key)
        if found is None:
            unit = self.units.get(t.unit_id) if t.unit_id else None
            found = self._roles[key] = (
                frozenset(ticket_roles(self.user, t, self.scope)),
                on_duty(t, self.scope, unit.kind if unit is not None else None))
        return found

    def actions(self, t: Ticket, roles: frozenset[str], duty: bool) -> list[str]:
        """What the caller may do on `t` now (a list of its own: callers may change it)."""
        own = checks_own_handling(self.user, t)
        key = (t.status, roles, duty, own)
        found = self._actions.get(key)
        if found is None:
            # The reporter's own moves (撤回 before 立案, 补充信息 while open) are listed too,
            # so the mini-program shows those buttons only when the door would take them.
            found = workflow.allowed_actions(t.status, roles)
            if not duty:
                found = off_duty_actions(found, set(roles))
            found = self._actions[key] = without_own_checks(self.user, t, found)
        return list(found)


async def ticket_outs(user: User, tickets: Sequence[Ticket],
                      followed: set[int] | None = None,
                      known_users: dict[int, User] | None = None) -> list[TicketOut]:
    """Serialise a page of tickets with a fixed number of queries (no N+1).

    Categories, cells and units come from the process's configuration snapshots; `followed`
    (the ids among `tickets` the user follows) is looked up unless given, and only for
    tickets someone else reported; assignees already in `known_users` are not read again.
    """
    if not tickets:
        return []
    scope = scope_of(user)
    categories = await catalog.categories_by_id()
    cells = await areas.areas_by_id(t.cell_id for t in tickets if t.cell_id)
    units = await unit_service.units_by_id(t.unit_id for t in tickets if t.unit_id)
    assignees = dict(known_users or {})
    missing = list({t.assignee_id for t in tickets if t.assignee_id} - assignees.keys())
    if missing:
        assignees.update((u.id, u) for u in await User.filter(id__in=missing))
    if followed is None:
        # A reporter's own ticket is theirs whether they follow it or not.
        others = [t.id for t in tickets if t.reporter_id != user.id and may_have_followers(t)]
        followed = set(cast(list[int], await TicketFollower.filter(
            user_id=user.id, ticket_id__in=others).values_list("ticket_id", flat=True))
        ) if others else set()
    now = datetime.now(UTC)
    overrides = await calendar_overrides()
    refs = reads.Refs(cells, units)
    access = PageAccess(user, scope, units)
    labels: dict[tuple[int, str], str] = {}
    rows = []
    for t in tickets:
        category = categories[t.category_id]
        roles, duty = access.roles(t)
        is_reporter = t.reporter_id == user.id
        label = None
        assignee = assignees.get(t.assignee_id) if t.assignee_id else None
        if assignee is not None and (is_reporter or roles - {Role.RESIDENT}):
            unit = units.get(t.unit_id) if t.unit_id else None
            # A grid team's task is worked by a grid worker, a department's by its handler.
            role = Role.HANDLER if unit is not None and unit.kind != UnitKind.GRID_TEAM \
                else Role.GRID_WORKER
            label = labels.get((assignee.id, role))
            if label is None:
                label = labels[(assignee.id, role)] = staff_label(assignee, role)
        rows.append({
            "id": t.id, "number": t.number, "status": t.status,
            "status_label": workflow.status_label(t.status), "source": t.source,
            "category": refs.category(category), "description": t.description,
            "location": {"lng": t.lng, "lat": t.lat}, "address": t.address,
            "cell": refs.cell(t.cell_id), "unit": refs.unit(t.unit_id),
            "urgency": t.urgency, "is_public": t.is_public, "content_held": t.content_held,
            "routed_by": t.routed_by, "deadline_at": t.deadline_at,
            "deadline_colour": deadline_colour(t, category, now, overrides),
            "is_overdue": t.is_overdue, "version": t.version,
            "follower_count": t.follower_count, "is_mine": is_reporter or t.id in followed,
            "assignee_label": label, "allowed_actions": access.actions(t, roles, duty),
            "created_at": t.created_at, "updated_at": t.updated_at,
        })
    # One validation for the page: the same models, field for field, as one per row.
    return _PAGE.validate_python(rows)
