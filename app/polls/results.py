"""Poll results from counted rows: tallies, the per-area breakdown, and the CSV exports.

Pure: `queries.py` reads the grouped counts, the free texts and the area names, and hands
them here; nothing in this module touches the database.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from app.polls.rules import (
    CHOICE_KINDS,
    MERGED,
    SCALE_VALUES,
    QuestionKind,
    fold_small_groups,
    group_chain,
)
from app.polls.schemas import (
    AreaResult,
    OptionCount,
    PollResults,
    QuestionResult,
    ScaleCount,
)

# In anonymous polls no per-area row stands for fewer respondents than this.
MIN_GROUP_SIZE = 5
TEXT_SAMPLE = 100  # free-text answers in the JSON results; the CSV export has all of them
HELD_MARK = "（待审核）"  # a held free-text answer in the named-responses export
KIND_LABELS = {QuestionKind.SINGLE: "单选", QuestionKind.MULTIPLE: "多选",
               QuestionKind.SCALE: "评分", QuestionKind.TEXT: "填空"}
LEVEL_NAMES = {"street": "街道", "community": "社区", "grid": "网格"}

Label = tuple[str, ...]  # a block of respondents: area codes from street level down


class QuestionShown(Protocol):
    """A stored question (`models.PollQuestion`), as results show it."""

    @property
    def id(self) -> int: ...
    @property
    def position(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def prompt(self) -> str: ...
    @property
    def options(self) -> Any: ...  # [{"id": ..., "label": ...}, ...]


@dataclass
class Tally:
    """Counts for one group of respondents."""

    respondents: int = 0
    answered: Counter[int] = field(default_factory=Counter)
    options: Counter[tuple[int, int]] = field(default_factory=Counter)  # (question, option index)
    scale: Counter[tuple[int, int]] = field(default_factory=Counter)

    def add_answers(self, row: Mapping[str, Any]) -> None:
        """Add one grouped answer row: question_id, choice_mask, scale_value and its count n."""
        qid, n = row["question_id"], int(row["n"])
        self.answered[qid] += n
        mask = row["choice_mask"] or 0
        for index in range(mask.bit_length()):
            if mask >> index & 1:
                self.options[(qid, index)] += n
        if row["scale_value"] is not None:
            self.scale[(qid, int(row["scale_value"]))] += n


def total_of(ballots: Iterable[Mapping[str, Any]], answers: Iterable[Mapping[str, Any]]) -> Tally:
    """The whole poll's tally from respondents per home path and grouped answer rows."""
    total = Tally(respondents=sum(int(r["n"]) for r in ballots))
    for row in answers:
        total.add_answers(row)
    return total


def question_results(questions: Sequence[QuestionShown], tally: Tally,
                     texts: dict[int, list[str]] | None = None,
                     truncated: Iterable[int] = ()) -> list[QuestionResult]:
    cut = set(truncated)
    out = []
    for q in questions:
        answered = tally.answered[q.id]
        result = QuestionResult(question_id=q.id, position=q.position, kind=QuestionKind(q.kind),
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


# --- per sub-area -------------------------------------------------------------------------------


@dataclass
class Block:
    """One row of a per-area breakdown: a sub-area, or merged small sub-areas."""

    label: Label
    tally: Tally = field(default_factory=Tally)


def blocks(*, is_anonymous: bool, by: str, ballots: Iterable[Mapping[str, Any]],
           answers: Iterable[Mapping[str, Any]]) -> dict[Label, Block]:
    """Respondents and answers per block at level `by`; anonymous polls fold small groups."""
    chain_of: dict[str, Label] = {}  # a handful of distinct home paths

    def chain(path: str) -> Label:
        if path not in chain_of:
            chain_of[path] = group_chain(path, by)
        return chain_of[path]

    chains: Counter[Label] = Counter()
    for row in ballots:
        chains[chain(row["area_path"])] += int(row["n"])
    if is_anonymous:
        label_of = fold_small_groups(dict(chains), MIN_GROUP_SIZE)
    else:
        label_of = {key: key for key in chains}
    out: dict[Label, Block] = {}
    for key, n in chains.items():
        label = label_of[key]
        out.setdefault(label, Block(label)).tally.respondents += n
    for row in answers:
        key = chain(row["area_path"])
        # An answer without a ballot in the same snapshot cannot happen (one transaction);
        # fall back to its own chain rather than fail.
        label = label_of.get(key, key)
        out.setdefault(label, Block(label)).tally.add_answers(row)
    return out


def area_codes(labels: Iterable[Label]) -> set[str]:
    """The area codes whose names the block labels need."""
    return {c for label in labels for c in label if c and c != MERGED}


def block_names(labels: Iterable[Label], by: str, names: Mapping[str, str]
                ) -> dict[Label, tuple[str, str]]:
    """(area code, display name) per block label, given the names of its area codes."""
    level = LEVEL_NAMES[by]
    out = {}
    for label in labels:
        last = label[-1] if label else ""
        parent = next((names.get(c, c) for c in reversed(label[:-1]) if c), "")
        if last == MERGED:
            out[label] = ("", f"{parent + '：' if parent else ''}人数较少的区域（合并显示）")
        elif last == "":
            out[label] = ("", f"{parent + '：' if parent else ''}居住地未细分到{level}")
        else:
            out[label] = (last, names.get(last, last))
    return out


def breakdown(questions: Sequence[QuestionShown], by_block: Mapping[Label, Block],
              names: Mapping[Label, tuple[str, str]]) -> list[AreaResult]:
    return [AreaResult(area_code=names[label][0], area_name=names[label][1],
                       respondent_count=block.tally.respondents,
                       is_merged=bool(label) and label[-1] == MERGED,
                       questions=question_results(questions, block.tally))
            for label, block in sorted(by_block.items())]


# --- CSV ----------------------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas in user-written text (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(header: list[str], rows: Iterable[list[Any]]) -> str:
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


def summary_csv(result: PollResults) -> str:
    """The counts, for the whole poll then per area of the breakdown (if any)."""
    header = ["区域编码", "区域名称", "答卷人数", "题号", "题目", "题型", "答题人数",
              "选项编号", "选项", "人数", "占比"]
    rows = list(_summary_rows("", "全部", result.questions, result.respondent_count))
    for area in result.breakdown or []:
        rows += _summary_rows(area.area_code, area.area_name, area.questions,
                              area.respondent_count)
    return to_csv(header, rows)


def texts_csv(questions: Sequence[QuestionShown], texts: Mapping[int, list[str]]) -> str:
    return to_csv(["题号", "题目", "回答"], (
        [q.position, q.prompt, text] for q in questions for text in texts.get(q.id, [])))


@dataclass(frozen=True)
class Respondent:
    """One ballot of a named poll, as the responses export shows it."""

    ballot_id: int
    user_id: int | None  # None once the account was erased
    display_name: str
    area_path: str
    submitted_at: datetime


def answer_text(row: Mapping[str, Any], labels: Sequence[str]) -> str:
    """One stored answer as a cell: chosen labels, the scale value, or the text."""
    if row["choice_mask"]:
        return "；".join(label for i, label in enumerate(labels) if row["choice_mask"] >> i & 1)
    if row["scale_value"] is not None:
        return str(row["scale_value"])
    if row["text_held"]:
        return HELD_MARK  # exports travel further than the reviewers: not until released
    return row["text"] or ""


def responses_csv(questions: Sequence[QuestionShown], respondents: Iterable[Respondent],
                  answers: Iterable[Mapping[str, Any]]) -> str:
    """One row per respondent; `answers` carry ballot_id, question_id and the stored values."""
    labels = {q.id: [o["label"] for o in q.options] for q in questions}
    by_ballot: dict[int, dict[int, str]] = {}
    for a in answers:
        by_ballot.setdefault(a["ballot_id"], {})[a["question_id"]] = answer_text(
            a, labels[a["question_id"]])
    header = ["答卷编号", "用户编号", "昵称", "居住区域", "提交时间",
              *[f"{q.position}. {q.prompt}" for q in questions]]
    return to_csv(header, (
        [r.ballot_id, r.user_id or "", r.display_name, r.area_path, r.submitted_at.isoformat(),
         *[by_ballot.get(r.ballot_id, {}).get(q.id, "") for q in questions]]
        for r in respondents))
