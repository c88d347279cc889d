"""Evaluation API (考核): units, dispatchers and grid workers per month, CSV, grade rules."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, text
from sanic_ext.extensions.openapi import openapi

from app.core.api import endpoint
from app.evaluation import rules, service
from app.evaluation.schemas import (
    EvaluationQuery,
    EvaluationTable,
    GradeRuleIn,
    GradeRuleList,
    GradeRuleOut,
)

bp = Blueprint("evaluation")
TAG = "evaluation"
_PLURAL = {rules.UNIT: "units", rules.DISPATCHER: "dispatchers", rules.WORKER: "workers"}


def _csv(table: EvaluationTable) -> HTTPResponse:
    name = f"gongzhi-evaluation-{_PLURAL[table.kind]}-{table.period_from:%Y%m%d}.csv"
    return text(service.to_csv(table), content_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/evaluation/units")
@endpoint(summary="考核 of units: 应处置, 按期处置, 超期处置, 返工, 延期, 结案 and rates, graded",
          tag=TAG, query=EvaluationQuery, response=EvaluationTable, errors=(403, 404))
async def units(request: Request, query: EvaluationQuery) -> EvaluationTable:
    # From the stats rollups (fast at any size); the CSV below is the 考核 export, counted
    # from every ticket's timeline.
    return await service.rank_units(viewer=request.ctx.user, query=query)


@bp.get("/evaluation/units.csv")
@openapi.response(200, {"text/csv": str}, "The units' evaluation as CSV")
@endpoint(summary="Export the units' evaluation as CSV", tag=TAG, query=EvaluationQuery,
          errors=(403, 404))
async def units_csv(request: Request, query: EvaluationQuery) -> HTTPResponse:
    return _csv(await service.evaluate(viewer=request.ctx.user, kind=rules.UNIT, query=query))


@bp.get("/evaluation/dispatchers")
@endpoint(summary="考核 of dispatchers: 按时立案, 按时派遣, 准确派遣, graded", tag=TAG,
          query=EvaluationQuery, response=EvaluationTable, errors=(403, 404))
async def dispatchers(request: Request, query: EvaluationQuery) -> EvaluationTable:
    return await service.evaluate(viewer=request.ctx.user, kind=rules.DISPATCHER, query=query)


@bp.get("/evaluation/dispatchers.csv")
@openapi.response(200, {"text/csv": str}, "The dispatchers' evaluation as CSV")
@endpoint(summary="Export the dispatchers' evaluation as CSV", tag=TAG, query=EvaluationQuery,
          errors=(403, 404))
async def dispatchers_csv(request: Request, query: EvaluationQuery) -> HTTPResponse:
    return _csv(await service.evaluate(viewer=request.ctx.user, kind=rules.DISPATCHER,
                                       query=query))


@bp.get("/evaluation/workers")
@endpoint(summary="考核 of grid workers and collectors: 有效上报, 按时核查, 自行处置, graded",
          tag=TAG, query=EvaluationQuery, response=EvaluationTable, errors=(403, 404))
async def workers(request: Request, query: EvaluationQuery) -> EvaluationTable:
    return await service.evaluate(viewer=request.ctx.user, kind=rules.WORKER, query=query)


@bp.get("/evaluation/workers.csv")
@openapi.response(200, {"text/csv": str}, "The grid workers' evaluation as CSV")
@endpoint(summary="Export the grid workers' evaluation as CSV", tag=TAG, query=EvaluationQuery,
          errors=(403, 404))
async def workers_csv(request: Request, query: EvaluationQuery) -> HTTPResponse:
    return _csv(await service.evaluate(viewer=request.ctx.user, kind=rules.WORKER, query=query))


@bp.get("/evaluation/grades")
@endpoint(summary="The grade rules (优秀/良好/合格 thresholds and deciding rate) per kind",
          tag=TAG, response=GradeRuleList, errors=(403,))
async def grades(request: Request) -> GradeRuleList:
    return await service.list_grade_rules(viewer=request.ctx.user)


@bp.put("/evaluation/grades/<kind:str>")
@endpoint(summary="Set the grade rule of units, dispatchers or workers (admins)", tag=TAG,
          body=GradeRuleIn, response=GradeRuleOut, errors=(403,))
async def put_grade(request: Request, kind: str, body: GradeRuleIn) -> GradeRuleOut:
    return await service.set_grade_rule(viewer=request.ctx.user, kind=kind, body=body)
