"""Admins keep the working calendar: holidays and adjusted working days the package lacks."""

from app.accounts.models import Role
from tests.factories import error_code, load_small_tree, make_staff


async def test_an_admin_marks_a_holiday_and_removes_it(client):
    await load_small_tree()
    _, admin = await make_staff(Role.ADMIN, area_code="990100")
    put = await client.put("/api/v1/calendar/overrides/2030-10-08", headers=admin,
                           json={"is_workday": False, "note": "国庆调休"})
    assert put.status_code == 200
    assert put.json() == {"day": "2030-10-08", "is_workday": False, "note": "国庆调休"}
    status = (await client.get("/api/v1/calendar/status", headers=admin)).json()
    assert status["overrides"] == [put.json()]
    assert 2030 not in status["missing_years"]
    gone = await client.delete("/api/v1/calendar/overrides/2030-10-08", headers=admin)
    assert gone.status_code == 204
    again = await client.delete("/api/v1/calendar/overrides/2030-10-08", headers=admin)
    assert again.status_code == 404 and error_code(again) == "override_not_found"


async def test_a_dispatcher_reads_the_calendar_but_cannot_change_it(client):
    await load_small_tree()
    _, dispatcher = await make_staff(Role.DISPATCHER, area_code="990100")
    assert (await client.get("/api/v1/calendar/status", headers=dispatcher)).status_code == 200
    put = await client.put("/api/v1/calendar/overrides/2030-10-08", headers=dispatcher,
                           json={"is_workday": False})
    assert put.status_code == 403


async def test_an_override_moves_the_next_deadline(client):
    from datetime import UTC, date, datetime

    from app.tickets.deadlines import compute_deadline

    await load_small_tree()
    _, admin = await make_staff(Role.ADMIN, area_code="990100")
    friday = datetime(2030, 3, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, a Friday
    before = await compute_deadline(friday, value=1, unit="work_days")
    await client.put(f"/api/v1/calendar/overrides/{before.astimezone(UTC).date()}",
                     headers=admin, json={"is_workday": False})
    after = await compute_deadline(friday, value=1, unit="work_days")
    assert after > before and isinstance(before.date(), date)
