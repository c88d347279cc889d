"""The dashboard (领导驾驶舱): the published figures for a scope and period with 同比 and 环比,
a trend, and breakdowns as tables that export to CSV.

Every figure is the stats service's (`/api/v1/stats/summary` and `/stats/breakdown` for the
same viewer, area and period); the page only arranges them and compares periods.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sanic import Request
from sanic.response import HTTPResponse, text

from app.console import domain, periods
from app.console.web import bp, error_page, page, render

COUNT_ROWS = (
    ("reported", "上报数"), ("self_disposed", "自行处置数"), ("accepted", "立案数"),
    ("dispatched", "派遣数"), ("should_handle", "应处置数"), ("handled", "处置数"),
    ("handled_on_time", "按期处置数"), ("should_close", "应结案数"), ("closed", "结案数"),
    ("closed_on_time", "按期结案数"), ("rated", "评价数"),
)
BREAKDOWNS = {"street": "按街道", "community": "按社区", "unit": "按处置单位"}


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


async def _trend(user: Any, choice: Choice, period: periods.Period) -> list[dict[str, Any]]:
    # One summary per point (at most 31): the stats API has no per-day breakdown yet.
    points = []
    for bucket in periods.buckets(choice.kind, period):
        s = await domain.stats.summary(viewer=user, query=_stats_query(choice, bucket))
        points.append({"label": bucket.label, "reported": s.counts["reported"],
                       "closed": s.counts["closed"],
                       "closed_on_time_rate": s.rates["closed_on_time_rate"].display})
    return points


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
    tables = {by: await domain.stats.breakdown(
        viewer=user, query=_stats_query(choice, period, by=by)) for by in BREAKDOWNS}
    trend = await _trend(user, choice, period)
    return await render(
        request, "dashboard/index.html", choice=choice, period=period, kinds=periods.KINDS,
        areas=await domain.stats_areas(user=user), tables=tables, breakdowns=BREAKDOWNS,
        trend=trend, trend_json=json.dumps(trend, ensure_ascii=False).replace("</", "<\\/"),
        **figures)


@bp.get("/dashboard/export.csv")
async def dashboard_export(request: Request) -> HTTPResponse:
    """A breakdown table as CSV (UTF-8 with BOM, so Excel opens it): the stats API's export."""
    choice = Choice.from_args(request.args)
    by = request.args.get("by") or "street"
    if by not in BREAKDOWNS:
        return await error_page(request, 400, "未知的分组方式")
    try:
        table = await domain.stats.breakdown(viewer=request.ctx.console.user,
                                             query=_stats_query(choice, _period(choice), by=by))
    except domain.AppError as exc:
        return await error_page(request, exc.status_code, exc.message)
    return text(domain.stats.to_csv(table), content_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="gongzhi-{by}-{choice.kind}.csv"'})
