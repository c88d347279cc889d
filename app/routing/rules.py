"""Pure routing resolution: which rule wins for a (category, area) — no database here.

A rule matches when its category path is None (every category) or a prefix of the ticket's
category path, and its area path is None (everywhere) or a prefix of the ticket's cell path.
The most specific match wins: deepest area first, then deepest category, then higher priority,
then the lowest rule id, so the answer never depends on the order rows come back in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class RuleCandidate:
    rule_id: int
    unit_id: int
    category_path: str | None  # "/01/0101/"; None = every category
    area_path: str | None  # "/3708/370811001/"; None = everywhere
    priority: int


def matches(rule: RuleCandidate, *, category_path: str, area_path: str | None) -> bool:
    if rule.category_path is not None and not category_path.startswith(rule.category_path):
        return False
    if rule.area_path is None:
        return True
    return area_path is not None and area_path.startswith(rule.area_path)


def _depth(path: str | None) -> int:
    # Matching paths are all prefixes of one path, so segment count orders them; None is shallowest.
    return -1 if path is None else path.strip("/").count("/") + 1


def specificity(rule: RuleCandidate) -> tuple[int, int, int, int]:
    """Sort key: larger is more specific (the rule id is negated: lower id wins a tie)."""
    return (_depth(rule.area_path), _depth(rule.category_path), rule.priority, -rule.rule_id)


def resolve(
    *, candidates: Iterable[RuleCandidate], category_path: str, area_path: str | None
) -> RuleCandidate | None:
    """The winning rule for a ticket in `category_path` located at `area_path`, or None."""
    matching = [c for c in candidates
                if matches(c, category_path=category_path, area_path=area_path)]
    return max(matching, key=specificity, default=None)
