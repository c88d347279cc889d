"""The ticket page's and lists' reads, lean: plain values where a label is all a row shows.

Tortoise builds a model per row and a join's model per related row; the timeline needs only
each actor's surname, a page of list rows shares a few categories, cells and units, and most
tickets have no photo. What is read and answered is the same as through whole models.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any, cast

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


async def ticket_row(ticket_id: int, fields: Sequence[str]) -> Ticket | None:
    """The ticket's `fields` as plain values with attribute access (not a model), or None."""
    rows = await Ticket.filter(id=ticket_id).limit(1).values(*fields)
    return cast(Ticket, SimpleNamespace(**rows[0])) if rows else None


async def timeline(ticket_id: int) -> tuple[list[Any], dict[int, User]]:
    """A ticket's events in order, and their actors (id and surname, all a label shows)."""
    events = [SimpleNamespace(**row) for row in await TicketEvent.filter(ticket_id=ticket_id)
              .order_by("id").values(*EVENT_FIELDS, actor_surname="actor__surname")]
    actors = {e.actor_id: User(id=e.actor_id, surname=e.actor_surname) for e in events
              if e.actor_id is not None and e.actor_surname is not None}
    return events, actors


async def photos(ticket_id: int) -> list[tuple[int | None, Any, Media]]:
    """A ticket's photos in order as (event id, stage, file): the links, then their files
    only when there are any."""
    links = await TicketMedia.filter(ticket_id=ticket_id).order_by("id")
    if not links:
        return []
    files = {m.id: m for m in await Media.filter(id__in=[link.media_id for link in links])}
    return [(link.event_id, link.stage, files[link.media_id]) for link in links
            if link.media_id in files]


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
