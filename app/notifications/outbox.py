"""The one way outbox rows are written, and the registry of what each kind says.

A domain declares its notice kinds (`NoticeKind`, in `app/<domain>/notices.py`) with their
texts, builds rows with `notice(kind, …)` and writes them with `enqueue(rows)`, in the same
transaction as the change that causes them. Nobody builds `Outbox(...)` by hand, so a kind
string can no longer drift from the text that renders it.

Delivery renders a row by its stored `kind` string (`kind_for`), so the kinds must be
registered before delivery runs: the composition root (`app/jobs.py`, called by `create_app`
and by `python -m app jobs`) registers every domain's kinds, broadcast audiences and the ticket
lookups below. This module imports no other domain: the domains hand it what it needs.
"""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from app.notifications.models import Outbox

# MySQL's INSERT IGNORE reports every key it skipped as a warning, which aiomysql re-raises
# as a Python warning; skipping a key already present is the point of `enqueue(once=True)`.
warnings.filterwarnings("ignore", message=r"Duplicate entry .* for key '(outbox\.)?dedupe_key'")

Values = Callable[[Mapping[str, Any]], Mapping[str, str]]


@dataclass(frozen=True)
class NoticeKind:
    """One kind of notice: its stored name, its in-app texts and its WeChat template.

    `title`, `body` and `hint` are `str.format` templates over the payload's values: the
    generic ones (`number`, `title`, `deadline`, `closes`, see `templates.values`) plus what
    `values(payload)` adds (e.g. a ticket's `status_label`, which only tickets can name).
    A kind named `"<family>.*"` is the fallback for unregistered kinds of that family (rows
    written by a newer or older release still render).
    """

    name: str  # stable kind string stored in Outbox.kind, e.g. "ticket.dispatch"
    title: str  # in-app title template
    body: str  # in-app body template
    template: str | None = None  # the WeChat subscribe template it pushes with, if any
    hint: str = ""  # the short line of a WeChat `thing` field (default: the title)
    values: Values | None = None  # payload → extra placeholders (the owning domain's words)
    broadcast: bool = False  # written without a recipient; fans out to a registered audience


@dataclass(frozen=True)
class Broadcast:
    """Who a kind's recipient-less rows reach, in user-id order, and each copy's dedupe key."""

    # (the broadcast row, the last user id already covered, how many) → the next user ids
    recipients: Callable[[Outbox, int, int], Awaitable[list[int]]]
    key: Callable[[Outbox, int], str]  # the dedupe_key of the copy for one user


@dataclass(frozen=True)
class TicketLookup:
    """What delivery and the admins' outbox view need from the ticket domain.

    Registered by the composition root, so notifications never imports tickets.
    """

    # ticket ids → the description pushed in WeChat templates (held text left out)
    descriptions: Callable[[Collection[int]], Awaitable[Mapping[int, str]]]
    # area paths → a subquery of the ids of tickets under them (an admin's outbox scope)
    ids_under: Callable[[Sequence[str]], Any]


_KINDS: dict[str, NoticeKind] = {}
_FAMILIES: dict[str, NoticeKind] = {}
_BROADCASTS: dict[str, Broadcast] = {}
_tickets: TicketLookup | None = None

# A live, read-only view of the registered kinds (name → kind).
KINDS: Mapping[str, NoticeKind] = MappingProxyType(_KINDS)
# Rows of a kind nobody registered (not even its family) still render: never fail delivery.
UNKNOWN = NoticeKind("", "您有一条新消息", "您有一条新消息，请在消息中心查看。",
                     hint="您有一条新消息")


def register(*kinds: NoticeKind) -> None:
    """Make kinds renderable. Registering the same kind again is a no-op; two different kinds
    under one name are a programming error."""
    for kind in kinds:
        table = _FAMILIES if kind.name.endswith(".*") else _KINDS
        name = kind.name.removesuffix(".*")
        known = table.get(name)
        if known is not None and known != kind:
            raise ValueError(f"notice kind {kind.name!r} registered twice, differently")
        table[name] = kind


def kind_named(name: str) -> NoticeKind:
    """The registered kind of this name (LookupError if none)."""
    try:
        return _KINDS[name]
    except KeyError:
        raise LookupError(f"notice kind {name!r} is not registered") from None


def kind_for(name: str) -> NoticeKind:
    """What delivery renders a row with: its kind, else its family's fallback, else UNKNOWN."""
    found = _KINDS.get(name) or _FAMILIES.get(name.partition(".")[0])
    return found or UNKNOWN


def register_broadcast(kind: NoticeKind, audience: Broadcast) -> None:
    """Rows of the broadcast `kind` fan out to `audience` when delivered."""
    if not kind.broadcast:
        raise ValueError(f"notice kind {kind.name!r} is not a broadcast")
    register(kind)
    _BROADCASTS[kind.name] = audience


def broadcast_for(name: str) -> Broadcast | None:
    return _BROADCASTS.get(name)


def register_tickets(lookup: TicketLookup) -> None:
    global _tickets
    _tickets = lookup


def tickets() -> TicketLookup | None:
    """The ticket lookups, or None when nothing registered them (no ticket text then)."""
    return _tickets


# --- writing rows -----------------------------------------------------------------------------


def notice(kind: NoticeKind, *, recipient_id: int | None, payload: dict[str, Any],
           ticket_id: int | None = None, available_at: datetime | None = None,
           dedupe_key: str | None = None) -> Outbox:
    """An unsaved outbox row of `kind` (due now unless `available_at` says later).

    Only a broadcast kind is written without a recipient (delivery fans it out into one
    keyed copy of the same kind per recipient).
    """
    if recipient_id is None and not kind.broadcast:
        raise ValueError(f"notice kind {kind.name!r} needs a recipient (not a broadcast)")
    return Outbox(kind=kind.name, recipient_id=recipient_id, ticket_id=ticket_id,
                  payload=payload, available_at=available_at or datetime.now(UTC),
                  dedupe_key=dedupe_key)


async def enqueue(rows: Sequence[Outbox], *, once: bool = False,
                  using_db: BaseDBAsyncClient | None = None) -> int:
    """Insert `rows` (in the caller's transaction); returns how many were written.

    `once=True` is for rows written by periodic jobs and fan-outs, each with a `dedupe_key`:
    a key already present is skipped, never doubled (`INSERT … ON CONFLICT DO NOTHING` on
    SQLite, `INSERT IGNORE` on MySQL/MariaDB: of two writers racing on one key, one row
    results). The count is then how many rows looked new (a concurrent writer may still have
    won some). Keyed rows go in key order, so two batches that overlap take their index locks
    in the same order (no deadlock between them).
    """
    if not rows:
        return 0
    if not once:
        await Outbox.bulk_create(list(rows), using_db=using_db)
        return len(rows)
    if any(not row.dedupe_key for row in rows):
        raise ValueError("enqueue(once=True) needs a dedupe_key on every row")
    keyed = {str(row.dedupe_key): row for row in rows}
    present = {row["dedupe_key"] for row in await Outbox.filter(dedupe_key__in=list(keyed))
               .using_db(using_db).values("dedupe_key")}
    fresh = [keyed[key] for key in sorted(keyed) if key not in present]
    if fresh:
        await Outbox.bulk_create(fresh, ignore_conflicts=True, using_db=using_db)
    return len(fresh)
