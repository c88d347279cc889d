"""Staff bind their WeChat in the mini-program (wx.login while signed in as staff) so that task
and deadline subscribe messages reach them; they can unbind. wechatpy talks to the fake WeChat."""

import pytest

from app.accounts.models import Role, User
from app.notifications.delivery import DeliveryConfig, read_for
from app.notifications.models import Outbox
from app.tickets import notices as ticket_notices
from tests.factories import error_code, make_staff
from tests.fakes.wechat import FakeWeChat, start
from tests.support import base_settings


@pytest.fixture
def wechat(client):
    fake = FakeWeChat()
    server = start(fake)
    base_settings(wechat_appid=fake.appid, wechat_secret=fake.secret, wechat_api_base=fake.url)
    yield fake
    server.shutdown()


async def bind(client, headers, code):
    return await client.post("/api/v1/me/wechat", json={"code": code}, headers=headers)


async def test_a_grid_worker_binds_and_unbinds_their_wechat(client, wechat):
    worker, headers = await make_staff(Role.GRID_WORKER, name="王网格")
    response = await bind(client, headers, wechat.code_for("o-worker"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["wechat_bound"] is True
    # Bound, but not a resident: the staff account shows its own roles only.
    assert [r["role"] for r in body["roles"]] == ["grid_worker"]
    assert "o-worker" not in response.text
    assert (await User.get(id=worker.id)).wechat_openid == "o-worker"
    assert "/sns/jscode2session" in [path for path, _ in wechat.requests]

    me = (await client.get("/api/v1/me", headers=headers)).json()
    assert me["wechat_bound"] is True
    unbound = await client.delete("/api/v1/me/wechat", headers=headers)
    assert unbound.status_code == 200 and unbound.json()["wechat_bound"] is False
    assert (await User.get(id=worker.id)).wechat_openid is None


async def test_subscribe_messages_reach_a_bound_staff_member(client, wechat):
    worker, headers = await make_staff(Role.GRID_WORKER)
    row = await Outbox.create(kind=ticket_notices.TASK_ASSIGNED.name, recipient_id=worker.id,
                              available_at=worker.created_at)
    config = DeliveryConfig(wechat_enabled=True, templates={ticket_notices.TASK: "tmpl-task"})
    assert (await read_for([row], config=config)).openids.get(worker.id) is None
    assert (await bind(client, headers, wechat.code_for("o-staff"))).status_code == 200
    assert (await read_for([row], config=config)).openids[worker.id] == "o-staff"


async def test_binding_does_not_let_the_wechat_sign_in_as_staff(client, wechat):
    worker, headers = await make_staff(Role.DISPATCHER)
    assert (await bind(client, headers, wechat.code_for("o-same-person"))).status_code == 200
    # The same WeChat signing in is that person's resident account, not the staff account.
    login = await client.post("/api/v1/auth/wechat",
                              json={"code": wechat.code_for("o-same-person")})
    me = (await client.get("/api/v1/me", headers={
        "Authorization": f"Bearer {login.json()['access_token']}"})).json()
    assert me["id"] != worker.id
    assert [r["role"] for r in me["roles"]] == ["resident"]


async def test_one_wechat_binds_one_staff_account(client, wechat):
    _, first = await make_staff(Role.GRID_WORKER)
    _, second = await make_staff(Role.GRID_WORKER)
    assert (await bind(client, first, wechat.code_for("o-shared"))).status_code == 200
    taken = await bind(client, second, wechat.code_for("o-shared"))
    assert taken.status_code == 409
    assert error_code(taken) == "wechat_already_bound"


async def test_a_bad_code_binds_nothing(client, wechat):
    worker, headers = await make_staff(Role.GRID_WORKER)
    used = wechat.code_for("o-once")
    assert (await bind(client, headers, used)).status_code == 200
    await client.delete("/api/v1/me/wechat", headers=headers)
    again = await bind(client, headers, used)
    assert again.status_code == 401
    assert error_code(again) == "invalid_wechat_code"
    assert (await User.get(id=worker.id)).wechat_openid is None


async def test_residents_have_nothing_to_bind(client, wechat):
    login = await client.post("/api/v1/auth/wechat", json={"code": wechat.code_for("o-res")})
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    response = await bind(client, headers, wechat.code_for("o-resident"))
    assert response.status_code == 422
    assert error_code(response) == "not_staff"


async def test_binding_needs_wechat_configured(client):
    _, headers = await make_staff(Role.GRID_WORKER)
    response = await bind(client, headers, "any-code")
    assert response.status_code == 422
    assert error_code(response) == "wechat_not_configured"


async def test_deactivating_a_staff_account_unbinds_its_wechat(client, wechat):
    worker, headers = await make_staff(Role.GRID_WORKER, area_code=None, name="钱网格")
    _, admin = await make_staff(Role.ADMIN, name="管理员")
    assert (await bind(client, headers, wechat.code_for("o-leaving"))).status_code == 200
    row = await Outbox.create(kind=ticket_notices.TASK_ASSIGNED.name, recipient_id=worker.id,
                              available_at=worker.created_at)
    config = DeliveryConfig(wechat_enabled=True, templates={ticket_notices.TASK: "tmpl-task"})
    assert (await read_for([row], config=config)).openids[worker.id] == "o-leaving"

    off = await client.patch(f"/api/v1/users/{worker.id}", json={"is_active": False},
                             headers=admin)
    assert off.status_code == 200, off.text
    assert off.json()["wechat_bound"] is False
    assert (await User.get(id=worker.id)).wechat_openid is None
    # No subscribe message can reach the person any more.
    assert (await read_for([row], config=config)).openids.get(worker.id) is None
