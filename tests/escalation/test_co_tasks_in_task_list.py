"""协办 in the task list: a co-unit's handler finds the cases their unit co-handles with
`GET /api/v1/tasks?scope=co`, until their part is reported (issue 15 item 3)."""

from tests.escalation.helpers import ok
from tests.tickets.helpers import report


async def test_a_co_units_handler_finds_the_case_among_their_tasks_until_they_report(
        client, city):
    led = (await report(client, city.resident, "9901"))["id"]  # lead: the department
    other = (await report(client, city.resident, "9901"))["id"]  # no co-unit
    co = city.other_department.id
    await ok(await client.post(f"/api/v1/tickets/{led}/co-handling", headers=city.dispatcher,
                               json={"unit_id": co}), 201)

    async def co_tasks(headers) -> list[int]:
        page = await ok(await client.get("/api/v1/tasks", headers=headers,
                                         params={"scope": "co"}))
        return [t["id"] for t in page["items"]]

    assert await co_tasks(city.other_handler) == [led]
    assert other not in await co_tasks(city.other_handler)
    assert await co_tasks(city.handler) == []  # the lead unit's own case is in its pool
    assert await co_tasks(city.worker) == []  # a grid worker's team co-handles nothing
    await ok(await client.post(f"/api/v1/tickets/{led}/co-handling/{co}/report",
                               headers=city.other_handler, json={"note": "已配合清理"}))
    assert await co_tasks(city.other_handler) == []  # its part is done
