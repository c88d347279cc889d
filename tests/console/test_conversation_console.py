"""进展说明 and 请求补充信息 from a case page, with the reply templates as suggestions."""

from __future__ import annotations

from tests.console.test_workbench import sign_in_dispatcher
from tests.tickets.helpers import report


async def test_a_dispatcher_posts_a_progress_note_from_a_template(client, city):
    made = await client.post("/api/v1/reply-templates", headers=city.dispatcher, json={
        "purpose": "progress_note", "category_code": "9901",
        "text": "井盖问题已通知市政部门，预计两个工作日内处理完毕。"})
    assert made.status_code == 201
    ticket = await report(client, city.resident, "9901")
    csrf = await sign_in_dispatcher(client)
    case = await client.get(f"/console/tickets/{ticket['id']}")
    assert "进展说明（居民可见）" in case.text and "请求补充信息（居民可见）" in case.text
    assert '<option value="井盖问题已通知市政部门，预计两个工作日内处理完毕。">' in case.text

    posted = await client.post(
        f"/console/tickets/{ticket['id']}/actions/progress_note",
        data={"version": ticket["version"], "note": "井盖问题已通知市政部门，预计两个工作日内处理完毕。"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf})
    assert posted.status_code == 200 and "已发布进展说明" in posted.text
    assert "预计两个工作日内处理完毕" in posted.text.split("处理过程")[1]  # on the timeline
    seen = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=city.resident)
    assert seen.json()["timeline"][-1]["action"] == "progress_note"

    empty = await client.post(
        f"/console/tickets/{ticket['id']}/actions/ask_info",
        data={"version": seen.json()["version"], "note": ""},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf})
    assert empty.status_code == 422
