"""WeChat subscribe messages: one consent buys one send; refusals stop, outages retry, then park.

wechatpy posts to a fake WeChat on 127.0.0.1 that answers as WeChat documents (errcodes
included) and checks the template field limits as WeChat does (47003 otherwise).
"""

import socket
from datetime import timedelta

from app.accounts.models import Role
from app.notifications.models import Outbox, OutboxStatus, PushState
from tests.factories import error_code, make_staff
from tests.fakes.wechat import SEND_PATH
from tests.notifications.conftest import CONFIG, PROGRESS, TASK
from tests.notifications.helpers import (
    consent,
    deliver_all,
    messages,
    remaining,
    unread,
    utcnow,
)
from tests.support import base_settings
from tests.tickets.helpers import report

LONG = "小区东门外人行道上的井盖松动了，晚上路过的老人差点被绊倒，请尽快处理"


def send_attempts(wechat) -> int:
    return sum(1 for path, _ in wechat.requests if path == SEND_PATH)


async def reported_and_rejected(client, city) -> dict:
    """One event for the reporter: 不予立案."""
    ticket = await report(client, city.resident, "9902")
    response = await client.post(f"/api/v1/tickets/{ticket['id']}/reject",
                                 headers=city.dispatcher, json={"reason": "不属于城市管理范围"})
    assert response.status_code == 200, response.text
    return ticket


async def test_with_consent_exactly_one_wechat_message_then_in_app_only(client, city, wechat):
    assert await consent(client, city.resident, PROGRESS, asked=(TASK,)) == {
        PROGRESS: 1, TASK: 0}
    ticket = await report(client, city.resident, "9902", description=LONG)
    accepted = await client.post(f"/api/v1/tickets/{ticket['id']}/accept", json={},
                                 headers=city.dispatcher)
    assert accepted.json()["status"] == "dispatched"  # two events: 受理, 派遣
    await deliver_all(config=CONFIG)

    assert send_attempts(wechat) == 1
    [sent] = wechat.sent
    assert sent["touser"] == "dev-alice" and sent["template_id"] == PROGRESS
    assert sent["page"] == f"pages/ticket/ticket?id={ticket['id']}"
    assert sent["miniprogram_state"] == "developer" and sent["lang"] == "zh_CN"
    data = {key: item["value"] for key, item in sent["data"].items()}
    assert data["character_string1"] == ticket["number"]
    assert data["thing2"] == LONG[:19] + "…" and len(data["thing2"]) == 20  # truncated
    assert data["phrase3"] in ("已立案", "已派遣")
    assert data["time5"].startswith("20") and "日 " in data["time5"]

    assert await remaining(client, city.resident) == {PROGRESS: 0}
    rows = await Outbox.filter(recipient__openid="dev-alice").order_by("id")
    assert sorted(r.push_state for r in rows) == [PushState.NO_QUOTA, PushState.SENT]
    assert all(r.status == OutboxStatus.SENT for r in rows)
    assert [r.wechat_msgid for r in rows if r.push_state == PushState.SENT][0].isdigit()
    assert await unread(client, city.resident) == 2  # both events in the app

    # A later event, no consent left: in the app only.
    tid = ticket["id"]
    assert (await client.post(f"/api/v1/tasks/{tid}/claim", json={},
                              headers=city.worker)).status_code == 200
    handled = await client.post(f"/api/v1/tasks/{tid}/handle", json={"note": "已固定井盖"},
                                headers=city.worker)
    assert handled.status_code == 200, handled.text
    await deliver_all(config=CONFIG)
    assert send_attempts(wechat) == 1
    assert (await messages(client, city.resident))["items"][0]["title"] == "案件已处置"
    assert await unread(client, city.resident) == 3

    # Another tap on 允许: the next event reaches WeChat again.
    assert await consent(client, city.resident, PROGRESS) == {PROGRESS: 1}
    closed = await client.post(f"/api/v1/tickets/{tid}/verify", headers=city.worker2,
                               json={"passed": True, "note": "现场已核查"})
    assert closed.status_code == 200, closed.text
    await deliver_all(config=CONFIG)
    assert len(wechat.sent) == 2 and wechat.sent[1]["data"]["phrase3"]["value"] == "已结案"


async def test_43101_user_refused_is_not_retried(client, city, wechat):
    await consent(client, city.resident, PROGRESS)
    wechat.send_script = [43101]
    await reported_and_rejected(client, city)
    await deliver_all(config=CONFIG)
    [row] = await Outbox.all()
    assert row.status == OutboxStatus.SENT and row.push_state == PushState.REFUSED
    assert "43101" in row.last_error
    assert await deliver_all(config=CONFIG, now=utcnow() + timedelta(days=2)) == 0
    assert send_attempts(wechat) == 1 and wechat.sent == []
    # WeChat says no consent is left: our count follows it.
    assert await remaining(client, city.resident) == {PROGRESS: 0}
    assert await unread(client, city.resident) == 1  # the resident still has the message


async def test_47003_bad_parameters_is_not_retried_and_the_consent_is_kept(client, city, wechat):
    await consent(client, city.resident, PROGRESS)
    wechat.send_script = [47003]
    await reported_and_rejected(client, city)
    await deliver_all(config=CONFIG)
    [row] = await Outbox.all()
    assert row.status == OutboxStatus.SENT and row.push_state == PushState.REJECTED
    assert await deliver_all(config=CONFIG, now=utcnow() + timedelta(days=2)) == 0
    assert send_attempts(wechat) == 1
    assert await remaining(client, city.resident) == {PROGRESS: 1}  # WeChat did not use it
    assert await unread(client, city.resident) == 1


async def test_system_errors_retry_with_backoff_then_park_and_an_admin_requeues(
        client, city, wechat):
    _, admin = await make_staff(Role.ADMIN, name="钱管理")
    _, street_admin = await make_staff(Role.ADMIN, area_code="990100002", name="孙管理")
    await consent(client, city.resident, PROGRESS)
    wechat.send_default = -1  # 系统繁忙
    await reported_and_rejected(client, city)

    now = utcnow()
    await deliver_all(config=CONFIG, now=now)
    [row] = await Outbox.all()
    assert row.status == OutboxStatus.PENDING and row.attempts == 1
    assert row.available_at == now + timedelta(seconds=30)  # backoff: 30 s, 60 s, 120 s …
    assert "-1" in row.last_error and row.locked_by == ""
    assert await unread(client, city.resident) == 1  # in-app does not wait for WeChat
    assert await deliver_all(config=CONFIG, now=now + timedelta(seconds=29)) == 0  # not yet

    delays = []
    while row.status == OutboxStatus.PENDING:
        assert await deliver_all(config=CONFIG, now=row.available_at) == 1
        previous, row = row, await Outbox.get(id=row.id)
        delays.append((row.available_at - previous.available_at).total_seconds())
    assert row.status == OutboxStatus.PARKED and row.attempts == CONFIG.max_attempts == 8
    assert send_attempts(wechat) == 8
    assert delays[:-1] == [60, 120, 240, 480, 960, 1920]  # the last one parked it
    assert await remaining(client, city.resident) == {PROGRESS: 0}  # one consent, taken once
    assert await unread(client, city.resident) == 1  # and never a second message

    listed = await client.get("/api/v1/admin/outbox", params={"status": "parked"},
                              headers=admin)
    assert listed.status_code == 200
    [item] = listed.json()["items"]
    assert item["id"] == row.id and item["attempts"] == 8 and "-1" in item["last_error"]
    assert item["push_state"] == "reserved"
    assert (await client.get("/api/v1/admin/outbox", params={"status": "pending"},
                             headers=admin)).json()["items"] == []
    # Admins of another street do not see this street's rows; nobody else sees any.
    other = await client.get("/api/v1/admin/outbox", params={"status": "parked"},
                             headers=street_admin)
    assert other.status_code == 200 and other.json()["items"] == []
    assert (await client.post(f"/api/v1/admin/outbox/{row.id}/retry",
                              headers=street_admin)).status_code == 404
    for headers in (city.resident, city.dispatcher):
        refused = await client.get("/api/v1/admin/outbox", headers=headers)
        assert refused.status_code == 403 and error_code(refused) == "admin_only"
        assert (await client.post(f"/api/v1/admin/outbox/{row.id}/retry",
                                  headers=headers)).status_code == 403
    bad = await client.get("/api/v1/admin/outbox", params={"status": "lost"}, headers=admin)
    assert bad.status_code == 422

    wechat.send_default = 0  # WeChat is back
    requeued = await client.post(f"/api/v1/admin/outbox/{row.id}/retry", headers=admin)
    assert requeued.status_code == 200
    assert requeued.json()["status"] == "pending" and requeued.json()["attempts"] == 0
    again = await client.post(f"/api/v1/admin/outbox/{row.id}/retry", headers=admin)
    assert again.status_code == 409 and error_code(again) == "not_parked"
    assert (await client.post("/api/v1/admin/outbox/99999999/retry",
                              headers=admin)).status_code == 404

    await deliver_all(config=CONFIG)
    row = await Outbox.get(id=row.id)
    assert row.status == OutboxStatus.SENT and row.push_state == PushState.SENT
    assert len(wechat.sent) == 1
    assert await remaining(client, city.resident) == {PROGRESS: 0}  # no second consent taken
    assert await unread(client, city.resident) == 1


async def test_wechat_unreachable_is_retried_later(client, city, wechat):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base_settings(wechat_appid=wechat.appid, wechat_secret=wechat.secret,
                  wechat_api_base=f"http://127.0.0.1:{port}/")
    await consent(client, city.resident, PROGRESS)
    await reported_and_rejected(client, city)
    now = utcnow()
    await deliver_all(config=CONFIG, now=now)
    [row] = await Outbox.all()
    assert row.status == OutboxStatus.PENDING and row.push_state == PushState.RESERVED
    assert row.available_at > now and "unreachable" in row.last_error
    assert await unread(client, city.resident) == 1

    base_settings(wechat_appid=wechat.appid, wechat_secret=wechat.secret,
                  wechat_api_base=wechat.url)
    await deliver_all(config=CONFIG, now=row.available_at)
    assert (await Outbox.get(id=row.id)).push_state == PushState.SENT
    assert len(wechat.sent) == 1


async def test_staff_without_wechat_get_task_messages_in_app(client, city, wechat):
    from app.accounts.models import RoleGrant, User

    member = await User.create(username="team-member", display_name="郑网格", surname="郑")
    await RoleGrant.create(user=member, role=Role.HANDLER, unit=city.team)
    from app.core import security

    token, _ = security.issue_access_token(member.id)
    headers = {"Authorization": f"Bearer {token}"}
    await report(client, city.resident, "9904")  # auto-dispatched to the grid team
    await deliver_all(config=CONFIG)
    titles = [m["title"] for m in (await messages(client, headers))["items"]]
    assert titles == ["新任务待处理"]
    assert wechat.sent == []  # no openid, and the resident gave no consent


async def test_consent_taps_are_counted_per_template(client, city, wechat):
    assert await consent(client, city.resident, PROGRESS) == {PROGRESS: 1}
    assert await consent(client, city.resident, PROGRESS, TASK) == {PROGRESS: 2, TASK: 1}
    assert await consent(client, city.resident, asked=(PROGRESS,)) == {PROGRESS: 2}  # refused
    assert await remaining(client, city.resident) == {PROGRESS: 2, TASK: 1}
    assert await remaining(client, city.other_resident) == {}

    url = "/api/v1/messages/subscriptions"
    for body in ({"template_ids": ["a"], "accepted": ["b"]},  # accepted what was not asked
                 {"template_ids": [f"t{i}" for i in range(6)], "accepted": []},  # > 5 per tap
                 {"template_ids": ["bad id!"], "accepted": []},
                 {"template_ids": [], "accepted": []},
                 {"template_ids": ["a"], "accepted": ["a"], "extra": 1}):
        response = await client.post(url, json=body, headers=city.resident)
        assert response.status_code == 422, body
    assert (await client.post(url, json={"template_ids": ["a"]})).status_code == 401


async def test_text_held_by_the_content_check_is_not_pushed_to_wechat(client, city, wechat):
    from app.tickets.models import Ticket

    wechat.sec_verdicts = {"广告": "risky"}
    await consent(client, city.resident, PROGRESS)
    ticket = await report(client, city.resident, "9902", description="井盖旁边贴满了小广告加微信")
    assert (await Ticket.get(id=ticket["id"])).content_held
    await client.post(f"/api/v1/tickets/{ticket['id']}/reject", headers=city.dispatcher,
                      json={"reason": "不属于城市管理范围"})
    await deliver_all(config=CONFIG)
    [sent] = wechat.sent
    assert sent["data"]["thing2"]["value"] == "案件不予立案"  # the title, not the held text
    assert "广告" not in str(sent)
