"""The poll rules that need no database: answer checks, area chains, small-group folding."""

import ast
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from app.areas.models import KIND_DEPTH, AreaKind
from app.core.errors import Invalid
from app.polls import rules
from app.polls.models import ResultsVisibility
from app.polls.rules import (
    BREAKDOWN_LEVELS,
    MERGED,
    ancestor_paths,
    check_answers,
    fold_small_groups,
    group_chain,
    results_visible,
    status_of,
)
from app.polls.schemas import AnswerIn

NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def question(id, kind, position=None, **extra):
    values = {"options": [], "min_choices": None, "max_choices": None, "max_length": None,
              "required": True}
    values.update(extra)
    return SimpleNamespace(id=id, kind=kind, position=position or id, **values)


QUESTIONS = [
    question(1, "single", options=[{"id": "a", "label": "A"}, {"id": "b", "label": "B"}]),
    question(2, "multiple", min_choices=2, max_choices=3,
             options=[{"id": x, "label": x.upper()} for x in "wxyz"]),
    question(3, "scale"),
    question(4, "text", max_length=5, required=False),
]


def answer(question_id, **fields):
    return AnswerIn(question_id=question_id, **fields)


def test_a_full_response_becomes_one_row_per_question():
    rows = check_answers(QUESTIONS, [answer(2, option_ids=["z", "w"]), answer(1, option_ids=["b"]),
                                     answer(3, value=5), answer(4, text="  好  ")])
    # Options as bits of the question's option list: b = bit 1; w and z = bits 0 and 3.
    assert [(r.question_id, r.choice_mask, r.scale_value, r.text) for r in rows] == [
        (1, 0b10, None, None), (2, 0b1001, None, None), (3, None, 5, None),
        (4, None, None, "好")]


@pytest.mark.parametrize(("answers", "code"), [
    ([answer(2, option_ids=["w"])], "too_few_choices"),
    ([answer(2, option_ids=["w", "x", "y", "z"])], "too_many_choices"),
    ([answer(3, value=-1)], "scale_out_of_range"),
    ([answer(4, text="六个字太长了")], "text_too_long"),
    ([answer(4, value=3)], "wrong_answer_kind"),
    ([answer(1, option_ids=["A"])], "unknown_option"),  # ids are case-sensitive
])
def test_each_rule_has_its_own_code(answers, code):
    base = {1: answer(1, option_ids=["a"]), 2: answer(2, option_ids=["w", "x"]),
            3: answer(3, value=3)}
    for a in answers:
        base[a.question_id] = a
    with pytest.raises(Invalid) as caught:
        check_answers(QUESTIONS, list(base.values()))
    assert caught.value.code == code
    assert caught.value.status_code == 422


def test_text_length_counts_characters_not_bytes():
    rows = check_answers([question(1, "text", max_length=5)], [answer(1, text="五个汉字好")])
    assert rows[0].text == "五个汉字好"


def test_poll_status_follows_the_clock():
    poll = SimpleNamespace(opens_at=NOW, closes_at=NOW + timedelta(days=1),
                           results_visibility=ResultsVisibility.AFTER_VOTE, is_draft=True)
    assert status_of(poll, NOW) == "draft"  # whatever the clock, until published
    poll.is_draft = False
    assert status_of(poll, NOW - timedelta(seconds=1)) == "upcoming"
    assert status_of(poll, NOW) == "open"
    assert status_of(poll, NOW + timedelta(days=1)) == "closed"
    assert not results_visible(poll, is_staff=False, has_voted=False, now=NOW)
    assert results_visible(poll, is_staff=False, has_voted=True, now=NOW)
    assert results_visible(poll, is_staff=False, has_voted=False, now=NOW + timedelta(days=2))
    poll.results_visibility = ResultsVisibility.STAFF_ONLY
    assert not results_visible(poll, is_staff=False, has_voted=True, now=NOW + timedelta(days=2))
    assert results_visible(poll, is_staff=True, has_voted=False, now=NOW)


def test_paths_and_chains():
    assert ancestor_paths("/d/s/c/") == ["/d/", "/d/s/", "/d/s/c/"]
    assert group_chain("/d/s/c/g/", "community") == ("s", "c")
    assert group_chain("/d/s/c/g/", "grid") == ("s", "c", "g")
    assert group_chain("/d/s/", "grid") == ("s", "", "")


def test_breakdown_levels_follow_the_area_tree():
    # rules.py stays free of the ORM, so it names the levels itself: they must match areas'.
    depths = [KIND_DEPTH[AreaKind(level)] for level in BREAKDOWN_LEVELS]
    assert depths == sorted(depths) and depths[0] == KIND_DEPTH[AreaKind.STREET]
    assert depths == list(range(depths[0], depths[0] + len(depths)))
    assert max(KIND_DEPTH.values()) == depths[-1]


def test_rules_need_no_database_nor_web():
    tree = ast.parse(Path(rules.__file__).read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {a.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for a in node.names}
    assert not {m for m in imported if m and m.split(".")[0] in ("tortoise", "sanic")}
    assert not {m for m in imported if m and m.startswith(("app.core.db", "app.polls.models"))}


def test_small_groups_fold_into_a_block_of_at_least_k():
    sizes = {("s", "c", "g1"): 9, ("s", "c", "g2"): 4, ("s", "c", "g3"): 3, ("s", "c", ""): 1}
    blocks = fold_small_groups(sizes, 5)
    assert blocks[("s", "c", "g1")] == ("s", "c", "g1")
    assert {blocks[k] for k in sizes if k[2] != "g1"} == {("s", "c", MERGED)}  # 4+3+1 = 8
    lone = fold_small_groups({("s", "c", "g1"): 9, ("s", "c", "g2"): 2}, 5)
    assert set(lone.values()) == {("s", "c", MERGED)}  # 2 alone would be too few: g1 joins


def _block_sizes(blocks, sizes):
    totals = {}
    for chain, n in sizes.items():
        totals[blocks[chain]] = totals.get(blocks[chain], 0) + n
    return totals


@pytest.mark.parametrize("seed", range(200))
def test_no_report_or_difference_of_reports_isolates_fewer_than_k(seed):
    """Blocks at every level have ≥ k people and nest in the coarser level's blocks, so any
    subtraction between reports (total, per street, per community, per grid) leaves ≥ k too."""
    rng = random.Random(seed)
    k = 5
    sizes = {}
    for s in range(rng.randint(1, 3)):
        for c in range(rng.randint(1, 3)):
            for g in range(rng.randint(1, 4)):
                if rng.random() < 0.8:
                    sizes[(f"s{s}", f"c{c}", f"g{g}" if rng.random() < 0.9 else "")] = (
                        rng.choice([1, 1, 2, 3, 4, 6, 9]))
    if not sizes:
        return
    total = sum(sizes.values())
    levels = [fold_small_groups(_sum_to(sizes, depth), k) for depth in (1, 2, 3)]
    per_level = [{chain: blocks[chain[:depth]] for chain in sizes}
                 for depth, blocks in zip((1, 2, 3), levels, strict=True)]
    for blocks in per_level:
        for size in _block_sizes(blocks, sizes).values():
            assert size >= k or total < k
    # Nesting: two chains in one fine block are in one coarse block at every coarser level.
    for fine, coarse in ((per_level[2], per_level[1]), (per_level[1], per_level[0])):
        block_of = {}
        for chain in sizes:
            block_of.setdefault(fine[chain], set()).add(coarse[chain])
        assert all(len(parents) == 1 for parents in block_of.values())


def _sum_to(sizes, depth):
    out = {}
    for chain, n in sizes.items():
        out[chain[:depth]] = out.get(chain[:depth], 0) + n
    return out
