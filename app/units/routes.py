"""Units API: list and view the units in your area, admins create and edit them."""

from __future__ import annotations

from sanic import Blueprint, Request

from app.core.api import endpoint
from app.units import service
from app.units.schemas import UnitCreate, UnitDetail, UnitOut, UnitPage, UnitQuery, UnitUpdate

bp = Blueprint("units")
TAG = "units"


@bp.get("/units")
@endpoint(summary="Units serving inside your area subtrees (all for a city-wide admin)", tag=TAG,
          query=UnitQuery, response=UnitPage, errors=(403, 404))
async def list_units(request: Request, query: UnitQuery) -> UnitPage:
    return await service.list_units(viewer=request.ctx.user, query=query)


@bp.get("/units/<unit_id:int>")
@endpoint(summary="One unit with its members (handlers)", tag=TAG, response=UnitDetail,
          errors=(404,))
async def get_unit(request: Request, unit_id: int) -> UnitDetail:
    return await service.get_unit_detail(viewer=request.ctx.user, unit_id=unit_id)


@bp.post("/units")
@endpoint(summary="Create a unit serving an area in your scope (admins)", tag=TAG,
          body=UnitCreate, response=UnitOut, status=201, errors=(403,))
async def create_unit(request: Request, body: UnitCreate) -> UnitOut:
    return service.unit_out(await service.create_unit(actor=request.ctx.user, data=body))


@bp.patch("/units/<unit_id:int>")
@endpoint(summary="Rename or (de)activate a unit (admins, within their scope)", tag=TAG,
          body=UnitUpdate, response=UnitOut, errors=(403, 404))
async def update_unit(request: Request, unit_id: int, body: UnitUpdate) -> UnitOut:
    return service.unit_out(
        await service.update_unit(actor=request.ctx.user, unit_id=unit_id, changes=body))
