"""Routing resolution is a pure function: the most specific rule wins, deterministically."""

import random

from app.routing.rules import RuleCandidate, resolve

STREET = "/990100/990100001/"
COMMUNITY = "/990100/990100001/990100001001/"
CELL = "/990100/990100001/990100001001/990100001001001/"
OTHER_STREET = "/990100/990100002/"
MAJOR = "/01/"
MINOR = "/01/0101/"
TICKET = {"category_path": MINOR, "area_path": CELL}


def rule(rule_id, *, category=None, area=None, priority=0, unit_id=None):
    return RuleCandidate(rule_id=rule_id, unit_id=unit_id or rule_id * 100,
                         category_path=category, area_path=area, priority=priority)


def winner(*candidates, **ticket):
    found = resolve(candidates=list(candidates), **(ticket or TICKET))
    return found.rule_id if found else None


def test_no_rules_no_winner():
    assert winner() is None


def test_a_catch_all_rule_matches_everything():
    assert winner(rule(1)) == 1
    assert winner(rule(1), category_path="/20/2001/", area_path=None) == 1


def test_rules_for_another_place_or_category_do_not_match():
    assert winner(rule(1, area=OTHER_STREET), rule(2, category="/02/")) is None
    # "/01/" must not match "/010/...": prefixes are whole path segments.
    assert winner(rule(1, category="/01/"), category_path="/010/01001/", area_path=CELL) is None


def test_a_report_without_a_cell_only_gets_rules_for_everywhere():
    assert winner(rule(1, area=STREET), rule(2, category=MAJOR),
                  category_path=MINOR, area_path=None) == 2


def test_the_deeper_area_beats_the_deeper_category():
    assert winner(rule(1, area=STREET, category=MINOR, priority=9),
                  rule(2, area=COMMUNITY)) == 2


def test_the_cell_itself_is_the_deepest_area():
    assert winner(rule(1, area=COMMUNITY), rule(2, area=CELL)) == 2


def test_any_area_beats_no_area():
    assert winner(rule(1, category=MINOR, priority=100), rule(2, area="/990100/")) == 2


def test_on_the_same_area_the_deeper_category_wins():
    assert winner(rule(1, area=STREET, category=MAJOR, priority=50),
                  rule(2, area=STREET, category=MINOR), rule(3, area=STREET, priority=99)) == 2


def test_on_equal_depth_the_higher_priority_wins():
    assert winner(rule(1, area=STREET, category=MINOR, priority=1),
                  rule(2, area=STREET, category=MINOR, priority=5)) == 2


def test_a_full_tie_goes_to_the_lowest_rule_id_whatever_the_order():
    rules = [rule(i, area=STREET, category=MINOR, priority=3) for i in (7, 3, 9, 4)]
    for _ in range(10):
        random.shuffle(rules)
        assert winner(*rules) == 3


def test_the_winner_carries_its_unit():
    found = resolve(candidates=[rule(1, unit_id=42)], category_path=MINOR, area_path=CELL)
    assert found is not None and found.unit_id == 42
