"""The console's 热线登记 form and 督办 on a case page, through their HTTP routes as a browser
posts them (form, CSRF token, session cookie)."""

from __future__ import annotations

import re

from app.accounts.models import Role, RoleGrant, User
from app.tickets.models import Ticket
from tests.console.helpers import csrf_of, sign_in
from tests.factories import make_staff
from tests.tickets.helpers import IN_CELL, report

PHONE = "13905371234"


async def signed_in_as(client, role: Role) -> str:
    grant = await RoleGrant.filter(role=role).select_related("user").order_by("id").first()
    user: User = grant.user
    return await sign_in(client, user.username)


def call_form(form_page: str, **extra) -> dict:
    key = re.search(r'name="form_key" value="([^"]+)"', form_page)
    assert key, "the form carries no key"
    return {"csrf_token": csrf_of(form_page), "form_key": key.group(1),
            "caller_name": "刘先生", "caller_phone": PHONE, "wants_callback": "1",
            "category_code": "9901", "urgency": "normal",
            "description": "来电反映：古槐路井盖松动，有人差点踩空", "address": "古槐路 12 号",
            "lng": str(IN_CELL["lng"]), "lat": str(IN_CELL["lat"]), "crs": "wgs84", **extra}


async def test_a_dispatcher_files_a_call_from_the_form_once_and_lands_on_the_case(client, city):
    await signed_in_as(client, Role.DISPATCHER)
    home = await client.get("/console/")
    assert "热线登记" in home.text  # in the menu for a dispatcher
    form = await client.get("/console/hotline/new")
    assert form.status_code == 200 and "来电号码" in form.text
    data = call_form(form.text)

    filed = await client.post("/console/hotline", data=data)
    assert filed.status_code == 303, filed.text
    ticket_id = int(re.search(r"/console/tickets/(\d+)\?filed=1", filed.headers["location"])[1])
    case = await client.get(filed.headers["location"])
    assert case.status_code == 200
    assert "热线工单已登记并立案" in case.text and PHONE in case.text and "需要回访" in case.text
    ticket = await Ticket.get(id=ticket_id)
    assert ticket.source == "hotline" and ticket.status == "dispatched" and ticket.reporter_id is None

    again = await client.post("/console/hotline", data=data)  # a double click, a resent form
    assert again.status_code == 303 and again.headers["location"] == filed.headers["location"]
    assert await Ticket.filter(source="hotline").count() == 1


async def test_a_form_with_mistakes_comes_back_filled_in_and_files_nothing(client, city):
    await signed_in_as(client, Role.DISPATCHER)
    form = await client.get("/console/hotline/new")
    bad = await client.post("/console/hotline",
                            data=call_form(form.text, caller_phone="打过来的", lng="东经"))
    assert bad.status_code == 422
    assert "来电号码填写有误" in bad.text and "经度填写有误" in bad.text
    assert "古槐路井盖松动" in bad.text  # what was typed is kept
    outside = await client.post("/console/hotline", data=call_form(
        form.text, lng="100.0", lat="20.0"))  # far from every cell
    assert outside.status_code == 422 and "不在" in outside.text
    assert await Ticket.filter(source="hotline").count() == 0
    no_csrf = await client.post("/console/hotline", data={**call_form(form.text),
                                                           "csrf_token": "forged"})
    assert no_csrf.status_code == 403 and await Ticket.filter(source="hotline").count() == 0


async def test_only_dispatchers_file_calls_and_the_caller_stays_with_them(client, city):
    await signed_in_as(client, Role.DISPATCHER)
    form = await client.get("/console/hotline/new")
    filed = await client.post("/console/hotline", data=call_form(form.text))
    case_url = filed.headers["location"].split("?")[0]
    await client.post("/console/logout", data={"csrf_token": csrf_of((await client.get(
        "/console/")).text)})

    await sign_in(client, (await User.get(display_name="王网格")).username)
    assert (await client.get("/console/hotline/new")).status_code == 403
    assert "热线登记" not in (await client.get("/console/")).text
    seen = await client.get(case_url)  # the cell's grid worker sees the case, not the caller
    assert seen.status_code == 200 and "井盖" in seen.text
    assert PHONE not in seen.text and "来电人" not in seen.text


async def test_a_supervisor_raises_a_supervision_from_the_case_page(client, city):
    ticket = await report(client, city.resident, "9901")  # dispatched to the department
    await make_staff(Role.SUPERVISOR, area_code="990100", username="supervisor", name="韩督办")
    csrf = await sign_in(client, "supervisor")
    case = await client.get(f"/console/tickets/{ticket['id']}")
    assert case.status_code == 200 and "督办意见" in case.text

    missing = await client.post(f"/console/tickets/{ticket['id']}/supervisions",
                                data={"csrf_token": csrf, "level": "key", "note": "尽快处理"})
    assert missing.status_code == 422 and "请填写督办时限" in missing.text
    past = await client.post(f"/console/tickets/{ticket['id']}/supervisions", data={
        "csrf_token": csrf, "level": "key", "note": "尽快处理", "deadline_at": "2020-01-01T09:00"})
    assert past.status_code == 422 and "督办时限须晚于当前时间" in past.text

    raised = await client.post(
        f"/console/tickets/{ticket['id']}/supervisions",
        data={"csrf_token": csrf, "level": "key", "note": "群众反映强烈，尽快更换",
              "deadline_at": "2099-12-31T18:00"}, headers={"HX-Request": "true"})
    assert raised.status_code == 200, raised.text
    assert "已督办" in raised.text and "重点督办" in raised.text and "2099-12-31 18:00" in raised.text
    listed = await client.get(f"/api/v1/tickets/{ticket['id']}/supervisions",
                              headers=city.dispatcher)
    [one] = listed.json()["items"]
    assert one["level"] == "key" and one["note"] == "群众反映强烈，尽快更换"
    assert one["deadline_at"].startswith("2099-12-31T10:00")  # 18:00 Beijing time


async def test_a_grid_worker_sees_no_supervision_form(client, city):
    ticket = await report(client, city.resident, "9904")
    await sign_in(client, (await User.get(display_name="王网格")).username)
    case = await client.get(f"/console/tickets/{ticket['id']}")
    assert case.status_code == 200 and "督办意见" not in case.text
    csrf = csrf_of(case.text)
    refused = await client.post(f"/console/tickets/{ticket['id']}/supervisions", data={
        "csrf_token": csrf, "level": "normal", "note": "催办", "deadline_at": "2099-01-01T09:00"})
    assert refused.status_code == 403
    listed = await client.get(f"/api/v1/tickets/{ticket['id']}/supervisions",
                              headers=city.dispatcher)
    assert listed.status_code == 200 and listed.json()["items"] == []
