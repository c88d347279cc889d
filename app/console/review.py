"""内容审核: what the content check held (case descriptions, rating comments, poll texts), to
release or keep.

The lists and the decisions are the review service's (`app/review/service.py`), the same
calls as the API's `/api/v1/review/...` routes: each kind's rule of who may review it is its
domain's, and every decision (who, when, released or kept) is recorded. A kept item stays
held (its author and the staff see it, nobody else) and leaves the list.
"""

from __future__ import annotations

from sanic import Request
from sanic.response import HTTPResponse, redirect

from app.console import domain
from app.console.web import PREFIX, bp, env, error_page, page, render

REVIEWERS = (domain.Role.DISPATCHER, domain.Role.COMMUNITY_STAFF, domain.Role.ADMIN)
NOT_A_REVIEWER = "只有派遣员、社区工作人员和管理员可以审核内容"
DONE_TEXT = {"ticket": "已放行案件描述，居民端按上报人的选择公开",
             "rating": "已放行评价留言", "poll": "已放行投票回答，计入结果和导出",
             "kept": "已保留不公开，已移出待审核列表"}
DECISIONS = {"release": domain.Decision.RELEASED, "keep": domain.Decision.KEPT}


def may_review(user: domain.User | None) -> bool:
    """Staff who may release at least one kind of held text (each release checks its own)."""
    return user is not None and domain.scope_of(user).has(*REVIEWERS)


env.globals["may_review_content"] = may_review


def _done(kind: str, verb: str) -> HTTPResponse:
    return redirect(f"{PREFIX}/review?done={kind if verb == 'release' else 'kept'}",
                    status=303)


@bp.get("/review")
@page
async def review_queue(request: Request) -> HTTPResponse:
    user = request.ctx.console.user
    if not may_review(user):
        return await error_page(request, 403, NOT_A_REVIEWER)
    tickets, ratings, answers = await domain.review.held(user=user)
    return await render(request, "admin/review.html", tickets=tickets, ratings=ratings,
                        answers=answers, notice=DONE_TEXT.get(request.args.get("done", "")))


@bp.post("/review/tickets/<ticket_id:int>/<verb:release|keep>")
@page
async def decide_ticket(request: Request, ticket_id: int, verb: str) -> HTTPResponse:
    await domain.review.decide_ticket(user=request.ctx.console.user, ticket_id=ticket_id,
                                      decision=DECISIONS[verb])
    return _done("ticket", verb)


@bp.post("/review/ratings/<rating_id:int>/<verb:release|keep>")
@page
async def decide_rating(request: Request, rating_id: int, verb: str) -> HTTPResponse:
    # Browsers send a form's line breaks as CRLF; the mini-program stores LF.
    seen = (request.form.get("seen") or "").replace("\r\n", "\n") if request.form else ""
    await domain.review.decide_rating(user=request.ctx.console.user, rating_id=rating_id,
                                      seen=seen, decision=DECISIONS[verb])
    return _done("rating", verb)


@bp.post("/review/polls/<poll_id:int>/texts/<answer_id:str>/<verb:release|keep>")
@page
async def decide_poll_text(request: Request, poll_id: int, answer_id: str,
                           verb: str) -> HTTPResponse:
    await domain.review.decide_poll_text(user=request.ctx.console.user, poll_id=poll_id,
                                         answer_id=answer_id, decision=DECISIONS[verb])
    return _done("poll", verb)
