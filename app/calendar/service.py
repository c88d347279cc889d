"""The working calendar: admins' overrides, and the snapshot deadlines are computed with."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from tortoise.transactions import in_transaction

from app.accounts.models import Role, User
from app.accounts.scope import scope_of
from app.calendar.models import CalendarOverride
from app.core import config_cache, workcalendar
from app.core.errors import Forbidden, NotFound


@config_cache.snapshot
async def _overrides() -> dict[date, bool]:
    return {o.day: o.is_workday for o in await CalendarOverride.all()}


async def overrides() -> dict[date, bool]:
    """Admin holiday / adjusted-workday overrides by day (this process's snapshot)."""
    return await _overrides.get()


def _require_admin(user: User, *roles: Role) -> None:
    if not scope_of(user).has(Role.ADMIN, *roles):
        raise Forbidden("只有管理员可以维护工作日历")


async def calendar_status(*, user: User) -> tuple[list[int], list[CalendarOverride]]:
    """Years ahead that the holiday package does not know and overrides do not cover."""
    _require_admin(user, Role.DISPATCHER)
    rows = await CalendarOverride.all().order_by("day")
    covered = {o.day.year for o in rows}
    today = datetime.now(workcalendar.SHANGHAI).date()
    days = [today + timedelta(days=i) for i in range(0, 400, 7)]
    missing = sorted(set(workcalendar.missing_schedule_years(days)) - covered)
    return missing, list(rows)


async def set_override(*, user: User, day: date, is_workday: bool, note: str) -> CalendarOverride:
    _require_admin(user)
    async with in_transaction("default"):
        row, _ = await CalendarOverride.update_or_create(day=day, defaults={
            "is_workday": is_workday, "note": note})
        await config_cache.bump()
    return row


async def delete_override(*, user: User, day: date) -> None:
    _require_admin(user)
    async with in_transaction("default"):
        if not await CalendarOverride.filter(day=day).delete():
            raise NotFound("该日期没有调整", code="override_not_found")
        await config_cache.bump()
