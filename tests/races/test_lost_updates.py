"""Lost updates: two requests at once on the same row, repeated, and the invariant holds.

Each write of a row that another request may change writes only its own fields (or a
conditional update), so a deactivation is never undone by the account's own PATCH /me, and a
rating sent back for rework keeps its outcome whatever edit lands beside it. The requests run
concurrently through the in-process client. On MariaDB each holds its own pooled connection
(CI runs them there): with the former full-row saves every one of these failed within
20 rounds. On SQLite the statements interleave on one connection, which caught only the
two-admins case; the invariants must hold there too, so they run on both.
"""

import asyncio

from app.accounts.models import Role, User
from app.ratings.models import Rating
from tests.factories import make_staff, resident
from tests.tickets.helpers import report

ROUNDS = 20


async def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


async def test_patch_me_never_undoes_a_deactivation(client, city):
    _, admin = await make_staff(Role.ADMIN, name="钱管理")
    for i in range(ROUNDS):
        headers = await resident(client, f"racer-{i}")
        me = await ok(await client.get("/api/v1/me", headers=headers))
        mine, off = await asyncio.gather(
            client.patch("/api/v1/me", json={"display_name": f"新名字{i}",
                                             "home_area_code": "990100001001"},
                         headers=headers),
            client.patch(f"/api/v1/users/{me['id']}", json={"is_active": False}, headers=admin))
        assert off.status_code == 200, off.text
        assert mine.status_code in (200, 401, 403), mine.text
        assert (await User.get(id=me["id"])).is_active is False, f"round {i}: reactivated"
        after = await client.get("/api/v1/me", headers=headers)
        assert after.status_code in (401, 403), f"round {i}: {after.status_code}"


async def test_two_admins_editing_one_account_keep_both_changes(client, city):
    _, first = await make_staff(Role.ADMIN, name="钱管理")
    _, second = await make_staff(Role.ADMIN, name="孙管理")
    for i in range(ROUNDS):
        target, _ = await make_staff(Role.GRID_WORKER, area_code="990100001001",
                                     name=f"目标{i}")
        renamed, off = await asyncio.gather(
            client.patch(f"/api/v1/users/{target.id}", json={"work_phone": f"0531-{i:04d}"},
                         headers=first),
            client.patch(f"/api/v1/users/{target.id}", json={"is_active": False},
                         headers=second))
        assert renamed.status_code == 200 and off.status_code == 200
        row = await User.get(id=target.id)
        assert row.is_active is False, f"round {i}: reactivated"
        assert row.work_phone == f"0531-{i:04d}", f"round {i}: phone lost"


async def closed_and_rated(client, city) -> int:
    tid = (await report(client, city.resident, "9904"))["id"]
    await ok(await client.post(f"/api/v1/tasks/{tid}/claim", json={}, headers=city.worker))
    await ok(await client.post(f"/api/v1/tasks/{tid}/handle", json={"note": "已清理"},
                               headers=city.worker))
    await ok(await client.post(f"/api/v1/tickets/{tid}/verify", json={"passed": True},
                               headers=city.worker2))
    rating = await ok(await client.post(f"/api/v1/tickets/{tid}/rating", headers=city.resident,
                                        json={"result": "unsatisfied", "service": "unsatisfied",
                                              "comment": "还是很脏"}), 201)
    return rating["id"]


async def test_an_edit_never_undoes_a_rework(client, city):
    for i in range(ROUNDS):
        rid = await closed_and_rated(client, city)
        edit, rework = await asyncio.gather(
            client.patch(f"/api/v1/ratings/{rid}", json={"comment": f"第{i}次补充：仍有异味"},
                         headers=city.resident),
            client.post(f"/api/v1/ratings/{rid}/rework", json={"reason": "居民不满意"},
                        headers=city.community_staff))
        assert rework.status_code == 200, rework.text
        assert edit.status_code in (200, 409), edit.text
        row = await Rating.get(id=rid)
        assert row.outcome == "rework", f"round {i}: outcome lost ({edit.status_code})"
        declined = await client.post(f"/api/v1/ratings/{rid}/decline",
                                     json={"reason": "不属于职责范围"},
                                     headers=city.community_staff)
        assert declined.status_code == 409, f"round {i}: a reworked rating was declined"
