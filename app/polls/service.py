"""Polls: staff ask an area subtree, its residents answer once, results per question and area.

Who may do what (checked on every read and write; `access.py` says who the caller is):
- community_staff / admin whose scope covers the poll's area create it, list it, close it early
  and see live results: per question, per sub-area, free text, CSV;
- residents (WeChat users) whose home area lies inside the poll's area see it and answer once
  (the database's UNIQUE (poll, user) on ballots decides); they see counts when the poll's
  visibility allows, never free text nor the per-area breakdown.

Anonymous polls keep who voted (ballots) and what was answered (answers) unlinked, and results
per sub-area fold small groups together so that no breakdown isolates fewer than
`results.MIN_GROUP_SIZE` respondents (see `rules.fold_small_groups`).

This module holds the writes; `rules.py` the pure rules, `queries.py` the reads (lists,
detail, results, CSV) and `results.py` the arithmetic behind them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app.accounts.models import User
from app.accounts.scope import Role, scope_of
from app.areas.models import Area
from app.core.contentsafety import Scene, Verdict, check_text
from app.core.errors import Conflict, Forbidden, Invalid, NotFound
from app.notifications.outbox import enqueue, notice
from app.polls import notices
from app.polls.access import (
    STAFF_ROLES,
    get_or_raise,
    has_ballot,
    home_area_required,
    home_path,
    not_found,
    staff_poll_or_raise,
)
from app.polls.models import Poll, PollAnswer, PollBallot, PollQuestion
from app.polls.rules import (
    AnswerRow,
    check_answers,
    check_open,
    check_period,
    lives_in,
    normalise_questions,
    results_visible,
)
from app.polls.schemas import HeldText, PollCreate, ResponseIn, ResponseReceipt
from app.tickets import idempotency


def _now() -> datetime:
    return datetime.now(UTC)


def _already_voted() -> Conflict:
    return Conflict("您已经参与过这次投票，每人只能投一次", code="already_voted")


# --- creating and closing -----------------------------------------------------------------------


async def create_poll_once(*, actor: User, body: PollCreate, key: str | None
                           ) -> tuple[int, bool]:
    """`create_poll` once per Idempotency-Key of this user (the API's header, the console's
    hidden form field): a retried or double-posted 发布 answers with the first poll's id.
    Returns the poll's id and whether this was a replay."""
    async def run() -> idempotency.Answer:
        poll = await create_poll(actor=actor, body=body)
        return 201, {"poll_id": poll.id}

    answer = await idempotency.once(actor=actor, key=key, scope="POST /polls",
                                    body=body.model_dump(mode="json"), run=run)
    return int(answer.body["poll_id"]), answer.replayed


async def create_poll(*, actor: User, body: PollCreate) -> Poll:
    """A poll for an area subtree inside the actor's scope, with its questions and the
    `poll.opened` outbox row (delivered once the poll opens), in one transaction. A draft
    gets no outbox row: publishing it does that (`publish_poll`)."""
    scope = scope_of(actor)
    if not scope.has(*STAFF_ROLES):
        raise Forbidden("只有社区工作人员可以发起投票", code="staff_only")
    area = await Area.get_or_none(code=body.area_code)
    if area is None:
        raise Invalid("所选区域不存在", code="unknown_area", details={"area_code": body.area_code})
    if not scope.covers(area.path, *STAFF_ROLES):
        raise Forbidden("只能在自己负责的区域内发起投票", code="area_out_of_scope")
    now = _now()
    opens_at = (body.opens_at or now).astimezone(UTC)
    closes_at = body.closes_at.astimezone(UTC)
    check_period(opens_at=opens_at, closes_at=closes_at, now=now)
    questions = normalise_questions(body.questions)
    async with in_transaction("default") as conn:
        poll = await Poll.create(
            area=area, area_path=area.path, title=body.title, description=body.description,
            opens_at=opens_at, closes_at=closes_at, is_anonymous=body.is_anonymous,
            results_visibility=body.results_visibility, created_by=actor, is_draft=body.draft,
            using_db=conn)
        await PollQuestion.bulk_create([PollQuestion(poll_id=poll.id, **q) for q in questions],
                                       using_db=conn)
        if not body.draft:
            await _announce_opening(poll, now, conn)
    return poll


async def _announce_opening(poll: Poll, now: datetime, conn: Any) -> None:
    # One row for the whole area: the delivery side fans out to its residents.
    await enqueue([notice(notices.OPENED, recipient_id=None,
                          payload={"poll_id": poll.id, "area_path": poll.area_path,
                                   "title": poll.title,
                                   "closes_at": poll.closes_at.isoformat()},
                          available_at=max(now, poll.opens_at))], using_db=conn)


async def publish_poll(*, actor: User, poll_id: int) -> Poll:
    """发布 a draft: residents see it from now on (from its start time if that is later; a
    start time already past becomes now) and the "poll opened" notice is queued, in one
    transaction. Publishing a published poll answers it as it is (a retried tap); a draft
    whose end time has passed cannot be published (409)."""
    poll = await staff_poll_or_raise(user=actor, poll_id=poll_id)
    if not poll.is_draft:
        return poll
    now = _now()
    if poll.closes_at <= now:
        raise Conflict("该草稿的结束时间已过，请修改时间后重新发起", code="poll_period_passed")
    opens_at = max(poll.opens_at, now)
    async with in_transaction("default") as conn:
        # Conditional: of two publishes at once, one queues the notice.
        if await Poll.filter(id=poll.id, is_draft=True).using_db(conn).update(
                is_draft=False, opens_at=opens_at):
            poll.is_draft, poll.opens_at = False, opens_at
            await _announce_opening(poll, now, conn)
    return await Poll.get(id=poll.id)


async def close_poll(*, actor: User, poll_id: int, reason: str) -> Poll:
    """Close early, saying why: closes_at becomes now. Closing a closed poll is a 409."""
    poll = await staff_poll_or_raise(user=actor, poll_id=poll_id)
    if poll.is_draft:
        raise Conflict("草稿尚未发布，无需结束", code="poll_draft")
    now = _now()
    values: dict[str, Any] = {"closes_at": now, "closed_early_by_id": actor.id,
                              "close_reason": reason}
    if poll.opens_at > now:
        values["opens_at"] = now  # closing one that never opened: keep opens ≤ closes
    # Conditional, so of two concurrent closes one wins and the other hears it is closed.
    if not await Poll.filter(id=poll.id, closes_at__gt=now).update(**values):
        raise Conflict("投票已结束", code="poll_closed")
    return await Poll.get(id=poll.id)


# --- answering ----------------------------------------------------------------------------------


async def respond(*, user: User, poll_id: int, body: ResponseIn) -> ResponseReceipt:
    """Record a resident's one response: the ballot and its answers in one transaction.

    The pre-check gives the usual case a clear answer; the ballot's UNIQUE (poll, user) is what
    makes a double tap, a replay or a race count once (the loser's IntegrityError → 409).
    A response whose open-check passed just before an early close still counts: it arrived
    while the poll was open.
    """
    poll = await get_or_raise(poll_id)
    scope = scope_of(user)
    if not scope.has(Role.RESIDENT):
        raise Forbidden("只有居民可以参与投票", code="residents_only")
    if poll.is_draft:  # residents never see a draft
        raise not_found()
    home = home_path(user)
    if home is None:
        raise home_area_required()
    if not lives_in(home, poll.area_path):
        if await has_ballot(poll.id, user.id):
            raise _already_voted()
        if scope.covers(poll.area_path, *STAFF_ROLES):
            raise Forbidden("您不住在这次投票的范围内", code="not_eligible")
        raise not_found()
    now = _now()
    check_open(poll, now)
    if await has_ballot(poll.id, user.id):
        raise _already_voted()
    questions = await PollQuestion.filter(poll_id=poll.id).order_by("position")
    rows = check_answers(questions, body.answers)
    held = await _held_texts(rows, user)
    try:
        async with in_transaction("default"):
            ballot = await PollBallot.create(poll_id=poll.id, user_id=user.id, area_path=home)
            await PollAnswer.bulk_create([
                PollAnswer(poll_id=poll.id, question_id=r.question_id,
                           ballot_id=None if poll.is_anonymous else ballot.id,
                           choice_mask=r.choice_mask, scale_value=r.scale_value, text=r.text,
                           text_held=r.question_id in held, area_path=home)
                for r in rows])
    except IntegrityError:
        raise _already_voted() from None
    return ResponseReceipt(poll_id=poll.id, results_visible=results_visible(
        poll, is_staff=scope.covers(poll.area_path, *STAFF_ROLES), has_voted=True, now=now))


async def _held_texts(rows: Sequence[AnswerRow], user: User) -> set[int]:
    """The questions whose free-text answer the content check holds (before the transaction:
    it may call WeChat). A held text is stored and counted, never dropped."""
    held = set()
    for r in rows:
        if r.text and await check_text(r.text, openid=user.openid,
                                       scene=Scene.COMMENT) == Verdict.HOLD:
            held.add(r.question_id)
    return held


async def _staff_answer(user: User, poll_id: int, answer_id: str) -> PollAnswer:
    poll = await staff_poll_or_raise(user=user, poll_id=poll_id)
    try:
        key = uuid.UUID(answer_id)
    except ValueError:
        raise NotFound("找不到该回答", code="answer_not_found") from None
    answer = await PollAnswer.get_or_none(id=key, poll_id=poll.id, text__not_isnull=True)
    if answer is None:
        raise NotFound("找不到该回答", code="answer_not_found")
    return answer


async def held_text_for_review(*, user: User, poll_id: int, answer_id: str) -> PollAnswer:
    """A held free-text answer `user` may release or keep: 404 outside their polls, 409 when
    it is not held any more."""
    answer = await _staff_answer(user, poll_id, answer_id)
    if not answer.text_held:
        raise Conflict("该回答已审核", code="not_held")
    return answer


async def release_text(*, user: User, poll_id: int, answer_id: str) -> HeldText:
    """A reviewer clears a held free-text answer: it joins the results and the exports."""
    answer = await _staff_answer(user, poll_id, answer_id)
    key = answer.id
    await PollAnswer.filter(id=key).update(text_held=False)
    return HeldText(id=str(key), text=answer.text or "", is_held=False)
