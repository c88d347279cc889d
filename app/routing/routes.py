"""Routing API: rules as editable data with their history, and a preview of a decision."""

from __future__ import annotations

from sanic import Blueprint, Request

from app.core.api import endpoint
from app.routing import service
from app.routing.schemas import (
    HistoryQuery,
    PreviewOut,
    PreviewQuery,
    RuleCreate,
    RuleHistory,
    RuleOut,
    RulePage,
    RuleQuery,
    RuleUpdate,
)

bp = Blueprint("routing")
TAG = "routing"


@bp.get("/routing/rules")
@endpoint(summary="Routing rules you may read (admins, dispatchers)", tag=TAG, query=RuleQuery,
          response=RulePage, errors=(403, 404))
async def list_rules(request: Request, query: RuleQuery) -> RulePage:
    return await service.list_rules(
        actor=request.ctx.user, area=query.area, category=query.category,
        include_inactive=query.include_inactive, limit=query.limit, cursor=query.cursor,
    )


@bp.post("/routing/rules")
@endpoint(summary="Add a routing rule: (category subtree, area subtree) → unit (admins)",
          tag=TAG, body=RuleCreate, response=RuleOut, status=201, errors=(403, 409))
async def create_rule(request: Request, body: RuleCreate) -> RuleOut:
    return service.rule_out(await service.create_rule(actor=request.ctx.user, data=body))


@bp.patch("/routing/rules/<rule_id:int>")
@endpoint(summary="Change a rule's unit, priority, note or active flag (admins)", tag=TAG,
          body=RuleUpdate, response=RuleOut, errors=(403, 404, 409))
async def update_rule(request: Request, rule_id: int, body: RuleUpdate) -> RuleOut:
    return service.rule_out(
        await service.update_rule(actor=request.ctx.user, rule_id=rule_id, changes=body))


@bp.delete("/routing/rules/<rule_id:int>")
@endpoint(summary="Retire a rule (kept, with its history); returns the rule", tag=TAG,
          response=RuleOut, errors=(403, 404))
async def deactivate_rule(request: Request, rule_id: int) -> RuleOut:
    return service.rule_out(await service.deactivate_rule(actor=request.ctx.user, rule_id=rule_id))


@bp.get("/routing/rules/<rule_id:int>/history")
@endpoint(summary="The changes of a rule, oldest first, with who made them", tag=TAG,
          query=HistoryQuery, response=RuleHistory, errors=(403, 404))
async def rule_history(request: Request, rule_id: int, query: HistoryQuery) -> RuleHistory:
    return await service.rule_history(actor=request.ctx.user, rule_id=rule_id,
                                      limit=query.limit, cursor=query.cursor)


@bp.get("/routing/preview")
@endpoint(summary="Which cell and unit a report at this point would get, and why", tag=TAG,
          query=PreviewQuery, response=PreviewOut, errors=(403, 404))
async def preview(request: Request, query: PreviewQuery) -> PreviewOut:
    return await service.preview_route(actor=request.ctx.user, category_code=query.category,
                                       lng=query.lng, lat=query.lat, crs=query.crs)
