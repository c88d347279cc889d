"""Who may rate (docs/decisions.md, "Who may rate"): the reporter, or a follower who followed
while the ticket was open and lives in its community or reported in its cell. Only those
ratings exist, so only those count in 满意率."""

from tests.factories import error_code, resident
from tests.tickets.helpers import OTHER_STREET, report


async def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


async def close(client, city, tid):
    await ok(await client.post(f"/api/v1/tasks/{tid}/claim", json={}, headers=city.worker))
    await ok(await client.post(f"/api/v1/tasks/{tid}/handle", json={"note": "已清理"},
                               headers=city.worker))
    await ok(await client.post(f"/api/v1/tickets/{tid}/verify", json={"passed": True},
                               headers=city.worker2))


async def rated(client, city) -> int:
    body = await ok(await client.get("/api/v1/stats/summary", headers=city.dispatcher))
    return body["counts"]["rated"]


BAD = {"result": "unsatisfied", "service": "unsatisfied"}


async def test_an_outsider_who_follows_cannot_rate_and_is_not_counted(client, city):
    far = await resident(client, "far-away")  # no home here, reported nothing here
    elsewhere = await resident(client, "other-street")
    await ok(await client.patch("/api/v1/me", json={"home_area_code": "990100002001"},
                                headers=elsewhere))
    tid = (await report(client, city.resident, "9904"))["id"]
    for outsider in (far, elsewhere):
        await ok(await client.post(f"/api/v1/tickets/{tid}/follow", headers=outsider))
    await close(client, city, tid)
    for outsider in (far, elsewhere):
        refused = await client.post(f"/api/v1/tickets/{tid}/rating", json=BAD, headers=outsider)
        assert refused.status_code == 403 and error_code(refused) == "not_your_ticket"
    assert await rated(client, city) == 0
    await ok(await client.post(f"/api/v1/tickets/{tid}/rating", headers=city.resident,
                               json={"result": "satisfied", "service": "satisfied"}), 201)
    summary = await ok(await client.get("/api/v1/stats/summary", headers=city.dispatcher))
    assert summary["counts"]["rated"] == 1
    assert summary["rates"]["satisfaction_rate"]["value"] == 1.0


async def test_a_follower_who_reported_in_the_same_cell_may_rate(client, city):
    neighbour = await resident(client, "neighbour")
    await report(client, neighbour, "9902")  # reported something in the same cell
    tid = (await report(client, city.resident, "9904"))["id"]
    await ok(await client.post(f"/api/v1/tickets/{tid}/follow", headers=neighbour))
    await close(client, city, tid)
    await ok(await client.post(f"/api/v1/tickets/{tid}/rating", json=BAD, headers=neighbour), 201)
    assert await rated(client, city) == 1


async def test_a_reporter_elsewhere_is_no_neighbour(client, city):
    walker = await resident(client, "walker")
    await report(client, walker, "9904", location=OTHER_STREET)
    tid = (await report(client, city.resident, "9904"))["id"]
    await ok(await client.post(f"/api/v1/tickets/{tid}/follow", headers=walker))
    await close(client, city, tid)
    refused = await client.post(f"/api/v1/tickets/{tid}/rating", json=BAD, headers=walker)
    assert refused.status_code == 403

