"""Talking to the reporter (issue 15 item 5): staff post progress notes and ask for more
information; the reporter reads both on the timeline, is told, and answers with 补充信息; the
clock pauses for the answer where the district says so; reply templates per category and status."""

from __future__ import annotations

from datetime import timedelta

from app.tickets.models import Ticket, TicketEvent
from tests.factories import error_code
from tests.notifications.helpers import deliver_all, messages
from tests.support import base_settings
from tests.tickets.helpers import report


async def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


async def test_a_progress_note_is_on_the_residents_timeline_and_told_to_followers(client, city):
    ticket = await report(client, city.resident, "9901")  # dispatched to the department
    await ok(await client.post(f"/api/v1/tickets/{ticket['id']}/follow",
                               headers=city.other_resident))
    detail = await ok(await client.post(f"/api/v1/tickets/{ticket['id']}/notes",
                                        headers=city.dispatcher,
                                        json={"note": "已联系市政，明天上午更换井盖"}))
    assert detail["status"] == "dispatched"  # a note keeps the status
    seen = await ok(await client.get(f"/api/v1/tickets/{ticket['id']}",
                                     headers=city.resident))
    step = seen["timeline"][-1]
    assert step["action"] == "progress_note" and step["note"] == "已联系市政，明天上午更换井盖"
    await deliver_all()
    for who in (city.resident, city.other_resident):
        [first, *_] = (await messages(client, who))["items"]
        assert first["title"] == "案件有新进展"


async def test_the_reporter_is_asked_answers_and_the_clock_pauses_for_the_answer(client, city):
    base_settings(pause_clock_for_info=True)
    ticket = await report(client, city.resident, "9901")
    before = (await Ticket.get(id=ticket["id"])).deadline_at
    await ok(await client.post(f"/api/v1/tickets/{ticket['id']}/info-requests",
                               headers=city.dispatcher,
                               json={"note": "请补充井盖所在的具体楼栋和照片"}))
    await deliver_all()
    [asked, *_] = (await messages(client, city.resident))["items"]
    assert asked["title"] == "请补充案件信息"
    mine = await ok(await client.get(f"/api/v1/tickets/{ticket['id']}", headers=city.resident))
    assert mine["timeline"][-1]["note"] == "请补充井盖所在的具体楼栋和照片"
    assert "add_info" in mine["allowed_actions"]
    # Two hours pass before the reporter answers.
    ask = await TicketEvent.filter(ticket_id=ticket["id"], action="ask_info").get()
    await TicketEvent.filter(id=ask.id).update(created_at=ask.created_at - timedelta(hours=2))
    await ok(await client.post(f"/api/v1/tickets/{ticket['id']}/info", headers=city.resident,
                               json={"note": "3 号楼东侧，靠近车库入口"}))
    after = (await Ticket.get(id=ticket["id"])).deadline_at
    assert timedelta(hours=2) <= after - before < timedelta(hours=2, minutes=1)
    # A second note without a new question moves nothing.
    await ok(await client.post(f"/api/v1/tickets/{ticket['id']}/info", headers=city.resident,
                               json={"note": "补充：井盖边缘有裂缝"}))
    assert (await Ticket.get(id=ticket["id"])).deadline_at == after


async def test_without_the_pause_the_answer_keeps_the_deadline(client, city):
    ticket = await report(client, city.resident, "9901")
    before = (await Ticket.get(id=ticket["id"])).deadline_at
    await ok(await client.post(f"/api/v1/tickets/{ticket['id']}/info-requests",
                               headers=city.dispatcher, json={"note": "请补充照片"}))
    await ok(await client.post(f"/api/v1/tickets/{ticket['id']}/info", headers=city.resident,
                               json={"note": "已补充"}))
    assert (await Ticket.get(id=ticket["id"])).deadline_at == before


async def test_who_may_speak_for_a_case(client, city):
    ticket = await report(client, city.resident, "9901")  # the department's task
    path = f"/api/v1/tickets/{ticket['id']}/notes"
    # The cell's grid worker does not hold the department's task.
    refused = await client.post(path, headers=city.worker, json={"note": "我来看看"})
    assert refused.status_code == 403 and error_code(refused) == "not_your_task"
    assert (await client.post(path, headers=city.handler, json={"note": "已安排人员"})
            ).status_code == 200
    assert (await client.post(path, headers=city.community_staff, json={"note": "社区已跟进"})
            ).status_code == 200
    resident = await client.post(path, headers=city.other_resident, json={"note": "我也看到了"})
    assert resident.status_code in (403, 404)
    empty = await client.post(path, headers=city.dispatcher, json={"note": ""})
    assert empty.status_code == 422
    far = await client.post(path, headers=city.far_worker, json={"note": "不是我的"})
    assert far.status_code in (403, 404)
    hotline = await ok(await client.post("/api/v1/hotline/cases", headers=city.dispatcher, json={
        "category_code": "9901", "description": "来电：井盖松动",
        "location": {"lng": 116.505, "lat": 35.405, "crs": "wgs84"}, "caller_phone": "13905371234"}),
        201)
    nobody = await client.post(f"/api/v1/tickets/{hotline['ticket_id']}/info-requests",
                               headers=city.dispatcher, json={"note": "请补充"})
    assert nobody.status_code == 403 and error_code(nobody) == "no_reporter"


async def test_a_retried_note_is_written_once(client, city):
    ticket = await report(client, city.resident, "9901")
    headers = {**city.dispatcher, "Idempotency-Key": "note-0001"}
    body = {"note": "明天上午处理", "version": ticket["version"]}
    first = await ok(await client.post(f"/api/v1/tickets/{ticket['id']}/notes", headers=headers,
                                       json=body))
    again = await client.post(f"/api/v1/tickets/{ticket['id']}/notes", headers=headers, json=body)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["version"] == first["version"]
    assert await TicketEvent.filter(ticket_id=ticket["id"], action="progress_note").count() == 1
    stale = await client.post(f"/api/v1/tickets/{ticket['id']}/notes", headers=city.dispatcher,
                              json=body)  # the version before the note
    assert stale.status_code == 409 and error_code(stale) == "stale_version"


async def test_templates_fit_the_ticket_most_specific_first(client, city):
    async def add(**body):
        return await ok(await client.post("/api/v1/reply-templates", headers=city.dispatcher,
                                          json=body), 201)

    general = await add(purpose="progress_note", text="您反映的问题正在处理中，请耐心等待。")
    manholes = await add(purpose="progress_note", category_code="9901",
                         text="井盖问题已通知市政部门，预计两个工作日内处理完毕。")
    dispatched = await add(purpose="progress_note", category_code="9901", status="dispatched",
                           text="已派遣市政部门处置井盖。")
    await add(purpose="progress_note", category_code="9902", text="噪音问题已转执法部门。")
    await add(purpose="ask_info", text="请补充现场照片。")
    ticket = await report(client, city.resident, "9901")
    fitting = await ok(await client.get("/api/v1/reply-templates", headers=city.handler, params={
        "ticket_id": ticket["id"], "purpose": "progress_note"}))
    assert [t["id"] for t in fitting["items"]] == [dispatched["id"], manholes["id"],
                                                   general["id"]]
    retired = await ok(await client.patch(f"/api/v1/reply-templates/{manholes['id']}",
                                           headers=city.dispatcher, json={"is_active": False}))
    assert retired["is_active"] is False
    fitting = await ok(await client.get("/api/v1/reply-templates", headers=city.handler, params={
        "ticket_id": ticket["id"], "purpose": "progress_note"}))
    assert manholes["id"] not in [t["id"] for t in fitting["items"]]
    assert (await client.post("/api/v1/reply-templates", headers=city.handler, json={
        "purpose": "ask_info", "text": "x"})).status_code == 403
    assert (await client.get("/api/v1/reply-templates", headers=city.resident)
            ).status_code == 403
    assert (await client.post("/api/v1/reply-templates", headers=city.dispatcher, json={
        "purpose": "ask_info", "category_code": "0000", "text": "x"})).status_code == 404
