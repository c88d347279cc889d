"""The staff queue pages by keyset in one order: worst first, unreplied first, newest first."""

from tests.factories import error_code
from tests.ratings.test_ratings import closed_ticket, ok, rating


async def test_the_queue_pages_in_its_order_without_repeats_or_gaps(client, city):
    made = []
    for result in ("satisfied", "unsatisfied", "basically_satisfied", "unsatisfied",
                   "satisfied"):
        tid = await closed_ticket(client, city)
        made.append(await ok(await client.post(f"/api/v1/tickets/{tid}/rating",
                                               headers=city.resident, json=rating(result)), 201))
    await ok(await client.post(f"/api/v1/ratings/{made[3]['id']}/replies",
                               headers=city.community_staff, json={"body": "收到"}), 201)
    rank = {"unsatisfied": 0, "basically_satisfied": 1, "satisfied": 2}
    replied = {made[3]["id"]}
    expected = [r["id"] for r in sorted(made, key=lambda r: (rank[r["overall"]],
                                                            r["id"] in replied, -r["id"]))]

    whole = await ok(await client.get("/api/v1/ratings/queue", headers=city.community_staff))
    assert [r["id"] for r in whole["items"]] == expected and whole["next"] is None
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = await ok(await client.get("/api/v1/ratings/queue", params=params,
                                         headers=city.community_staff))
        seen += [r["id"] for r in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == expected

    bad = await client.get("/api/v1/ratings/queue", params={"cursor": "2"},
                           headers=city.community_staff)
    assert bad.status_code == 422 and error_code(bad) == "invalid_cursor"
