"""Periodic device work (`JOBS`): a device unheard for DEVICE_SILENT_AFTER_S is reported to the
admins of its area, once per silence (hearing it again, by an event or a heartbeat, ends the
silence; the next one is reported again)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from app.accounts.models import Role, RoleGrant
from app.core.periodic import PeriodicJob
from app.core.workcalendar import SHANGHAI
from app.devices.models import Device
from app.devices.notices import SILENT
from app.notifications.outbox import enqueue, notice
from app.settings import current

BATCH = 200


async def _admins() -> list[tuple[int, str]]:
    """(user id, area path; "/" city-wide) of every active admin grant."""
    grants = await RoleGrant.filter(role=Role.ADMIN, user__is_active=True).select_related("area")
    return [(g.user_id, g.area.path if g.area is not None else "/") for g in grants]


async def report_silent(*, now: datetime | None = None, limit: int = BATCH) -> int:
    """One round: mark up to `limit` newly silent devices and tell their admins; returns how
    many devices were reported."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(seconds=current().device_silent_after_s)
    silent = await (Device.filter(Q(last_seen_at__lt=cutoff)
                                  | Q(last_seen_at__isnull=True, created_at__lt=cutoff),
                                  is_active=True, is_silent=False)
                    .order_by("id").limit(limit))
    if not silent:
        return 0
    admins = await _admins()
    reported = 0
    for device in silent:
        since = device.last_seen_at or device.created_at
        heard = (Q(last_seen_at=device.last_seen_at) if device.last_seen_at is not None
                 else Q(last_seen_at__isnull=True))
        payload = {"device_code": device.code, "device_name": device.name,
                   "since": since.isoformat(),
                   "since_label": f" {since.astimezone(SHANGHAI):%Y-%m-%d %H:%M} "}
        key = f"device.silent:{device.id}:{since.timestamp():.6f}"
        async with in_transaction("default"):
            # Conditional: a device heard a moment ago (or marked by another job) is skipped.
            if not await Device.filter(heard, id=device.id, is_silent=False).update(
                    is_silent=True):
                continue
            await enqueue([notice(SILENT, recipient_id=user_id, payload=payload,
                                  dedupe_key=f"{key}:{user_id}")
                           for user_id, path in sorted(set(admins))
                           if device.area_path.startswith(path)], once=True)
        reported += 1
    return reported


async def _report_silent() -> int:
    return await report_silent()


JOBS: tuple[PeriodicJob, ...] = (PeriodicJob("devices.report_silent", 300.0, _report_silent),)
