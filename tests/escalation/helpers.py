"""Shared pieces of the escalation tests: staff of each level, escalating, accepting."""

from app.accounts.models import Role
from tests.factories import make_staff

COMMUNITY = "990100001001"  # the community of the report's cell (tests.tickets.helpers.IN_CELL)
STREET = "990100001"


async def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


async def street_staff(name="郑街道"):
    _, headers = await make_staff(Role.COMMUNITY_STAFF, area_code=STREET, name=name)
    return headers


async def me(client, headers):
    return (await client.get("/api/v1/me", headers=headers)).json()["id"]


async def escalate(client, tid, headers, reason="本网格无法解决，需社区协调", **extra):
    return await client.post(f"/api/v1/tickets/{tid}/escalate", headers=headers,
                             json={"reason": reason, **extra})


async def accept(client, escalation_id, headers, unit_id, note=""):
    return await client.post(f"/api/v1/escalations/{escalation_id}/accept", headers=headers,
                             json={"unit_id": unit_id, "note": note})


async def queue(client, headers, level):
    return await client.get("/api/v1/escalations/queue", params={"level": level},
                            headers=headers)


async def claimed(client, city, tid):
    await ok(await client.post(f"/api/v1/tasks/{tid}/claim", json={}, headers=city.handler))
