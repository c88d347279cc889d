"""Connections between domains that must not import each other, made once per process.

The ticket door tells listeners of every change it writes; the statistics are one of them.
`app.tickets` therefore never imports `app.stats` (which reads tickets), and this module,
beside `main.py`, is the one place that knows both. `create_app` and the job process call
`wire()` (through `app.jobs.install`); calling it again changes nothing.
"""

from __future__ import annotations

from tortoise.expressions import Subquery

from app.approvals import service as approvals
from app.escalation import service as escalation
from app.escalation.models import CoHandling, CoHandlingStatus
from app.hotline import push as hotline_push
from app.integrations import feed as integration_feed
from app.media import moderation as media_moderation
from app.notifications import delivery
from app.stats import service as stats
from app.supervision import service as supervision
from app.tickets import actions as ticket_actions
from app.tickets import door
from app.tickets import queries as ticket_queries


def _co_handled(unit_ids: list[int]) -> Subquery:
    """The tickets whose 协办 part these units still owe (the task list's `scope=co`)."""
    return Subquery(CoHandling.filter(unit_id__in=unit_ids, status=CoHandlingStatus.PENDING)
                    .values("ticket_id"))


def wire() -> None:
    """Register the door's change listeners (idempotent)."""
    # Daily statistics deltas, written in the transaction of the change.
    door.on_change(stats.record)
    # Open 督办 close with their ticket.
    door.on_change(supervision.close_with_ticket)
    # Pending 挂账/延期/回退/作废 requests lapse when their ticket moves on; the register
    # mirrors every 延期 request and decision (app/approvals).
    door.on_change(approvals.lapse_with_ticket)
    if approvals.on_extension not in ticket_actions.extension_hooks:
        ticket_actions.extension_hooks.append(approvals.on_extension)
    # 主办/协办: the lead unit's handling waits for every co-unit's part (app/escalation).
    if escalation.require_co_parts not in ticket_actions.handle_guards:
        ticket_actions.handle_guards.append(escalation.require_co_parts)
    # ... and a co-unit's handlers find those cases among their tasks (GET /tasks?scope=co).
    if _co_handled not in ticket_queries.co_handled:
        ticket_queries.co_handled.append(_co_handled)
    # Who may hide a photo is decided by the ticket it is on (app.media imports no tickets).
    media_moderation.guard = ticket_queries.photo_moderator
    # Status changes of a 12345 order go back to the platform through the outbox.
    door.on_change(hotline_push.on_ticket_change)
    delivery.register_sender(hotline_push.STATUS_PUSH.name, hotline_push.send)
    # The case-event feed pushed page by page to feed integrations (app/integrations/feed.py).
    delivery.register_sender(integration_feed.FEED_PUSH.name, integration_feed.send_page)
