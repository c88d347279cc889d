"""The workbench's bulk actions (批量立案, 批量派遣) and sortable columns, through the HTTP
routes as the page posts them."""

from __future__ import annotations

import re

from app.accounts.models import Role
from tests.console.helpers import sign_in
from tests.console.test_workbench import sign_in_dispatcher
from tests.factories import make_staff
from tests.tickets.helpers import OTHER_STREET, report

HTMX = {"HX-Request": "true"}


def picked(*tickets: dict) -> list[str]:
    return [f"{t['id']}:{t['version']}" for t in tickets]


async def status_of(client, city, ticket: dict) -> str:
    answer = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=city.dispatcher)
    return answer.json()["status"]


async def test_ticked_cases_are_accepted_at_once_and_one_that_moved_on_is_named(client, city):
    first, second, third = [await report(client, city.resident, category="9902",
                                         description=f"楼下噪音第 {n} 次") for n in (1, 2, 3)]
    csrf = await sign_in_dispatcher(client)
    # Someone else rejects the third before the dispatcher's bulk action lands.
    gone = await client.post(f"/api/v1/tickets/{third['id']}/reject", headers=city.dispatcher,
                             json={"reason": "重复上报", "version": third["version"]})
    assert gone.status_code == 200
    answer = await client.post("/console/bulk", headers={**HTMX, "X-CSRF-Token": csrf}, data={
        "action": "accept", "ticket": picked(first, second, third), "back": "queue=accept"})
    assert answer.status_code == 200, answer.text
    notice = re.search(r'<p class="notice error"[^>]*>(.*?)</p>', answer.text).group(1)
    assert "已处理 2 件" in notice
    assert f"{third['number']}：当前状态（不予立案）不能执行此操作" in notice
    assert "<html" not in answer.text  # the list fragment, refreshed in place
    # 立案, then routed to the cell's grid team at once.
    assert [await status_of(client, city, t) for t in (first, second, third)] == [
        "dispatched", "dispatched", "rejected"]
    assert first["number"] not in answer.text  # they left 待受理


async def test_ticked_unroutable_cases_are_dispatched_to_one_unit(client, city):
    tickets = [await report(client, city.resident, category="9902", location=OTHER_STREET)
               for _ in range(2)]
    csrf = await sign_in_dispatcher(client)
    accepted = await client.post("/console/bulk", headers={**HTMX, "X-CSRF-Token": csrf}, data={
        "action": "accept", "ticket": picked(*tickets), "back": "queue=dispatch"})
    assert "已处理 2 件" in accepted.text
    assert all(t["number"] in accepted.text for t in tickets)  # now in 待派遣
    versions = re.findall(r'name="ticket" value="(\d+:\d+)"', accepted.text)
    no_unit = await client.post("/console/bulk", headers={**HTMX, "X-CSRF-Token": csrf},
                                data={"action": "dispatch", "ticket": versions})
    assert no_unit.status_code == 422 and "请选择派遣单位" in no_unit.text
    done = await client.post("/console/bulk", headers={"X-CSRF-Token": csrf}, data={
        "action": "dispatch", "ticket": versions, "unit_id": city.other_department.id,
        "back": "queue=dispatch"})
    assert done.status_code == 303 and done.headers["location"] == "/console/?queue=dispatch"
    for t in tickets:
        answer = await client.get(f"/api/v1/tickets/{t['id']}", headers=city.dispatcher)
        assert answer.json()["status"] == "dispatched"
        assert answer.json()["unit"]["id"] == city.other_department.id


async def test_bulk_actions_need_the_csrf_token_and_stay_in_scope(client, city):
    ticket = await report(client, city.resident, category="9902")
    await sign_in_dispatcher(client)
    forged = await client.post("/console/bulk", data={"action": "accept",
                                                      "ticket": picked(ticket)})
    assert forged.status_code == 403 and await status_of(client, city, ticket) == "submitted"

    client.cookies.clear()
    await make_staff(Role.DISPATCHER, area_code="990100002", username="west")
    csrf = await sign_in(client, "west")
    outside = await client.post("/console/bulk", headers={**HTMX, "X-CSRF-Token": csrf}, data={
        "action": "accept", "ticket": picked(ticket), "back": "queue=accept"})
    assert outside.status_code == 200 and "1 件未执行" in outside.text
    assert await status_of(client, city, ticket) == "submitted"


async def test_columns_sort_both_ways_and_the_url_keeps_the_order(client, city):
    old, new = [await report(client, city.resident, category="9902") for _ in range(2)]
    await sign_in_dispatcher(client)
    newest = await client.get("/console/?queue=accept")
    assert newest.text.index(new["number"]) < newest.text.index(old["number"])
    assert 'aria-sort="descending"' in newest.text
    assert "sort=oldest" in newest.text  # the 上报时间 header turns the order round
    oldest = await client.get("/console/?queue=accept&sort=oldest")
    assert oldest.text.index(old["number"]) < oldest.text.index(new["number"])
    assert 'aria-sort="ascending"' in oldest.text
    assert "sort=oldest" in re.search(r'hx-get="/console/\?([^"]*queue=returned[^"]*)"',
                                      oldest.text).group(1)  # tabs keep the order
    # 时限: soonest first, only cases on the clock (these are not yet accepted).
    by_deadline = await client.get("/console/?queue=accept&sort=deadline")
    assert by_deadline.status_code == 200 and old["number"] not in by_deadline.text
    bad = await client.get("/console/?queue=accept&sort=deadline&cursor=abc")
    assert bad.status_code == 422
