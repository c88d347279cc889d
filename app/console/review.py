"""内容审核: what the content check held (case descriptions, rating comments, poll texts), to
release or keep.

Each list is its domain's read of what this user may release, and each release is the same
service call as the API's (`POST /tickets/{id}/release-content`, `…/texts/{id}/release`), so
the queue has no rule of its own. Keeping an item is doing nothing: it stays held (its author
and the staff see it, nobody else) and stays on the list.
"""

from __future__ import annotations

from sanic import Request
from sanic.response import HTTPResponse, redirect

from app.console import domain
from app.console.web import PREFIX, bp, env, error_page, page, render

REVIEWERS = (domain.Role.DISPATCHER, domain.Role.COMMUNITY_STAFF, domain.Role.ADMIN)
NOT_A_REVIEWER = "只有派遣员、社区工作人员和管理员可以审核内容"
DONE_TEXT = {"ticket": "已放行案件描述，居民端按上报人的选择公开",
             "rating": "已放行评价留言", "poll": "已放行投票回答，计入结果和导出"}


def may_review(user: domain.User | None) -> bool:
    """Staff who may release at least one kind of held text (each release checks its own)."""
    return user is not None and domain.scope_of(user).has(*REVIEWERS)


env.globals["may_review_content"] = may_review


def _done(kind: str) -> HTTPResponse:
    return redirect(f"{PREFIX}/review?done={kind}", status=303)


@bp.get("/review")
@page
async def review_queue(request: Request) -> HTTPResponse:
    user = request.ctx.console.user
    if not may_review(user):
        return await error_page(request, 403, NOT_A_REVIEWER)
    tickets = await domain.ticket_access.held_for_review(user=user)
    ratings = await domain.ratings.held_comments(user=user)
    answers = await domain.poll_queries.held_for_review(user=user)
    return await render(request, "admin/review.html", tickets=tickets, ratings=ratings,
                        answers=answers, notice=DONE_TEXT.get(request.args.get("done", "")))


@bp.post("/review/tickets/<ticket_id:int>/release")
@page
async def release_ticket(request: Request, ticket_id: int) -> HTTPResponse:
    await domain.ticket_actions.release_content(actor=request.ctx.console.user,
                                                ticket_id=ticket_id)
    return _done("ticket")


@bp.post("/review/ratings/<rating_id:int>/release")
@page
async def release_rating(request: Request, rating_id: int) -> HTTPResponse:
    # Browsers send a form's line breaks as CRLF; the mini-program stores LF.
    seen = (request.form.get("seen") or "").replace("\r\n", "\n") if request.form else ""
    await domain.ratings.release_comment(user=request.ctx.console.user, rating_id=rating_id,
                                         seen=seen or "")
    return _done("rating")


@bp.post("/review/polls/<poll_id:int>/texts/<answer_id:str>/release")
@page
async def release_poll_text(request: Request, poll_id: int, answer_id: str) -> HTTPResponse:
    await domain.polls.release_text(user=request.ctx.console.user, poll_id=poll_id,
                                    answer_id=answer_id)
    return _done("poll")
