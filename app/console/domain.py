"""The console's one door into the domains: every domain import of app/console is here.

The console has no permission logic of its own: who may see a ticket, which actions the
workflow table allows, scopes and lockout all come from the services imported below, the
same ones the JSON API calls. When a domain module moves, only the imports here change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Q

from app.accounts import grants as account_grants
from app.accounts import service as accounts
from app.accounts.models import User
from app.accounts.schemas import GrantsUpdate, StaffCreate, UserOut, UserQuery, UserUpdate
from app.accounts.scope import ROLE_LABELS, STAFF_ROLES, Role, Scope, scope_of
from app.areas import service as areas
from app.areas.models import Area, AreaKind
from app.areas.schemas import FeatureCollection, ImportPreview, ImportQuery
from app.calendar import service as work_calendar
from app.catalog import service as catalog
from app.catalog.models import Category
from app.catalog.schemas import CategoryCreate, CategoryNode, CategoryUpdate
from app.conversation import service as conversation
from app.conversation.schemas import ReplyTemplateQuery
from app.core import security
from app.core.errors import (
    AppError,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    TooManyRequests,
    Unauthorized,
)
from app.core.paths import under, under_any
from app.evaluation import service as evaluation
from app.evaluation.schemas import EvaluationQuery
from app.hotline import service as hotline
from app.hotline.schemas import ForwardOut, HotlineCaseCreate, HotlineCaseOut
from app.polls import access as poll_access
from app.polls import queries as poll_queries
from app.polls import rules as poll_rules
from app.polls import service as polls
from app.polls.schemas import PollCreate, PollDetail, PollPage, PollQuery, PollResults
from app.ratings import service as ratings
from app.ratings.models import Level as RatingLevel
from app.ratings.models import Rating
from app.ratings.schemas import RatingOut, RatingPage
from app.review import service as review
from app.review.models import Decision
from app.routing import service as routing
from app.routing.schemas import RuleCreate, RuleOut, RuleUpdate
from app.screen import routes as screen_pages
from app.screen import service as screen
from app.stats import cells as stats_cells
from app.stats import ledger as stats_ledger
from app.stats import metrics as stats_metrics
from app.stats import service as stats
from app.stats.schemas import BreakdownQuery, StatsQuery
from app.supervision import service as supervision
from app.supervision.schemas import LEVEL_LABELS, SupervisionIn, SupervisionLevel, SupervisionOut
from app.tickets import access as ticket_access
from app.tickets import actions as ticket_actions
from app.tickets import queries as ticket_queries
from app.tickets import workflow
from app.tickets.access import get_visible_or_raise, in_scope, ticket_roles
from app.tickets.models import ExtensionRequest, ExtensionStatus, Ticket, TicketSource
from app.tickets.schemas import TicketDetail, TicketOut
from app.tickets.workflow import Status
from app.units import service as units
from app.units.models import Unit
from app.units.schemas import UnitCreate, UnitOut, UnitQuery, UnitUpdate

__all__ = [
    "ROLE_LABELS", "STAFF_ROLES", "AppError", "Area", "AreaKind", "Category", "Conflict",
    "ExtensionRequest", "ExtensionStatus", "Forbidden", "Invalid", "NotFound", "Role", "Scope", "Status", "Ticket",
    "TicketDetail", "TicketOut", "TicketSource", "TooManyRequests", "Unauthorized", "Unit",
    "BreakdownQuery", "StatsQuery", "User", "get_visible_or_raise", "scope_of", "screen",
    "screen_pages", "stats", "stats_metrics", "ticket_roles", "under", "workflow",
    "HotlineCaseCreate", "LEVEL_LABELS", "SupervisionIn", "SupervisionLevel",
    "EvaluationQuery", "evaluation", "stats_cells", "stats_ledger",
]


# --- accounts -------------------------------------------------------------------------------


async def authenticate(*, username: str, password: str, ip: str) -> User:
    """The API's staff login (same password check, throttle and lockout), for a console session.

    accounts exposes the check only as `login_with_password`, which also issues an API token
    pair; the console does not use it, so the refresh family is revoked at once. A function
    that returns the user without tokens would save those two writes.
    """
    pair = await accounts.login_with_password(username=username, password=password, ip=ip)
    claims = security.decode_access_token(pair.access_token)
    user = await accounts.get_active_user(user_id=claims.user_id) if claims else None
    if user is None:
        raise Unauthorized("用户名或密码错误", code="invalid_credentials")
    await accounts.logout(user=user, refresh_token=pair.refresh_token)
    return user


async def active_user(*, user_id: int) -> User | None:
    """The user with their grants loaded, or None once the account is disabled."""
    return await accounts.get_active_user(user_id=user_id)


def is_staff(user: User) -> bool:
    return bool(scope_of(user).roles & STAFF_ROLES)


def role_names(user: User) -> list[str]:
    return [ROLE_LABELS[r] for r in sorted(scope_of(user).roles & STAFF_ROLES)]


# --- tickets ----------------------------------------------------------------------------------


def dispatcher_condition(scope: Scope) -> Q:
    """The tickets in a dispatcher's queues: their areas, and the unlocated ones.

    The same rule as `ticket_roles` (an unlocated ticket is in every dispatcher's manual
    queue) and the API's queue; every row shown is also passed through `ticket_outs`, which
    applies `ticket_roles` again.
    """
    return in_scope(scope, [Role.DISPATCHER]) | Q(area_path="")


# What a list row reads of a ticket (the API's list reads the same columns).
LIST_FIELDS = ticket_queries.LIST_FIELDS


async def ticket_outs(user: User, tickets: Sequence[Ticket]) -> list[TicketOut]:
    return await ticket_queries.ticket_outs(user, tickets)


async def ticket_detail(*, user: User, ticket_id: int) -> TicketDetail:
    """A case as staff see it: only when the user holds a staff role *on this ticket*.

    A public ticket is visible to anyone through the API's resident view; the console is a
    staff tool, so a ticket outside the user's scope is 404 here, as if it did not exist.
    """
    _, roles = await get_visible_or_raise(user=user, ticket_id=ticket_id)
    if not roles & STAFF_ROLES:
        raise NotFound("找不到该案件", code="ticket_not_found")
    return await ticket_queries.detail(user=user, ticket_id=ticket_id)


async def pending_extension(*, ticket_id: int) -> ExtensionRequest | None:
    return await ExtensionRequest.filter(ticket_id=ticket_id,
                                         status=ExtensionStatus.PENDING).order_by("-id").first()


def pending_extension_ids() -> Any:
    """A subquery-able list of ticket ids with a pending 延期 request."""
    return ExtensionRequest.filter(status=ExtensionStatus.PENDING).values_list("ticket_id",
                                                                               flat=True)


@dataclass(frozen=True)
class ActionInput:
    """What a console form posts for one action."""

    version: int
    reason: str = ""
    note: str = ""
    unit_id: int | None = None
    category_code: str = ""
    duplicate_of: int | None = None
    extension_id: int | None = None
    forward: dict[str, str] | None = None  # 热线推送: body_name, body_contact, external_number


async def run_action(*, actor: User, ticket_id: int, action: str, data: ActionInput) -> Ticket:
    """Perform one workflow action through the tickets service (which checks everything)."""
    v = data.version
    a = ticket_actions
    if action == "accept":
        return await a.accept(actor=actor, ticket_id=ticket_id, version=v)
    if action == "reject":
        return await a.reject(actor=actor, ticket_id=ticket_id, reason=data.reason, version=v)
    if action == "dispatch":
        if data.unit_id is None:
            raise _missing("请选择派遣单位")
        return await a.dispatch(actor=actor, ticket_id=ticket_id, unit_id=data.unit_id, version=v)
    if action == "recategorise":
        if not data.category_code:
            raise _missing("请选择新的分类")
        return await a.recategorise(actor=actor, ticket_id=ticket_id,
                                    category_code=data.category_code, version=v)
    if action == "merge":
        if data.duplicate_of is None:
            raise _missing("请填写要合并到的案件")
        return await a.merge(actor=actor, ticket_id=ticket_id, duplicate_of=data.duplicate_of,
                             version=v)
    if action == "close":
        return await a.close(actor=actor, ticket_id=ticket_id, note=data.note, version=v)
    if action in ("verify_pass", "verify_fail"):
        return await a.verify(actor=actor, ticket_id=ticket_id, passed=action == "verify_pass",
                              note=data.note or data.reason, media_ids=[], version=v)
    if action == "rate_rework":
        return await a.rework(actor=actor, ticket_id=ticket_id, reason=data.reason, version=v)
    if action in ("approve_extension", "refuse_extension"):
        if data.extension_id is None:
            raise _missing("找不到待审批的延期申请")
        return await a.decide_extension(actor=actor, ticket_id=ticket_id,
                                        extension_id=data.extension_id,
                                        approve=action == "approve_extension",
                                        reason=data.reason, version=v)
    if action == "progress_note":
        return await conversation.post_note(actor=actor, ticket_id=ticket_id, note=data.note,
                                            version=v)
    if action == "ask_info":
        return await conversation.ask_info(actor=actor, ticket_id=ticket_id, note=data.note,
                                           version=v)
    if action in ("forward", "forward_reply"):  # 热线推送 (app/hotline)
        await hotline.forward_step(actor=actor, ticket_id=ticket_id, action=action, version=v,
                                   text=data.reason or data.note, fields=data.forward or {})
        return await Ticket.get(id=ticket_id)
    raise NotFound("工作台暂不支持该操作", code="unknown_action")


async def ticket_forward(*, user: User, ticket: TicketDetail) -> ForwardOut | None:
    """热线推送's record of a forwarded case, for the case page (None: none to show)."""
    return await hotline.forward_of(viewer=user, ticket_id=ticket.id)


def _missing(message: str) -> AppError:
    return Invalid(message, code="missing_input")


# Actions the console offers as forms (the workflow table decides which of them apply).
CONSOLE_ACTIONS = ("accept", "reject", "dispatch", "recategorise", "merge", "approve_extension",
                   "refuse_extension", "verify_pass", "verify_fail", "close", "rate_rework",
                   "progress_note", "ask_info", "forward", "forward_reply")
ACTION_LABELS = {t.action: t.label for t in workflow.TRANSITIONS.values()}
FORWARD_FIELDS = hotline.FORWARD_FIELDS


def transition_rule(action: str) -> workflow.Transition:
    return workflow.TRANSITIONS[action]


# --- workbench map ---------------------------------------------------------------------------


async def open_duplicates_near(*, user: User, ticket_id: int) -> list[tuple[TicketOut, float]]:
    """相同问题: open tickets of the same 小类 near this one in the user's dispatcher scope,
    nearest first, with their distance in metres (a dispatcher may merge into one)."""
    return await ticket_queries.open_duplicates_near(user=user, ticket_id=ticket_id)


# --- configuration the forms offer ----------------------------------------------------------


async def leaf_categories() -> list[Category]:
    """Active 小类 for the 改类 form and the category filter, in code order."""
    rows = (await catalog.categories_by_id()).values()
    return sorted((c for c in rows if c.is_active), key=lambda c: c.path)


async def dispatch_units(*, user: User) -> list[Any]:
    """Active units this user can see (the dispatch form's and the filter's choices)."""
    page = await units.list_units(viewer=user, query=UnitQuery(limit=500))
    return sorted(page.items, key=lambda u: u.name)


async def scope_areas(*, scope: Scope) -> list[Area]:
    """Streets and communities inside a dispatcher's areas (the area filter's choices)."""
    paths = scope.paths(Role.DISPATCHER)
    if not paths:
        return []
    return list(await Area.filter(under_any("path", paths),
                                  kind__in=[AreaKind.DISTRICT, AreaKind.STREET,
                                            AreaKind.COMMUNITY])
                .only("id", "code", "name", "kind", "path").order_by("path"))


async def area_path_in_scope(*, scope: Scope, code: str) -> str:
    """The path of an area inside the dispatcher's areas; 404 otherwise (the API's rule)."""
    [path] = await accounts.scoped_area_paths(scope=scope, roles=[Role.DISPATCHER],
                                              area_code=code)
    return path


async def grid_cells(*, scope: Scope) -> Iterable[Area]:
    """The grid cells (with polygons) inside a dispatcher's areas, for the map."""
    paths = scope.paths(Role.DISPATCHER)
    return await Area.filter(under_any("path", paths), kind=AreaKind.GRID,
                             geometry__isnull=False).only("id", "code", "name", "path",
                                                          "geometry").order_by("path")


async def category_by_code(*, code: str) -> Category:
    return await catalog.get_category_or_raise(code=code)


async def category_ids(*, code: str) -> list[int]:
    """The ids of a category's subtree, as the API's list filters by (404 when unknown)."""
    return await ticket_queries.category_subtree_ids(code)


async def ticket_id_of(*, reference: str) -> int | None:
    """A ticket id from what a dispatcher types: a case number (编号) or an id."""
    reference = reference.strip()
    if not (reference.isascii() and reference.isdigit()):
        return None
    if len(reference) >= 10:
        found = await Ticket.filter(number=reference).first()
        return found.id if found is not None else None
    return int(reference)


async def ticket_number(*, ticket_id: int) -> str | None:
    row = await Ticket.filter(id=ticket_id).first().values_list("number", flat=True)
    return row if isinstance(row, str) else None


async def stats_areas(*, user: User) -> list[Area]:
    """The district, streets and communities a user may read statistics of (the dashboard's
    area choices): the stats API's viewers' scope."""
    paths = scope_of(user).paths(Role.DISPATCHER, Role.COMMUNITY_STAFF, Role.ADMIN)
    return list(await Area.filter(under_any("path", paths), kind__in=[
        AreaKind.DISTRICT, AreaKind.STREET, AreaKind.COMMUNITY]).order_by("path").limit(2000))


# --- hotline and 督办 (issues 14 and 15) -------------------------------------------------------


async def file_hotline_case(*, actor: User, body: HotlineCaseCreate,
                            key: str | None) -> int:
    """File a caller's case once per form (the form's key): the new ticket's id."""
    answer = await hotline.file_case_once(actor=actor, body=body, key=key)
    return int(answer.body["ticket_id"])


async def hotline_caller(*, user: User, ticket: TicketDetail) -> HotlineCaseOut | None:
    """The caller's details of a hotline case, for the staff who may see them (else None)."""
    if ticket.source != TicketSource.HOTLINE:
        return None
    try:
        return await hotline.get_case(viewer=user, ticket_id=ticket.id)
    except (Forbidden, NotFound):
        return None


async def reply_templates(*, user: User, ticket_id: int) -> dict[str, list[str]]:
    """The reply templates (常用语) fitting a case, by purpose, most specific first."""
    found = await conversation.templates(viewer=user, query=ReplyTemplateQuery(ticket_id=ticket_id))
    by_purpose: dict[str, list[str]] = {}
    for row in found.items:
        by_purpose.setdefault(row.purpose.value, []).append(row.text)
    return by_purpose


async def ticket_supervisions(*, user: User, ticket_id: int) -> list[SupervisionOut]:
    """The case's 督办, newest first (the console shows the first 50)."""
    page = await supervision.list_for_ticket(user=user, ticket_id=ticket_id, limit=50,
                                             cursor=None)
    return page.items


async def raise_supervision(*, actor: User, ticket_id: int, body: SupervisionIn) -> None:
    await supervision.raise_supervision(actor=actor, ticket_id=ticket_id, body=body)


# --- admin pages (issue 12: categories, units, routing rules, staff, calendar) ----------------
# The pages call these services directly, as the JSON API does: each one checks the actor's
# role and scope itself, so the console adds no rule of its own.

__all__ += [
    "CategoryCreate", "CategoryUpdate", "RuleCreate", "RuleUpdate", "StaffCreate", "UnitCreate",
    "UnitUpdate", "UserQuery", "UserUpdate", "accounts", "catalog", "routing", "units",
    "work_calendar",
]


def is_admin(user: User) -> bool:
    """Holds the admin role somewhere (the services then decide area by area)."""
    return scope_of(user).has(Role.ADMIN)


async def admin_areas(*, scope: Scope, cells: bool = False) -> list[Area]:
    """Areas inside an admin's subtrees (form choices), cells only when asked for."""
    kinds = [AreaKind.DISTRICT, AreaKind.STREET, AreaKind.COMMUNITY]
    if cells:
        kinds.append(AreaKind.GRID)
    return list(await Area.filter(under_any("path", scope.paths(Role.ADMIN)), kind__in=kinds)
                .only("id", "code", "name", "kind", "path").order_by("path").limit(5000))


async def category_tree(*, user: User) -> list[CategoryNode]:
    """The staff tree (大类 with their 小类), retired ones included."""
    found = await catalog.list_categories(viewer=user, audience="staff", include_inactive=True)
    return [node for node in found.items if isinstance(node, CategoryNode)]


async def admin_units(*, user: User) -> list[UnitOut]:
    """Units the user may see, retired ones included (the first 500, by id)."""
    found = await units.list_units(viewer=user, query=UnitQuery(limit=500, include_inactive=True))
    return found.items


async def rule_out(*, user: User, rule_id: int) -> RuleOut:
    return routing.rule_out(await routing.get_rule_for(viewer=user, rule_id=rule_id))


async def user_out(*, viewer: User, user_id: int) -> UserOut:
    return accounts.user_out(await accounts.get_user_for(viewer=viewer, user_id=user_id))


@dataclass(frozen=True)
class CellRoute:
    """Where a report of one category in one cell would go (the router's own decision)."""

    cell: Area
    unit_id: int | None
    rule_id: int | None


async def rule_coverage(*, user: User, rule_id: int, category_code: str) -> list[CellRoute]:
    """For each grid cell in the admin's subtrees, the router's decision for a 小类: the rule
    map shows where a rule wins, where a more specific one overrides it, and where it is out."""
    await routing.get_rule_for(viewer=user, rule_id=rule_id)  # 404 outside the reader's scope
    category = await catalog.get_active_leaf_or_raise(code=category_code)
    cells = await Area.filter(under_any("path", scope_of(user).paths(Role.ADMIN)),
                              kind=AreaKind.GRID, geometry__isnull=False
                              ).only("id", "code", "name", "path", "parent_id", "geometry"
                                     ).order_by("path")
    found = []
    for cell in cells:
        decision = await routing.decide_route(category=category, cell=cell)
        found.append(CellRoute(cell=cell, unit_id=decision.unit_id, rule_id=decision.rule_id))
    return found


# --- community staff pages (issue 12: ratings to answer, polls) -------------------------------
# The ratings and polls services check the actor's role and scope themselves (the API's rules);
# the two `may_*` below only decide which menu links a user is shown.

__all__ += [
    "PollCreate", "PollDetail", "PollPage", "PollQuery", "PollResults", "RatingLevel",
    "RatingOut", "RatingPage", "poll_access", "poll_queries", "poll_rules", "polls", "ratings",
]


def may_answer_ratings(user: User) -> bool:
    return scope_of(user).has(*ratings.STAFF)


def may_run_polls(user: User) -> bool:
    return scope_of(user).has(*poll_access.STAFF_ROLES)


async def rating_as_now(*, user: User, rating_id: int) -> RatingOut:
    """A rating as it is now, through the ticket's ratings as its staff see them (else 404)."""
    ticket_id = await Rating.filter(id=rating_id).first().values_list("ticket_id", flat=True)
    if ticket_id is not None:
        for out in await ratings.ratings_of_ticket(user=user, ticket_id=int(ticket_id)):  # type: ignore[call-overload]
            if out.id == rating_id:
                return out
    raise NotFound("找不到该评价", code="rating_not_found")


async def poll_areas(*, user: User) -> list[Area]:
    """The district, streets and communities a poll may target for this user (form choices)."""
    paths = scope_of(user).paths(*poll_access.STAFF_ROLES)
    return list(await Area.filter(under_any("path", paths), kind__in=[
        AreaKind.DISTRICT, AreaKind.STREET, AreaKind.COMMUNITY]).order_by("path").limit(2000))


# --- grid import and review queue (issue 12) ---------------------------------------------------
# The import's dry run and its checks are `areas.service`'s (`preview_import`, `import_areas`);
# each held item is released by its own domain (`ticket_actions.release_content`,
# `ratings.release_comment`, `polls.release_text`), which checks who may.
__all__ += ["FeatureCollection", "ImportPreview", "ImportQuery", "areas", "poll_queries",
            "polls", "ratings", "ticket_access", "ticket_actions"]
__all__ += ["Decision", "GrantsUpdate", "account_grants", "review"]
