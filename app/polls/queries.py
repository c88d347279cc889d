"""Reading polls: the list, one poll's detail, its results and the CSV exports.

Each function checks who the caller is (`access.py`) before it reads; the counting and the
CSV layout are `results.py`'s, the visibility and timing rules `rules.py`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.expressions import Subquery
from tortoise.functions import Count
from tortoise.models import Model
from tortoise.queryset import QuerySet, ValuesQuery
from tortoise.transactions import in_transaction

from app.accounts.models import User
from app.accounts.scope import Role, Scope, scope_of
from app.areas import service as areas
from app.areas.models import Area
from app.areas.schemas import AreaRef
from app.core.errors import Conflict, Forbidden, Invalid, NotFound
from app.core.paging import BY_NEWEST, keyset_page
from app.core.paths import under, under_any
from app.polls import results as tally
from app.polls.access import (
    STAFF_ROLES,
    get_visible_or_raise,
    home_area_required,
    staff_poll_or_raise,
)
from app.polls.models import Poll, PollAnswer, PollBallot, PollQuestion
from app.polls.rules import (
    RESULTS_HIDDEN,
    QuestionKind,
    ancestor_paths,
    results_visible,
    status_of,
)
from app.polls.schemas import (
    HeldText,
    PollDetail,
    PollOut,
    PollPage,
    PollQuery,
    PollResults,
    QuestionOut,
)


def _now() -> datetime:
    return datetime.now(UTC)


# --- lists and detail ---------------------------------------------------------------------------


async def _counts(model: type[Model], poll_ids: list[int]) -> dict[int, int]:
    if not poll_ids:
        return {}
    rows = await (model.filter(poll_id__in=poll_ids).annotate(n=Count("id"))
                  .group_by("poll_id").values("poll_id", "n"))
    return {r["poll_id"]: int(r["n"]) for r in rows}


async def poll_outs(polls: Sequence[Poll], *, user: User, scope: Scope,
                    now: datetime) -> list[PollOut]:
    """Serialise a page of polls with a fixed number of queries."""
    if not polls:
        return []
    ids = [p.id for p in polls]
    # Names and paths from the per-process cache (no geometry read per page).
    areas_by_id = await areas.areas_by_id(p.area_id for p in polls)
    questions = await _counts(PollQuestion, ids)
    is_resident = scope.has(Role.RESIDENT)
    voted = set(await PollBallot.filter(user_id=user.id, poll_id__in=ids)
                .values_list("poll_id", flat=True)) if is_resident else set()
    staff_of = [p.id for p in polls if scope.covers(p.area_path, *STAFF_ROLES)]
    respondents = await _counts(PollBallot, staff_of)
    return [PollOut(
        id=p.id, title=p.title, area=areas.area_ref(areas_by_id[p.area_id]),  # type: ignore[arg-type]
        status=status_of(p, now), opens_at=p.opens_at, closes_at=p.closes_at,
        is_anonymous=p.is_anonymous, results_visibility=p.results_visibility,
        question_count=questions.get(p.id, 0),
        has_voted=p.id in voted if is_resident else None,
        respondent_count=respondents.get(p.id, 0) if p.id in staff_of else None,
        created_at=p.created_at) for p in polls]


async def detail(*, user: User, poll_id: int) -> PollDetail:
    poll, viewer = await get_visible_or_raise(user=user, poll_id=poll_id)
    now = _now()
    [out] = await poll_outs([poll], user=user, scope=scope_of(user), now=now)
    questions = await PollQuestion.filter(poll_id=poll.id).order_by("position")
    return PollDetail(
        **out.model_dump(), description=poll.description,
        close_reason=poll.close_reason or None,
        questions=[QuestionOut.from_model(q) for q in questions],
        can_vote=viewer.is_eligible and not viewer.has_voted and out.status == "open",
        results_visible=results_visible(poll, is_staff=viewer.is_staff,
                                        has_voted=viewer.has_voted, now=now))


def _with_status(qs: QuerySet[Poll], status: str, now: datetime) -> QuerySet[Poll]:
    if status == "draft":
        return qs.filter(is_draft=True)
    if status != "all":
        qs = qs.filter(is_draft=False)
    if status == "open":
        return qs.filter(opens_at__lte=now, closes_at__gt=now)
    if status == "closed":
        return qs.filter(closes_at__lte=now)
    if status == "upcoming":
        return qs.filter(opens_at__gt=now, closes_at__gt=now)
    return qs


async def _resident_area(user: User, query: PollQuery) -> AreaRef:
    """The area whose polls a resident lists: where the point is, else their home area."""
    if query.lng is not None and query.lat is not None and query.crs is not None:
        located = await areas.locate(lng=query.lng, lat=query.lat, crs=query.crs)
        if located.cell is None:
            raise Invalid("该位置不在本平台服务范围内", code="outside_service_area")
        return located.cell
    home = areas.area_ref(user.home_area) if user.home_area_id is not None else None
    if home is None:
        raise home_area_required()
    return home


async def list_polls(*, user: User, query: PollQuery) -> PollPage:
    """Staff: polls in their scope (default all statuses). Residents: the polls reaching their
    home area (or the cell at lng/lat), default open ones. Newest first."""
    scope = scope_of(user)
    now = _now()
    area: AreaRef | None = None
    if query.lng is None and scope.has(*STAFF_ROLES):
        # Path ranges, not LIKE: an index serves them on MySQL too (see app.core.paths).
        qs = Poll.filter(under_any("area_path", scope.paths(*STAFF_ROLES)))
        if query.area:
            found = await Area.filter(code=query.area).first().values("path")
            if found is None or not scope.covers(found["path"], *STAFF_ROLES):
                raise NotFound("找不到该区域", code="area_not_found")
            qs = qs.filter(under("area_path", found["path"]))
        qs = _with_status(qs, query.status or "all", now)
    else:
        area = await _resident_area(user, query)
        qs = _with_status(Poll.filter(area_path__in=ancestor_paths(area.path), is_draft=False),
                          query.status or "open", now)
    rows, after = await keyset_page(qs, ordering=BY_NEWEST, limit=query.limit,
                                    cursor=query.cursor)
    items = await poll_outs(rows, user=user, scope=scope, now=now)
    return PollPage(items=items, area=area, next=after)


# --- results ------------------------------------------------------------------------------------


async def _read_counts(poll: Poll) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(respondents per home path, answers per question / choice / home path), one snapshot."""
    # One transaction, so live results never show more answers than respondents.
    async with in_transaction("default"):
        ballots = await (PollBallot.filter(poll_id=poll.id).annotate(n=Count("id"))
                         .group_by("area_path").values("area_path", "n"))
        # COUNT(question_id), not COUNT(id): the covering index holds question_id, and on
        # SQLite it does not hold the UUID id (counting that read every row: 37 ms vs 5 ms).
        answers = await (PollAnswer.filter(poll_id=poll.id).annotate(n=Count("question_id"))
                         .group_by("question_id", "choice_mask", "scale_value", "area_path")
                         .values("question_id", "choice_mask", "scale_value", "area_path", "n"))
    return ballots, answers


async def _held(poll: Poll, questions: Sequence[PollQuestion]) -> dict[int, list[HeldText]]:
    """Held free-text answers per question, for the staff who review them (at most 100)."""
    if not any(q.kind == QuestionKind.TEXT for q in questions):
        return {}
    rows = await (PollAnswer.filter(poll_id=poll.id, text_held=True, text__not_isnull=True)
                  .order_by("id").limit(tally.TEXT_SAMPLE).values("id", "question_id", "text"))
    out: dict[int, list[HeldText]] = {}
    for r in rows:
        out.setdefault(r["question_id"], []).append(
            HeldText(id=str(r["id"]), text=r["text"] or "", is_held=True))
    return out


async def _texts(poll: Poll, questions: Sequence[PollQuestion], limit: int | None
                 ) -> tuple[dict[int, list[str]], set[int]]:
    """Free-text answers per question, ordered by their random id (so: no order at all)."""
    texts: dict[int, list[str]] = {}
    truncated: set[int] = set()
    for q in questions:
        if q.kind != QuestionKind.TEXT:
            continue
        qs = PollAnswer.filter(poll_id=poll.id, question_id=q.id, text__not_isnull=True,
                               text_held=False).order_by("id")
        values = [r["text"] for r in await (qs.limit(limit + 1) if limit else qs).values("text")]
        if limit and len(values) > limit:
            truncated.add(q.id)
            values = values[:limit]
        texts[q.id] = [v for v in values if v]
    return texts, truncated


async def results(*, user: User, poll_id: int, by: str | None) -> PollResults:
    """Counts per question; staff also get free text and, with `by`, the per-area breakdown."""
    poll, viewer = await get_visible_or_raise(user=user, poll_id=poll_id)
    now = _now()
    if not viewer.is_staff:
        if by is not None:
            raise Forbidden("只有工作人员可以查看分区域结果", code="breakdown_staff_only")
        if not results_visible(poll, is_staff=False, has_voted=viewer.has_voted, now=now):
            raise Forbidden(RESULTS_HIDDEN[poll.results_visibility], code="results_hidden")
    questions = await PollQuestion.filter(poll_id=poll.id).order_by("position")
    return await _results(poll, questions, is_staff=viewer.is_staff, by=by, now=now)


async def _results(poll: Poll, questions: Sequence[PollQuestion], *, is_staff: bool,
                   by: str | None, now: datetime) -> PollResults:
    """The results of a poll the caller may see (the checks are the caller's)."""
    ballots, answers = await _read_counts(poll)
    total = tally.total_of(ballots, answers)
    texts, truncated = (await _texts(poll, questions, tally.TEXT_SAMPLE) if is_staff
                        else (None, set()))
    out = PollResults(poll_id=poll.id, title=poll.title, status=status_of(poll, now),
                      is_anonymous=poll.is_anonymous, respondent_count=total.respondents,
                      questions=tally.question_results(questions, total, texts, truncated))
    if is_staff:
        held = await _held(poll, questions)
        for result in out.questions:
            if result.kind == QuestionKind.TEXT:
                result.held_texts = held.get(result.question_id, [])
    if by is not None:
        blocks = tally.blocks(is_anonymous=poll.is_anonymous, by=by, ballots=ballots,
                              answers=answers)
        codes = tally.area_codes(blocks)
        names = (dict(await Area.filter(code__in=codes).values_list("code", "name"))
                 if codes else {})
        out.by = by  # type: ignore[assignment]
        out.min_group_size = tally.MIN_GROUP_SIZE if poll.is_anonymous else None
        out.breakdown = tally.breakdown(questions, blocks, tally.block_names(blocks, by, names))
    return out


# --- CSV export ---------------------------------------------------------------------------------


async def results_csv(*, user: User, poll_id: int, by: str | None, view: str) -> str:
    """Staff only. summary: the counts (per area with `by`); texts: every free-text answer;
    responses: one row per respondent, for named polls only."""
    poll = await staff_poll_or_raise(user=user, poll_id=poll_id)
    questions = await PollQuestion.filter(poll_id=poll.id).order_by("position")
    if view == "texts":
        texts, _ = await _texts(poll, questions, None)
        return tally.texts_csv(questions, texts)
    if view == "responses":
        return await _responses_csv(poll, questions)
    return tally.summary_csv(await _results(poll, questions, is_staff=True, by=by, now=_now()))


async def _responses_csv(poll: Poll, questions: Sequence[PollQuestion]) -> str:
    if poll.is_anonymous:
        raise Conflict("匿名投票不提供逐人答卷", code="poll_is_anonymous")
    ballots = await PollBallot.filter(poll_id=poll.id).order_by("id").select_related("user")
    answers = await PollAnswer.filter(poll_id=poll.id).values(
        "ballot_id", "question_id", "choice_mask", "scale_value", "text", "text_held")
    respondents = [tally.Respondent(
        ballot_id=b.id, user_id=b.user_id, display_name=b.user.display_name if b.user else "",
        area_path=b.area_path, submitted_at=b.created_at) for b in ballots]
    return tally.responses_csv(questions, respondents, answers)


@dataclass(frozen=True)
class HeldAnswer:
    """A held free-text answer with what a reviewer needs to judge it."""

    poll_id: int
    poll_title: str
    prompt: str
    answer_id: str
    text: str


async def held_for_review(*, user: User, limit: int = 100,
                          reviewed: ValuesQuery[Any] | None = None) -> list[HeldAnswer]:
    """Held free-text answers of the polls `user` manages (`release_text`'s rule), oldest
    polls first; `reviewed`: answer ids (a values query) a reviewer kept, left off."""
    paths = scope_of(user).paths(*STAFF_ROLES)
    titles = dict(await Poll.filter(under_any("area_path", paths)).values_list("id", "title"))
    if not titles:
        return []
    qs = PollAnswer.filter(poll_id__in=list(titles), text_held=True, text__not_isnull=True)
    if reviewed is not None:
        qs = qs.exclude(id__in=Subquery(reviewed))
    rows = await (qs.order_by("poll_id", "question_id").limit(limit)
                  .values("id", "poll_id", "question_id", "text"))
    prompts = dict(await PollQuestion.filter(id__in={r["question_id"] for r in rows})
                   .values_list("id", "prompt"))
    return [HeldAnswer(poll_id=r["poll_id"], poll_title=titles[r["poll_id"]],
                       prompt=prompts.get(r["question_id"], ""), answer_id=str(r["id"]),
                       text=r["text"] or "") for r in rows]
