"""Periodic Open311 work: contact details are erased once a case has long ended.

A client app's contact details (email, names, phone, its account and device ids) are there
for staff to call back while the case is worked; `OPEN311_CONTACT_RETENTION_DAYS` after the
case ended (closed, rejected or merged, and untouched since) they are blanked. The case and
its link to the client app stay. Each round touches at most `BATCH` rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise.expressions import Q, Subquery

from app.core.periodic import PeriodicJob
from app.open311.models import Open311Request
from app.settings import current
from app.tickets.models import Ticket
from app.tickets.workflow import FINAL_STATUSES

RETENTION_INTERVAL_S = 3600.0
BATCH = 1000
CONTACT_FIELDS = ("email", "first_name", "last_name", "phone", "account_id", "device_id")


async def erase_old_contacts(*, now: datetime | None = None, batch: int = BATCH) -> int:
    """One round of `open311.retention`: how many requests had their contact details erased."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=current().open311_contact_retention_days)
    ended = Ticket.filter(status__in=list(FINAL_STATUSES), updated_at__lt=cutoff)
    has_contact = Q(*(~Q(**{name: ""}) for name in CONTACT_FIELDS), join_type="OR")
    ids = await (Open311Request.filter(has_contact, ticket_id__in=Subquery(ended.values("id")))
                 .order_by("id").limit(batch).values_list("id", flat=True))
    if not ids:
        return 0
    return await Open311Request.filter(id__in=list(ids)).update(
        **{name: "" for name in CONTACT_FIELDS})


async def retention() -> int:
    return await erase_old_contacts()


JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob("open311.retention", RETENTION_INTERVAL_S, retention),
)
