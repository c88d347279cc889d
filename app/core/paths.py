"""Subtree filters on materialised paths ("/370811/370811001/") that an index can serve.

Tortoise renders `__startswith` as `CAST(col AS CHAR) LIKE 'p%'` on MySQL, which no index can
use, so every scoped list and statistic scanned the whole table. A half-open range is the same
set of rows: paths are "/code/…/" with codes of [0-9A-Za-z_-], and "/" sorts just below "0"
both in binary order (SQLite) and in utf8mb4_unicode_ci, while "-" and "_" sort outside.
"""

from __future__ import annotations

from collections.abc import Iterable

from tortoise.expressions import Q


def under(field: str, path: str) -> Q:
    """Rows whose `field` path lies in the subtree at `path` (the node itself included)."""
    if not path:
        raise ValueError("an empty path has no subtree")
    upper = path[:-1] + chr(ord(path[-1]) + 1)
    return Q(**{f"{field}__gte": path, f"{field}__lt": upper})


def under_any(field: str, paths: Iterable[str]) -> Q:
    """Rows under any of `paths`; matches nothing when `paths` is empty."""
    conditions = [under(field, p) for p in paths]
    if not conditions:
        return Q(pk__isnull=True)  # a primary key is never NULL: no rows, and no scan
    return Q(*conditions, join_type="OR")
