"""Areas API: browse the tree, locate a point, edit office details, import GeoJSON."""

from __future__ import annotations

from sanic import Blueprint, Request

from app.areas import service
from app.areas.schemas import (
    AreaDetail,
    AreaList,
    AreaOut,
    AreaQuery,
    AreaUpdate,
    FeatureCollection,
    ImportQuery,
    ImportResult,
    LocateOut,
    LocateQuery,
)
from app.core.api import endpoint

bp = Blueprint("areas")
TAG = "areas"


@bp.get("/areas")
@endpoint(summary="Children of an area (the top level when no parent is given)", tag=TAG,
          query=AreaQuery, response=AreaList, errors=(404,))
async def list_areas(request: Request, query: AreaQuery) -> AreaList:
    return AreaList(items=await service.list_children(parent_code=query.parent))


@bp.get("/areas/locate")
@endpoint(summary="Which grid cell holds a point (GCJ-02 or WGS-84), with its ancestors",
          tag=TAG, query=LocateQuery, response=LocateOut)
async def locate(request: Request, query: LocateQuery) -> LocateOut:
    return await service.locate(lng=query.lng, lat=query.lat, crs=query.crs)


@bp.post("/areas/import")
@endpoint(summary="Import a GeoJSON FeatureCollection of areas (all or nothing), or redraw one "
                  "area's cells with ?replace=", tag=TAG,
          body=FeatureCollection, query=ImportQuery, response=ImportResult, status=201,
          errors=(403, 404, 413))
async def import_areas(request: Request, body: FeatureCollection, query: ImportQuery) -> ImportResult:
    return await service.import_areas(collection=body, crs=query.crs, replace=query.replace,
                                      actor=request.ctx.user)


@bp.get("/areas/<code:str>")
@endpoint(summary="One area with its polygon (GeoJSON, WGS-84)", tag=TAG, response=AreaDetail,
          errors=(404,))
async def get_area(request: Request, code: str) -> AreaDetail:
    return await service.get_detail(code=code)


@bp.patch("/areas/<code:str>")
@endpoint(summary="Edit an area's name or community office contacts", tag=TAG, body=AreaUpdate,
          response=AreaOut, errors=(403, 404))
async def update_area(request: Request, code: str, body: AreaUpdate) -> AreaOut:
    return await service.update_area(actor=request.ctx.user, code=code, changes=body)
