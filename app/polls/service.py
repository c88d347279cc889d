"""Polls: staff ask an area subtree, its residents answer once, results per question and area.

Who may do what (checked here, on every read and write):
- community_staff / admin whose scope covers the poll's area create it, list it, close it early
  and see live results: per question, per sub-area, free text, CSV;
- residents (WeChat users) whose home area lies inside the poll's area see it and answer once
  (the database's UNIQUE (poll, user) on ballots decides); they see counts when the poll's
  visibility allows, never free text nor the per-area breakdown.

Anonymous polls keep who voted (ballots) and what was answered (answers) unlinked, and results
per sub-area fold small groups together so that no breakdown isolates fewer than
MIN_GROUP_SIZE respondents (see `fold_small_groups`).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from tortoise.exceptions import IntegrityError
from tortoise.functions import Count
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from app.accounts.models import Role, User
from app.accounts.schemas import AreaRef
from app.accounts.service import Scope, area_ref, scope_of
from app.areas import service as areas
from app.areas.models import KIND_DEPTH, Area, AreaKind
from app.core.api import MAX_ID
from app.core.contentsafety import Scene, Verdict, check_text
from app.core.errors import Conflict, Forbidden, Invalid, NotFound
from app.core.paths import under, under_any
from app.notifications.models import Outbox
from app.polls.models import (
    Poll,
    PollAnswer,
    PollBallot,
    PollQuestion,
    QuestionKind,
    ResultsVisibility,
)
from app.polls.schemas import (
    AnswerIn,
    AreaResult,
    HeldText,
    OptionCount,
    OptionOut,
    PollCreate,
    PollDetail,
    PollOut,
    PollPage,
    PollQuery,
    PollResults,
    PollStatus,
    QuestionIn,
    QuestionOut,
    QuestionResult,
    ResponseIn,
    ResponseReceipt,
    ScaleCount,
)

STAFF_ROLES = (Role.COMMUNITY_STAFF, Role.ADMIN)
# In anonymous polls no per-area row stands for fewer respondents than this.
MIN_GROUP_SIZE = 5
TEXT_SAMPLE = 100  # free-text answers in the JSON results; the CSV export has all of them
DEFAULT_TEXT_LENGTH = 500
SCALE_VALUES = (1, 2, 3, 4, 5)
CHOICE_KINDS = (QuestionKind.SINGLE, QuestionKind.MULTIPLE)
KIND_LABELS = {QuestionKind.SINGLE: "单选", QuestionKind.MULTIPLE: "多选",
               QuestionKind.SCALE: "评分", QuestionKind.TEXT: "填空"}
MERGED = "*"  # the block label of merged small groups
HELD_MARK = "（待审核）"  # a held free-text answer in the named-responses export


def _now() -> datetime:
    return datetime.now(UTC)


def _not_found() -> NotFound:
    return NotFound("找不到该投票", code="poll_not_found")


def _home_area_required() -> Conflict:
    return Conflict("请先在“我的”里选择您居住的社区，再参与社区投票", code="home_area_required")


def _already_voted() -> Conflict:
    return Conflict("您已经参与过这次投票，每人只能投一次", code="already_voted")


# --- pure rules ---------------------------------------------------------------------------------


def status_of(poll: Poll, now: datetime) -> PollStatus:
    """upcoming / open / closed from the poll's times (an early close moves closes_at)."""
    if now >= poll.closes_at:
        return "closed"
    if now < poll.opens_at:
        return "upcoming"
    return "open"


def ancestor_paths(path: str) -> list[str]:
    """"/a/b/c/" → ["/a/", "/a/b/", "/a/b/c/"]: the polls that reach an area have these paths."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]


def results_visible(poll: Poll, *, is_staff: bool, has_voted: bool, now: datetime) -> bool:
    if is_staff:
        return True
    if poll.results_visibility == ResultsVisibility.STAFF_ONLY:
        return False
    closed = status_of(poll, now) == "closed"
    if poll.results_visibility == ResultsVisibility.AFTER_VOTE:
        return has_voted or closed
    return closed


def normalise_questions(questions: Sequence[QuestionIn]) -> list[dict[str, Any]]:
    """Check each question's settings against its kind; the rows to store, or 422."""
    rows = []
    for position, q in enumerate(questions, start=1):
        def bad(message: str, field_name: str, position: int = position) -> Invalid:
            return Invalid(f"第{position}题：{message}", code="invalid_question",
                           details={"position": position, "field": field_name})

        options: list[dict[str, str]] = []
        if q.kind in CHOICE_KINDS:
            if len(q.options) < 2:
                raise bad("选择题至少需要两个选项", "options")
            ids = [o.id or str(i) for i, o in enumerate(q.options, start=1)]
            if len(set(ids)) != len(ids):
                raise bad("选项编号不能重复", "options")
            options = [{"id": i, "label": o.label} for i, o in zip(ids, q.options, strict=True)]
        elif q.options:
            raise bad("只有选择题可以设置选项", "options")
        min_choices = max_choices = None
        if q.kind == QuestionKind.MULTIPLE:
            min_choices = q.min_choices if q.min_choices is not None else 1
            max_choices = q.max_choices if q.max_choices is not None else len(options)
            if max_choices > len(options):
                raise bad("最多可选项数不能超过选项数", "max_choices")
            if min_choices > max_choices:
                raise bad("最少可选项数不能大于最多可选项数", "min_choices")
        elif q.min_choices is not None or q.max_choices is not None:
            raise bad("只有多选题可以设置可选项数", "min_choices")
        max_length = None
        if q.kind == QuestionKind.TEXT:
            max_length = q.max_length or DEFAULT_TEXT_LENGTH
        elif q.max_length is not None:
            raise bad("只有填空题可以设置字数上限", "max_length")
        rows.append({"position": position, "kind": q.kind, "prompt": q.prompt,
                     "options": options, "min_choices": min_choices,
                     "max_choices": max_choices, "max_length": max_length,
                     "required": q.required})
    return rows


class QuestionRules(Protocol):
    id: int
    position: int
    kind: str
    options: Any
    min_choices: int | None
    max_choices: int | None
    max_length: int | None
    required: bool


@dataclass(frozen=True)
class AnswerRow:
    """One respondent's checked answer to one question, as stored."""

    question_id: int
    choice_mask: int | None = None  # bit i = the question's options[i]
    scale_value: int | None = None
    text: str | None = None


def check_answers(questions: Sequence[QuestionRules],
                  answers: Sequence[AnswerIn]) -> list[AnswerRow]:
    """Check a response against the questions; the rows to store, or 422 with a clear code."""
    by_id = {q.id: q for q in questions}
    given: dict[int, AnswerIn] = {}
    for answer in answers:
        if answer.question_id not in by_id:
            raise Invalid("问卷中没有这道题", code="unknown_question",
                          details={"question_id": answer.question_id})
        if answer.question_id in given:
            raise Invalid("同一道题只能回答一次", code="duplicate_answer",
                          details={"question_id": answer.question_id})
        given[answer.question_id] = answer
    rows = []
    for q in sorted(questions, key=lambda q: q.position):
        answer = given.get(q.id)
        row = _check_one(q, answer) if answer is not None else None
        if row is None:
            if q.required:
                raise Invalid(f"第{q.position}题是必答题", code="answer_required",
                              details={"question_id": q.id})
            continue
        rows.append(row)
    if not rows:
        raise Invalid("请至少回答一道题", code="empty_response")
    return rows


def _check_one(q: QuestionRules, answer: AnswerIn) -> AnswerRow | None:
    """None when the answer is empty (the caller decides whether that is allowed)."""
    details: dict[str, Any] = {"question_id": q.id}
    given = {"options": bool(answer.option_ids), "value": answer.value is not None,
             "text": bool(answer.text)}
    expected = ("options" if q.kind in CHOICE_KINDS
                else "value" if q.kind == QuestionKind.SCALE else "text")
    if any(present for name, present in given.items() if name != expected):
        raise Invalid(f"第{q.position}题的回答方式不对", code="wrong_answer_kind",
                      details={**details, "expected": expected})
    if q.kind in CHOICE_KINDS:
        chosen = answer.option_ids or []
        if not chosen:
            return None
        known = [o["id"] for o in q.options]
        unknown = [c for c in chosen if c not in known]
        if unknown:
            raise Invalid(f"第{q.position}题没有这个选项", code="unknown_option",
                          details={**details, "option_ids": unknown})
        if len(set(chosen)) != len(chosen):
            raise Invalid(f"第{q.position}题的同一选项不能重复选择", code="duplicate_option",
                          details=details)
        most = 1 if q.kind == QuestionKind.SINGLE else q.max_choices or len(known)
        if len(chosen) > most:
            raise Invalid(f"第{q.position}题最多只能选{most}项", code="too_many_choices",
                          details={**details, "max_choices": most})
        least = q.min_choices or 1
        if len(chosen) < least:
            raise Invalid(f"第{q.position}题至少要选{least}项", code="too_few_choices",
                          details={**details, "min_choices": least})
        picked = set(chosen)
        return AnswerRow(q.id, choice_mask=sum(1 << i for i, option_id in enumerate(known)
                                               if option_id in picked))
    if q.kind == QuestionKind.SCALE:
        if answer.value is None:
            return None
        if answer.value not in SCALE_VALUES:
            raise Invalid(f"第{q.position}题的评分须在1到5之间", code="scale_out_of_range",
                          details=details)
        return AnswerRow(q.id, scale_value=answer.value)
    text = (answer.text or "").strip()
    if not text:
        return None
    limit = q.max_length or DEFAULT_TEXT_LENGTH
    if len(text) > limit:
        raise Invalid(f"第{q.position}题最多填写{limit}字", code="text_too_long",
                      details={**details, "max_length": limit, "length": len(text)})
    return AnswerRow(q.id, text=text)


def group_chain(path: str, by: str) -> tuple[str, ...]:
    """The area codes from street level down to `by` for a voter's home path ("" = not that deep).

    "/d/s/c/g/" by community → ("s", "c"); a home area of "/d/s/" by community → ("s", "").
    """
    parts = [p for p in path.split("/") if p]
    depth = KIND_DEPTH[AreaKind(by)]
    start = KIND_DEPTH[AreaKind.STREET]
    return tuple(parts[i] if i < len(parts) else "" for i in range(start, depth + 1))


def _merge_choice(sizes: dict[str, int], k: int) -> set[str]:
    """Which sibling groups to merge so the merged block is empty or has at least k members."""
    merged = {g for g, n in sizes.items() if n < k}
    total = sum(sizes[g] for g in merged)
    rest = sorted((n, g) for g, n in sizes.items() if g not in merged)
    while merged and total < k and rest:
        n, g = rest.pop(0)  # the smallest shown sibling joins the merged block
        merged.add(g)
        total += n
    return merged


def fold_small_groups(sizes: dict[tuple[str, ...], int], k: int
                      ) -> dict[tuple[str, ...], tuple[str, ...]]:
    """Map each area chain to the block it is reported in, so no block is smaller than k.

    Folding runs top-down within each parent (street, then community, then grid), and once
    merged a block is never split again. So the blocks at every level nest inside the blocks of
    the coarser levels, and subtracting one report from another (total − shown communities,
    community − its shown grids) also never isolates fewer than k respondents. Merged blocks
    end in MERGED. Only a poll with fewer than k respondents in all yields a smaller block.
    """
    result: dict[tuple[str, ...], tuple[str, ...]] = {}

    def fold(chains: dict[tuple[str, ...], int], prefix: tuple[str, ...]) -> None:
        level = len(prefix)
        if not chains:
            return
        if level == len(next(iter(chains))):
            result.update({chain: prefix for chain in chains})
            return
        children: dict[str, dict[tuple[str, ...], int]] = {}
        for chain, n in chains.items():
            children.setdefault(chain[level], {})[chain] = n
        merged = _merge_choice({c: sum(sub.values()) for c, sub in children.items()}, k)
        for code, sub in children.items():
            if code in merged:
                result.update({chain: (*prefix, MERGED) for chain in sub})
            else:
                fold(sub, (*prefix, code))

    fold(sizes, ())
    return result


@dataclass
class Tally:
    """Counts for one group of respondents."""

    respondents: int = 0
    answered: Counter[int] = field(default_factory=Counter)
    options: Counter[tuple[int, int]] = field(default_factory=Counter)  # (question, option index)
    scale: Counter[tuple[int, int]] = field(default_factory=Counter)

    def add_answers(self, row: dict[str, Any]) -> None:
        qid, n = row["question_id"], int(row["n"])
        self.answered[qid] += n
        mask = row["choice_mask"] or 0
        for index in range(mask.bit_length()):
            if mask >> index & 1:
                self.options[(qid, index)] += n
        if row["scale_value"] is not None:
            self.scale[(qid, int(row["scale_value"]))] += n


def question_results(questions: Sequence[PollQuestion], tally: Tally,
                     texts: dict[int, list[str]] | None = None,
                     truncated: Iterable[int] = ()) -> list[QuestionResult]:
    cut = set(truncated)
    out = []
    for q in questions:
        answered = tally.answered[q.id]
        result = QuestionResult(question_id=q.id, position=q.position, kind=q.kind,
                                prompt=q.prompt, answered=answered)
        if q.kind in CHOICE_KINDS:
            result.options = [
                OptionCount(id=o["id"], label=o["label"], count=tally.options[(q.id, i)],
                            share=round(tally.options[(q.id, i)] / answered, 4)
                            if answered else 0.0)
                for i, o in enumerate(q.options)]
        elif q.kind == QuestionKind.SCALE:
            result.scale = [ScaleCount(value=v, count=tally.scale[(q.id, v)])
                            for v in SCALE_VALUES]
            if answered:
                total = sum(v * tally.scale[(q.id, v)] for v in SCALE_VALUES)
                result.average = round(total / answered, 2)
        elif texts is not None:
            result.texts = texts.get(q.id, [])
            result.texts_truncated = q.id in cut
        out.append(result)
    return out


# --- who sees what ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """What the caller is to one poll."""

    is_staff: bool  # community staff / admin whose scope covers the poll's area
    is_resident: bool
    is_eligible: bool  # a resident whose home area lies inside the poll's area
    has_voted: bool


def _home_path(user: User) -> str | None:
    return user.home_area.path if user.home_area_id is not None else None


async def _get_or_raise(poll_id: int) -> Poll:
    poll = await Poll.get_or_none(id=poll_id)
    if poll is None:
        raise _not_found()
    return poll


async def _has_ballot(poll_id: int, user_id: int) -> bool:
    return await PollBallot.filter(poll_id=poll_id, user_id=user_id).exists()


async def viewer_of(user: User, poll: Poll, scope: Scope | None = None) -> Viewer:
    scope = scope or scope_of(user)
    is_resident = scope.has(Role.RESIDENT)
    home = _home_path(user)
    return Viewer(
        is_staff=scope.covers(poll.area_path, *STAFF_ROLES),
        is_resident=is_resident,
        is_eligible=is_resident and home is not None and home.startswith(poll.area_path),
        has_voted=is_resident and await _has_ballot(poll.id, user.id),
    )


async def get_visible_or_raise(*, user: User, poll_id: int) -> tuple[Poll, Viewer]:
    """The poll and what the caller is to it; 404 when they may not see it at all."""
    poll = await _get_or_raise(poll_id)
    viewer = await viewer_of(user, poll)
    # A voter who has since moved away still sees the poll they answered.
    if viewer.is_staff or viewer.is_eligible or viewer.has_voted:
        return poll, viewer
    if viewer.is_resident and user.home_area_id is None:
        raise _home_area_required()
    raise _not_found()


async def _staff_poll_or_raise(user: User, poll_id: int) -> Poll:
    poll, viewer = await get_visible_or_raise(user=user, poll_id=poll_id)
    if not viewer.is_staff:
        raise Forbidden("只有负责该区域的社区工作人员可以操作", code="staff_only")
    return poll


# --- creating and closing -----------------------------------------------------------------------


async def create_poll(*, actor: User, body: PollCreate) -> Poll:
    """A poll for an area subtree inside the actor's scope, with its questions and the
    `poll.opened` outbox row (delivered once the poll opens), in one transaction."""
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
    if closes_at <= opens_at:
        raise Invalid("结束时间必须晚于开始时间", code="invalid_period")
    if closes_at <= now:
        raise Invalid("结束时间必须晚于现在", code="invalid_period")
    questions = normalise_questions(body.questions)
    async with in_transaction():
        poll = await Poll.create(
            area=area, area_path=area.path, title=body.title, description=body.description,
            opens_at=opens_at, closes_at=closes_at, is_anonymous=body.is_anonymous,
            results_visibility=body.results_visibility, created_by=actor)
        await PollQuestion.bulk_create([PollQuestion(poll_id=poll.id, **q) for q in questions])
        # One row for the whole area: the delivery side fans out to its residents.
        await Outbox.create(kind="poll.opened", recipient=None,
                            payload={"poll_id": poll.id, "area_path": poll.area_path,
                                     "title": poll.title,
                                     "closes_at": closes_at.isoformat()},
                            available_at=max(now, opens_at))
    return poll


async def close_poll(*, actor: User, poll_id: int, reason: str) -> Poll:
    """Close early, saying why: closes_at becomes now. Closing a closed poll is a 409."""
    poll = await _staff_poll_or_raise(actor, poll_id)
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
    poll = await _get_or_raise(poll_id)
    scope = scope_of(user)
    if not scope.has(Role.RESIDENT):
        raise Forbidden("只有居民可以参与投票", code="residents_only")
    home = _home_path(user)
    if home is None:
        raise _home_area_required()
    if not home.startswith(poll.area_path):
        if await _has_ballot(poll.id, user.id):
            raise _already_voted()
        if scope.covers(poll.area_path, *STAFF_ROLES):
            raise Forbidden("您不住在这次投票的范围内", code="not_eligible")
        raise _not_found()
    now = _now()
    status = status_of(poll, now)
    if status == "upcoming":
        raise Conflict("投票尚未开始", code="poll_not_open",
                       details={"opens_at": poll.opens_at.isoformat()})
    if status == "closed":
        raise Conflict("投票已结束", code="poll_closed")
    if await _has_ballot(poll.id, user.id):
        raise _already_voted()
    questions = await PollQuestion.filter(poll_id=poll.id).order_by("position")
    rows = check_answers(questions, body.answers)
    held = await _held_texts(rows, user)
    try:
        async with in_transaction():
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


async def release_text(*, user: User, poll_id: int, answer_id: str) -> HeldText:
    """A reviewer clears a held free-text answer: it joins the results and the exports."""
    poll = await _staff_poll_or_raise(user, poll_id)
    try:
        key = uuid.UUID(answer_id)
    except ValueError:
        raise NotFound("找不到该回答", code="answer_not_found") from None
    answer = await PollAnswer.get_or_none(id=key, poll_id=poll.id, text__not_isnull=True)
    if answer is None:
        raise NotFound("找不到该回答", code="answer_not_found")
    await PollAnswer.filter(id=key).update(text_held=False)
    return HeldText(id=str(key), text=answer.text or "", is_held=False)


# --- reading ------------------------------------------------------------------------------------


def _question_out(q: PollQuestion) -> QuestionOut:
    return QuestionOut(id=q.id, position=q.position, kind=q.kind, prompt=q.prompt,
                       options=[OptionOut(**o) for o in q.options], min_choices=q.min_choices,
                       max_choices=q.max_choices, max_length=q.max_length, required=q.required)


async def _counts(model: Any, poll_ids: list[int]) -> dict[int, int]:
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
        id=p.id, title=p.title, area=area_ref(areas_by_id[p.area_id]),  # type: ignore[arg-type]
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
        questions=[_question_out(q) for q in questions],
        can_vote=viewer.is_eligible and not viewer.has_voted and out.status == "open",
        results_visible=results_visible(poll, is_staff=viewer.is_staff,
                                        has_voted=viewer.has_voted, now=now))


def _with_status(qs: QuerySet[Poll], status: str, now: datetime) -> QuerySet[Poll]:
    if status == "open":
        return qs.filter(opens_at__lte=now, closes_at__gt=now)
    if status == "closed":
        return qs.filter(closes_at__lte=now)
    if status == "upcoming":
        return qs.filter(opens_at__gt=now, closes_at__gt=now)
    return qs


def _cursor(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or int(value) > MAX_ID:  # beyond 32 bits no id exists
        raise Invalid("分页参数有误", code="invalid_cursor")
    return int(value)


async def _resident_area(user: User, query: PollQuery) -> AreaRef:
    """The area whose polls a resident lists: where the point is, else their home area."""
    if query.lng is not None and query.lat is not None and query.crs is not None:
        located = await areas.locate(lng=query.lng, lat=query.lat, crs=query.crs)
        if located.cell is None:
            raise Invalid("该位置不在本平台服务范围内", code="outside_service_area")
        return located.cell
    home = area_ref(user.home_area) if user.home_area_id is not None else None
    if home is None:
        raise _home_area_required()
    return home


async def list_polls(*, user: User, query: PollQuery) -> PollPage:
    """Staff: polls in their scope (default all statuses). Residents: the polls reaching their
    home area (or the cell at lng/lat), default open ones."""
    scope = scope_of(user)
    now = _now()
    area: AreaRef | None = None
    if query.lng is None and scope.has(*STAFF_ROLES):
        # Path ranges, not LIKE: an index serves them on MySQL too (see app.core.paths).
        qs = Poll.filter(under_any("area_path", scope.paths(*STAFF_ROLES)))
        if query.area:
            path = await Area.filter(code=query.area).first().values_list("path", flat=True)
            if path is None or not scope.covers(path, *STAFF_ROLES):
                raise NotFound("找不到该区域", code="area_not_found")
            qs = qs.filter(under("area_path", path))
        qs = _with_status(qs, query.status or "all", now)
    else:
        area = await _resident_area(user, query)
        qs = _with_status(Poll.filter(area_path__in=ancestor_paths(area.path)),
                          query.status or "open", now)
    after = _cursor(query.cursor)
    if after is not None:
        qs = qs.filter(id__lt=after)
    rows = await qs.order_by("-id").limit(query.limit + 1)
    items = await poll_outs(rows[: query.limit], user=user, scope=scope, now=now)
    return PollPage(items=items, area=area,
                    next=str(rows[query.limit - 1].id) if len(rows) > query.limit else None)


# --- results ------------------------------------------------------------------------------------


@dataclass
class Block:
    """One row of a per-area breakdown: a sub-area, or merged small sub-areas."""

    label: tuple[str, ...]
    tally: Tally = field(default_factory=Tally)


async def _read_counts(poll: Poll) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(respondents per home path, answers per question / choice / home path), one snapshot."""
    # One transaction, so live results never show more answers than respondents.
    async with in_transaction():
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
                  .order_by("id").limit(TEXT_SAMPLE).values("id", "question_id", "text"))
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
        values = await (qs.limit(limit + 1) if limit else qs).values_list("text", flat=True)
        if limit and len(values) > limit:
            truncated.add(q.id)
            values = values[:limit]
        texts[q.id] = [v for v in values if v]
    return texts, truncated


def _blocks(poll: Poll, by: str, ballots: list[dict[str, Any]],
            answers: list[dict[str, Any]]) -> dict[tuple[str, ...], Block]:
    chain_of: dict[str, tuple[str, ...]] = {}  # a handful of distinct home paths

    def chain(path: str) -> tuple[str, ...]:
        if path not in chain_of:
            chain_of[path] = group_chain(path, by)
        return chain_of[path]

    chains: Counter[tuple[str, ...]] = Counter()
    for row in ballots:
        chains[chain(row["area_path"])] += int(row["n"])
    if poll.is_anonymous:
        label_of = fold_small_groups(dict(chains), MIN_GROUP_SIZE)
    else:
        label_of = {key: key for key in chains}
    blocks: dict[tuple[str, ...], Block] = {}
    for key, n in chains.items():
        label = label_of[key]
        blocks.setdefault(label, Block(label)).tally.respondents += n
    for row in answers:
        key = chain(row["area_path"])
        # An answer without a ballot in the same snapshot cannot happen (one transaction);
        # fall back to its own chain rather than fail.
        label = label_of.get(key, key)
        blocks.setdefault(label, Block(label)).tally.add_answers(row)
    return blocks


async def _block_names(blocks: Iterable[tuple[str, ...]], by: str
                       ) -> dict[tuple[str, ...], tuple[str, str]]:
    """(area code, display name) per block label."""
    codes = {c for label in blocks for c in label if c and c != MERGED}
    names = dict(await Area.filter(code__in=codes).values_list("code", "name")) if codes else {}
    level = {"street": "街道", "community": "社区", "grid": "网格"}[by]
    out = {}
    for label in blocks:
        last = label[-1] if label else ""
        parent = next((names.get(c, c) for c in reversed(label[:-1]) if c), "")
        if last == MERGED:
            out[label] = ("", f"{parent + '：' if parent else ''}人数较少的区域（合并显示）")
        elif last == "":
            out[label] = ("", f"{parent + '：' if parent else ''}居住地未细分到{level}")
        else:
            out[label] = (last, names.get(last, last))
    return out


async def results(*, user: User, poll_id: int, by: str | None) -> PollResults:
    """Counts per question; staff also get free text and, with `by`, the per-area breakdown."""
    poll, viewer = await get_visible_or_raise(user=user, poll_id=poll_id)
    now = _now()
    if not viewer.is_staff:
        if by is not None:
            raise Forbidden("只有工作人员可以查看分区域结果", code="breakdown_staff_only")
        if not results_visible(poll, is_staff=False, has_voted=viewer.has_voted, now=now):
            message = {ResultsVisibility.STAFF_ONLY: "本次投票结果仅工作人员可见",
                       ResultsVisibility.AFTER_CLOSE: "投票结束后才能查看结果",
                       ResultsVisibility.AFTER_VOTE: "参与投票后才能查看结果"}
            raise Forbidden(message[poll.results_visibility], code="results_hidden")
    questions = await PollQuestion.filter(poll_id=poll.id).order_by("position")
    return await _results(poll, questions, is_staff=viewer.is_staff, by=by, now=now)


async def _results(poll: Poll, questions: Sequence[PollQuestion], *, is_staff: bool,
                   by: str | None, now: datetime) -> PollResults:
    """The results of a poll the caller may see (the checks are the caller's)."""
    ballots, answers = await _read_counts(poll)
    total = Tally(respondents=sum(int(r["n"]) for r in ballots))
    for row in answers:
        total.add_answers(row)
    texts, truncated = (await _texts(poll, questions, TEXT_SAMPLE) if is_staff
                        else (None, set()))
    out = PollResults(poll_id=poll.id, title=poll.title, status=status_of(poll, now),
                      is_anonymous=poll.is_anonymous, respondent_count=total.respondents,
                      questions=question_results(questions, total, texts, truncated))
    if is_staff:
        held = await _held(poll, questions)
        for result in out.questions:
            if result.kind == QuestionKind.TEXT:
                result.held_texts = held.get(result.question_id, [])
    if by is not None:
        blocks = _blocks(poll, by, ballots, answers)
        names = await _block_names(blocks, by)
        out.by = by  # type: ignore[assignment]
        out.min_group_size = MIN_GROUP_SIZE if poll.is_anonymous else None
        out.breakdown = [
            AreaResult(area_code=names[label][0], area_name=names[label][1],
                       respondent_count=block.tally.respondents,
                       is_merged=bool(label) and label[-1] == MERGED,
                       questions=question_results(questions, block.tally))
            for label, block in sorted(blocks.items())]
    return out


# --- CSV export ---------------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas in user-written text (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv(header: list[str], rows: Iterable[list[Any]]) -> str:
    out = io.StringIO()
    out.write("\ufeff")  # a BOM so Excel opens UTF-8 correctly
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def _summary_rows(code: str, name: str, result: Sequence[QuestionResult],
                  respondents: int) -> Iterable[list[Any]]:
    for q in result:
        head = [code, name, respondents, q.position, q.prompt, KIND_LABELS[q.kind]]
        if q.kind in CHOICE_KINDS:
            for o in q.options:
                yield [*head, q.answered, o.id, o.label, o.count, f"{o.share:.1%}"]
        elif q.kind == QuestionKind.SCALE:
            for s in q.scale:
                share = s.count / q.answered if q.answered else 0.0
                yield [*head, q.answered, s.value, f"{s.value}分", s.count, f"{share:.1%}"]
        else:
            yield [*head, q.answered, "", "（填空题）", q.answered, ""]


async def results_csv(*, user: User, poll_id: int, by: str | None, view: str) -> str:
    """Staff only. summary: the counts (per area with `by`); texts: every free-text answer;
    responses: one row per respondent, for named polls only."""
    poll = await _staff_poll_or_raise(user, poll_id)
    questions = await PollQuestion.filter(poll_id=poll.id).order_by("position")
    if view == "texts":
        texts, _ = await _texts(poll, questions, None)
        return _csv(["题号", "题目", "回答"], (
            [q.position, q.prompt, text] for q in questions for text in texts.get(q.id, [])))
    if view == "responses":
        return await _responses_csv(poll, questions)
    result = await _results(poll, questions, is_staff=True, by=by, now=_now())
    header = ["区域编码", "区域名称", "答卷人数", "题号", "题目", "题型", "答题人数",
              "选项编号", "选项", "人数", "占比"]
    rows = list(_summary_rows("", "全部", result.questions, result.respondent_count))
    for area in result.breakdown or []:
        rows += _summary_rows(area.area_code, area.area_name, area.questions,
                              area.respondent_count)
    return _csv(header, rows)


async def _responses_csv(poll: Poll, questions: Sequence[PollQuestion]) -> str:
    if poll.is_anonymous:
        raise Conflict("匿名投票不提供逐人答卷", code="poll_is_anonymous")
    ballots = await PollBallot.filter(poll_id=poll.id).order_by("id").select_related("user")
    answers = await PollAnswer.filter(poll_id=poll.id).values(
        "ballot_id", "question_id", "choice_mask", "scale_value", "text", "text_held")
    labels = {q.id: [o["label"] for o in q.options] for q in questions}
    by_ballot: dict[int, dict[int, str]] = {}
    for a in answers:
        if a["choice_mask"]:
            value = "；".join(label for i, label in enumerate(labels[a["question_id"]])
                             if a["choice_mask"] >> i & 1)
        elif a["scale_value"] is not None:
            value = str(a["scale_value"])
        elif a["text_held"]:
            value = HELD_MARK  # exports travel further than the reviewers: not until released
        else:
            value = a["text"] or ""
        by_ballot.setdefault(a["ballot_id"], {})[a["question_id"]] = value
    header = ["答卷编号", "用户编号", "昵称", "居住区域", "提交时间",
              *[f"{q.position}. {q.prompt}" for q in questions]]
    return _csv(header, (
        [b.id, b.user_id or "", b.user.display_name if b.user else "", b.area_path,
         b.created_at.isoformat(), *[by_ballot.get(b.id, {}).get(q.id, "") for q in questions]]
        for b in ballots))
