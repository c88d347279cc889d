"""The demo district loads all at once or not at all, and is usable straight after."""

import pytest
import shapely
from shapely.geometry import shape

from app import demo
from app.accounts.models import User
from app.areas.models import Area, AreaKind
from app.catalog.models import Category
from app.units.models import Unit
from tests.factories import resident


async def test_a_failed_first_load_leaves_nothing_and_the_next_one_completes(client,
                                                                              monkeypatch):
    real_hash = demo.security.hash_password
    calls = []

    async def failing_hash(password: str) -> str:
        calls.append(password)
        if len(calls) == 3:
            raise RuntimeError("the machine went away")
        return await real_hash(password)

    monkeypatch.setattr(demo.security, "hash_password", failing_hash)
    with pytest.raises(RuntimeError):
        await demo.load_demo()
    for model in (Area, Unit, Category, User):
        assert await model.all().count() == 0, model.__name__

    monkeypatch.setattr(demo.security, "hash_password", real_hash)
    accounts = await demo.load_demo()
    assert accounts is not None and {a.username for a in accounts} >= {"admin", "dispatcher"}
    assert await demo.load_demo() is None  # once

    # A resident reports inside a demo cell: located, routed by the demo's rules, dispatched.
    cell = await Area.filter(kind=AreaKind.GRID).order_by("code").first()
    inside = shapely.point_on_surface(shape(cell.geometry))
    response = await client.post("/api/v1/tickets", headers=await resident(client), json={
        "category_code": "1002", "description": "路边有一堆生活垃圾没人清理",
        "location": {"lng": inside.x, "lat": inside.y, "crs": "wgs84"}})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["cell"]["code"] == cell.code
    assert body["status"] == "dispatched" and body["unit"]["name"] == "任城区环卫服务中心"

    dispatcher = next(a for a in accounts if a.username == "dispatcher")
    login = await client.post("/api/v1/auth/login", json={
        "username": "dispatcher", "password": dispatcher.password})
    assert login.status_code == 200, login.text
    stats = await client.get("/api/v1/stats/summary", headers={
        "Authorization": f"Bearer {login.json()['access_token']}"})
    assert stats.status_code == 200 and stats.json()["counts"]["reported"] == 1
