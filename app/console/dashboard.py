"""The dashboard (领导驾驶舱): the published figures for a scope and period with 同比 and 环比,
a trend, and breakdowns as tables that export to CSV.

Every figure is the stats service's (`/api/v1/stats/summary` and `/stats/breakdown` for the
same viewer, area and period); the page only arranges them and compares periods.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sanic import Request
from sanic.response import HTTPResponse, text
from sanic.response import json as json_response

from app.console import domain, periods
from app.console.web import bp, error_page, page, render

COUNT_ROWS = (
    ("reported", "上报数"), ("self_disposed", "自行处置数"), ("accepted", "立案数"),
    ("dispatched", "派遣数"), ("should_handle", "应处置数"), ("handled", "处置数"),
    ("handled_on_time", "按期处置数"), ("should_close", "应结案数"), ("closed", "结案数"),
    ("closed_on_time", "按期结案数"), ("forwarded", "推送数"), ("rated", "评价数"),
)
BREAKDOWNS = {"street": "按街道", "community": "按社区", "grid": "按网格", "unit": "按处置单位",
              "category_major": "按大类", "category": "按小类", "source": "按来源",
              "urgency": "按紧急程度"}
TRENDS = {"day": "按日", "week": "按周", "month": "按月"}
EXPORTS = {**BREAKDOWNS, **TRENDS, "ranking": "单位排名", "satisfaction": "社区满意度"}


@dataclass(frozen=True)
class Choice:
    """What the filter form asked for."""

    kind: str
    area: str | None
    first: date | None
    last: date | None

    @classmethod
    def from_args(cls, args: Any) -> Choice:
        kind = args.get("period") or "month"
        return cls(kind=kind if kind in periods.KINDS else "month",
                   area=(args.get("area") or "").strip()[:32] or None,
                   first=_day(args.get("from")), last=_day(args.get("to")))

    def query(self) -> str:
        parts = [f"period={self.kind}"]
        if self.area:
            parts.append(f"area={self.area}")
        if self.kind == "custom" and self.first and self.last:
            parts += [f"from={self.first:%Y-%m-%d}", f"to={self.last:%Y-%m-%d}"]
        return "&".join(parts)


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "")[:10]) if value else None
    except ValueError:
        return None


def _stats_query(choice: Choice, period: periods.Period, **extra: Any) -> Any:
    model = domain.BreakdownQuery if extra else domain.StatsQuery
    return model.model_validate({"area": choice.area, "from": period.start, "to": period.end,
                                 **extra})


def _change(now: float | None, before: float | None, *, rate: bool) -> str:
    """环比/同比 as staff read them: percentage points for rates, percent for counts."""
    if now is None or before is None:
        return "—"
    if rate:
        return f"{(now - before) * 100:+.2f} 个百分点"
    if before == 0:
        return "—"
    return f"{(now - before) / before * 100:+.1f}%"


async def _summaries(user: Any, choice: Choice, period: periods.Period) -> dict[str, Any]:
    kind = choice.kind
    summary = domain.stats.summary
    now = await summary(viewer=user, query=_stats_query(choice, period))
    before = await summary(viewer=user, query=_stats_query(choice, periods.previous(kind, period)))
    last_year = await summary(viewer=user, query=_stats_query(choice, periods.year_earlier(period)))
    counts = [{"key": key, "label": label, "value": now.counts[key],
               "mom": _change(now.counts[key], before.counts[key], rate=False),
               "yoy": _change(now.counts[key], last_year.counts[key], rate=False)}
              for key, label in COUNT_ROWS]
    rates = [{"key": r.key, "label": r.label, "formula": r.formula,
              "display": now.rates[r.key].display,
              "mom": _change(now.rates[r.key].value, before.rates[r.key].value, rate=True),
              "yoy": _change(now.rates[r.key].value, last_year.rates[r.key].value, rate=True)}
             for r in domain.stats_metrics.RATES]
    return {"summary": now, "counts": counts, "rates": rates}


def trend_by(kind: str, period: periods.Period) -> str:
    """Days for up to a month (the last 7 for "today"), months for a year or a longer range."""
    if kind == "year" or period.days > periods.MAX_DAILY_BUCKETS:
        return "month"
    return "day"


def trend_period(kind: str, period: periods.Period) -> periods.Period:
    if kind != "today":
        return period
    return periods.Period(period.start - timedelta(days=6), period.end, "近7天")


async def _trend(user: Any, choice: Choice, period: periods.Period) -> list[dict[str, Any]]:
    """One stats breakdown by day or month (a single read of the daily rollup)."""
    by = trend_by(choice.kind, period)
    table = await domain.stats.breakdown(
        viewer=user, query=_stats_query(choice, trend_period(choice.kind, period), by=by))
    return [{"label": row.name, "reported": row.counts["reported"],
             "closed": row.counts["closed"],
             "closed_on_time_rate": row.rates["closed_on_time_rate"].display}
            for row in table.rows]


async def _ranking(user: Any, choice: Choice, period: periods.Period) -> Any:
    """The units' 考核 table for the period: 按期处置率, 返工, 超期 and the grade (from the
    stats rollups, not the tickets' timelines: `evaluation.rank_units`)."""
    query = domain.EvaluationQuery.model_validate(
        {"area": choice.area, "from": period.start, "to": period.end})
    return await domain.evaluation.rank_units(viewer=user, query=query)


def _chart(table: Any) -> list[dict[str, Any]]:
    return [{"label": row.name, "reported": row.counts["reported"],
             "closed": row.counts["closed"]} for row in table.rows[:30]]


def _period(choice: Choice) -> periods.Period:
    try:
        return periods.current(choice.kind, datetime.now(UTC), choice.first, choice.last)
    except ValueError as exc:
        raise domain.Invalid(str(exc), code="invalid_period") from None


@bp.get("/dashboard")
@page
async def dashboard(request: Request) -> HTTPResponse:
    user = request.ctx.console.user
    choice = Choice.from_args(request.args)
    period = _period(choice)
    figures = await _summaries(user, choice, period)
    shared: dict[Any, Any] = {}  # 大类 and 小类 read the category rollup once
    tables = {by: await domain.stats.breakdown(
        viewer=user, query=_stats_query(choice, period, by=by), shared=shared)
        for by in BREAKDOWNS}
    trend = await _trend(user, choice, period)
    charts: dict[str, Any] = {by: _chart(tables[by]) for by in BREAKDOWNS if by != "grid"}
    satisfaction = [row for row in tables["community"].rows if row.counts["rated"]]
    ranking = await _ranking(user, choice, period)
    charts["ranking"] = _rate_chart(ranking.rows, {ranking.decided_by: None})
    charts["satisfaction"] = _rate_chart(
        satisfaction, {"satisfaction_rate": None, "reply_rate": None})
    return await render(
        request, "dashboard/index.html", choice=choice, period=period, kinds=periods.KINDS,
        areas=await domain.stats_areas(user=user), tables=tables, breakdowns=BREAKDOWNS,
        trend=trend, trend_json=_script_json(trend), charts_json=_script_json(charts),
        ranking=ranking, satisfaction=satisfaction, ranking_label=_decided_by(ranking),
        trend_by=trend_by(choice.kind, period), **figures)


def _rate_chart(rows: list[Any], keys: dict[str, None]) -> dict[str, Any]:
    """Rates in percent per row (the first 30), for a bar chart: {labels, series}."""
    rows = rows[:30]
    series = []
    for key in keys:
        label = next((row.rates[key].label for row in rows if key in row.rates),
                     domain.stats_metrics.RATE_LABELS.get(key, key))
        values = [None if row.rates[key].value is None else round(row.rates[key].value * 100, 2)
                  for row in rows]
        series.append({"label": label, "values": values})
    return {"labels": [row.name for row in rows], "series": series}


def _decided_by(ranking: Any) -> str:
    """The rate that ranks and grades the units, in words (按期处置率 by default)."""
    labels = [row.rates[ranking.decided_by].label for row in ranking.rows
              if ranking.decided_by in row.rates]
    return f"按{labels[0]}排名" if labels else "按考核规则排名"


def _script_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


async def _export_csv(user: Any, choice: Choice, by: str) -> str:
    period = _period(choice)
    if by == "ranking":
        return domain.evaluation.to_csv(await _ranking(user, choice, period))
    if by in TRENDS:
        query = _stats_query(choice, trend_period(choice.kind, period), by=by)
    else:
        query = _stats_query(choice, period, by="community" if by == "satisfaction" else by)
    return domain.stats.to_csv(await domain.stats.breakdown(viewer=user, query=query))


@bp.get("/dashboard/export.csv")
async def dashboard_export(request: Request) -> HTTPResponse:
    """A table or chart as CSV (UTF-8 with BOM, so Excel opens it): the stats API's export,
    the trend, or the units' 考核 table."""
    choice = Choice.from_args(request.args)
    by = request.args.get("by") or "street"
    if by not in EXPORTS:
        return await error_page(request, 400, "未知的分组方式")
    try:
        body = await _export_csv(request.ctx.console.user, choice, by)
    except domain.AppError as exc:
        return await error_page(request, exc.status_code, exc.message)
    return text(body, content_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="gongzhi-{by}-{choice.kind}.csv"'})


@bp.get("/dashboard/ledger.csv")
async def dashboard_ledger(request: Request) -> HTTPResponse | None:
    """The case ledger of the dashboard's filters, streamed in keyset batches (any size)."""
    choice = Choice.from_args(request.args)
    try:
        ledger = await domain.stats_ledger.open_ledger(
            viewer=request.ctx.console.user, query=_stats_query(choice, _period(choice)))
    except domain.AppError as exc:
        return await error_page(request, exc.status_code, exc.message)
    response = await request.respond(content_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="gongzhi-ledger-{choice.kind}.csv"',
        "Cache-Control": "no-store"})
    async for chunk in ledger.chunks():
        await response.send(chunk)
    await response.eof()
    return None


@bp.get("/dashboard/heat.json")
async def dashboard_heat(request: Request) -> HTTPResponse:
    """Per grid cell of the dashboard's scope: cases reported in the period, open now and the
    period's 按期结案率, with the cells' own polygons (no tiles)."""
    choice = Choice.from_args(request.args)
    user = request.ctx.console.user
    try:
        period = _period(choice)
        heat = await domain.stats_cells.heat(viewer=user, query=_stats_query(choice, period))
    except domain.AppError as exc:
        return json_response({"error": {"code": exc.code, "message": exc.message,
                                        "details": {}}}, status=exc.status_code)
    return json_response(heat, dumps=lambda d: json.dumps(d, ensure_ascii=False,
                                                           separators=(",", ":")))
