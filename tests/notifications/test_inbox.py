"""The in-app message list (站内消息): always delivered, never twice, newest first."""

from app.accounts.models import User
from app.notifications.models import Message, Outbox, OutboxStatus, PushState
from tests.factories import error_code
from tests.notifications.helpers import deliver_all, messages, unread, utcnow
from tests.tickets.helpers import report


async def accept(client, city, tid):
    response = await client.post(f"/api/v1/tickets/{tid}/accept", json={},
                                 headers=city.dispatcher)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_dispatched_report_reaches_the_reporter_in_app(client, city):
    ticket = await report(client, city.resident, "9902")  # waits for a dispatcher
    assert await deliver_all() == 0  # submitting notifies nobody
    assert (await accept(client, city, ticket["id"]))["status"] == "dispatched"
    # The outbox is a queue: nothing shows before the job process delivers it.
    assert await unread(client, city.resident) == 0
    assert await deliver_all() >= 2

    page = await messages(client, city.resident)
    assert [m["title"] for m in page["items"]] == ["案件已派遣", "案件已受理"]  # newest first
    newest = page["items"][0]
    assert ticket["number"] in newest["body"] and newest["ticket_id"] == ticket["id"]
    assert newest["kind"] == "ticket.dispatch" and newest["read"] is False
    assert await unread(client, city.resident) == 2
    assert (await messages(client, city.other_resident))["items"] == []

    read = await client.post(f"/api/v1/messages/{newest['id']}/read", headers=city.resident)
    assert read.status_code == 200 and read.json()["read"] is True
    assert await unread(client, city.resident) == 1
    again = await client.post(f"/api/v1/messages/{newest['id']}/read", headers=city.resident)
    assert again.json()["read_at"] == read.json()["read_at"]  # the first read time stays

    everything = await client.post("/api/v1/messages/read-all", headers=city.resident)
    assert everything.status_code == 200 and everything.json() == {"marked": 1, "unread": 0}
    assert await unread(client, city.resident) == 0


async def test_one_event_one_message_read_then_zero(client, city):
    ticket = await report(client, city.resident, "9902")
    rejected = await client.post(f"/api/v1/tickets/{ticket['id']}/reject", headers=city.dispatcher,
                                 json={"reason": "不属于城市管理范围"})
    assert rejected.status_code == 200, rejected.text
    await deliver_all()
    assert await unread(client, city.resident) == 1
    [message] = (await messages(client, city.resident))["items"]
    assert message["title"] == "案件不予立案"
    await client.post(f"/api/v1/messages/{message['id']}/read", headers=city.resident)
    assert await unread(client, city.resident) == 0


async def test_someone_elses_message_cannot_be_read_or_seen(client, city):
    await report(client, city.resident, "9901")  # auto-accepted and dispatched
    await deliver_all()
    mine = (await messages(client, city.resident))["items"][0]
    theirs = await client.post(f"/api/v1/messages/{mine['id']}/read", headers=city.other_resident)
    assert theirs.status_code == 404 and error_code(theirs) == "message_not_found"
    missing = await client.post("/api/v1/messages/99999999/read", headers=city.resident)
    assert missing.status_code == 404
    huge = await client.post(f"/api/v1/messages/{2**40}/read", headers=city.resident)
    assert huge.status_code == 404
    assert await unread(client, city.resident) == 2  # untouched by the refused attempts
    assert (await client.get("/api/v1/messages")).status_code == 401


async def test_a_redelivered_row_never_shows_twice(client, city):
    await report(client, city.resident, "9901")
    await deliver_all()
    before = await messages(client, city.resident)
    count = await Message.all().count()
    # As if a worker died after writing the messages and before marking the rows sent.
    await Outbox.all().update(status=OutboxStatus.PENDING, push_state=PushState.UNDECIDED)
    assert await deliver_all() >= 2
    assert await messages(client, city.resident) == before
    assert await Message.all().count() == count


async def test_pages_through_many_messages_with_a_cursor(client, city):
    alice = await User.get(openid="dev-alice")
    now = utcnow()
    await Outbox.bulk_create([
        Outbox(kind="ticket.close", recipient_id=alice.id, ticket_id=None, available_at=now,
               payload={"number": f"2026112500{i:04d}", "action": "close", "status": "closed"})
        for i in range(25)])
    await deliver_all()
    seen, cursor = [], None
    while True:
        params = {"limit": 10} | ({"cursor": cursor} if cursor else {})
        page = await messages(client, city.resident, **params)
        seen += [m["id"] for m in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert len(seen) == 25 and seen == sorted(seen, reverse=True)
    bad = await client.get("/api/v1/messages", params={"cursor": "abc"}, headers=city.resident)
    assert bad.status_code == 422 and error_code(bad) == "invalid_cursor"
    too_many = await client.get("/api/v1/messages", params={"limit": 1000},
                                headers=city.resident)
    assert too_many.status_code == 422


async def test_rows_without_a_recipient_are_done_without_a_message(client, city):
    await Outbox.create(kind="ticket.close", recipient_id=None, payload={}, available_at=utcnow())
    assert await deliver_all() == 1
    row = await Outbox.first()
    assert row.status == OutboxStatus.SENT and row.push_state == PushState.SKIPPED
    assert await Message.all().count() == 0


async def test_without_wechat_configured_everything_is_in_app_only(client, city):
    alice = await User.get(openid="dev-alice")
    await client.post("/api/v1/messages/subscriptions", headers=city.resident,
                      json={"template_ids": ["T1"], "accepted": ["T1"]})
    await Outbox.create(kind="ticket.dispatch", recipient_id=alice.id,
                        payload={"number": "1", "status": "dispatched"}, available_at=utcnow())
    await deliver_all()  # settings: no WECHAT_APPID (development mode)
    row = await Outbox.first()
    assert row.status == OutboxStatus.SENT and row.push_state == PushState.SKIPPED
    assert await unread(client, city.resident) == 1
