"""The poll rules that need no database and no web: what a poll is, who it reaches, when it is
open, which questions and answers are well-formed, and how small groups fold together.

Callers pass plain values (or any object with the named attributes: a model row, a request
body, a test's SimpleNamespace); nothing here reads or writes storage. A refusal is an
`Invalid` / `Conflict` with a stable code, raised before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, Protocol

from app.core.errors import Conflict, Invalid

PollStatus = Literal["draft", "upcoming", "open", "closed"]


class ResultsVisibility(StrEnum):
    AFTER_VOTE = "after_vote"  # a voter sees results once they have voted (everyone once closed)
    AFTER_CLOSE = "after_close"  # eligible residents see results once the poll has closed
    STAFF_ONLY = "staff_only"


class QuestionKind(StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    SCALE = "scale"  # 1–5
    TEXT = "text"


DEFAULT_TEXT_LENGTH = 500
SCALE_VALUES = (1, 2, 3, 4, 5)
CHOICE_KINDS = (QuestionKind.SINGLE, QuestionKind.MULTIPLE)
# The levels a per-area breakdown can go by, coarsest first. Area paths are district-rooted
# ("/district/street/community/grid/", areas.models.KIND_DEPTH), so a street code is the path's
# second part; tests/polls/test_rules.py checks the two stay in step.
BREAKDOWN_LEVELS = ("street", "community", "grid")
_FIRST_LEVEL_DEPTH = 1  # KIND_DEPTH[street]
MERGED = "*"  # the block label of merged small groups

RESULTS_HIDDEN = {  # why a resident may not see the results yet
    ResultsVisibility.STAFF_ONLY: "本次投票结果仅工作人员可见",
    ResultsVisibility.AFTER_CLOSE: "投票结束后才能查看结果",
    ResultsVisibility.AFTER_VOTE: "参与投票后才能查看结果",
}


# The shapes below are protocols of read-only properties, so that a model row (whose enum
# columns are `str` subclasses), a request body or a test's SimpleNamespace all fit them.
class PollTimes(Protocol):
    @property
    def opens_at(self) -> datetime: ...
    @property
    def closes_at(self) -> datetime: ...
    @property
    def results_visibility(self) -> str: ...
    @property
    def is_draft(self) -> bool: ...


# --- timing and eligibility ---------------------------------------------------------------------


def status_of(poll: PollTimes, now: datetime) -> PollStatus:
    """draft until published; then upcoming / open / closed from the poll's times (an early
    close moves closes_at)."""
    if poll.is_draft:
        return "draft"
    if now >= poll.closes_at:
        return "closed"
    if now < poll.opens_at:
        return "upcoming"
    return "open"


def check_open(poll: PollTimes, now: datetime) -> None:
    """A response is taken only while the poll is open; 409 with the reason otherwise."""
    status = status_of(poll, now)
    if status == "draft":
        raise Conflict("投票尚未发布", code="poll_draft")
    if status == "upcoming":
        raise Conflict("投票尚未开始", code="poll_not_open",
                       details={"opens_at": poll.opens_at.isoformat()})
    if status == "closed":
        raise Conflict("投票已结束", code="poll_closed")


def check_period(*, opens_at: datetime, closes_at: datetime, now: datetime) -> None:
    """A new poll closes after it opens and after now (422 invalid_period)."""
    if closes_at <= opens_at:
        raise Invalid("结束时间必须晚于开始时间", code="invalid_period")
    if closes_at <= now:
        raise Invalid("结束时间必须晚于现在", code="invalid_period")


def lives_in(home_path: str | None, poll_path: str) -> bool:
    """Whether a resident with this home area is asked by a poll of that area subtree."""
    return home_path is not None and home_path.startswith(poll_path)


def ancestor_paths(path: str) -> list[str]:
    """"/a/b/c/" → ["/a/", "/a/b/", "/a/b/c/"]: the polls that reach an area have these paths."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]


def results_visible(poll: PollTimes, *, is_staff: bool, has_voted: bool, now: datetime) -> bool:
    if is_staff:
        return True
    if poll.results_visibility == ResultsVisibility.STAFF_ONLY:
        return False
    closed = status_of(poll, now) == "closed"
    if poll.results_visibility == ResultsVisibility.AFTER_VOTE:
        return has_voted or closed
    return closed


# --- questions ----------------------------------------------------------------------------------


class OptionShape(Protocol):
    @property
    def id(self) -> str | None: ...
    @property
    def label(self) -> str: ...


class QuestionShape(Protocol):
    """A question as staff wrote it (`schemas.QuestionIn`)."""

    @property
    def kind(self) -> str: ...
    @property
    def prompt(self) -> str: ...
    @property
    def options(self) -> Sequence[OptionShape]: ...
    @property
    def min_choices(self) -> int | None: ...
    @property
    def max_choices(self) -> int | None: ...
    @property
    def max_length(self) -> int | None: ...
    @property
    def required(self) -> bool: ...


Bad = Callable[[str, str], Invalid]  # (message, field) → the refusal of one question


def normalise_questions(questions: Sequence[QuestionShape]) -> list[dict[str, Any]]:
    """Check each question's settings against its kind; the rows to store, or 422."""
    return [_normalise(position, q) for position, q in enumerate(questions, start=1)]


def _normalise(position: int, q: QuestionShape) -> dict[str, Any]:
    def bad(message: str, field_name: str) -> Invalid:
        return Invalid(f"第{position}题：{message}", code="invalid_question",
                       details={"position": position, "field": field_name})

    options = _options(q, bad)
    min_choices, max_choices = _choice_limits(q, len(options), bad)
    return {"position": position, "kind": q.kind, "prompt": q.prompt, "options": options,
            "min_choices": min_choices, "max_choices": max_choices,
            "max_length": _text_limit(q, bad), "required": q.required}


def _options(q: QuestionShape, bad: Bad) -> list[dict[str, str]]:
    if q.kind not in CHOICE_KINDS:
        if q.options:
            raise bad("只有选择题可以设置选项", "options")
        return []
    if len(q.options) < 2:
        raise bad("选择题至少需要两个选项", "options")
    ids = [o.id or str(i) for i, o in enumerate(q.options, start=1)]
    if len(set(ids)) != len(ids):
        raise bad("选项编号不能重复", "options")
    return [{"id": i, "label": o.label} for i, o in zip(ids, q.options, strict=True)]


def _choice_limits(q: QuestionShape, option_count: int, bad: Bad
                   ) -> tuple[int | None, int | None]:
    if q.kind != QuestionKind.MULTIPLE:
        if q.min_choices is not None or q.max_choices is not None:
            raise bad("只有多选题可以设置可选项数", "min_choices")
        return None, None
    least = q.min_choices if q.min_choices is not None else 1
    most = q.max_choices if q.max_choices is not None else option_count
    if most > option_count:
        raise bad("最多可选项数不能超过选项数", "max_choices")
    if least > most:
        raise bad("最少可选项数不能大于最多可选项数", "min_choices")
    return least, most


def _text_limit(q: QuestionShape, bad: Bad) -> int | None:
    if q.kind == QuestionKind.TEXT:
        return q.max_length or DEFAULT_TEXT_LENGTH
    if q.max_length is not None:
        raise bad("只有填空题可以设置字数上限", "max_length")
    return None


# --- answers ------------------------------------------------------------------------------------


class QuestionRules(Protocol):
    """A stored question (`models.PollQuestion`), as the answer checks read it."""

    @property
    def id(self) -> int: ...
    @property
    def position(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def options(self) -> Any: ...  # [{"id": ..., "label": ...}, ...]
    @property
    def min_choices(self) -> int | None: ...
    @property
    def max_choices(self) -> int | None: ...
    @property
    def max_length(self) -> int | None: ...
    @property
    def required(self) -> bool: ...


class AnswerShape(Protocol):
    """One answer as a respondent sent it (`schemas.AnswerIn`)."""

    @property
    def question_id(self) -> int: ...
    @property
    def option_ids(self) -> list[str] | None: ...
    @property
    def value(self) -> int | None: ...
    @property
    def text(self) -> str | None: ...


@dataclass(frozen=True)
class AnswerRow:
    """One respondent's checked answer to one question, as stored."""

    question_id: int
    choice_mask: int | None = None  # bit i = the question's options[i]
    scale_value: int | None = None
    text: str | None = None


def check_answers(questions: Sequence[QuestionRules],
                  answers: Sequence[AnswerShape]) -> list[AnswerRow]:
    """Check a response against the questions; the rows to store, or 422 with a clear code."""
    by_id = {q.id: q for q in questions}
    given: dict[int, AnswerShape] = {}
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
        sent = given.get(q.id)
        row = _check_one(q, sent) if sent is not None else None
        if row is None:
            if q.required:
                raise Invalid(f"第{q.position}题是必答题", code="answer_required",
                              details={"question_id": q.id})
            continue
        rows.append(row)
    if not rows:
        raise Invalid("请至少回答一道题", code="empty_response")
    return rows


def _refuse(q: QuestionRules, message: str, code: str, **details: Any) -> Invalid:
    """`message` follows "第N题"; details always name the question first."""
    return Invalid(f"第{q.position}题{message}", code=code,
                   details={"question_id": q.id, **details})


def _check_choices(q: QuestionRules, answer: AnswerShape) -> AnswerRow | None:
    chosen = answer.option_ids or []
    if not chosen:
        return None
    known = [o["id"] for o in q.options]
    unknown = [c for c in chosen if c not in known]
    if unknown:
        raise _refuse(q, "没有这个选项", "unknown_option", option_ids=unknown)
    if len(set(chosen)) != len(chosen):
        raise _refuse(q, "的同一选项不能重复选择", "duplicate_option")
    most = 1 if q.kind == QuestionKind.SINGLE else q.max_choices or len(known)
    if len(chosen) > most:
        raise _refuse(q, f"最多只能选{most}项", "too_many_choices", max_choices=most)
    least = q.min_choices or 1
    if len(chosen) < least:
        raise _refuse(q, f"至少要选{least}项", "too_few_choices", min_choices=least)
    picked = set(chosen)
    return AnswerRow(q.id, choice_mask=sum(1 << i for i, option_id in enumerate(known)
                                           if option_id in picked))


def _check_scale(q: QuestionRules, answer: AnswerShape) -> AnswerRow | None:
    if answer.value is None:
        return None
    if answer.value not in SCALE_VALUES:
        raise _refuse(q, "的评分须在1到5之间", "scale_out_of_range")
    return AnswerRow(q.id, scale_value=answer.value)


def _check_text(q: QuestionRules, answer: AnswerShape) -> AnswerRow | None:
    text = (answer.text or "").strip()
    if not text:
        return None
    limit = q.max_length or DEFAULT_TEXT_LENGTH
    if len(text) > limit:
        raise _refuse(q, f"最多填写{limit}字", "text_too_long", max_length=limit,
                      length=len(text))
    return AnswerRow(q.id, text=text)


@dataclass(frozen=True)
class _AnswerKind:
    """How one question kind is answered: which part of an answer it reads, and its check
    (which returns None for an empty answer: `check_answers` decides if that is allowed)."""

    field: Literal["options", "value", "text"]
    check: Callable[[QuestionRules, AnswerShape], AnswerRow | None]


_ANSWER_KINDS: dict[str, _AnswerKind] = {
    QuestionKind.SINGLE: _AnswerKind("options", _check_choices),
    QuestionKind.MULTIPLE: _AnswerKind("options", _check_choices),
    QuestionKind.SCALE: _AnswerKind("value", _check_scale),
    QuestionKind.TEXT: _AnswerKind("text", _check_text),
}


def _check_one(q: QuestionRules, answer: AnswerShape) -> AnswerRow | None:
    kind = _ANSWER_KINDS[q.kind]
    given = {"options": bool(answer.option_ids), "value": answer.value is not None,
             "text": bool(answer.text)}
    if any(present for name, present in given.items() if name != kind.field):
        raise _refuse(q, "的回答方式不对", "wrong_answer_kind", expected=kind.field)
    return kind.check(q, answer)


# --- groups of respondents ----------------------------------------------------------------------


def group_chain(path: str, by: str) -> tuple[str, ...]:
    """The area codes from street level down to `by` for a voter's home path ("" = not that deep).

    "/d/s/c/g/" by community → ("s", "c"); a home area of "/d/s/" by community → ("s", "").
    """
    parts = [p for p in path.split("/") if p]
    depth = _FIRST_LEVEL_DEPTH + BREAKDOWN_LEVELS.index(by)
    return tuple(parts[i] if i < len(parts) else "" for i in range(_FIRST_LEVEL_DEPTH, depth + 1))


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
