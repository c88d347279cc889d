"""Residents see and export what we hold about them and delete their account (注销); the
retention jobs apply the documented periods (个人信息保护法)."""

from datetime import UTC, datetime, timedelta

from app.accounts import jobs as account_jobs
from app.accounts.models import RefreshToken, User
from app.notifications import jobs as notification_jobs
from app.notifications.models import Message, Outbox, OutboxStatus
from app.tickets.models import IdempotencyRecord, Ticket
from tests.factories import error_code
from tests.polls.helpers import build_town, create_poll, neighbour, vote
from tests.ratings.test_ratings import closed_ticket, ok, rating
from tests.tickets.helpers import report


async def test_a_resident_exports_reports_ratings_and_messages(client, city):
    tid = await closed_ticket(client, city)
    await ok(await client.post(f"/api/v1/tickets/{tid}/rating", headers=city.resident,
                               json=rating(comment="处理得很及时")), 201)
    me = await ok(await client.get("/api/v1/me", headers=city.resident))
    await Message.create(recipient_id=me["id"], kind="ticket.close", title="已办结",
                         body="您反映的问题已办结", ticket_id=tid, outbox_id=987654)
    data = await ok(await client.get("/api/v1/me/data", headers=city.resident))
    assert data["profile"]["id"] == me["id"]
    assert [r["id"] for r in data["sections"]["reports"]] == [tid]
    assert data["sections"]["reports"][0]["description"]
    assert [r["ticket_id"] for r in data["sections"]["ratings"]] == [tid]
    assert data["sections"]["ratings"][0]["comment"] == "处理得很及时"
    assert [m["title"] for m in data["sections"]["messages"]] == ["已办结"]
    assert {"account", "reports", "ratings", "messages"} <= set(data["retention"])
    # Only one's own: another resident's export holds none of it.
    other = await ok(await client.get("/api/v1/me/data", headers=city.other_resident))
    assert other["sections"]["reports"] == [] and other["sections"]["ratings"] == []


async def test_only_named_polls_export_their_answers(client):
    town = await build_town()
    named = await create_poll(client, town.staff, is_anonymous=False, title="楼道照明改造")
    secret = await create_poll(client, town.staff, title="停车改造")
    voter = await neighbour(client, "voter-pd")
    for poll in (named, secret):
        assert (await vote(client, voter, poll)).status_code == 201
    ballots = (await ok(await client.get("/api/v1/me/data", headers=voter)))[
        "sections"]["poll_ballots"]
    by_poll = {b["poll_id"]: b for b in ballots}
    assert set(by_poll) == {named["id"], secret["id"]}
    assert len(by_poll[named["id"]]["answers"]) == 3
    assert "answers" not in by_poll[secret["id"]]


async def test_deleting_my_account_keeps_reports_without_my_identity(client, city):
    login = await client.post("/api/v1/auth/dev", json={"openid": "leaving",
                                                         "display_name": "张三"})
    tokens = login.json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    await ok(await client.patch("/api/v1/me", json={"home_area_code": "990100001001"},
                                headers=headers))
    ticket = await report(client, headers)
    me = await ok(await client.get("/api/v1/me", headers=headers))
    await Message.create(recipient_id=me["id"], kind="ticket.accept", title="已受理",
                         body="您反映的问题已受理", ticket_id=ticket["id"], outbox_id=876543)

    response = await client.delete("/api/v1/me", headers=headers)
    assert response.status_code == 204

    # The report stays for the record; what it points at names no one.
    kept = await Ticket.get(id=ticket["id"])
    tombstone = await User.get(id=kept.reporter_id)
    assert tombstone.openid is None and tombstone.unionid is None
    assert tombstone.display_name == "已注销用户" and tombstone.home_area_id is None
    assert tombstone.deleted_at is not None and not tombstone.is_active
    detail = await ok(await client.get(f"/api/v1/tickets/{ticket['id']}",
                                       headers=city.dispatcher))
    assert "张三" not in str(detail)
    # What served only the person is gone, and no session survives.
    assert not await Message.filter(recipient_id=me["id"]).exists()
    assert not await IdempotencyRecord.filter(user_id=me["id"]).exists()
    assert await RefreshToken.filter(user_id=me["id"], revoked_at=None).count() == 0
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
    refreshed = await client.post("/api/v1/auth/refresh",
                                  json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 401
    # Signing in again with the same WeChat starts a new, empty account.
    again = await ok(await client.get("/api/v1/me/data", headers=await _login(client, "leaving")))
    assert again["profile"]["id"] != me["id"] and again["sections"]["reports"] == []


async def test_staff_cannot_delete_their_account_themselves(client, city):
    response = await client.delete("/api/v1/me", headers=city.worker)
    assert response.status_code == 403
    assert error_code(response) == "staff_account"


async def test_retention_jobs_prune_old_messages_outbox_rows_and_sessions(client, city):
    me = await ok(await client.get("/api/v1/me", headers=city.resident))
    now = datetime.now(UTC)
    old, fresh = (await Message.create(recipient_id=me["id"], kind="k", title="旧", body="b",
                                       outbox_id=1001),
                  await Message.create(recipient_id=me["id"], kind="k", title="新", body="b",
                                       outbox_id=1002))
    days = notification_jobs.MESSAGE_RETENTION_DAYS
    await Message.filter(id=old.id).update(created_at=now - timedelta(days=days + 1))
    sent_long_ago = await Outbox.create(kind="k", recipient_id=me["id"], available_at=now,
                                        status=OutboxStatus.SENT,
                                        sent_at=now - timedelta(days=91))
    sent_lately = await Outbox.create(kind="k", recipient_id=me["id"], available_at=now,
                                      status=OutboxStatus.SENT, sent_at=now - timedelta(days=89))
    pending = await Outbox.create(kind="k", recipient_id=me["id"], available_at=now)
    assert await notification_jobs.prune(now=now) == 2
    assert await Message.filter(id__in=[old.id, fresh.id]).values_list("id", flat=True) == [
        fresh.id]
    left = set(await Outbox.filter(id__in=[sent_long_ago.id, sent_lately.id, pending.id])
               .values_list("id", flat=True))
    assert left == {sent_lately.id, pending.id}

    before = await RefreshToken.filter(user_id=me["id"]).count()
    await RefreshToken.filter(user_id=me["id"]).update(expires_at=now - timedelta(days=31))
    assert await account_jobs.prune(now=now) >= before
    assert not await RefreshToken.filter(user_id=me["id"]).exists()


async def _login(client, openid):
    response = await client.post("/api/v1/auth/dev", json={"openid": openid})
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
