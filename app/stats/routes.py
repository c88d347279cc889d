"""Stats API: the city's published rates for my area, with breakdowns and a CSV export."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, text
from sanic_ext.extensions.openapi import openapi

from app.core.api import endpoint
from app.stats import service
from app.stats.schemas import Breakdown, BreakdownQuery, StatsQuery, Summary

bp = Blueprint("stats")
TAG = "stats"


@bp.get("/stats/summary")
@endpoint(summary="Counts and rates (处置率, 按期处置率, 结案率, 按期结案率 ...) for a scope",
          tag=TAG, query=StatsQuery, response=Summary, errors=(403, 404))
async def summary(request: Request, query: StatsQuery) -> Summary:
    return await service.summary(viewer=request.ctx.user, query=query)


@bp.get("/stats/breakdown")
@endpoint(summary="The same counts and rates per unit, grid cell, community or street", tag=TAG,
          query=BreakdownQuery, response=Breakdown, errors=(403, 404))
async def breakdown(request: Request, query: BreakdownQuery) -> Breakdown:
    return await service.breakdown(viewer=request.ctx.user, query=query)


@bp.get("/stats/export.csv")
@openapi.response(200, {"text/csv": str}, "The breakdown as CSV")
@endpoint(summary="Export the breakdown as CSV", tag=TAG, query=BreakdownQuery, errors=(403, 404))
async def export(request: Request, query: BreakdownQuery) -> HTTPResponse:
    table = await service.breakdown(viewer=request.ctx.user, query=query)
    return text(service.to_csv(table), content_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="gongzhi-{query.by}.csv"'})
