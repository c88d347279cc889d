"""Photos other people see: WeChat's asynchronous image check (media_check_async v2 and its
wxa_media_check push) holds a photo until it passes, a risky one is hidden for good and its
owner reads why; staff hide a photo with a reason and restore it.

The fake WeChat answers media_check_async over HTTP (wechatpy talks to it); the test then
posts the push event, signed as WeChat signs it, to /api/v1/wechat/push.
"""

import asyncio
import io

import pytest
from PIL import Image

from app.media import moderation
from app.media.models import Media, MediaCheck, MediaModeration
from tests.factories import error_code
from tests.fakes.wechat import MEDIA_CHECK_PATH, FakeWeChat, media_check_event, push_query, start
from tests.support import base_settings
from tests.tickets.helpers import report

PUSH_TOKEN = "push-token-AAAAA"
COMMUNITY = "990100001001"


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(out, "JPEG")
    return out.getvalue()


async def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


async def photo(client, headers) -> int:
    ticket = await ok(await client.post("/api/v1/media/uploads", json={"purpose": "report"},
                                        headers=headers), 201)
    sent = await ok(await client.post(
        f"/api/v1/media/uploads/{ticket['media_id']}/file", headers=headers,
        files={"file": ("p.jpg", jpeg(), "image/jpeg")}), 201)
    return sent["id"]


@pytest.fixture
async def wechat(client, city):
    """WeChat configured with a message-push token, after the residents' dev logins."""
    for headers in (city.resident, city.other_resident):
        await ok(await client.patch("/api/v1/me", json={"home_area_code": COMMUNITY},
                                    headers=headers))
    fake = FakeWeChat()
    server = start(fake)
    base_settings(wechat_appid=fake.appid, wechat_secret=fake.secret, wechat_api_base=fake.url,
                  wechat_push_token=PUSH_TOKEN)
    yield fake
    server.shutdown()


async def push(client, fake, trace_id, suggest, *, token=PUSH_TOKEN):
    event = media_check_event(appid=fake.appid, openid="alice", trace_id=trace_id,
                              suggest=suggest)
    return await client.post("/api/v1/wechat/push", params=push_query(token), json=event)


def photos(detail):
    return {m["id"]: m for m in detail["media"]}


async def views(client, city, ticket_id):
    mine = await ok(await client.get(f"/api/v1/tickets/{ticket_id}", headers=city.resident))
    other = await ok(await client.get(f"/api/v1/tickets/{ticket_id}",
                                      headers=city.other_resident))
    staff = await ok(await client.get(f"/api/v1/tickets/{ticket_id}",
                                      headers=city.community_staff))
    return mine, other, staff


async def test_a_photo_is_held_until_wechat_passes_it(client, city, wechat):
    media_id = await photo(client, city.resident)
    [check] = wechat.media_checks
    assert (check["version"], check["media_type"], check["openid"]) == (2, 2, "dev-alice")
    assert check["media_url"].startswith("http") and "sig=" in check["media_url"]
    assert MEDIA_CHECK_PATH in [path for path, _ in wechat.requests]
    ticket = await report(client, city.resident, media_ids=[media_id])

    mine, other, staff = await views(client, city, ticket["id"])
    assert photos(mine)[media_id]["check"] == "checking"
    assert photos(mine)[media_id]["held_reason"] == "图片审核中，通过后他人可见"
    assert photos(mine)[media_id]["url"]  # the owner sees their own photo meanwhile
    assert photos(other) == {}  # nobody else does
    assert photos(staff)[media_id]["url"]

    answered = await push(client, wechat, "trace-media-1", "pass")
    assert answered.status_code == 200 and answered.text == "success"
    mine, other, _ = await views(client, city, ticket["id"])
    assert photos(other)[media_id]["check"] == "passed" and photos(other)[media_id]["url"]
    assert photos(mine)[media_id]["held_reason"] is None


async def test_a_risky_photo_is_hidden_for_good_and_its_owner_reads_why(client, city, wechat):
    media_id = await photo(client, city.resident)
    ticket = await report(client, city.resident, media_ids=[media_id])
    assert (await push(client, wechat, "trace-media-1", "risky")).status_code == 200
    # WeChat repeats a push it thinks was lost: nothing changes, it is answered again.
    assert (await push(client, wechat, "trace-media-1", "pass")).status_code == 200

    mine, other, staff = await views(client, city, ticket["id"])
    assert photos(other) == {}
    shown = photos(mine)[media_id]
    assert (shown["check"], shown["url"]) == ("risky", None)
    assert "未通过内容安全检测" in shown["held_reason"]
    assert photos(staff)[media_id]["check"] == "risky"
    steps = [(s["action"], s["actor_label"]) for s in staff["timeline"]]
    assert ("photo_check_risky", "系统") in steps
    refused = await client.post(f"/api/v1/media/{media_id}/restore", json={"reason": "误判"},
                                headers=city.community_staff)
    assert refused.status_code == 409 and error_code(refused) == "media_risky"


async def test_a_doubtful_photo_waits_for_staff_to_release_it(client, city, wechat):
    media_id = await photo(client, city.resident)
    ticket = await report(client, city.resident, media_ids=[media_id])
    await push(client, wechat, "trace-media-1", "review")
    _, other, _ = await views(client, city, ticket["id"])
    assert photos(other) == {}
    released = await ok(await client.post(f"/api/v1/media/{media_id}/restore",
                                          json={"reason": "人工看过，无问题"},
                                          headers=city.community_staff))
    assert released["check"] == "passed"
    _, other, _ = await views(client, city, ticket["id"])
    assert media_id in photos(other)


async def test_the_push_is_refused_without_wechats_signature(client, city, wechat):
    media_id = await photo(client, city.resident)
    forged = await push(client, wechat, "trace-media-1", "pass", token="guessed")
    assert forged.status_code == 401 and error_code(forged) == "invalid_push_signature"
    unsigned = await client.post("/api/v1/wechat/push", json={"Event": "wxa_media_check"})
    assert unsigned.status_code == 401
    assert (await Media.get(id=media_id)).check == MediaCheck.CHECKING
    # The server-address check WeChat makes when the push URL is configured.
    echoed = await client.get("/api/v1/wechat/push",
                              params={**push_query(PUSH_TOKEN), "echostr": "4375120948"})
    assert echoed.status_code == 200 and echoed.text == "4375120948"
    bad_body = await client.post("/api/v1/wechat/push", params=push_query(PUSH_TOKEN),
                                 content=b"{not json")
    assert bad_body.status_code == 422 and error_code(bad_body) == "invalid_push"
    xml = await client.post("/api/v1/wechat/push", params=push_query(PUSH_TOKEN),
                            content=b"<xml><Event>wxa_media_check</Event></xml>",
                            headers={"Content-Type": "text/xml"})
    assert xml.status_code == 415  # the push must be configured as JSON


async def test_a_photo_wechat_could_not_take_is_sent_again_by_the_job(client, city, wechat):
    wechat.media_check_errcode = -1
    media_id = await photo(client, city.resident)
    assert wechat.media_checks == [] and (await Media.get(id=media_id)).check_trace_id is None
    wechat.media_check_errcode = 0
    assert await moderation.resend_unanswered() == 1
    assert (await Media.get(id=media_id)).check_trace_id == "trace-media-1"
    assert await moderation.resend_unanswered() == 0  # sent, waiting for the push


async def test_without_wechat_the_local_rule_passes_a_stored_photo(client, city):
    media_id = await photo(client, city.resident)
    ticket = await report(client, city.resident, media_ids=[media_id])
    _, other, _ = await views(client, city, ticket["id"])
    assert photos(other)[media_id]["check"] == "passed"
    # And the push endpoint does not exist for WeChat's signature to be guessed at.
    absent = await client.post("/api/v1/wechat/push", params=push_query(""), json={})
    assert absent.status_code == 404


async def test_staff_hide_a_photo_with_a_reason_and_restore_it(client, city):
    media_id = await photo(client, city.resident)
    ticket = await report(client, city.resident, media_ids=[media_id])
    hidden = await ok(await client.post(f"/api/v1/media/{media_id}/hide",
                                        json={"reason": "照片含有他人面部"},
                                        headers=city.community_staff))
    assert hidden["hidden"] is True

    mine, other, staff = await views(client, city, ticket["id"])
    assert photos(other) == {}
    assert photos(mine)[media_id]["url"] is None
    assert photos(mine)[media_id]["held_reason"] == "工作人员已隐藏此图片：照片含有他人面部"
    step = next(s for s in staff["timeline"] if s["action"] == "photo_hide")
    assert (step["actor_label"], step["note"]) == ("社区工作人员 吴", "照片含有他人面部")
    assert photos(staff)[media_id]["url"]  # staff still see it, to restore it
    # The reporter reads the step about their photo too; other residents do not.
    assert any(s["action"] == "photo_hide" for s in mine["timeline"])
    assert not any(s["action"].startswith("photo_") for s in other["timeline"])

    again = await client.post(f"/api/v1/media/{media_id}/hide", json={"reason": "再次"},
                              headers=city.dispatcher)
    assert again.status_code == 409 and error_code(again) == "already_hidden"
    await ok(await client.post(f"/api/v1/media/{media_id}/restore", json={"reason": "已核实"},
                               headers=city.dispatcher))
    _, other, staff = await views(client, city, ticket["id"])
    assert media_id in photos(other)
    assert [s["action"] for s in staff["timeline"] if s["action"].startswith("photo_")] == [
        "photo_hide", "photo_restore"]
    twice = await client.post(f"/api/v1/media/{media_id}/restore", json={"reason": "x"},
                              headers=city.community_staff)
    assert twice.status_code == 409 and error_code(twice) == "not_hidden"


async def test_two_staff_hiding_one_photo_at_once_hide_it_once(client, city):
    media_id = await photo(client, city.resident)
    await report(client, city.resident, media_ids=[media_id])
    answers = await asyncio.gather(*(
        client.post(f"/api/v1/media/{media_id}/hide", json={"reason": f"原因{i}"},
                    headers=headers)
        for i, headers in enumerate((city.community_staff, city.dispatcher))))
    assert sorted(a.status_code for a in answers) == [200, 409]
    assert await MediaModeration.filter(media_id=media_id).count() == 1


async def test_only_the_tickets_community_staff_and_dispatchers_hide_photos(client, city):
    media_id = await photo(client, city.resident)
    await report(client, city.resident, media_ids=[media_id])
    for headers in (city.worker, city.handler, city.other_resident, city.resident):
        refused = await client.post(f"/api/v1/media/{media_id}/hide", json={"reason": "x"},
                                    headers=headers)
        assert refused.status_code == 403, (refused.text, headers)
    blank = await client.post(f"/api/v1/media/{media_id}/hide", json={"reason": "  "},
                              headers=city.community_staff)
    assert blank.status_code == 422
    # A photo on no ticket is not found, even for staff.
    loose = await photo(client, city.other_resident)
    missing = await client.post(f"/api/v1/media/{loose}/hide", json={"reason": "x"},
                                headers=city.dispatcher)
    assert missing.status_code == 404
