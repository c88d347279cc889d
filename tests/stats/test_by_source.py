"""The breakdown by intake channel: a hotline case counts as 热线工单, not as a resident's."""

from tests.tickets.helpers import IN_CELL, report


async def test_the_breakdown_by_source_counts_each_channel(client, city):
    await report(client, city.resident, "9904")
    await report(client, city.resident, "9901")
    for _ in range(3):
        filed = await client.post("/api/v1/hotline/cases", headers=city.dispatcher, json={
            "category_code": "9901", "description": "来电反映井盖松动", "location": IN_CELL,
            "caller_name": "刘先生", "caller_phone": "13905371234"})
        assert filed.status_code == 201, filed.text
    answer = await client.get("/api/v1/stats/breakdown", headers=city.dispatcher,
                              params={"area": "990100", "by": "source"})
    assert answer.status_code == 200, answer.text
    rows = {row["key"]: row for row in answer.json()["rows"]}
    assert set(rows) == {"resident", "hotline"}
    assert rows["hotline"]["name"] == "热线工单"
    assert rows["hotline"]["counts"]["reported"] == 3
    assert rows["hotline"]["counts"]["accepted"] == 3
    assert rows["resident"]["counts"]["reported"] == 2
    csv = await client.get("/api/v1/stats/export.csv", headers=city.dispatcher,
                           params={"area": "990100", "by": "source"})
    assert csv.status_code == 200 and "热线工单" in csv.text and "群众上报" in csv.text
