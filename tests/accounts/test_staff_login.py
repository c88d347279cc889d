"""Staff log in with username and password; repeated failures lock the username."""

from app.accounts.models import Role
from tests.factories import make_staff


async def test_staff_logs_in_and_sees_their_roles(client):
    await make_staff(Role.DISPATCHER, username="li", password="correct-horse-battery")
    response = await client.post("/api/v1/auth/login",
                                 json={"username": "li", "password": "correct-horse-battery"})
    assert response.status_code == 200
    tokens = response.json()
    me = await client.get("/api/v1/me",
                          headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert [r["role"] for r in me.json()["roles"]] == ["dispatcher"]
