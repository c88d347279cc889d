"""评价回复: community staff answer residents' ratings from the console (issue 12).

The list is the ratings service's staff queue (`GET /api/v1/ratings/queue`), and every form
posts to the service the API calls (reply, 重办, decline): the same scope (another community's
rating is 404), the same rules, the same conditional writes. A decision someone else took first
answers 409 with the rating as it now is.
"""

from __future__ import annotations

from typing import Any

from sanic import Request
from sanic.response import HTTPResponse

from app.console import domain
from app.console.web import bp, env, error_page, is_htmx, page, render

LEVEL_TEXT = {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意"}
OUTCOME_TEXT = {"rework": "已退回重办", "declined": "不予重办"}
VIEWS = {"open": "待回复", "all": "全部评价"}
PAGE_SIZE = 20
DONE_TEXT = {"reply": "回复已发送，居民会在案件页看到并收到通知",
             "rework": "已退回重办，案件已重新进入处置流程",
             "decline": "已记录不予重办的原因"}
STALE_TEXT = {
    "rating_handled": "该评价已被其他工作人员处理，未执行您的操作。下面是评价的最新状态。",
    "not_unsatisfied": "居民已修改该评价，现在不是“不满意”，无需重办或说明。下面是评价的最新状态。",
}

env.globals["may_answer_ratings"] = lambda user: user is not None and \
    domain.may_answer_ratings(user)


def _context(**extra: Any) -> dict[str, Any]:
    return {"level_text": LEVEL_TEXT, "outcome_text": OUTCOME_TEXT,
            "unsatisfied": domain.RatingLevel.UNSATISFIED.value, **extra}


@bp.get("/ratings")
@page
async def rating_list(request: Request) -> HTTPResponse:
    view = request.args.get("view") or "open"
    if view not in VIEWS:
        return await error_page(request, 400, "请求无效，请刷新页面后重试")
    cursor = (request.args.get("cursor") or "")[:80] or None
    found = await domain.ratings.queue(user=request.ctx.console.user, limit=PAGE_SIZE,
                                       cursor=cursor, only_open=view == "open")
    context = _context(items=found.items, next=found.next, view=view, views=VIEWS)
    if is_htmx(request) and request.headers.get("HX-Target") == "ratings-list":
        return await render(request, "community/_ratings.html", **context)
    return await render(request, "community/ratings.html", **context)


@bp.get("/ratings/<rating_id:int>")
@page
async def rating_page(request: Request, rating_id: int) -> HTTPResponse:
    rating = await domain.rating_as_now(user=request.ctx.console.user, rating_id=rating_id)
    return await _answer(request, rating, 200, "")


def _text(request: Request, name: str, limit: int) -> str:
    return ((request.form.get(name) if request.form else "") or "").strip()[:limit + 1]


@bp.post("/ratings/<rating_id:int>/<action:str>")
async def rating_action(request: Request, rating_id: int, action: str) -> HTTPResponse:
    """回复 / 重办 / 不予重办 from a rating's card; answers with the card as it now is."""
    user = request.ctx.console.user
    if action not in DONE_TEXT:
        return await error_page(request, 404, "找不到该页面")
    field, limit, missing = (("body", 500, "请填写回复内容") if action == "reply"
                             else ("reason", 255, "请填写原因"))
    value = _text(request, field, limit)
    problem = missing if not value else (f"内容不能超过 {limit} 字" if len(value) > limit else "")
    try:
        if problem:
            return await _answer(request, await domain.rating_as_now(user=user,
                                                                     rating_id=rating_id),
                                 422, problem)
        if action == "reply":
            rating = await domain.ratings.reply(user=user, rating_id=rating_id, body=value)
        elif action == "rework":
            rating = await domain.ratings.send_back(user=user, rating_id=rating_id, reason=value)
        else:
            rating = await domain.ratings.decline(user=user, rating_id=rating_id, reason=value)
    except domain.NotFound as exc:
        return await error_page(request, 404, exc.message)
    except domain.AppError as exc:
        if exc.status_code >= 500:
            raise
        message = STALE_TEXT.get(exc.code, exc.message)
        try:
            current = await domain.rating_as_now(user=user, rating_id=rating_id)
        except domain.AppError as gone:
            return await error_page(request, gone.status_code, gone.message)
        return await _answer(request, current, exc.status_code, message)
    [out] = await domain.ratings.rating_outs(user, [rating])
    response = await _answer(request, out, 200, DONE_TEXT[action], ok=True)
    response.headers["HX-Trigger"] = "rating-changed"
    return response


async def _answer(request: Request, rating: domain.RatingOut, status: int, notice: str,
                  *, ok: bool = False) -> HTTPResponse:
    """One rating's card (htmx) or its page, with a message above it."""
    template = "community/_rating.html" if is_htmx(request) else "community/rating.html"
    return await render(request, template, status=status, **_context(
        r=rating, notice=notice, notice_ok=ok))
