"""The case-event feed upward (省–市–县 / 城市运行管理服务平台): every ticket event, in id
order, keyset-paged, so a platform reads each once from any cursor (docs/integrations.md).

No person is in it: no reporter, no actor, no notes, no caller details; the actor's role only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise.expressions import Subquery
from tortoise.transactions import in_transaction

from app.accounts.models import User
from app.accounts.scope import Role, scope_of
from app.catalog import service as catalog
from app.core.errors import Conflict, Forbidden
from app.core.paging import Ordering, keyset_page
from app.core.paths import under_any
from app.integrations.models import Integration, IntegrationKind
from app.integrations.outbound import post_signed
from app.integrations.schemas import FeedEvent, FeedPage
from app.notifications.models import Outbox, OutboxStatus
from app.notifications.outbox import NoticeKind, enqueue, notice
from app.settings import current
from app.tickets.models import Ticket, TicketEvent

ORDER = Ordering.of("id")


def admin_paths(user: User) -> list[str] | None:
    """What an admin reads of the feed: their areas' tickets (None: the whole city)."""
    scope = scope_of(user)
    if not scope.has(Role.ADMIN):
        raise Forbidden("只有管理员或上级平台可以读取案件事件", code="feed_forbidden")
    paths = scope.paths(Role.ADMIN)
    return None if "/" in paths else paths


def _grid_code(area_path: str) -> str | None:
    parts = [p for p in area_path.split("/") if p]
    return parts[-1] if parts else None


async def read(*, paths: list[str] | None, cursor: str | None, limit: int) -> FeedPage:
    """One page of events after `cursor`, oldest first.

    Only events older than `feed_settle_s` are served: ids are taken when a row is inserted
    but seen when its transaction commits, so a just-written higher id could otherwise be
    read before a lower one commits, and a reader past it would never see the lower one.
    """
    settled = datetime.now(UTC) - timedelta(seconds=current().feed_settle_s)
    qs = TicketEvent.filter(created_at__lte=settled)
    if paths is not None:
        qs = qs.filter(ticket_id__in=Subquery(
            Ticket.filter(under_any("area_path", paths)).values("id")))
    rows, after = await keyset_page(qs, ordering=ORDER, limit=limit, cursor=cursor)
    tickets = {t.id: t for t in await Ticket.filter(id__in={r.ticket_id for r in rows})}
    categories = await catalog.categories_by_id()
    items = []
    for event in rows:
        ticket = tickets[event.ticket_id]
        category = categories.get(ticket.category_id)
        items.append(FeedEvent(
            event_id=event.id, ticket_number=ticket.number, source=ticket.source,
            category_code=category.code if category else "",
            category_name=category.name if category else "",
            grid_code=_grid_code(ticket.area_path), address=ticket.address, lng=ticket.lng,
            lat=ticket.lat, urgency=ticket.urgency, action=event.action,
            from_status=event.from_status, to_status=event.to_status,
            actor_role=event.actor_role, occurred_at=event.created_at))
    last = ORDER.cursor_of(rows[-1]) if rows else cursor
    return FeedPage(items=items, next=after, cursor=last)


# --- the same events pushed to a feed integration's endpoint, page by page ----------------------

# Written without a recipient, so `broadcast` (as `notice` requires), but never fanned out:
# `send_page`, registered for this kind in app/wiring.py, delivers it. Not a message kind.
FEED_PUSH = NoticeKind("integrations.feed_push", "案件事件推送", "案件事件已推送上级平台。",
                       broadcast=True)
PUSH_PAGE = 100


async def push_round(*, limit: int = PUSH_PAGE) -> int:
    """Queue the next page of events for each active feed integration with an endpoint, once
    its previous page was delivered (so pages arrive in order); how many pages were queued."""
    queued = 0
    feeds = await Integration.filter(kind=IntegrationKind.FEED, is_active=True).exclude(
        endpoint_url="")
    for item in feeds:
        if item.feed_outbox_id is not None:
            status = await Outbox.filter(id=item.feed_outbox_id).values_list("status", flat=True)
            if status and status[0] != OutboxStatus.SENT:
                continue  # pending, or parked for an admin to look at
        page = await read(paths=None, cursor=item.feed_cursor or None, limit=limit)
        if not page.items:
            continue
        key = f"feed:{item.id}:{page.cursor}"
        async with in_transaction("default"):
            await enqueue([notice(FEED_PUSH, recipient_id=None, dedupe_key=key, payload={
                "integration_id": item.id, "cursor": page.cursor,
                "items": [event.model_dump(mode="json") for event in page.items]})], once=True)
            row_id = await Outbox.filter(dedupe_key=key).values_list("id", flat=True)
            # Conditional on the cursor read: a second job process moves on only once.
            if not await Integration.filter(id=item.id, feed_cursor=item.feed_cursor).update(
                    feed_cursor=page.cursor, feed_outbox_id=row_id[0]):
                raise Conflict("feed cursor moved meanwhile", code="feed_cursor_moved")
        queued += 1
    return queued


async def send_page(row: Outbox) -> None:
    """Deliver one page (raises DeliveryFailed to be retried)."""
    payload = row.payload or {}
    await post_signed(integration_id=payload.get("integration_id"),
                      payload={"items": payload.get("items", []), "cursor": payload.get("cursor")},
                      request_id=f"gongzhi-outbox-{row.id}")
