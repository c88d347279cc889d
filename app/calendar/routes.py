"""Working calendar API: coverage of the official holiday schedule, and admins' overrides."""

from __future__ import annotations

from datetime import date

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, empty

from app.calendar import service
from app.calendar.schemas import CalendarStatus, OverrideIn, OverrideOut
from app.core.api import endpoint

bp = Blueprint("calendar")
TAG = "calendar"


@bp.get("/calendar/status")
@endpoint(summary="Holiday schedule coverage: years missing an official schedule, overrides",
          tag=TAG, response=CalendarStatus, errors=(403,))
async def calendar_status(request: Request) -> CalendarStatus:
    missing, overrides = await service.calendar_status(user=request.ctx.user)
    return CalendarStatus(missing_years=missing, overrides=[
        OverrideOut(day=o.day, is_workday=o.is_workday, note=o.note) for o in overrides])


@bp.put("/calendar/overrides/<day:ymd>")
@endpoint(summary="Mark a day as a holiday or an adjusted working day (admins)", tag=TAG,
          body=OverrideIn, response=OverrideOut, errors=(403,))
async def put_override(request: Request, day: date, body: OverrideIn) -> OverrideOut:
    row = await service.set_override(user=request.ctx.user, day=day, is_workday=body.is_workday,
                                     note=body.note)
    return OverrideOut(day=row.day, is_workday=row.is_workday, note=row.note)


@bp.delete("/calendar/overrides/<day:ymd>")
@endpoint(summary="Remove a calendar override (admins)", tag=TAG, status=204,
          errors=(403, 404))
async def delete_override(request: Request, day: date) -> HTTPResponse:
    await service.delete_override(user=request.ctx.user, day=day)
    return empty()
