"""Shared pieces of the request tests: supervisors, asking, deciding."""

from app.accounts.models import Role
from tests.factories import make_staff


async def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


async def supervisor(area_code="990100", name="韩督办"):
    _, headers = await make_staff(Role.SUPERVISOR, area_code=area_code, name=name)
    return headers


async def me(client, headers):
    return (await client.get("/api/v1/me", headers=headers)).json()["id"]


async def ask(client, tid, headers, kind, reason="需等待上级协调", **extra):
    return await client.post(f"/api/v1/tickets/{tid}/approvals", headers=headers,
                             json={"kind": kind, "reason": reason, **extra})


async def decide(client, approval_id, headers, *, approve=True, note=""):
    verb = "approve" if approve else "deny"
    return await client.post(f"/api/v1/approvals/{approval_id}/{verb}", headers=headers,
                             json={"note": note})


async def claimed(client, city, tid):
    await ok(await client.post(f"/api/v1/tasks/{tid}/claim", json={}, headers=city.handler))
