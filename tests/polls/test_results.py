"""Who sees results when; staff see them live, per sub-area, and export them."""

import csv
import io

from tests.factories import error_code
from tests.polls.helpers import (
    COMMUNITY,
    GRID_1,
    GRID_2,
    close,
    create_poll,
    neighbour,
    vote,
)


def results_url(poll, suffix=""):
    return f"/api/v1/polls/{poll['id']}/results{suffix}"


def rows_of(response):
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))


async def test_voters_see_counts_after_voting_but_never_the_free_text(client, town):
    poll = await create_poll(client, town.staff, results_visibility="after_vote")
    alice = await neighbour(client, "alice")
    hidden = await client.get(results_url(poll), headers=alice)
    assert hidden.status_code == 403 and error_code(hidden) == "results_hidden"
    assert hidden.json()["error"]["message"] == "参与投票后才能查看结果"

    await vote(client, alice, poll, text="多装几盏路灯")
    seen = await client.get(results_url(poll), headers=alice)
    assert seen.status_code == 200
    body = seen.json()
    assert body["respondent_count"] == 1 and body["breakdown"] is None
    assert [q["texts"] for q in body["questions"]] == [None, None, None, None]
    assert "多装几盏路灯" not in seen.text
    assert body["questions"][0]["options"] == [
        {"id": "yes", "label": "支持", "count": 1, "share": 1.0},
        {"id": "no", "label": "不支持", "count": 0, "share": 0.0}]
    by_area = await client.get(results_url(poll), params={"by": "grid"}, headers=alice)
    assert by_area.status_code == 403 and error_code(by_area) == "breakdown_staff_only"

    staff = (await client.get(results_url(poll), headers=town.staff)).json()
    assert staff["questions"][3]["texts"] == ["多装几盏路灯"]
    assert staff["questions"][3]["answered"] == 1


async def test_results_after_closing_wait_for_the_close(client, town):
    poll = await create_poll(client, town.staff, results_visibility="after_close")
    alice, bob = await neighbour(client, "alice"), await neighbour(client, "bob")
    await vote(client, alice, poll)
    early = await client.get(results_url(poll), headers=alice)
    assert early.status_code == 403 and error_code(early) == "results_hidden"
    assert (await client.get(f"/api/v1/polls/{poll['id']}",
                             headers=alice)).json()["results_visible"] is False
    live = await client.get(results_url(poll), headers=town.staff)
    assert live.status_code == 200 and live.json()["respondent_count"] == 1

    await close(client, town.staff, poll)
    for headers in (alice, bob):  # a neighbour who did not vote sees the outcome too
        response = await client.get(results_url(poll), headers=headers)
        assert response.status_code == 200 and response.json()["status"] == "closed"


async def test_staff_only_results_stay_with_staff(client, town):
    poll = await create_poll(client, town.staff, results_visibility="staff_only")
    alice = await neighbour(client, "alice")
    receipt = await vote(client, alice, poll)
    assert receipt.json()["results_visible"] is False
    await close(client, town.staff, poll)
    response = await client.get(results_url(poll), headers=alice)
    assert response.status_code == 403 and error_code(response) == "results_hidden"
    assert (await client.get(results_url(poll), headers=town.street_staff)).status_code == 200
    assert (await client.get(results_url(poll), headers=town.other_staff)).status_code == 404


async def test_staff_see_a_named_poll_per_grid_cell_and_per_community(client, town):
    poll = await create_poll(client, town.staff, is_anonymous=False)
    homes = [GRID_1] * 3 + [GRID_2] * 2 + [COMMUNITY]
    for i, home in enumerate(homes):
        headers = await neighbour(client, f"n{i}", home=home)
        await vote(client, headers, poll, single="no" if home == GRID_2 else "yes")

    by_grid = (await client.get(results_url(poll), params={"by": "grid"},
                                headers=town.staff)).json()
    assert by_grid["by"] == "grid" and by_grid["min_group_size"] is None
    rows = {(r["area_code"], r["area_name"]): r for r in by_grid["breakdown"]}
    assert {k: r["respondent_count"] for k, r in rows.items()} == {
        (GRID_1, "东门1社区第1网格"): 3, (GRID_2, "东门1社区第2网格"): 2,
        ("", "东门第1社区：居住地未细分到网格"): 1}
    grid_2 = rows[(GRID_2, "东门1社区第2网格")]["questions"][0]
    assert {o["id"]: o["count"] for o in grid_2["options"]} == {"yes": 0, "no": 2}

    by_community = (await client.get(results_url(poll), params={"by": "community"},
                                     headers=town.staff)).json()
    assert [(r["area_code"], r["respondent_count"]) for r in by_community["breakdown"]] == [
        (COMMUNITY, 6)]


async def test_an_anonymous_breakdown_never_shows_fewer_than_five_people(client, town):
    poll = await create_poll(client, town.staff, is_anonymous=True)
    homes = [GRID_1] * 6 + [GRID_2] * 5 + [COMMUNITY]
    for i, home in enumerate(homes):
        headers = await neighbour(client, f"n{i}", home=home)
        await vote(client, headers, poll, single="no" if home == COMMUNITY else "yes")

    by_grid = (await client.get(results_url(poll), params={"by": "grid"},
                                headers=town.staff)).json()
    assert by_grid["min_group_size"] == 5
    shown = [(r["area_code"], r["respondent_count"], r["is_merged"])
             for r in by_grid["breakdown"]]
    # The one resident who only chose the community is folded in with the smaller cell, so
    # neither their row nor "community minus the cells" singles them out.
    assert sorted(shown) == [("", 6, True), (GRID_1, 6, False)]
    assert all(r["respondent_count"] >= 5 for r in by_grid["breakdown"])
    merged = next(r for r in by_grid["breakdown"] if r["is_merged"])
    assert merged["area_name"] == "东门第1社区：人数较少的区域（合并显示）"

    small = await create_poll(client, town.staff, is_anonymous=True, title="小范围")
    for i, home in enumerate([GRID_1] * 3 + [GRID_2]):
        await vote(client, await neighbour(client, f"s{i}", home=home), small)
    tiny = (await client.get(results_url(small), params={"by": "grid"},
                             headers=town.staff)).json()
    assert [(r["respondent_count"], r["is_merged"]) for r in tiny["breakdown"]] == [(4, True)]


async def test_staff_export_the_results_as_csv(client, town):
    poll = await create_poll(client, town.staff, is_anonymous=True)
    for i, home in enumerate([GRID_1] * 5 + [GRID_2] * 5):
        voted = await vote(client, await neighbour(client, f"n{i}", home=home), poll,
                           text='=HYPERLINK("x")' if i == 0 else f"建议{i}")
        assert voted.status_code == 201
    response = await client.get(results_url(poll, ".csv"), params={"by": "grid"},
                                headers=town.staff)
    assert response.status_code == 200
    assert f"poll-{poll['id']}-summary.csv" in response.headers["content-disposition"]
    rows = rows_of(response)
    assert rows[0][:3] == ["区域编码", "区域名称", "答卷人数"]
    totals = [r for r in rows[1:] if r[1] == "全部"]
    assert ["", "全部", "10", "1", "您是否支持改造？", "单选", "10", "yes", "支持", "10",
            "100.0%"] in totals
    assert {r[0] for r in rows[1:]} == {"", GRID_1, GRID_2}

    texts = rows_of(await client.get(results_url(poll, ".csv"), params={"view": "texts"},
                                     headers=town.staff))
    assert texts[0] == ["题号", "题目", "回答"]
    answers = sorted(r[2] for r in texts[1:])
    assert len(answers) == 10 and "'=HYPERLINK(\"x\")" in answers  # not a formula any more

    named_only = await client.get(results_url(poll, ".csv"), params={"view": "responses"},
                                  headers=town.staff)
    assert named_only.status_code == 409 and error_code(named_only) == "poll_is_anonymous"
    alice = await neighbour(client, "n1")
    refused = await client.get(results_url(poll, ".csv"), headers=alice)
    assert refused.status_code == 403 and error_code(refused) == "staff_only"
    assert (await client.get(results_url(poll, ".csv"),
                             headers=town.other_staff)).status_code == 404


async def test_a_named_poll_exports_who_answered_what(client, town):
    poll = await create_poll(client, town.staff, is_anonymous=False)
    alice = await neighbour(client, "alice", name="王阿姨")
    await vote(client, alice, poll, multiple=["3", "1"], scale=5, text="加装照明")
    rows = rows_of(await client.get(results_url(poll, ".csv"), params={"view": "responses"},
                                    headers=town.staff))
    assert rows[0][:5] == ["答卷编号", "用户编号", "昵称", "居住区域", "提交时间"]
    assert rows[0][5:] == ["1. 您是否支持改造？", "2. 您希望增加哪些设施？（最多两项）",
                           "3. 您对目前停车秩序的满意度", "4. 其他建议"]
    assert len(rows) == 2
    assert rows[1][2] == "王阿姨" and rows[1][3].endswith(f"/{COMMUNITY}/")
    assert rows[1][5:] == ["支持", "充电桩；绿化", "5", "加装照明"]
