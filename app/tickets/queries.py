"""Read models of tickets: the list row, the detail with its timeline, the lists, the map.

Every list is one keyset page (`app.core.paging`) in one fixed order: newest first (id) for
"mine", the staff list, the dispatcher's queue, "my tasks" and "to verify"; soonest deadline
first (deadline_at, id) for the task pool.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from tortoise.expressions import Q, RawSQL

from app.accounts.models import Role, User
from app.accounts.scope import ROLE_LABELS, scope_of, staff_label
from app.areas import service as areas
from app.areas.geo import gcj02_to_wgs84
from app.catalog import service as catalog
from app.catalog.models import Category
from app.core.errors import Forbidden, NotFound
from app.core.paging import BY_NEWEST, Ordering, keyset_page
from app.core.paths import under, under_any
from app.media import moderation
from app.media import service as media_service
from app.media.models import Media, MediaCheck, MediaModeration, ModerationAction
from app.tickets import reads, workflow
from app.tickets.access import (
    FOLLOWER,
    in_scope,
    not_handled_by,
    ticket_roles,
    visible_roles_or_raise,
)
from app.tickets.door import SYSTEM, Opened
from app.tickets.models import (
    ExtensionRequest,
    ExtensionStatus,
    MediaStage,
    Ticket,
    TicketFollower,
    TicketMedia,
)
from app.tickets.rows import ticket_outs
from app.tickets.schemas import (
    EventOut,
    PublicTicketOut,
    StaffListQuery,
    TicketCategoryRef,
    TicketDetail,
    TicketMediaOut,
    TicketOut,
    TicketPage,
    TicketPoint,
)
from app.tickets.workflow import Status
from app.units.models import Unit, UnitKind

NEARBY_DAYS = 30
ACTION_LABELS = {t.action: t.label for t in workflow.TRANSITIONS.values()}
# The task pool: soonest deadline first is what a worker in the street needs; ids break ties.
# Every dispatched ticket has a deadline (the dispatch sets it), so the key is never NULL.
BY_DEADLINE = Ordering.of("deadline_at", "id", times=["deadline_at"])
# What residents see of a ticket's history (docs/api.md, "The public view"): the steps of the
# closed loop. Staff-internal moves (a unit returning a task, a claim given up, extension
# requests and decisions, a recategorisation) stay in the staff timeline only.
RESIDENT_STEPS = frozenset({
    "submit", "self_dispose", "auto_accept", "accept", "reject", "dispatch", "claim", "handle",
    "request_verification", "verify_pass", "verify_fail", "close", "rate_rework", "merge",
    "withdraw", "add_info", "progress_note", "ask_info", "forward", "forward_reply"})
# Photos a resident who is not the reporter sees: before and after, not the 核查 evidence.
PUBLIC_STAGES = frozenset({MediaStage.REPORT, MediaStage.HANDLING})
STAFF, REPORTER, PUBLIC = "staff", "reporter", "public"
# Who may hide a photo on a ticket (and restore it): the ticket's community staff and
# dispatchers, in their scope.
PHOTO_MODERATORS = (Role.COMMUNITY_STAFF, Role.DISPATCHER)
MODERATION_LABELS = {ModerationAction.HIDE: "隐藏图片", ModerationAction.RESTORE: "恢复图片",
                     ModerationAction.CHECK_RISKY: "图片未通过内容安全检测",
                     ModerationAction.CHECK_REVIEW: "图片待人工审核"}


def view_of(roles: set[str]) -> str:
    """Which timeline the holder of `roles` reads: staff in scope, the reporter, or public."""
    if roles - {Role.RESIDENT, FOLLOWER}:
        return STAFF
    return REPORTER if Role.RESIDENT in roles else PUBLIC


def _category_ref(category: Category) -> TicketCategoryRef:
    return TicketCategoryRef(code=category.code, name=category.name,
                             label=category.resident_label or category.name)


def _role_label(role: str) -> str:
    """A staff step for the public: the role alone, no surname."""
    return ROLE_LABELS.get(role, "工作人员")  # type: ignore[call-overload]  # a StrEnum key


def _staff_label(user: User | None, role: str) -> str:
    return staff_label(user, role) if user is not None else ""


async def photo_moderator(user: User, media: Media) -> tuple[int, str]:
    """The ticket on which `user` may hide or restore `media`, and the role they act in.

    Registered as `app.media.moderation.guard` (app/wiring.py). 404 when the photo is on no
    ticket the user may see, 403 when they see it but are not its community staff or dispatcher.
    """
    links = await TicketMedia.filter(media_id=media.id).order_by("id")
    tickets = await Ticket.filter(id__in=[link.ticket_id for link in links]) if links else []
    scope = scope_of(user)
    seen = False
    for ticket in tickets:
        roles = ticket_roles(user, ticket, scope)
        acting = [r for r in PHOTO_MODERATORS if r in roles]
        if acting:
            return ticket.id, acting[0]
        seen = seen or bool(roles) or (ticket.is_public and not ticket.content_held)
    if seen:
        raise Forbidden("只有本辖区的社区工作人员和派遣员可以隐藏或恢复图片")
    raise NotFound("找不到该图片", code="media_not_found")


async def detail(*, user: User, ticket_id: int, ticket: Ticket | None = None) -> TicketDetail:
    """The ticket page: three statements for a ticket without photos (the ticket, its events
    with their actors, its photos with their files), one more when it has photos (their
    moderation records), and one for whatever the timeline's actors did not bring.

    `ticket`: the row as the caller's own transition just wrote it (not read again)."""
    if ticket is None or ticket.id != ticket_id:
        # The columns the page shows (a list row's), as values: no 47-column model to build.
        ticket = await reads.ticket_row(ticket_id, LIST_FIELDS)
        if ticket is None:
            raise NotFound("找不到该案件", code="ticket_not_found")
    roles = await visible_roles_or_raise(user=user, ticket=ticket)
    events, users = await reads.timeline(ticket.id)
    photos = await reads.photos(ticket.id)
    media = {medium.id: medium for _, _, medium in photos}
    # Records are about photos: a ticket without any has none to show.
    records = await MediaModeration.filter(
        Q(ticket_id=ticket.id) | Q(ticket_id=None, media_id__in=list(media))
    ).order_by("id") if media else []
    missing = ({r.actor_id for r in records if r.actor_id} | {ticket.assignee_id or 0}) - {0}
    missing -= users.keys()
    if missing:
        users.update((u.id, u) for u in await User.filter(id__in=list(missing)))
    # Whether the caller follows it is known when the access check had to ask (no other role).
    followed = {ticket.id} if FOLLOWER in roles else set() if not roles else None
    [out] = await ticket_outs(user, [ticket], followed=followed, known_users=users)
    return _detail_out(out, events, users, photos, view=view_of(roles), viewer_id=user.id,
                       records=[(r, media[r.media_id]) for r in records if r.media_id in media])


async def fresh_detail(user: User, opened: Opened) -> TicketDetail:
    """The detail of a ticket just opened, from what is in hand: no read-back."""
    [out] = await ticket_outs(user, [opened.ticket], followed=set())
    photos = [(event.id, event_step.change.stage, m)
              for event, event_step in zip(opened.events, opened.steps, strict=True)
              for m in event_step.change.media]
    return _detail_out(out, opened.events, {user.id: user}, photos,
                       view=view_of(ticket_roles(user, opened.ticket)), viewer_id=user.id)


def _photo_out(medium: Media, stage: Any, *, view: str, viewer_id: int) -> TicketMediaOut | None:
    """A photo as `view` may see it: staff see all; others see photos that passed the check
    and are not hidden; the owner also sees their held ones (no image once hidden or risky)."""
    if view == STAFF or moderation.shown_to_others(medium):
        return TicketMediaOut(**media_service.media_out(medium).model_dump(), stage=stage)
    if medium.owner_id != viewer_id:
        return None
    with_url = medium.hidden_at is None and medium.check != MediaCheck.RISKY
    return TicketMediaOut(**media_service.media_out(medium, with_url=with_url).model_dump(),
                          stage=stage)


def _moderation_events(records: Sequence[tuple[MediaModeration, Media]], actors: dict[int, User],
                       *, view: str, viewer_id: int) -> list[EventOut]:
    """Hides, restores and check verdicts as timeline steps: staff read all, an owner reads
    those about their own photos, the public none."""
    out = []
    for record, medium in records:
        if view == PUBLIC or (view != STAFF and medium.owner_id != viewer_id):
            continue
        photo = _photo_out(medium, "", view=view, viewer_id=viewer_id)
        out.append(EventOut(
            action=f"photo_{record.action}", action_label=MODERATION_LABELS[record.action],
            actor_label="系统" if record.actor_id is None else _staff_label(
                actors.get(record.actor_id), record.actor_role),
            from_status=None, to_status=None, note=record.reason,
            media=[photo] if photo is not None else [], created_at=record.created_at))
    return out


def _detail_out(out: TicketOut, events: Sequence[Any], actors: dict[int, User],
                photos: Sequence[tuple[int | None, Any, Media]], *, view: str, viewer_id: int,
                records: Sequence[tuple[MediaModeration, Media]] = ()) -> TicketDetail:
    """The detail: the ticket, its photos and its timeline, as `view` may read it.

    Staff read everything (staff as role + surname). The reporter reads the resident-facing
    steps with their notes (a rejection's reason, what the handling did). Anyone else reads
    the resident-facing steps without notes, staff as a role label only, and the before and
    after photos.
    """
    by_event: dict[int | None, list[TicketMediaOut]] = {}
    all_media = []
    if view != STAFF:
        shown = {e.id for e in events if e.action in RESIDENT_STEPS}
        photos = [p for p in photos if p[0] is None or p[0] in shown]
        events = [e for e in events if e.action in RESIDENT_STEPS]
    if view == PUBLIC:
        photos = [p for p in photos if p[1] in PUBLIC_STAGES]
    for event_id, stage, medium in photos:
        item = _photo_out(medium, stage, view=view, viewer_id=viewer_id)
        if item is None:
            continue
        by_event.setdefault(event_id, []).append(item)
        all_media.append(item)
    timeline = []
    for e in events:
        if e.actor_role == SYSTEM or e.actor_id is None:
            label = "系统"
        elif e.actor_role == Role.RESIDENT:
            label = "居民"
        elif view == PUBLIC:
            label = _role_label(e.actor_role)
        else:
            label = _staff_label(actors.get(e.actor_id), e.actor_role)
        timeline.append(EventOut(
            action=e.action, action_label=ACTION_LABELS.get(e.action, e.action),
            actor_label=label, from_status=e.from_status, to_status=e.to_status,
            note="" if view == PUBLIC else e.note,
            media=by_event.get(e.id, []) if e.id is not None else [], created_at=e.created_at,
        ))
    if records:  # stable: a step and a moderation at the same instant keep their order
        timeline = sorted([*timeline, *_moderation_events(records, actors, view=view,
                                                          viewer_id=viewer_id)],
                          key=lambda step: step.created_at)
    # `out` and the parts were validated as they were built: no second pass over them.
    return TicketDetail.model_construct(**dict(out), media=all_media, timeline=timeline)


# What a list row reads of a ticket (`ticket_outs`, its access rules and deadline colour, the
# keyset cursor): a page of 50 need not decode the other 20 columns, most of them times.
LIST_FIELDS = (
    "id", "number", "source", "reporter_id", "category_id", "description", "lng", "lat",
    "address", "cell_id", "area_path", "unit_id", "assignee_id", "status", "urgency",
    "is_public", "content_held", "routed_by", "version", "follower_count", "deadline_at",
    "is_overdue", "dispatched_at", "created_at", "updated_at")


def _page_facts(user: User) -> dict[str, str]:
    """The list's per-row look-ups folded into its one statement, as SQL: whether the caller
    follows each ticket, and its assignee's surname (all a list row shows of them)."""
    viewer = int(user.id)  # an integer: nothing of the request reaches the SQL text
    return {
        "caller_follows": f"(SELECT COUNT(*) FROM ticket_followers WHERE ticket_followers.ticket_id = tickets.id AND ticket_followers.user_id = {viewer})",  # noqa: S608
        "assignee_surname": "(SELECT users.surname FROM users WHERE users.id = tickets.assignee_id)"}


# A page's rows are read as plain values, not models: Tortoise builds no instance per row.
PAGE_FIELDS = (*LIST_FIELDS, "caller_follows", "assignee_surname")
_PAGE_ROWS = reads.PackedRows(Ticket, PAGE_FIELDS)


async def _page(user: User, qs: Any, limit: int, cursor: str | None,
                ordering: Ordering = BY_NEWEST) -> TicketPage:
    facts = _page_facts(user)
    rows, after = await keyset_page(qs, ordering=ordering, limit=limit, cursor=cursor,
                                    read=lambda page: _PAGE_ROWS(page, facts))
    followed = {t.id for t in rows if t.caller_follows}
    assignees = {t.assignee_id: User(id=t.assignee_id, surname=t.assignee_surname)
                 for t in rows if t.assignee_id and t.assignee_surname is not None}
    return TicketPage(items=await ticket_outs(user, rows, followed=followed,
                                              known_users=assignees), next=after)


async def list_mine(*, user: User, limit: int, cursor: str | None) -> TicketPage:
    followed = TicketFollower.filter(user_id=user.id).values_list("ticket_id", flat=True)
    qs = Ticket.filter(Q(reporter_id=user.id) | Q(id__in=await followed))
    return await _page(user, qs, limit, cursor)


async def list_for_staff(*, user: User, query: StaffListQuery) -> TicketPage:
    scope = scope_of(user)
    roles = [Role.DISPATCHER, Role.COMMUNITY_STAFF, Role.ADMIN]
    if not scope.has(*roles):
        raise Forbidden()
    condition = in_scope(scope, roles)
    if scope.has(Role.DISPATCHER):
        condition |= Q(area_path="")
    qs = Ticket.filter(condition)
    if query.status:
        qs = qs.filter(status=query.status)
    if query.area:
        area = await areas.area_by_code(query.area)
        if area is None:
            raise NotFound("找不到该区域", code="area_not_found")
        qs = qs.filter(under("area_path", area.path))
    if query.category:
        qs = qs.filter(category_id__in=await category_subtree_ids(query.category))
    if query.unit_id:
        qs = qs.filter(unit_id=query.unit_id)
    if query.overdue is not None:
        qs = qs.filter(is_overdue=query.overdue)
    return await _page(user, qs, query.limit, query.cursor)


async def category_subtree_ids(code: str) -> list[int]:
    """A category and every category under it, as ids (404 for an unknown code).

    The list filters by `category_id IN (…)` rather than a join on the categories' path: the
    catalogue is cached in-process, and with ids MariaDB can walk the list's own order and stop
    after a page instead of reading every ticket of each 小类 and sorting them.
    """
    category = await catalog.get_category_or_raise(code=code)
    return [c.id for c in (await catalog.categories_by_id()).values()
            if c.path.startswith(category.path)]


async def dispatcher_queue(*, user: User, limit: int, cursor: str | None) -> TicketPage:
    """What waits for a dispatcher: new, returned, unroutable, reworked, handled tickets."""
    scope = scope_of(user)
    if not scope.has(Role.DISPATCHER):
        raise Forbidden("只有派遣员可以查看派遣队列")
    condition = in_scope(scope, [Role.DISPATCHER]) | Q(area_path="")
    waiting = (Q(status__in=list(workflow.WAITING_FOR_DISPATCHER))
               | Q(status=Status.ACCEPTED, unit_id=None))
    pending_extensions = ExtensionRequest.filter(status=ExtensionStatus.PENDING).values_list(
        "ticket_id", flat=True)
    qs = Ticket.filter(condition).filter(waiting | Q(id__in=await pending_extensions))
    return await _page(user, qs, limit, cursor)


# 协办 (wired in app.wiring): subqueries of the tickets whose part the given units still owe.
co_handled: list[Callable[[list[int]], Any]] = []


async def list_tasks(*, user: User, scope_name: str, limit: int, cursor: str | None) -> TicketPage:
    """Grid workers: their cells' tasks for the grid team; handlers: their unit's tasks."""
    scope = scope_of(user)
    if not scope.has(Role.GRID_WORKER, Role.HANDLER):
        raise Forbidden("只有网格员和处置人员有任务列表")
    if scope_name == "mine":
        qs = Ticket.filter(assignee_id=user.id, status=Status.CLAIMED)
        return await _page(user, qs, limit, cursor)
    if scope_name == "co":  # 协办: cases led by another unit where my unit owes its part
        units = list(scope.unit_ids.get(Role.HANDLER, ())) or [0]
        owed = [Q(id__in=find(units)) for find in co_handled] or [Q(id=0)]
        qs = Ticket.filter(Q(*owed, join_type="OR"), status__in=list(workflow.WORKED_STATUSES))
        return await _page(user, qs, limit, cursor)
    if scope_name == "verify":
        in_cells = in_scope(scope, [Role.GRID_WORKER])
        qs = Ticket.filter(in_cells, not_handled_by(user), status=Status.VERIFYING)
        return await _page(user, qs, limit, cursor)
    pool = Q(id=0)
    unit_ids = list(scope.unit_ids.get(Role.HANDLER, ()))
    if unit_ids:
        pool |= Q(unit_id__in=unit_ids)
    cells = scope.paths(Role.GRID_WORKER)
    if cells:
        teams = await Unit.filter(kind=UnitKind.GRID_TEAM).values_list("id", flat=True)
        in_cells = under_any("area_path", cells)
        pool |= in_cells & Q(unit_id__in=list(teams) or [0])
    qs = Ticket.filter(pool).filter(status=Status.DISPATCHED)
    return await _page(user, qs, limit, cursor, BY_DEADLINE)


def _distance_m(lng1: float, lat1: float, lng2: float, lat2: float) -> float:
    kx = 111_320 * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot((lng1 - lng2) * kx, (lat1 - lat2) * 110_574)


async def public_near(*, lng: float, lat: float, crs: str, radius_m: int,
                      category_code: str | None, open_only: bool) -> list[PublicTicketOut]:
    """Public tickets near a point, without anyone's identity (for "same problem?" and maps).

    Not a paged list: the nearest 50 within `radius_m` of the newest 200 in its bounding box.
    """
    wgs_lng, wgs_lat = gcj02_to_wgs84(lng, lat) if crs == "gcj02" else (lng, lat)
    dlat = radius_m / 110_574
    dlng = radius_m / (111_320 * max(math.cos(math.radians(wgs_lat)), 0.01))
    qs = Ticket.filter(is_public=True, content_held=False, lat__gte=wgs_lat - dlat, lat__lte=wgs_lat + dlat,
                       lng__gte=wgs_lng - dlng, lng__lte=wgs_lng + dlng)
    qs = qs.exclude(status__in=list(workflow.DROPPED_STATUSES))
    if open_only:
        since = datetime.now(UTC) - timedelta(days=NEARBY_DAYS)
        qs = qs.filter(status__in=list(workflow.OPEN_STATUSES), created_at__gte=since)
    if category_code:
        category = await catalog.get_category_or_raise(code=category_code)
        qs = qs.filter(category_id=category.id)
    # Up to 200 rows, of which a public pin shows 8 columns: read as values, not models.
    rows = [SimpleNamespace(**row) for row in await qs.order_by("-id").limit(200).values(
        "id", "number", "status", "category_id", "lng", "lat", "follower_count", "created_at")]
    categories = await catalog.categories_by_id()
    found = []
    for t in rows:
        distance = _distance_m(wgs_lng, wgs_lat, t.lng, t.lat)
        if distance <= radius_m:
            found.append(PublicTicketOut(
                id=t.id, number=t.number, status_label=workflow.status_label(t.status),
                category=_category_ref(categories[t.category_id]),
                location=TicketPoint(lng=round(t.lng, 5), lat=round(t.lat, 5)),
                distance_m=round(distance, 1), follower_count=t.follower_count,
                created_at=t.created_at))
    return sorted(found, key=lambda p: p.distance_m)[:50]


async def open_duplicates_near(*, user: User, ticket_id: int, radius_m: int = 300,
                               limit: int = 10) -> list[tuple[TicketOut, float]]:
    """Open tickets of the same 小类 within `radius_m` of a ticket, nearest first, with their
    distance in metres: the ones a dispatcher could merge it into (相同问题). Only tickets in
    the user's dispatcher scope (or unlocated), the same rule as the dispatcher's queue."""
    scope = scope_of(user)
    if not scope.has(Role.DISPATCHER):
        return []
    ticket = await Ticket.get_or_none(id=ticket_id)
    if ticket is None:
        return []
    x, y, kx = ticket.lng, ticket.lat, 111_320 * max(math.cos(math.radians(ticket.lat)), 0.01)
    dlat, dlng = radius_m / 110_574, radius_m / kx
    qs = Ticket.filter(in_scope(scope, [Role.DISPATCHER]) | Q(area_path="")).filter(
        category_id=ticket.category_id, status__in=list(workflow.OPEN_STATUSES),
        lat__gte=y - dlat, lat__lte=y + dlat, lng__gte=x - dlng, lng__lte=x + dlng)
    # Every candidate in the box, sorted by distance (squared) in the database: the newest 200
    # missed older, nearer cases, and made MariaDB walk the primary key when the box held fewer.
    away = RawSQL(f"(lng - {x!r}) * (lng - {x!r}) * {kx * kx!r} + "
                  f"(lat - {y!r}) * (lat - {y!r}) * {110_574 ** 2}")
    rows = await qs.exclude(id=ticket.id).annotate(away=away).order_by("away", "-id").limit(limit)
    near = [pair for t in rows if (pair := (t, _distance_m(x, y, t.lng, t.lat)))[1] <= radius_m]
    outs = await ticket_outs(user, [t for t, _ in near])
    return [(out, round(distance)) for out, (_, distance) in zip(outs, near, strict=True)]
