"""Community staff in the console: answering ratings (reply, 重办, decline) and running polls."""

from __future__ import annotations

import asyncio
import csv
import io
import re

from app.accounts.models import Role
from app.polls.models import Poll
from app.ratings.models import RatingReply
from tests.console.helpers import sign_in
from tests.factories import make_staff
from tests.polls.helpers import COMMUNITY, neighbour
from tests.tickets.helpers import report

HTMX = {"HX-Request": "true"}
EAST = "990100001001"  # the city's community with cell 990100001001001, where reports land
ACROSS_TOWN = "990100002001"


async def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


async def rated_ticket(client, city, result="unsatisfied", comment="垃圾还是没清干净"):
    """A closed ticket in EAST rated by its reporter: (ticket id, rating id)."""
    tid = (await report(client, city.resident, "9904"))["id"]
    await ok(await client.post(f"/api/v1/tasks/{tid}/claim", json={}, headers=city.worker))
    await ok(await client.post(f"/api/v1/tasks/{tid}/handle", json={"note": "已清理"},
                               headers=city.worker))
    await ok(await client.post(f"/api/v1/tickets/{tid}/verify", json={"passed": True},
                               headers=city.worker2))
    rated = await ok(await client.post(f"/api/v1/tickets/{tid}/rating", headers=city.resident, json={
        "result": result, "service": "satisfied", "comment": comment}), 201)
    return tid, rated["id"]


async def community_staff(client, area=EAST, username="cs-east", name="吴社区") -> dict:
    """Community staff signed in on `client`; returns htmx headers with the session's token."""
    await make_staff(Role.COMMUNITY_STAFF, area_code=area, username=username, name=name)
    return {**HTMX, "X-CSRF-Token": await sign_in(client, username)}


# --- ratings --------------------------------------------------------------------------------------


async def test_a_reply_in_the_console_is_what_the_api_and_the_resident_see(client, city):
    tid, rid = await rated_ticket(client, city)
    headers = await community_staff(client)
    page = await client.get("/console/ratings")
    assert page.status_code == 200
    assert f'data-rating="{rid}"' in page.text and "垃圾还是没清干净" in page.text
    assert ">评价回复</a>" in page.text and ">民意调查</a>" in page.text  # their menu

    answered = await client.post(f"/console/ratings/{rid}/reply", headers=headers,
                                 data={"body": "抱歉，已安排重新清理"})
    assert answered.status_code == 200
    assert "回复已发送" in answered.text and "抱歉，已安排重新清理" in answered.text
    assert answered.headers["HX-Trigger"] == "rating-changed"

    seen = await ok(await client.get(f"/api/v1/tickets/{tid}/ratings", headers=city.resident))
    [reply] = seen["items"][0]["replies"]
    assert reply["body"] == "抱歉，已安排重新清理" and reply["author_label"] == "社区工作人员 吴"
    queue = await ok(await client.get("/api/v1/ratings/queue", headers=city.community_staff,
                                      params={"only_open": "true"}))
    assert queue["items"] == []
    waiting = await client.get("/console/ratings")  # 待回复: answered ones leave the list
    assert f'data-rating="{rid}"' not in waiting.text and "没有待回复的评价" in waiting.text
    everything = await client.get("/console/ratings", params={"view": "all"})
    assert f'data-rating="{rid}"' in everything.text


async def test_rework_sends_the_ticket_back_and_a_late_decline_sees_the_new_state(client, city):
    tid, rid = await rated_ticket(client, city)
    headers = await community_staff(client)
    card = await client.get(f"/console/ratings/{rid}")
    assert "退回重办" in card.text and "不予重办" in card.text
    sent = await client.post(f"/console/ratings/{rid}/rework", headers=headers,
                             data={"reason": "居民反映仍未清理干净"})
    assert sent.status_code == 200 and "已退回重办" in sent.text
    assert f'action="/console/ratings/{rid}/decline"' not in sent.text  # decided: no form
    ticket = await ok(await client.get(f"/api/v1/tickets/{tid}", headers=city.dispatcher))
    assert ticket["status"] == "dispatched"
    assert "rate_rework" in [e["action"] for e in ticket["timeline"]]

    # A second staff member's page still offered "不予重办": the decision was already taken.
    stale = await client.post(f"/console/ratings/{rid}/decline", headers=headers,
                              data={"reason": "不属于本案范围"})
    assert stale.status_code == 409
    assert "该评价已被其他工作人员处理，未执行您的操作" in stale.text
    assert "已退回重办：居民反映仍未清理干净" in stale.text  # the rating as it now is
    rating = await ok(await client.get(f"/api/v1/tickets/{tid}/ratings", headers=city.resident))
    assert rating["items"][0]["outcome"] == "rework"


async def test_decline_records_the_reason_and_a_satisfied_rating_has_no_decision(client, city):
    _, rid = await rated_ticket(client, city)
    headers = await community_staff(client)
    declined = await client.post(f"/console/ratings/{rid}/decline", headers=headers,
                                 data={"reason": "属于物业合同范围，已转告物业"})
    assert declined.status_code == 200 and "不予重办：属于物业合同范围，已转告物业" in declined.text
    _, happy = await rated_ticket(client, city, result="satisfied", comment="很好")
    card = await client.get(f"/console/ratings/{happy}")
    assert "退回重办" not in card.text
    refused = await client.post(f"/console/ratings/{happy}/rework", headers=headers,
                                data={"reason": "x"})
    assert refused.status_code == 409 and "无需重办" in refused.text


async def test_bad_input_and_a_missing_csrf_token_write_nothing(client, city):
    _, rid = await rated_ticket(client, city)
    headers = await community_staff(client)
    empty = await client.post(f"/console/ratings/{rid}/reply", headers=headers,
                              data={"body": "   "})
    assert empty.status_code == 422 and "请填写回复内容" in empty.text
    too_long = await client.post(f"/console/ratings/{rid}/decline", headers=headers,
                                 data={"reason": "长" * 300})
    assert too_long.status_code == 422 and "不能超过 255 字" in too_long.text
    forged = await client.post(f"/console/ratings/{rid}/reply", headers=HTMX,
                               data={"body": "没有令牌"})
    assert forged.status_code == 403 and "CSRF" in forged.text
    unknown = await client.post(f"/console/ratings/{rid}/approve", headers=headers,
                                data={"body": "x"})
    assert unknown.status_code == 404
    assert await RatingReply.filter(rating_id=rid).count() == 0


async def test_another_communitys_staff_see_nothing_of_it(client, city):
    _, rid = await rated_ticket(client, city)
    headers = await community_staff(client, area=ACROSS_TOWN, username="cs-west", name="郑社区")
    listed = await client.get("/console/ratings", params={"view": "all"})
    assert listed.status_code == 200 and f'data-rating="{rid}"' not in listed.text
    assert (await client.get(f"/console/ratings/{rid}")).status_code == 404
    for action, field in (("reply", "body"), ("rework", "reason"), ("decline", "reason")):
        refused = await client.post(f"/console/ratings/{rid}/{action}", headers=headers,
                                    data={field: "越权操作"})
        assert refused.status_code == 404, action
    api = await client.post(f"/api/v1/ratings/{rid}/replies", json={"body": "x"},
                            headers=(await make_staff(Role.COMMUNITY_STAFF,
                                                      area_code=ACROSS_TOWN))[1])
    assert api.status_code == 404  # the API answers the same
    assert await RatingReply.filter(rating_id=rid).count() == 0


async def test_a_grid_worker_has_neither_page_nor_menu(client, city):
    await make_staff(Role.GRID_WORKER, area_code="990100001001001", username="gw-c", name="王网格")
    token = await sign_in(client, "gw-c")
    home = await client.get("/console/")
    assert "评价回复" not in home.text and "民意调查" not in home.text
    assert (await client.get("/console/ratings")).status_code == 403
    assert (await client.get("/console/polls")).status_code == 403
    made = await client.post("/console/polls", headers={"X-CSRF-Token": token},
                             data={"title": "x", "step": "publish"})
    assert made.status_code == 403


# --- polls ----------------------------------------------------------------------------------------


def poll_form(**overrides) -> dict:
    """The new-poll form as a browser posts it (Beijing wall-clock times)."""
    form = {
        "area_code": COMMUNITY, "title": "小区停车改造意见征集", "description": "请大家提意见",
        "opens_at": "", "closes_at": "2099-01-01T18:00", "is_anonymous": "1",
        "results_visibility": "after_vote",
        "q1_kind": "single", "q1_prompt": "您是否支持改造？", "q1_options": "支持\n不支持\n",
        "q1_required": "1",
        "q2_kind": "scale", "q2_prompt": "您对目前停车秩序的满意度", "q2_required": "1",
        "q3_kind": "single", "q3_prompt": "", "q3_options": "",
    }
    form.update(overrides)
    return form


async def test_a_poll_published_in_the_console_is_voted_on_and_its_results_shown(client, city):
    headers = await community_staff(client)
    new = await client.get("/console/polls/new")
    assert new.status_code == 200 and f'value="{COMMUNITY}"' in new.text
    token = headers["X-CSRF-Token"]

    preview = await client.post("/console/polls", data={
        **poll_form(), "step": "preview", "csrf_token": token})
    assert preview.status_code == 200 and "预览：小区停车改造意见征集" in preview.text
    assert await Poll.all().count() == 0  # a preview writes nothing

    published = await client.post("/console/polls", data={
        **poll_form(), "step": "publish", "csrf_token": token})
    assert published.status_code == 303
    poll_id = int(re.search(r"/console/polls/(\d+)", published.headers["location"]).group(1))
    shown = await client.get(published.headers["location"])
    assert "投票已发布，居民现在可以参与" in shown.text

    voter = await neighbour(client, "carol")
    poll = await ok(await client.get(f"/api/v1/polls/{poll_id}", headers=voter))
    assert poll["can_vote"] and poll["closes_at"].startswith("2099-01-01T10:00")  # 18:00 北京
    single, scale = poll["questions"]
    assert [o["label"] for o in single["options"]] == ["支持", "不支持"]
    assert scale["kind"] == "scale" and len(poll["questions"]) == 2  # the blank one is dropped
    for openid, choice, value in (("carol", "1", 4), ("dave", "1", 5), ("erin", "2", 2)):
        who = voter if openid == "carol" else await neighbour(client, openid)
        await ok(await client.post(f"/api/v1/polls/{poll_id}/responses", headers=who, json={
            "answers": [{"question_id": single["id"], "option_ids": [choice]},
                        {"question_id": scale["id"], "value": value}]}), 201)

    page = await client.get(f"/console/polls/{poll_id}")
    assert re.search(r'class="respondents">3<', page.text)
    assert re.search(r'data-option="1"><th scope="row">支持</th><td class="value">2<', page.text)
    assert re.search(r'data-option="2"><th scope="row">不支持</th><td class="value">1<', page.text)
    assert "平均 3.67 分" in page.text and 'id="poll-charts"' in page.text
    listed = await client.get("/console/polls")
    assert f'data-poll="{poll_id}"' in listed.text

    exported = await client.get(f"/console/polls/{poll_id}/results.csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert exported.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    counts = {(r[4], r[8]): r[9] for r in rows[1:]}
    assert counts[("您是否支持改造？", "支持")] == "2" and counts[("您是否支持改造？", "不支持")] == "1"
    assert counts[("您对目前停车秩序的满意度", "4分")] == "1"
    api_csv = await client.get(f"/api/v1/polls/{poll_id}/results.csv",
                               headers=city.community_staff)
    assert api_csv.text == exported.text  # the API's export, through the console
    by_area = await client.get(f"/console/polls/{poll_id}", params={"by": "community"})
    assert "人数较少的区域（合并显示）" in by_area.text  # anonymous: 3 < 5 are folded
    assert (await client.get(f"/console/polls/{poll_id}", params={"by": "nope"})).status_code == 422


async def test_a_bad_poll_form_says_what_is_wrong_and_creates_nothing(client, city):
    headers = await community_staff(client)
    token = headers["X-CSRF-Token"]
    cases = [
        ({"closes_at": ""}, "请填写结束时间"),
        ({"closes_at": "2020-01-01T08:00"}, "结束时间必须晚于开始时间"),  # opens: now
        ({"q1_options": "只有一个"}, "第1题：选择题至少需要两个选项"),
        ({"q1_prompt": "", "q1_options": "", "q2_prompt": ""}, "请至少填写一道题目"),
        ({"q1_kind": "multiple", "q1_max": "abc"}, "第1题：最多选几项填写有误"),
        ({"title": ""}, "标题填写有误"),
    ]
    for change, message in cases:
        answer = await client.post("/console/polls", data={
            **poll_form(**change), "step": "publish", "csrf_token": token})
        assert answer.status_code == 422, change
        assert message in answer.text, (change, answer.text[-2000:])
        assert "小区停车改造意见征集" in answer.text or not change.get("title", "x")  # kept
    outside = await client.post("/console/polls", data={
        **poll_form(area_code=ACROSS_TOWN), "step": "publish", "csrf_token": token})
    assert outside.status_code == 403 and "只能在自己负责的区域内发起投票" in outside.text
    forged = await client.post("/console/polls", data={**poll_form(), "step": "publish"})
    assert forged.status_code == 403
    assert await Poll.all().count() == 0


async def test_closing_early_and_a_second_close_that_comes_too_late(client, city):
    headers = await community_staff(client)
    made = await client.post("/console/polls", data={
        **poll_form(), "step": "publish", "csrf_token": headers["X-CSRF-Token"]})
    poll_id = int(made.headers["location"].split("/")[-1].split("?")[0])
    no_reason = await client.post(f"/console/polls/{poll_id}/close", headers=headers,
                                  data={"reason": ""})
    assert no_reason.status_code == 422 and "请填写提前结束的原因" in no_reason.text
    closed = await client.post(f"/console/polls/{poll_id}/close", headers=headers,
                               data={"reason": "改造方案有变"})
    assert closed.status_code == 200 and "投票已结束" in closed.text
    assert 'id="close-reason"' not in closed.text
    again = await client.post(f"/console/polls/{poll_id}/close", headers=headers,
                              data={"reason": "再结束一次"})
    assert again.status_code == 409 and "该投票已经结束" in again.text
    voter = await neighbour(client, "frank")
    seen = await ok(await client.get(f"/api/v1/polls/{poll_id}", headers=voter))
    assert seen["status"] == "closed" and seen["close_reason"] == "改造方案有变"


async def test_another_communitys_staff_and_dispatchers_cannot_reach_a_poll(client, city):
    headers = await community_staff(client)
    made = await client.post("/console/polls", data={
        **poll_form(), "step": "publish", "csrf_token": headers["X-CSRF-Token"]})
    poll_id = int(made.headers["location"].split("/")[-1].split("?")[0])
    client.cookies.clear()
    west = await community_staff(client, area=ACROSS_TOWN, username="cs-west", name="郑社区")
    assert (await client.get(f"/console/polls/{poll_id}")).status_code == 404
    assert (await client.get(f"/console/polls/{poll_id}/results.csv")).status_code == 404
    refused = await client.post(f"/console/polls/{poll_id}/close", headers=west,
                                data={"reason": "越权"})
    assert refused.status_code == 404
    listed = await client.get("/console/polls")
    assert listed.status_code == 200 and f'data-poll="{poll_id}"' not in listed.text
    client.cookies.clear()
    await make_staff(Role.DISPATCHER, area_code="990100", username="disp-c", name="李派遣")
    await sign_in(client, "disp-c")
    home = await client.get("/console/")
    assert ">评价回复</a>" in home.text and ">民意调查</a>" not in home.text
    assert (await client.get(f"/console/polls/{poll_id}")).status_code == 403
    assert (await client.get("/console/polls/new")).status_code == 403
    assert await Poll.filter(id=poll_id, close_reason="").exists()  # still open


async def test_a_double_posted_publish_makes_one_poll(client, city):
    headers = await community_staff(client)
    token = headers["X-CSRF-Token"]
    new = await client.get("/console/polls/new")
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', new.text).group(1)
    # 预览 carries the key the form was made with, so 发布 from the preview uses it too.
    preview = await client.post("/console/polls", data={
        **poll_form(), "step": "preview", "csrf_token": token, "idempotency_key": key})
    assert f'name="idempotency_key" value="{key}"' in preview.text

    form = {**poll_form(), "step": "publish", "csrf_token": token, "idempotency_key": key}
    first = await client.post("/console/polls", data=form)
    again = await client.post("/console/polls", data=form)  # the browser resends the form
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert await Poll.all().count() == 1

    twins = await asyncio.gather(*(client.post("/console/polls", data={**form, "idempotency_key":
                                                                       "double-click-1"})
                                   for _ in range(2)))
    assert await Poll.all().count() == 2, [t.status_code for t in twins]
    assert any(t.status_code == 303 for t in twins)
    fresh = await client.get("/console/polls/new")
    assert key not in fresh.text  # a new form, a new key


async def test_a_draft_saved_in_the_console_is_published_there_and_only_then_seen(client, city):
    headers = await community_staff(client)
    saved = await client.post("/console/polls", data={
        **poll_form(), "step": "draft", "csrf_token": headers["X-CSRF-Token"]})
    assert saved.status_code == 303
    poll_id = int(saved.headers["location"].split("/")[-1].split("?")[0])
    shown = await client.get(saved.headers["location"])
    assert "草稿已保存" in shown.text and "草稿</span>" in shown.text
    assert f'action="/console/polls/{poll_id}/publish"' in shown.text
    assert 'id="close-reason"' not in shown.text  # a draft is published, not closed
    voter = await neighbour(client, "gina")
    assert (await client.get(f"/api/v1/polls/{poll_id}", headers=voter)).status_code == 404
    drafts = await client.get("/console/polls", params={"status": "draft"})
    assert f'data-poll="{poll_id}"' in drafts.text

    forged = await client.post(f"/console/polls/{poll_id}/publish", headers=HTMX)
    assert forged.status_code == 403 and (await Poll.get(id=poll_id)).is_draft  # no CSRF token
    published = await client.post(f"/console/polls/{poll_id}/publish", headers=headers)
    assert published.status_code == 200 and "投票已发布，居民现在可以参与" in published.text
    assert 'id="close-reason"' in published.text
    seen = await ok(await client.get(f"/api/v1/polls/{poll_id}", headers=voter))
    assert seen["status"] == "open" and seen["can_vote"]
    again = await client.post(f"/console/polls/{poll_id}/publish", headers=headers)
    assert again.status_code == 200 and "投票已发布" in again.text  # a second tap: as it is
