"""Keyset paging for every list: one cursor format, validated once, one helper.

A list is read in one fixed order (`Ordering`) that always ends in the primary key, so it is
total. A page's `next` cursor is the last row's sort key: the following page starts strictly
after it. Inserts and deletes between pages therefore neither repeat nor skip a row, and a
page costs an index range, not an OFFSET scan.

The cursor is the key's integers joined by dots (`"1234"` for lists in id order,
`"1733212800000000.1234"` for deadline-then-id). Only ASCII digits, at most 19 per part and
below 2**63: anything else is refused with 422 `invalid_cursor` before the database is asked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from pydantic import Field
from tortoise.expressions import Q

from app.core.api import Input
from app.core.errors import Invalid

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
_MAX_VALUE = 2**63 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class PageQuery(Input):
    """`?limit=&cursor=` of every list."""

    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(default=None, max_length=80,
                               description="`next` of the previous page")


def _refused() -> Invalid:
    return Invalid("分页参数有误", code="invalid_cursor")


@dataclass(frozen=True)
class Key:
    """One column of an ordering: its field, its direction, and how its value is an integer."""

    field: str
    descending: bool = False
    is_time: bool = False

    def encode(self, value: Any) -> int:
        if self.is_time:
            return (value - _EPOCH) // _MICROSECOND
        return int(value)

    def decode(self, value: int) -> Any:
        if self.is_time:
            return _EPOCH + value * _MICROSECOND
        return value



@dataclass(frozen=True)
class Ordering:
    """The order of one list; the last key must be unique (the id), and no key may be NULL."""

    keys: tuple[Key, ...]

    @classmethod
    def of(cls, *specs: str, times: Sequence[str] = ()) -> Ordering:
        """`Ordering.of("-id")`, `Ordering.of("deadline_at", "id", times=["deadline_at"])`."""
        keys = tuple(Key(s.lstrip("-"), s.startswith("-"), s.lstrip("-") in times)
                     for s in specs)
        return cls(keys)

    @property
    def order_by(self) -> list[str]:
        return [("-" if k.descending else "") + k.field for k in self.keys]

    def parse(self, cursor: str | None) -> tuple[int, ...] | None:
        """The cursor's key values, or None for the first page; refuses anything malformed."""
        if cursor is None:
            return None
        parts = cursor.split(".")
        if len(parts) != len(self.keys):
            raise _refused()
        values = []
        for part in parts:
            # str.isdigit() accepts "²" and other Unicode digits that int() refuses.
            if not (0 < len(part) <= 19 and part.isascii() and part.isdigit()):
                raise _refused()
            value = int(part)
            if value > _MAX_VALUE:
                raise _refused()
            values.append(value)
        return tuple(values)

    def after(self, values: tuple[int, ...]) -> Q:
        """Rows strictly after `values` in this order (a lexicographic keyset condition)."""
        condition: Q | None = None
        for i in reversed(range(len(self.keys))):
            key = self.keys[i]
            op = "lt" if key.descending else "gt"
            step = Q(**{f"{key.field}__{op}": key.decode(values[i])})
            if condition is not None:
                step |= Q(**{key.field: key.decode(values[i])}) & condition
            condition = step
        assert condition is not None
        return condition

    def cursor_of(self, row: Any) -> str:
        return ".".join(str(k.encode(getattr(row, k.field))) for k in self.keys)


BY_NEWEST = Ordering.of("-id")


async def keyset_page(qs: Any, *, ordering: Ordering, limit: int, cursor: str | None,
                      fields: Sequence[str] = (),
                      read: Callable[[Any], Awaitable[list[Any]]] | None = None,
                      ) -> tuple[list[Any], str | None]:
    """One page of `qs` in `ordering` after `cursor`, and the cursor of the page after it.

    With `fields`, the rows are those columns (and annotations) read as plain values, with
    attribute access, instead of model instances: cheaper for a page that only shows them.
    `read`: how to read the page's query instead (rows with attribute access).
    """
    values = ordering.parse(cursor)
    if values is not None:
        qs = qs.filter(ordering.after(values))
    qs = qs.order_by(*ordering.order_by).limit(limit + 1)
    if read is not None:
        rows: list[Any] = await read(qs)
    elif fields:
        rows = [SimpleNamespace(**row) for row in await qs.values(*fields)]
    else:
        rows = list(await qs)
    if len(rows) > limit:
        return rows[:limit], ordering.cursor_of(rows[limit - 1])
    return rows, None
