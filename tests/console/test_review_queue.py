"""内容审核 in the console: what the content check held (a case description, a rating comment, a
poll's free-text answer) is listed for the staff of its area, who release it or keep it."""

from __future__ import annotations

import re

from app.accounts.models import Role, RoleGrant
from app.polls.models import PollAnswer
from app.ratings.models import Rating
from app.tickets.models import Ticket
from tests.console.helpers import sign_in
from tests.factories import make_staff
from tests.polls.helpers import create_poll, neighbour, vote
from tests.support import base_settings
from tests.tickets.helpers import report

WORD = "代开发票"


async def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


async def held_everything(client, city) -> dict:
    """A held description, a held rating comment and a held poll answer in 990100001001."""
    base_settings(content_blocklist=WORD)
    ticket = await report(client, city.resident, "9901", description=f"{WORD} 联系电话 138")
    closed = (await report(client, city.resident, "9904"))["id"]
    await ok(await client.post(f"/api/v1/tasks/{closed}/claim", json={}, headers=city.worker))
    await ok(await client.post(f"/api/v1/tasks/{closed}/handle", json={"note": "已清理"},
                               headers=city.worker))
    await ok(await client.post(f"/api/v1/tickets/{closed}/verify", json={"passed": True},
                               headers=city.worker2))
    rating = await ok(await client.post(
        f"/api/v1/tickets/{closed}/rating", headers=city.resident,
        json={"result": "satisfied", "service": "satisfied", "comment": f"谢谢，{WORD}请找我"}), 201)
    poll = await create_poll(client, city.community_staff, is_anonymous=False)
    carol = await neighbour(client, "carol")
    assert (await vote(client, carol, poll, text=f"{WORD}找我")).status_code == 201
    assert ticket["content_held"] and rating["comment_held"]
    return {"ticket": ticket, "rating": rating, "poll": poll}


async def community_staff(client) -> str:
    grant = await (RoleGrant.filter(role=Role.COMMUNITY_STAFF).select_related("user")
                   .order_by("id").first())
    return await sign_in(client, grant.user.username)


async def test_community_staff_release_each_kind_of_held_text_from_the_queue(client, city):
    held = await held_everything(client, city)
    csrf = await community_staff(client)
    home = await client.get("/console/")
    assert "内容审核" in home.text  # in the menu

    queue = await client.get("/console/review")
    assert queue.status_code == 200
    assert "案件描述（1）" in queue.text and "评价留言（1）" in queue.text
    assert "投票文字回答（1）" in queue.text
    assert f"{WORD} 联系电话 138" in queue.text and f"谢谢，{WORD}请找我" in queue.text
    [answer_path] = re.findall(r'action="(/console/review/polls/\d+/texts/[0-9a-f-]+/release)"',
                               queue.text)

    tid, rid = held["ticket"]["id"], held["rating"]["id"]
    released = await client.post(f"/console/review/tickets/{tid}/release",
                                 data={"csrf_token": csrf})
    assert released.status_code == 303 and released.headers["location"] == "/console/review?done=ticket"
    shown = await client.get(f"/api/v1/tickets/{tid}", headers=city.other_resident)
    assert shown.status_code == 200  # a neighbour sees the public case now

    released = await client.post(f"/console/review/ratings/{rid}/release",
                                 data={"csrf_token": csrf, "seen": f"谢谢，{WORD}请找我"})
    assert released.status_code == 303
    assert not (await Rating.get(id=rid)).comment_held

    released = await client.post(answer_path, data={"csrf_token": csrf})
    assert released.status_code == 303
    results = await ok(await client.get(f"/api/v1/polls/{held['poll']['id']}/results",
                                        headers=city.community_staff))
    [texts] = [q["texts"] for q in results["questions"] if q["kind"] == "text"]
    assert texts == [f"{WORD}找我"]  # in the results (and their exports) now

    after = await client.get("/console/review?done=poll")
    assert "已放行投票回答" in after.text
    assert "案件描述（0）" in after.text and "评价留言（0）" in after.text
    assert "投票文字回答（0）" in after.text


async def test_kept_items_stay_hidden_and_leave_the_queue(client, city):
    held = await held_everything(client, city)
    csrf = await community_staff(client)
    queue = await client.get("/console/review")
    [answer_path] = re.findall(r'formaction="(/console/review/polls/\d+/texts/[0-9a-f-]+/keep)"',
                               queue.text)
    tid, rid = held["ticket"]["id"], held["rating"]["id"]
    kept = await client.post(f"/console/review/tickets/{tid}/keep", data={"csrf_token": csrf})
    assert kept.status_code == 303 and kept.headers["location"] == "/console/review?done=kept"
    assert (await client.post(f"/console/review/ratings/{rid}/keep", data={
        "csrf_token": csrf, "seen": f"谢谢，{WORD}请找我"})).status_code == 303
    assert (await client.post(answer_path, data={"csrf_token": csrf})).status_code == 303

    after = await client.get("/console/review?done=kept")
    assert "已保留不公开" in after.text
    assert "案件描述（0）" in after.text and "评价留言（0）" in after.text
    assert "投票文字回答（0）" in after.text
    hidden = await client.get(f"/api/v1/tickets/{tid}", headers=city.other_resident)
    assert hidden.status_code == 404
    assert (await Rating.get(id=rid)).comment_held
    assert await PollAnswer.filter(text_held=True).count() == 1


async def test_a_comment_edited_after_the_reviewer_read_it_is_not_released(client, city):
    held = await held_everything(client, city)
    csrf = await community_staff(client)
    queue = await client.get("/console/review")
    assert 'name="seen" value="谢谢，代开发票请找我"' in queue.text
    rid = held["rating"]["id"]
    edited = await client.patch(f"/api/v1/ratings/{rid}", headers=city.resident,
                                json={"comment": f"改了：{WORD}加微信"})
    assert edited.status_code == 200 and edited.json()["comment_held"]

    stale = await client.post(f"/console/review/ratings/{rid}/release",
                              data={"csrf_token": csrf, "seen": f"谢谢，{WORD}请找我"})
    assert stale.status_code == 409 and "评价留言已被修改，请重新审核" in stale.text
    assert (await Rating.get(id=rid)).comment_held
    assert f"改了：{WORD}加微信" in (await client.get("/console/review")).text


async def test_a_release_without_the_csrf_token_changes_nothing(client, city):
    held = await held_everything(client, city)
    await community_staff(client)
    tid = held["ticket"]["id"]
    refused = await client.post(f"/console/review/tickets/{tid}/release")
    assert refused.status_code == 403 and "CSRF" in refused.text
    assert (await Ticket.get(id=tid)).content_held


async def test_staff_of_another_community_see_none_of_it_and_cannot_release_it(client, city):
    held = await held_everything(client, city)
    await make_staff(Role.COMMUNITY_STAFF, area_code="990100002001", username="far-staff")
    csrf = await sign_in(client, "far-staff")
    queue = await client.get("/console/review")
    assert queue.status_code == 200 and WORD not in queue.text
    tid, rid = held["ticket"]["id"], held["rating"]["id"]
    answer = await PollAnswer.get(text_held=True)
    for path, message in [
            (f"/console/review/tickets/{tid}/release", "找不到该案件"),
            (f"/console/review/ratings/{rid}/release", "找不到该评价"),
            (f"/console/review/polls/{held['poll']['id']}/texts/{answer.id}/release",
             "找不到该投票")]:
        refused = await client.post(path, data={"csrf_token": csrf})
        assert refused.status_code == 404 and message in refused.text, path
    assert (await Ticket.get(id=tid)).content_held and (await Rating.get(id=rid)).comment_held
    assert (await PollAnswer.get(id=answer.id)).text_held


async def test_a_grid_worker_has_no_review_queue(client, city):
    grant = await RoleGrant.filter(role=Role.GRID_WORKER).select_related("user").first()
    await sign_in(client, grant.user.username)
    home = await client.get("/console/")
    assert "内容审核" not in home.text
    page = await client.get("/console/review")
    assert page.status_code == 403 and "只有派遣员、社区工作人员和管理员可以审核内容" in page.text
