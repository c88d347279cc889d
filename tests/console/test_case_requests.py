"""挂账/回退/作废 on the console's case page: a dispatcher asks for a 回退, another dispatcher
(never the one who asked) grants it, and the case goes back to 待派遣 — all through the
console's form posts; the requests register (app/approvals) is the one that decides."""

from __future__ import annotations

import re

from app.accounts.models import Role
from app.approvals.models import ApprovalRequest
from tests.approvals.helpers import claimed, ok
from tests.console.helpers import sign_in
from tests.factories import make_staff
from tests.tickets.helpers import report


def decision_path(page: str, ticket_id: int) -> str | None:
    found = re.search(rf'action="(/console/tickets/{ticket_id}/requests/\d+/decision)"', page)
    return found.group(1) if found else None


async def test_a_send_back_asked_on_the_case_page_is_granted_by_another_dispatcher(
        client, city, app):
    tid = (await report(client, city.resident, "9901"))["id"]  # auto-dispatched to the unit
    await claimed(client, city, tid)
    await make_staff(Role.DISPATCHER, area_code="990100", username="disp-a", name="甲派遣")
    await make_staff(Role.DISPATCHER, area_code="990100", username="disp-b", name="乙派遣")
    csrf = await sign_in(client, "disp-a")
    page = await client.get(f"/console/tickets/{tid}")
    assert page.status_code == 200 and "挂账 / 回退 / 作废申请" in page.text
    assert 'value="send_back"' in page.text and 'value="void"' in page.text
    assert 'value="suspend"' not in page.text  # 挂账 is the unit's to ask, not a dispatcher's

    empty = await client.post(f"/console/tickets/{tid}/requests",
                              data={"csrf_token": csrf, "kind": "send_back", "reason": ""})
    assert empty.status_code == 422 and "请选择申请类型并填写申请理由" in empty.text
    no_csrf = await client.post(f"/console/tickets/{tid}/requests",
                                data={"kind": "send_back", "reason": "不属于该单位职责"})
    assert no_csrf.status_code == 403
    assert await ApprovalRequest.filter(ticket_id=tid).count() == 0

    asked = await client.post(f"/console/tickets/{tid}/requests", data={
        "csrf_token": csrf, "kind": "send_back", "reason": "不属于该单位职责"})
    assert asked.status_code == 200 and "已提交回退申请，等待审批" in asked.text
    again = await client.post(f"/console/tickets/{tid}/requests", data={
        "csrf_token": csrf, "kind": "send_back", "reason": "再次申请"})
    assert again.status_code == 409 and "该案件已有待审批的回退申请" in again.text
    # The one who asked sees the request but cannot decide it.
    assert "不属于该单位职责" in again.text and decision_path(again.text, tid) is None

    await client.post("/console/logout", data={"csrf_token": csrf})
    csrf = await sign_in(client, "disp-b")
    page = await client.get(f"/console/tickets/{tid}")
    path = decision_path(page.text, tid)
    assert path, "the other dispatcher is offered no decision"
    no_reason = await client.post(path, data={"csrf_token": csrf, "approve": "0", "note": ""})
    assert no_reason.status_code == 422 and "驳回申请需要填写原因" in no_reason.text
    granted = await client.post(path, data={"csrf_token": csrf, "approve": "1", "note": "同意"})
    assert granted.status_code == 200 and "已批准回退申请" in granted.text
    assert decision_path(granted.text, tid) is None  # decided: no more buttons
    ticket = await ok(await client.get(f"/api/v1/tickets/{tid}", headers=city.dispatcher))
    assert ticket["status"] == "returned"  # back in the dispatchers' queue
    twice = await client.post(path, data={"csrf_token": csrf, "approve": "1", "note": "同意"})
    assert twice.status_code == 409 and "该申请已被他人处理" in twice.text


async def test_another_streets_dispatcher_cannot_reach_a_request(client, city):
    tid = (await report(client, city.resident, "9901"))["id"]
    await claimed(client, city, tid)
    asked = await client.post(f"/api/v1/tickets/{tid}/approvals", headers=city.dispatcher,
                              json={"kind": "send_back", "reason": "不属于该单位职责"})
    assert asked.status_code == 201, asked.text
    await make_staff(Role.DISPATCHER, area_code="990100002", username="far", name="远派遣")
    csrf = await sign_in(client, "far")
    path = f"/console/tickets/{tid}/requests/{asked.json()['id']}/decision"
    refused = await client.post(path, data={"csrf_token": csrf, "approve": "1", "note": ""})
    assert refused.status_code == 404
    assert (await ApprovalRequest.get(id=asked.json()["id"])).status == "pending"
