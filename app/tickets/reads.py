"""The ticket page's and lists' reads, lean: plain values where a label is all a row shows.

Tortoise builds a model per row and a join's model per related row; the timeline needs only
each actor's surname, a page of list rows shares a few categories, cells and units, and most
tickets have no photo. The ticket page's statements are also built once per process
(`Prepared`), not by Tortoise on every call. What is read and answered is the same as
through whole models.
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

from tortoise.expressions import RawSQL
from tortoise.fields import BooleanField, DatetimeField, FloatField
from tortoise.fields.data import CharEnumFieldInstance
from tortoise.models import Model
from tortoise.timezone import get_default_timezone

from app.accounts.models import User
from app.accounts.schemas import AreaRef
from app.areas.models import Area
from app.areas.service import area_ref
from app.catalog.models import Category
from app.media.models import Media
from app.tickets.models import Ticket, TicketEvent, TicketMedia
from app.tickets.schemas import TicketCategoryRef, TicketUnitRef
from app.units.models import Unit

# What the timeline reads of an event (`queries._detail_out`).
EVENT_FIELDS = ("id", "action", "actor_id", "actor_role", "from_status", "to_status", "note",
                "created_at")


# Stands for an id parameter of a prepared statement while its SQL is built (never an id).
ID = -918_273_645


class Prepared:
    """A statement whose SQL Tortoise builds once per process and dialect, run with new values.

    Tortoise builds a query's SQL anew on every call (pypika copies, quoting, parameters):
    on the ticket page that was a quarter of the server's CPU. `make(*sentinels)` builds the
    query once with placeholder values (`sentinels`, each unlike any real value); later calls
    put the real values in their places. Reads (`rows`) convert each column as `values()`
    does (the field's `to_python_value`, `fields`: alias → field), so they return what
    `await make(*values)` would; writes (`execute`) return the rows changed.
    """

    def __init__(self, model: type[Model], make: Callable[..., Any],
                 fields: dict[str, str] | None = None, sentinels: tuple[Any, ...] = (ID,)
                 ) -> None:
        self.model, self.make, self.fields, self.sentinels = model, make, fields or {}, sentinels
        self._built: dict[str, tuple[str, list[Any], list[int], list[tuple[str, Any]]]] = {}

    def _build(self, dialect: str) -> tuple[str, list[Any], list[int], list[tuple[str, Any]]]:
        query = self.make(*self.sentinels)
        query.sql()  # builds `query.query` for the connection in use
        sql, params = query.query.get_parameterized_sql()
        slots = [next(i for i, value in enumerate(params) if value == sentinel)
                 for sentinel in self.sentinels]
        converters = [(alias, convert) for alias, field in self.fields.items()
                      if not isinstance(convert := query.resolve_to_python_value(
                          self.model, field), types.LambdaType)]
        built = self._built[dialect] = (sql, list(params), slots, converters)
        return built

    def _statement(self, values: tuple[Any, ...], *, for_write: bool = False
                   ) -> tuple[Any, str, list[Any], list[Any]]:
        # The connection Tortoise would use: the transaction's inside one.
        db = self.model._choose_db(for_write)
        dialect = db.capabilities.dialect
        sql, params, slots, converters = self._built.get(dialect) or self._build(dialect)
        bound = list(params)
        for i, value in zip(slots, values, strict=True):
            bound[i] = value
        return db, sql, bound, converters

    async def rows(self, *values: Any) -> list[dict[str, Any]]:
        db, sql, bound, converters = self._statement(values)
        out: list[dict[str, Any]] = await db.execute_query_dict(sql, bound)
        for row in out:
            for alias, convert in converters:
                row[alias] = convert(row[alias])
        return out

    async def execute(self, *values: Any) -> int:
        db, sql, bound, _ = self._statement(values, for_write=True)
        changed, _ = await db.execute_query(sql, bound)
        return int(changed)


def _ticket_read(fields: Sequence[str]) -> Prepared:
    return Prepared(Ticket, lambda key: Ticket.filter(id=key).limit(1).values(*fields),
                    {name: name for name in fields})


_ticket_reads: dict[tuple[str, ...], Prepared] = {}
_EVENTS = Prepared(
    TicketEvent, lambda key: TicketEvent.filter(ticket_id=key).order_by("id").values(
        *EVENT_FIELDS, actor_surname="actor__surname"),
    {**{name: name for name in EVENT_FIELDS}, "actor_surname": "actor__surname"})
_LINKS = Prepared(
    TicketMedia, lambda key: TicketMedia.filter(ticket_id=key).order_by("id").values(
        "event_id", "stage", "media_id"),
    {"event_id": "event_id", "stage": "stage", "media_id": "media_id"})


async def ticket_row(ticket_id: int, fields: Sequence[str]) -> Ticket | None:
    """The ticket's `fields` as plain values with attribute access (not a model), or None."""
    key = tuple(fields)
    read = _ticket_reads.get(key) or _ticket_reads.setdefault(key, _ticket_read(key))
    rows = await read.rows(ticket_id)
    return cast(Ticket, SimpleNamespace(**rows[0])) if rows else None


async def timeline(ticket_id: int) -> tuple[list[Any], dict[int, User]]:
    """A ticket's events in order, and their actors (id and surname, all a label shows)."""
    events = [SimpleNamespace(**row) for row in await _EVENTS.rows(ticket_id)]
    actors = {e.actor_id: User(id=e.actor_id, surname=e.actor_surname) for e in events
              if e.actor_id is not None and e.actor_surname is not None}
    return events, actors


async def photos(ticket_id: int) -> list[tuple[int | None, Any, Media]]:
    """A ticket's photos in order as (event id, stage, file): the links, then their files
    only when there are any."""
    links = await _LINKS.rows(ticket_id)
    if not links:
        return []
    files = {m.id: m for m in await Media.filter(id__in=[link["media_id"] for link in links])}
    return [(link["event_id"], link["stage"], files[link["media_id"]]) for link in links
            if link["media_id"] in files]


class Refs:
    """A page's category, cell and unit references, each built once (rows share a few)."""

    def __init__(self, cells: dict[int, Area], units: dict[int, Unit]) -> None:
        self._cells, self._units = cells, units
        self._category: dict[int, TicketCategoryRef] = {}
        self._cell: dict[int, AreaRef | None] = {}
        self._unit: dict[int, TicketUnitRef | None] = {}

    def category(self, category: Category) -> TicketCategoryRef:
        if (ref := self._category.get(category.id)) is None:
            ref = self._category[category.id] = TicketCategoryRef(
                code=category.code, name=category.name,
                label=category.resident_label or category.name)
        return ref

    def cell(self, cell_id: int | None) -> AreaRef | None:
        if not cell_id:
            return None
        if cell_id not in self._cell:
            self._cell[cell_id] = area_ref(self._cells.get(cell_id))
        return self._cell[cell_id]

    def unit(self, unit_id: int | None) -> TicketUnitRef | None:
        if unit_id is None:
            return None
        if unit_id not in self._unit:
            unit = self._units.get(unit_id)
            self._unit[unit_id] = TicketUnitRef(id=unit.id, name=unit.name) if unit else None
        return self._unit[unit_id]


class PackedRows:
    """A list page's rows as `qs.values(*fields)` reads them, with attribute access.

    On MySQL each row is read as one JSON array (`JSON_ARRAY(...)`) rather than ~27 columns:
    the driver decodes every column of every row, and its field descriptions, in Python,
    which was the larger part of a 50-row page's CPU; `json.loads` does it in C. Each value
    is then converted to what `values()` returns (aware datetimes in Tortoise's zone, bools,
    floats, enums). MariaDB writes a double in JSON as it sends it, shortest round-trip, so
    the floats are the same. Other databases read the columns as `values()` does.
    """

    def __init__(self, model: type[Model], fields: Sequence[str]) -> None:
        self.fields = tuple(fields)
        table, projection = model._meta.db_table, model._meta.fields_db_projection
        self.columns = {name: f"`{table}`.`{projection.get(name, name)}`" for name in fields}
        self.converters: list[tuple[int, Callable[[Any], Any]]] = []
        for i, name in enumerate(self.fields):
            field = model._meta.fields_map.get(name)
            if isinstance(field, DatetimeField):
                self.converters.append((i, _aware))
            elif isinstance(field, BooleanField):
                self.converters.append((i, bool))
            elif isinstance(field, FloatField):
                self.converters.append((i, float))
            elif isinstance(field, CharEnumFieldInstance):
                self.converters.append((i, field.to_python_value))

    async def __call__(self, qs: Any, annotations: dict[str, str]) -> list[Any]:
        """The rows of `qs`; `annotations`: name → SQL of the `fields` that are not columns."""
        if qs._choose_db().capabilities.dialect != "mysql":
            qs = qs.annotate(**{name: RawSQL(sql) for name, sql in annotations.items()})
            return [SimpleNamespace(**row) for row in await qs.values(*self.fields)]
        packed = RawSQL("JSON_ARRAY(" + ", ".join(
            annotations.get(name) or self.columns[name] for name in self.fields) + ")")
        fields, converters = self.fields, self.converters
        rows = []
        for (row,) in await qs.annotate(packed_row=packed).values_list("packed_row"):
            values = json.loads(row)
            for i, convert in converters:
                if values[i] is not None:
                    values[i] = convert(values[i])
            rows.append(SimpleNamespace(**dict(zip(fields, values, strict=True))))
        return rows


def _aware(text: str) -> datetime:
    """A DATETIME as JSON_ARRAY writes it ("2026-12-06 02:25:30.000000") as Tortoise reads it."""
    return datetime.fromisoformat(text).replace(tzinfo=get_default_timezone())
