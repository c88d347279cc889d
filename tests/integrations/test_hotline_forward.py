"""热线推送: a dispatcher forwards a case outside the district's remit to an outside body,
records the body's answer later; the reporter hears both, 12345 hears the status of its
order, and the case leaves 应处置/应结案 and counts in 推送数."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from app.accounts.models import Role
from app.hotline.models import HotlineForward
from app.notifications.delivery import DeliveryConfig
from app.tickets.models import Ticket
from tests.factories import error_code, make_staff
from tests.integrations.fake12345 import fake_12345
from tests.integrations.helpers import register, signed
from tests.integrations.test_hotline import ORDERS, _deliver_until, order
from tests.notifications.helpers import deliver_all, messages
from tests.tickets.helpers import report

POWER = {"body_name": "市供电公司", "body_contact": "95598", "external_number": "GD-0042",
         "reason": "供电线路不属于本区城管职责，已转供电公司处理"}


def version_of(page: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', page)
    assert found, "the case page offers no action"
    return found.group(1)


def forward_path(ticket_id: int) -> str:
    return f"/api/v1/tickets/{ticket_id}/forward"


async def forward(client, headers, ticket_id: int, **extra):
    return await client.post(forward_path(ticket_id), headers=headers, json={**POWER, **extra})


async def test_a_dispatcher_forwards_a_report_and_records_the_bodys_answer(client, city):
    tid = (await report(client, city.resident, "9902"))["id"]  # 噪音: waits for 立案
    done = await forward(client, city.dispatcher, tid)
    assert done.status_code == 201, done.text
    assert done.json()["status"] == "forwarded" and done.json()["body_name"] == "市供电公司"
    assert done.json()["reply"] == "" and done.json()["replied_at"] is None
    # The reporter sees where it went, and why, on the case and in a message.
    mine = (await client.get(f"/api/v1/tickets/{tid}", headers=city.resident)).json()
    assert mine["status"] == "forwarded" and mine["status_label"] == "已转外部处理"
    assert any(e["note"] == POWER["reason"] for e in mine["timeline"])
    await deliver_all()
    told = (await messages(client, city.resident))["items"]
    assert told[0]["title"] == "案件已转交市供电公司" and "不属于本区职责范围" in told[0]["body"]
    # It ended here: nothing more to do with it but record the answer.
    again = await forward(client, city.dispatcher, tid)
    assert again.status_code == 409 and error_code(again) == "invalid_transition"
    path = f"{forward_path(tid)}/reply"
    reply = {"reply": "已安排抢修班组，今日 18 时前恢复供电"}
    answered = await client.post(path, headers=city.dispatcher, json=reply)
    assert answered.status_code == 200, answered.text
    assert answered.json()["reply"] == reply["reply"] and answered.json()["replied_at"]
    twice = await client.post(path, headers=city.dispatcher, json={"reply": "再次答复"})
    assert twice.status_code == 409 and error_code(twice) == "reply_recorded"
    await deliver_all()
    told = (await messages(client, city.resident))["items"]
    assert told[0]["title"] == "市供电公司已答复"
    seen = await client.get(forward_path(tid), headers=city.resident)
    assert seen.status_code == 200 and seen.json()["reply"] == reply["reply"]
    # Another resident may see the public case, not the record of its forward.
    assert (await client.get(forward_path(tid), headers=city.other_resident)).status_code == 403


async def test_only_a_dispatcher_forwards_and_bad_input_writes_nothing(client, city):
    tid = (await report(client, city.resident, "9902"))["id"]
    for headers in (city.resident, city.community_staff):
        refused = await forward(client, headers, tid)
        assert refused.status_code == 403, refused.text
    far = await make_staff(Role.DISPATCHER, area_code="990100002")  # the next street
    assert (await forward(client, far[1], tid)).status_code == 404
    for bad in ({"body_name": ""}, {"reason": "   "}, {"body_name": "单" * 101}):
        answer = await forward(client, city.dispatcher, tid, **bad)
        assert answer.status_code == 422, answer.text
    stale = await forward(client, city.dispatcher, tid, version=99)
    assert stale.status_code == 409 and error_code(stale) == "stale_version"
    assert (await Ticket.get(id=tid)).status == "submitted"
    assert await HotlineForward.filter(ticket_id=tid).count() == 0
    # Once a unit works it, it is the unit's (it may return it as "not ours" first).
    dispatched = (await report(client, city.resident, "9901"))["id"]
    late = await forward(client, city.dispatcher, dispatched)
    assert late.status_code == 409 and error_code(late) == "invalid_transition"


async def test_a_forward_retried_with_its_key_is_one_forward(client, city):
    tid = (await report(client, city.resident, "9902"))["id"]
    headers = {**city.dispatcher, "Idempotency-Key": "forward-0001"}
    first = await forward(client, headers, tid)
    retry = await forward(client, headers, tid)
    assert first.status_code == retry.status_code == 201, retry.text
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert await HotlineForward.filter(ticket_id=tid).count() == 1


async def test_12345_hears_that_its_order_was_forwarded_and_where(client, city):
    _, admin = await make_staff(Role.ADMIN, area_code="990100")
    with fake_12345(failures=0) as fake:
        partner = await register(client, admin=admin, endpoint_url=fake.url)
        pushed = await client.post(ORDERS, **signed(partner, order("FW-1", category_code="9902")))
        tid = pushed.json()["ticket_id"]
        assert pushed.json()["status"] == "submitted"
        assert (await forward(client, city.dispatcher, tid)).status_code == 201
        await _deliver_until(datetime.now(UTC), [timedelta(0)], DeliveryConfig())
    [push] = [p["body"] for p in fake.accepted]
    assert push["order_number"] == "FW-1" and push["status"] == "forwarded"
    assert push["forward"]["body_name"] == "市供电公司"
    assert push["forward"]["external_number"] == "GD-0042"


async def test_a_forwarded_case_leaves_the_rates_and_counts_in_its_own_figure(client, city):
    # Dispatched to the department, returned as "not ours", then found to be nobody's here.
    tid = (await report(client, city.resident, "9901"))["id"]
    kept = (await report(client, city.resident, "9901"))["id"]
    claimed = await client.post(f"/api/v1/tasks/{tid}/claim", headers=city.handler, json={})
    assert claimed.status_code == 200
    returned = await client.post(f"/api/v1/tasks/{tid}/return", headers=city.handler,
                                 json={"reason": "供电设施，不归我们"})
    assert returned.status_code == 200, returned.text
    assert (await forward(client, city.dispatcher, tid)).status_code == 201
    now = datetime.now(UTC)
    summary = await client.get("/api/v1/stats/summary", headers=city.dispatcher, params={
        "area": "990100", "from": (now - timedelta(hours=1)).isoformat(),
        "to": (now + timedelta(hours=1)).isoformat()})
    assert summary.status_code == 200, summary.text
    counts = summary.json()["counts"]
    assert counts["reported"] == 2 and counts["dispatched"] == 2 and counts["returned"] == 1
    assert counts["should_handle"] == 1 and counts["should_close"] == 1  # only `kept`
    assert counts["forwarded"] == 1
    # The requests register's rates take it out of their 应处置 base too.
    rates = await client.get("/api/v1/approvals/rates", headers=city.dispatcher, params={
        "area": "990100", "from": (now - timedelta(hours=1)).isoformat(),
        "to": (now + timedelta(hours=1)).isoformat()})
    assert rates.status_code == 200, rates.text
    bases = {k["kind"]: k["base"] for k in rates.json()["kinds"]}
    assert bases["suspend"] == bases["extend"] == bases["send_back"] == 1  # only `kept`
    assert kept != tid


async def test_a_dispatcher_forwards_from_the_case_page_and_records_the_answer(client, city):
    from tests.console.helpers import csrf_of, dispatcher

    await dispatcher(client, username="fw-dispatcher")
    tid = (await report(client, city.resident, "9902"))["id"]
    page = await client.get(f"/console/tickets/{tid}")
    assert page.status_code == 200 and "转外部处理" in page.text and "接收的外部单位" in page.text
    form = {"csrf_token": csrf_of(page.text), "version": version_of(page.text)}
    missing = await client.post(f"/console/tickets/{tid}/actions/forward",
                                data={**form, "reason": POWER["reason"]})
    assert missing.status_code == 422 and (await Ticket.get(id=tid)).status == "submitted"
    done = await client.post(f"/console/tickets/{tid}/actions/forward", data={**form, **POWER})
    assert done.status_code == 200, done.text
    assert "已转外部处理" in done.text and "市供电公司（95598）" in done.text
    assert "尚未答复" in done.text and "记录外部回复" in done.text
    answered = await client.post(f"/console/tickets/{tid}/actions/forward_reply", data={
        "csrf_token": csrf_of(done.text), "version": version_of(done.text),
        "note": "已派员处理，明日回电"})
    assert answered.status_code == 200, answered.text
    assert "已派员处理，明日回电" in answered.text and "尚未答复" not in answered.text
    row = await HotlineForward.get(ticket_id=tid)
    assert row.reply == "已派员处理，明日回电" and row.external_number == "GD-0042"
