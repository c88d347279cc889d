"""内容审核: release or keep a held text, recorded; the queue of what nobody decided yet.

Each kind's rule of who may review it is its domain's (`tickets.access`, `ratings.service`,
`polls.service`); this module records the decision (who, when, released or kept) in the
same transaction. A kept text stays held, so the public never sees it, and leaves the queue.
"""

from __future__ import annotations

from typing import Any

from tortoise.queryset import ValuesQuery
from tortoise.transactions import in_transaction

from app.accounts.models import User
from app.accounts.scope import Role, scope_of
from app.core.errors import Forbidden
from app.polls import queries as poll_queries
from app.polls import service as polls
from app.ratings import service as ratings
from app.review.models import Decision, ReviewDecision, ReviewKind
from app.review.schemas import DecisionOut, HeldItem, ReviewQueue
from app.tickets import access as ticket_access
from app.tickets import actions as ticket_actions

REVIEWERS = (Role.DISPATCHER, Role.COMMUNITY_STAFF, Role.ADMIN)


def kept(kind: ReviewKind) -> ValuesQuery[Any]:
    """The ids of `kind`'s texts a reviewer kept (a values query, for a list's exclusion)."""
    column = "target_uuid" if kind == ReviewKind.POLL_TEXT else "target_id"
    return ReviewDecision.filter(kind=kind, decision=Decision.KEPT).values(column)


async def held(*, user: User, limit: int = 100) -> tuple[list[Any], list[Any], list[Any]]:
    """Held case texts, rating comments and poll answers in `user`'s areas that nobody has
    kept yet: what is left to review (each list its domain's, `limit` of each)."""
    if not scope_of(user).has(*REVIEWERS):
        raise Forbidden("只有派遣员、社区工作人员和管理员可以审核内容")
    return (await ticket_access.held_for_review(user=user, limit=limit,
                                                reviewed=kept(ReviewKind.TICKET)),
            await ratings.held_comments(user=user, limit=limit,
                                        reviewed=kept(ReviewKind.RATING)),
            await poll_queries.held_for_review(user=user, limit=limit,
                                               reviewed=kept(ReviewKind.POLL_TEXT)))


async def queue(*, user: User) -> ReviewQueue:
    tickets, comments, answers = await held(user=user)
    return ReviewQueue(items=[
        *(HeldItem(kind=ReviewKind.TICKET, id=str(t.id), title=t.number, text=t.description)
          for t in tickets),
        *(HeldItem(kind=ReviewKind.RATING, id=str(r.id), title=f"评价 #{r.id}",
                   text=r.comment) for r in comments),
        *(HeldItem(kind=ReviewKind.POLL_TEXT, id=a.answer_id, poll_id=a.poll_id,
                   title=f"{a.poll_title} · {a.prompt}", text=a.text) for a in answers)])


async def _record(user: User, kind: ReviewKind, target: Any, decision: Decision) -> DecisionOut:
    column = "target_uuid" if kind == ReviewKind.POLL_TEXT else "target_id"
    row = await ReviewDecision.create(kind=kind, decision=decision, reviewer_id=user.id,
                                      **{column: target})
    return DecisionOut(kind=kind, target_id=str(target), decision=decision,
                       reviewer_id=user.id, decided_at=row.decided_at)


async def decide_ticket(*, user: User, ticket_id: int, decision: Decision) -> DecisionOut:
    """Release (shown as its reporter chose) or keep (hidden) a held case description."""
    async with in_transaction("default"):
        await ticket_access.held_ticket_for_review(user=user, ticket_id=ticket_id)
        if decision == Decision.RELEASED:
            await ticket_actions.release_content(actor=user, ticket_id=ticket_id)
        return await _record(user, ReviewKind.TICKET, ticket_id, decision)


async def decide_rating(*, user: User, rating_id: int, seen: str | None,
                        decision: Decision) -> DecisionOut:
    """Release or keep a held rating comment, the one the reviewer read (`seen`)."""
    async with in_transaction("default"):
        rating = await ratings.held_comment_for_review(user=user, rating_id=rating_id,
                                                       seen=seen)
        if decision == Decision.RELEASED:
            await ratings.release_comment(user=user, rating_id=rating_id, seen=rating.comment)
        return await _record(user, ReviewKind.RATING, rating_id, decision)


async def decide_poll_text(*, user: User, poll_id: int, answer_id: str,
                           decision: Decision) -> DecisionOut:
    """Release (joins results and exports) or keep (stays out) a held free-text answer."""
    async with in_transaction("default"):
        answer = await polls.held_text_for_review(user=user, poll_id=poll_id,
                                                  answer_id=answer_id)
        if decision == Decision.RELEASED:
            await polls.release_text(user=user, poll_id=poll_id, answer_id=answer_id)
        return await _record(user, ReviewKind.POLL_TEXT, answer.id, decision)
