"""Ratings: who may rate (the reporter, or a neighbour who followed it while it was open; once,
within the window), staff replies, and what happens to an unsatisfied one (重办, or the
recorded reason why not)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Subquery
from tortoise.queryset import ValuesQuery
from tortoise.transactions import in_transaction

from app.accounts.models import Role, User
from app.accounts.scope import ROLE_LABELS, scope_of
from app.areas.models import Area
from app.core.contentsafety import Scene, Verdict, check_text
from app.core.errors import Conflict, Forbidden, NotFound
from app.core.paging import Ordering, keyset_page
from app.core.paths import under_any
from app.media import service as media_service
from app.media.models import MediaPurpose
from app.notifications.outbox import enqueue, notice
from app.ratings import notices
from app.ratings.models import Level, Outcome, Rating, RatingReply
from app.ratings.schemas import RatingIn, RatingOut, RatingPage, RatingUpdate, ReplyOut
from app.settings import current
from app.tickets import access as ticket_access
from app.tickets import actions as ticket_actions
from app.tickets.models import Ticket, TicketFollower
from app.tickets.workflow import Status

STAFF = (Role.COMMUNITY_STAFF, Role.DISPATCHER, Role.ADMIN)
_ORDER = {Level.UNSATISFIED: 0, Level.BASICALLY_SATISFIED: 1, Level.SATISFIED: 2}
# The staff queue: the worst first, unreplied before replied, then newest first.
QUEUE_ORDER = Ordering.of("overall_rank", "has_reply", "-id")


def overall_level(result: Level, service: Level) -> Level:
    """The headline level for 满意率: the worse of result and service."""
    return min(result, service, key=_ORDER.__getitem__)


async def _may_rate(user: User, ticket: Ticket) -> bool:
    """The reporter; or a follower who followed before it closed and lives or reported nearby.

    A rating counts in the community's 满意率, so it must come from someone the case concerns
    (docs/decisions.md, "Who may rate"): following alone is one tap from anywhere.
    """
    if not user.openid:
        return False  # staff accounts never rate
    if ticket.reporter_id == user.id:
        return True
    follow = await TicketFollower.get_or_none(ticket_id=ticket.id, user_id=user.id)
    if follow is None or ticket.closed_at is None or follow.created_at > ticket.closed_at:
        return False
    if not ticket.area_path:
        return False  # outside every cell: nothing to be near
    if user.home_area_id is not None:
        home = await Area.filter(id=user.home_area_id).first().values_list("path", flat=True)
        if home and ticket.area_path.startswith(cast(str, home)):
            return True  # lives in the community (or cell) the ticket lies in
    # Reported a problem in the same cell (a merged duplicate's reporter, typically).
    return await Ticket.filter(reporter_id=user.id, cell_id=ticket.cell_id).exists()


async def rate(*, user: User, ticket_id: int, data: RatingIn) -> Rating:
    """Rate a closed ticket once; a second rating is 409 (edit the first within 24 h)."""
    ticket, _ = await ticket_access.get_visible_or_raise(user=user, ticket_id=ticket_id)
    if not await _may_rate(user, ticket):
        raise Forbidden("只有反映人和附近关注的居民可以评价", code="not_your_ticket")
    if ticket.status != Status.CLOSED or ticket.closed_at is None:
        raise Conflict("案件办结后才能评价", code="ticket_not_closed")
    if datetime.now(UTC) > ticket.closed_at + timedelta(days=current().rating_window_days):
        raise Conflict("已超过评价期限", code="rating_window_closed")
    photos = await media_service.claim_for_attachment(owner=user, media_ids=data.media_ids,
                                                      purpose=MediaPurpose.RATING)
    verdict = await check_text(data.comment, openid=user.openid, scene=Scene.COMMENT)
    overall = overall_level(data.result, data.service)
    try:
        rating = await Rating.create(
            ticket_id=ticket.id, user=user, result=data.result, service=data.service,
            overall=overall, overall_rank=_ORDER[overall], stars=data.stars,
            comment=data.comment, comment_held=verdict == Verdict.HOLD,
            media_ids=[m.id for m in photos], area_path=ticket.area_path, unit_id=ticket.unit_id,
        )
    except IntegrityError:  # the unique (ticket, user) constraint: a double tap rates once
        raise Conflict("您已评价过该案件，可在 24 小时内修改", code="already_rated") from None
    return rating


async def update(*, user: User, rating_id: int, changes: RatingUpdate) -> Rating:
    rating = await Rating.get_or_none(id=rating_id, user_id=user.id)
    if rating is None:
        raise NotFound("找不到该评价", code="rating_not_found")
    if datetime.now(UTC) > rating.created_at + timedelta(hours=current().rating_edit_hours):
        raise Conflict("评价提交 24 小时后不能再修改", code="rating_edit_window_closed")
    if rating.outcome is not None:
        raise Conflict("工作人员已处理该评价，不能再修改", code="rating_handled")
    values = changes.model_dump(exclude_none=True)
    for name, value in values.items():
        setattr(rating, name, value)
    if changes.comment is not None:
        verdict = await check_text(changes.comment, openid=user.openid, scene=Scene.COMMENT)
        values["comment_held"] = rating.comment_held = verdict == Verdict.HOLD
    rating.overall = overall_level(rating.result, rating.service)
    rating.overall_rank = _ORDER[rating.overall]
    values.update(overall=rating.overall, overall_rank=rating.overall_rank,
                  updated_at=datetime.now(UTC))
    # Only the edited fields, and only while no staff decision was taken: a rework or decline
    # claims `outcome` with its own conditional update, and a full-row save of the rating read
    # above would write the old NULL back over it (a reworked rating, declinable again).
    if not await Rating.filter(id=rating.id, outcome=None).update(**values):
        raise Conflict("工作人员已处理该评价，不能再修改", code="rating_handled")
    return await Rating.get(id=rating.id)


async def _staff_rating(user: User, rating_id: int) -> tuple[Rating, set[str]]:
    rating = await Rating.get_or_none(id=rating_id)
    if rating is None:
        raise NotFound("找不到该评价", code="rating_not_found")
    scope = scope_of(user)
    roles = {str(r) for r in STAFF if rating.area_path and scope.covers(rating.area_path, r)}
    if not roles:
        raise NotFound("找不到该评价", code="rating_not_found")
    return rating, roles


def _label(user: User | None, role: str) -> str:
    if user is None:
        return "工作人员"
    return f"{ROLE_LABELS.get(Role(role), '工作人员')} {user.surname}".strip()


async def reply(*, user: User, rating_id: int, body: str) -> Rating:
    """Staff answer a rating; the resident sees the reply on the ticket and gets a message."""
    rating, roles = await _staff_rating(user, rating_id)
    role = Role.COMMUNITY_STAFF if Role.COMMUNITY_STAFF in roles else sorted(roles)[0]
    async with in_transaction("default"):
        await RatingReply.create(rating=rating, author=user, author_role=role, body=body)
        if rating.replied_at is None:
            await Rating.filter(id=rating.id).update(replied_at=datetime.now(UTC), has_reply=True)
        number = await (Ticket.filter(id=rating.ticket_id).first()
                        .values_list("number", flat=True))
        await enqueue([notice(notices.REPLIED, recipient_id=rating.user_id,
                              ticket_id=rating.ticket_id,
                              payload={"number": number, "rating_id": rating.id})])
    return await Rating.get(id=rating.id)


async def send_back(*, user: User, rating_id: int, reason: str) -> Rating:
    """重办: an unsatisfied rating sends the ticket back to its unit for a new cycle."""
    rating, _ = await _staff_rating(user, rating_id)
    if rating.overall != Level.UNSATISFIED:
        raise Conflict("只有不满意的评价可以重办", code="not_unsatisfied")
    if rating.outcome is not None:
        raise Conflict("该评价已处理", code="rating_handled")
    # Claim the decision first, so two staff pressing at once cannot both reopen it; and
    # only while it is still unsatisfied (the resident may be editing it at this moment).
    claimed = await Rating.filter(id=rating.id, outcome=None, overall=Level.UNSATISFIED).update(
        outcome=Outcome.REWORK, outcome_note=reason, outcome_by_id=user.id)
    if not claimed:
        raise Conflict("该评价已处理", code="rating_handled")
    try:
        await ticket_actions.rework(actor=user, ticket_id=rating.ticket_id, reason=reason,
                                    version=None)
    except Exception:
        await Rating.filter(id=rating.id).update(outcome=None, outcome_note="", outcome_by_id=None)
        raise
    return await Rating.get(id=rating.id)


async def decline(*, user: User, rating_id: int, reason: str) -> Rating:
    """Record why an unsatisfied rating is not sent back (e.g. the request is out of scope)."""
    rating, _ = await _staff_rating(user, rating_id)
    if rating.overall != Level.UNSATISFIED:
        raise Conflict("只有不满意的评价需要说明", code="not_unsatisfied")
    claimed = await Rating.filter(id=rating.id, outcome=None, overall=Level.UNSATISFIED).update(
        outcome=Outcome.DECLINED, outcome_note=reason, outcome_by_id=user.id)
    if not claimed:
        raise Conflict("该评价已处理", code="rating_handled")
    return await Rating.get(id=rating.id)


async def held_comments(*, user: User, limit: int = 100,
                        reviewed: ValuesQuery[Any] | None = None) -> list[Rating]:
    """Ratings in my area whose comment the content check held, oldest first; `reviewed`:
    ids (a values query) of ratings a reviewer kept, left off the list."""
    scope = scope_of(user)
    qs = Rating.filter(under_any("area_path", scope.paths(*STAFF)), comment_held=True)
    if reviewed is not None:
        qs = qs.exclude(id__in=Subquery(reviewed))
    return list(await qs.order_by("id").limit(limit))


async def held_comment_for_review(*, user: User, rating_id: int, seen: str | None) -> Rating:
    """A held comment `user` may release or keep: 404 outside their area, 409 when it is
    not held any more or differs from `seen`, the comment the reviewer read."""
    rating, _ = await _staff_rating(user, rating_id)
    if not rating.comment_held:
        raise Conflict("该评价留言已审核", code="not_held")
    if seen is not None and rating.comment != seen:
        raise Conflict("评价留言已被修改，请重新审核", code="rating_changed")
    return rating


async def release_comment(*, user: User, rating_id: int, seen: str | None = None) -> Rating:
    """A reviewer clears a held comment: whoever sees the rating now sees the comment too.

    `seen` is the comment the reviewer read (default: the one stored now); a resident's edit
    since then is not released with it.
    """
    rating, _ = await _staff_rating(user, rating_id)
    seen = rating.comment if seen is None else seen
    if not await Rating.filter(id=rating.id, comment=seen).update(comment_held=False):
        raise Conflict("评价留言已被修改，请重新审核", code="rating_changed")
    return await Rating.get(id=rating.id)


async def rating_outs(user: User, ratings: list[Rating]) -> list[RatingOut]:
    if not ratings:
        return []
    ids = [r.id for r in ratings]
    replies = await RatingReply.filter(rating_id__in=ids).order_by("id")
    authors = {u.id: u for u in await User.filter(id__in=list({a.author_id for a in replies}))}
    numbers = dict(await Ticket.filter(id__in=[r.ticket_id for r in ratings])
                   .values_list("id", "number"))
    by_rating: dict[int, list[ReplyOut]] = {}
    for reply_ in replies:
        by_rating.setdefault(reply_.rating_id, []).append(ReplyOut(
            author_label=_label(authors.get(reply_.author_id), reply_.author_role),
            body=reply_.body, created_at=reply_.created_at))
    scope = scope_of(user)
    edit = timedelta(hours=current().rating_edit_hours)
    out = []
    for r in ratings:
        mine = r.user_id == user.id
        staff = bool(r.area_path) and scope.covers(r.area_path, *STAFF)
        out.append(RatingOut(
            id=r.id, ticket_id=r.ticket_id, ticket_number=numbers.get(r.ticket_id),
            result=r.result, service=r.service, overall=r.overall, stars=r.stars,
            # A held comment is seen by its author and by staff reviewing it, nobody else.
            comment=r.comment if (not r.comment_held or mine or staff) else "",
            comment_held=r.comment_held, is_mine=mine, editable_until=r.created_at + edit,
            replies=by_rating.get(r.id, []), outcome=r.outcome, outcome_note=r.outcome_note,
            created_at=r.created_at,
        ))
    return out


async def ratings_of_ticket(*, user: User, ticket_id: int) -> list[RatingOut]:
    ticket, roles = await ticket_access.get_visible_or_raise(user=user, ticket_id=ticket_id)
    qs = Rating.filter(ticket_id=ticket.id)
    if not (roles - {Role.RESIDENT, "follower"}):
        qs = qs.filter(user_id=user.id)  # residents see their own rating and its replies
    return await rating_outs(user, await qs.order_by("id"))


async def queue(*, user: User, limit: int, cursor: str | None, only_open: bool) -> RatingPage:
    """Ratings in my area: unsatisfied first, then unreplied, newest first."""
    scope = scope_of(user)
    if not scope.has(*STAFF):
        raise Forbidden("只有工作人员可以查看评价")
    in_scope = under_any("area_path", scope.paths(*STAFF))
    qs = Rating.filter(in_scope)
    if only_open:
        qs = qs.filter(replied_at__isnull=True, outcome__isnull=True)
    rows, after = await keyset_page(qs, ordering=QUEUE_ORDER, limit=limit, cursor=cursor)
    return RatingPage(items=await rating_outs(user, rows), next=after)
