"""民意调查: community staff run polls from the console (issue 12).

Every page calls the polls services the API uses (`/api/v1/polls…`): the list, the detail, the
results and the CSV exports are `polls.queries`, creating and closing `polls.service`, so scope
(another community's poll is 404), the question rules and the results' anonymity are theirs.
The form is previewed (checked by the same pure rules, nothing written) before it is published.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sanic import Request
from sanic.request import RequestParameters
from sanic.response import HTTPResponse, redirect, text

from app.console import domain
from app.console.web import PREFIX, bp, env, error_page, is_htmx, page, render
from app.core.workcalendar import SHANGHAI

STATUS_TEXT = {"draft": "草稿", "upcoming": "未开始", "open": "进行中", "closed": "已结束"}
STATUS_FILTERS = {"all": "全部", "open": "进行中", "upcoming": "未开始", "closed": "已结束",
                  "draft": "草稿"}
KIND_TEXT = {"single": "单选", "multiple": "多选", "scale": "评分（1–5）", "text": "填空"}
VISIBILITY_TEXT = {"after_vote": "居民投票后可看结果", "after_close": "投票结束后公布结果",
                   "staff_only": "结果仅工作人员可见"}
BY_TEXT = {"street": "按街道", "community": "按社区", "grid": "按网格"}
CSV_VIEWS = {"summary", "texts", "responses"}
BAD_REQUEST = "请求无效，请刷新页面后重试"
MAX_QUESTIONS = 50
FIELD_TEXT = {"area_code": "投票范围", "title": "标题", "description": "说明",
              "closes_at": "结束时间", "opens_at": "开始时间", "results_visibility": "结果公开方式",
              "prompt": "题目", "kind": "题型", "options": "选项", "label": "选项",
              "min_choices": "最少选几项", "max_choices": "最多选几项", "max_length": "字数上限"}

env.globals["may_run_polls"] = lambda user: user is not None and domain.may_run_polls(user)


def _refuse_non_staff(request: Request) -> bool:
    return not domain.may_run_polls(request.ctx.console.user)


STAFF_ONLY = "只有社区工作人员和管理员可以管理投票"


# --- the list -----------------------------------------------------------------------------------


@bp.get("/polls")
@page
async def poll_list(request: Request) -> HTTPResponse:
    if _refuse_non_staff(request):
        return await error_page(request, 403, STAFF_ONLY)
    status = request.args.get("status") or "all"
    if status not in STATUS_FILTERS:
        return await error_page(request, 400, BAD_REQUEST)
    try:
        query = domain.PollQuery.model_validate({"status": status,
                                                 "cursor": request.args.get("cursor") or None})
    except ValidationError:
        return await error_page(request, 400, BAD_REQUEST)
    found = await domain.poll_queries.list_polls(user=request.ctx.console.user, query=query)
    return await render(request, "community/polls.html", items=found.items, next=found.next,
                        shown=status, filters=STATUS_FILTERS, status_text=STATUS_TEXT)


# --- creating: form → preview → publish -----------------------------------------------------------


def _local(value: str) -> datetime | None:
    """A datetime-local input (Beijing time, as staff read it) as an aware time."""
    try:
        local = datetime.fromisoformat(value.strip()[:16])
    except ValueError:
        return None
    return local.replace(tzinfo=SHANGHAI) if local.tzinfo is None else None


def _form_values(form: RequestParameters) -> dict[str, Any]:
    """The posted form as strings (what is shown back), questions in order, blanks dropped."""
    def get(name: str, limit: int = 200) -> str:
        return (form.get(name) or "").strip()[:limit]

    questions = []
    for n in range(1, MAX_QUESTIONS + 1):
        q = {"kind": get(f"q{n}_kind", 16) or "single", "prompt": get(f"q{n}_prompt", 600),
             "options": get(f"q{n}_options", 4000), "min_choices": get(f"q{n}_min", 4),
             "max_choices": get(f"q{n}_max", 4), "max_length": get(f"q{n}_max_length", 6),
             "required": bool(form.get(f"q{n}_required"))}
        if q["prompt"] or q["options"]:
            questions.append(q)
    return {"area_code": get("area_code", 32), "title": get("title", 120),
            "description": get("description", 2100), "opens_at": get("opens_at", 20),
            "closes_at": get("closes_at", 20), "is_anonymous": bool(form.get("is_anonymous")),
            "results_visibility": get("results_visibility", 16) or "after_close",
            "questions": questions, "idempotency_key": get("idempotency_key", 128)}


def _number(value: str) -> int | str | None:
    if not value:
        return None
    return int(value) if value.isascii() and value.isdigit() else value  # bad: pydantic says so


def _body(v: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The API's PollCreate body from the form's values, or what is wrong with the times."""
    errors = []
    opens_at = _local(v["opens_at"]) if v["opens_at"] else None
    closes_at = _local(v["closes_at"])
    if v["opens_at"] and opens_at is None:
        errors.append("开始时间填写有误")
    if closes_at is None:
        errors.append("请填写结束时间")
    questions = []
    for q in v["questions"]:
        choice = q["kind"] in ("single", "multiple")
        body: dict[str, Any] = {"kind": q["kind"], "prompt": q["prompt"],
                                "required": q["required"]}
        if choice:
            body["options"] = [{"label": line.strip()} for line in q["options"].splitlines()
                               if line.strip()]
        if q["kind"] == "multiple":
            body.update(min_choices=_number(q["min_choices"]),
                        max_choices=_number(q["max_choices"]))
        if q["kind"] == "text":
            body["max_length"] = _number(q["max_length"])
        questions.append(body)
    return {"area_code": v["area_code"], "title": v["title"], "description": v["description"],
            "opens_at": opens_at, "closes_at": closes_at, "is_anonymous": v["is_anonymous"],
            "results_visibility": v["results_visibility"], "questions": questions}, errors


def _messages(exc: ValidationError) -> list[str]:
    """One Chinese line per invalid field, naming the question it belongs to."""
    lines = []
    for error in exc.errors():
        loc = list(error["loc"])
        where = f"第{int(loc[1]) + 1}题：" if loc[:1] == ["questions"] and len(loc) > 1 \
            and isinstance(loc[1], int) else ""
        field = next((str(p) for p in reversed(loc) if str(p) in FIELD_TEXT), "")
        if loc == ["questions"]:
            lines.append("请至少填写一道题目")
        else:
            lines.append(f"{where}{FIELD_TEXT.get(field, '填写内容')}填写有误，请检查")
    return list(dict.fromkeys(lines))


def _check(v: dict[str, Any]) -> tuple[domain.PollCreate | None, list[str]]:
    """The body as the API would accept it, checked by the polls' own pure rules."""
    raw, errors = _body(v)
    if errors:
        return None, errors
    try:
        body = domain.PollCreate.model_validate(raw)
        domain.poll_rules.normalise_questions(body.questions)
        domain.poll_rules.check_period(opens_at=body.opens_at or datetime.now(UTC),
                                       closes_at=body.closes_at, now=datetime.now(UTC))
    except ValidationError as exc:
        return None, _messages(exc)
    except domain.Invalid as exc:
        return None, [exc.message]
    return body, []


async def _form_page(request: Request, v: dict[str, Any], *, status: int = 200,
                     errors: list[str] | None = None,
                     preview: domain.PollCreate | None = None) -> HTTPResponse:
    blanks = max(3 - len(v["questions"]), 1)
    questions = v["questions"] + [{"kind": "single", "prompt": "", "options": "",
                                   "min_choices": "", "max_choices": "", "max_length": "",
                                   "required": True} for _ in range(blanks)]
    areas = await domain.poll_areas(user=request.ctx.console.user)
    # Made when the form is first shown and carried through 预览: a double-posted 发布
    # (a double click, a resent form) makes one poll (`polls.service.create_poll_once`).
    v["idempotency_key"] = v.get("idempotency_key") or uuid.uuid4().hex
    return await render(request, "community/poll_new.html", status=status, v=v,
                        questions=questions, areas=areas, errors=errors or [], preview=preview,
                        kind_text=KIND_TEXT, visibility_text=VISIBILITY_TEXT,
                        area_names={a.code: a.name for a in areas})


@bp.get("/polls/new")
@page
async def new_poll(request: Request) -> HTTPResponse:
    if _refuse_non_staff(request):
        return await error_page(request, 403, STAFF_ONLY)
    return await _form_page(request, _form_values(RequestParameters()) | {
        "is_anonymous": True})


@bp.post("/polls")
@page
async def create_poll(request: Request) -> HTTPResponse:
    """预览 (step=preview: checked, nothing written), 保存草稿 (step=draft: created, seen by
    staff only) or 发布 (step=publish); the polls service creates it."""
    if _refuse_non_staff(request):
        return await error_page(request, 403, STAFF_ONLY)
    v = _form_values(request.form or RequestParameters())
    body, errors = _check(v)
    if body is None:
        return await _form_page(request, v, status=422, errors=errors)
    step = request.form.get("step") if request.form else ""
    if step not in ("publish", "draft"):
        return await _form_page(request, v, preview=body)
    if step == "draft":
        body = body.model_copy(update={"draft": True})
    try:
        poll_id, _ = await domain.polls.create_poll_once(
            actor=request.ctx.console.user, body=body, key=v["idempotency_key"] or None)
    except domain.AppError as exc:
        if exc.status_code >= 500:
            raise
        return await _form_page(request, v, status=exc.status_code, errors=[exc.message])
    done = "saved" if step == "draft" else "published"
    return redirect(f"{PREFIX}/polls/{poll_id}?{done}=1", status=303)


# --- one poll: detail, results, close, CSV ------------------------------------------------------


def _charts(results: domain.PollResults) -> str:
    """Per question, the bars the page draws (the same counts are in the tables)."""
    charts = {}
    for q in results.questions:
        if q.options:
            charts[q.question_id] = {"labels": [o.label for o in q.options],
                                     "counts": [o.count for o in q.options]}
        elif q.scale:
            charts[q.question_id] = {"labels": [f"{s.value}分" for s in q.scale],
                                     "counts": [s.count for s in q.scale]}
    return json.dumps(charts, ensure_ascii=False).replace("</", "<\\/")


async def _poll_context(request: Request, poll_id: int, by: str | None) -> dict[str, Any]:
    user = request.ctx.console.user
    await domain.poll_access.staff_poll_or_raise(user=user, poll_id=poll_id)
    detail = await domain.poll_queries.detail(user=user, poll_id=poll_id)
    results = await domain.poll_queries.results(user=user, poll_id=poll_id, by=by)
    return {"p": detail, "results": results, "charts_json": _charts(results), "by": by,
            "by_text": BY_TEXT, "status_text": STATUS_TEXT, "kind_text": KIND_TEXT,
            "visibility_text": VISIBILITY_TEXT}


def _by(request: Request) -> str | None:
    """?by= a breakdown level, or None; anything else is refused (Invalid → a 400 page)."""
    by = request.args.get("by") or None
    if by is not None and by not in BY_TEXT:
        raise domain.Invalid(BAD_REQUEST, code="invalid_query")
    return by


@bp.get("/polls/<poll_id:int>")
@page
async def poll_page(request: Request, poll_id: int) -> HTTPResponse:
    if _refuse_non_staff(request):
        return await error_page(request, 403, STAFF_ONLY)
    context = await _poll_context(request, poll_id, _by(request))
    if request.args.get("published"):
        context.update(notice=_published_text(context["p"].status), notice_ok=True)
    elif request.args.get("saved"):
        context.update(notice="草稿已保存：居民看不到，发布后才向居民开放", notice_ok=True)
    return await render(request, "community/poll.html", **context)


def _published_text(status: str) -> str:
    return ("投票已发布，居民现在可以参与" if status == "open"
            else "投票已发布，将在开始时间后向居民开放")


@bp.post("/polls/<poll_id:int>/publish")
@page
async def publish_poll(request: Request, poll_id: int) -> HTTPResponse:
    """发布 a draft (the polls service decides; publishing twice answers as published)."""
    if _refuse_non_staff(request):
        return await error_page(request, 403, STAFF_ONLY)
    notice, status, ok = "", 200, True
    try:
        await domain.polls.publish_poll(actor=request.ctx.console.user, poll_id=poll_id)
    except domain.NotFound:
        raise
    except domain.AppError as exc:
        if exc.status_code >= 500:
            raise
        notice, status, ok = exc.message, exc.status_code, False
    if not is_htmx(request) and ok:
        return redirect(f"{PREFIX}/polls/{poll_id}?published=1", status=303)
    context = await _poll_context(request, poll_id, None)
    if ok:
        notice = _published_text(context["p"].status)
    template = "community/_poll.html" if is_htmx(request) else "community/poll.html"
    return await render(request, template, status=status, notice=notice, notice_ok=ok,
                        **context)


@bp.post("/polls/<poll_id:int>/close")
@page
async def close_poll(request: Request, poll_id: int) -> HTTPResponse:
    """提前结束, with the reason residents see; a poll already over answers 409."""
    if _refuse_non_staff(request):
        return await error_page(request, 403, STAFF_ONLY)
    reason = ((request.form.get("reason") if request.form else "") or "").strip()
    notice, status, ok = "投票已结束，居民将看到结束原因", 200, True
    if not reason or len(reason) > 255:
        notice, status, ok = "请填写提前结束的原因（不超过 255 字）", 422, False
    else:
        try:
            await domain.polls.close_poll(actor=request.ctx.console.user, poll_id=poll_id,
                                          reason=reason)
        except domain.NotFound:
            raise
        except domain.AppError as exc:
            if exc.status_code >= 500:
                raise
            notice, status, ok = (
                "该投票已经结束（可能已被其他工作人员结束），未执行您的操作。下面是投票的最新状态。"
                if exc.code == "poll_closed" else exc.message, exc.status_code, False)
    if not is_htmx(request) and ok:
        return redirect(f"{PREFIX}/polls/{poll_id}", status=303)
    context = await _poll_context(request, poll_id, None)
    template = "community/_poll.html" if is_htmx(request) else "community/poll.html"
    return await render(request, template, status=status, notice=notice, notice_ok=ok,
                        **context)


@bp.get("/polls/<poll_id:int>/results.csv")
@page
async def poll_csv(request: Request, poll_id: int) -> HTTPResponse:
    """The API's CSV export (UTF-8 with a BOM), through the console's session."""
    if _refuse_non_staff(request):
        return await error_page(request, 403, STAFF_ONLY)
    by, view = _by(request), request.args.get("view") or "summary"
    if view not in CSV_VIEWS:
        return await error_page(request, 400, BAD_REQUEST)
    body = await domain.poll_queries.results_csv(user=request.ctx.console.user, poll_id=poll_id,
                                                 by=by, view=view)
    suffix = f"-{by}" if by else ""
    return text(body, content_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="poll-{poll_id}-{view}{suffix}.csv"'})
