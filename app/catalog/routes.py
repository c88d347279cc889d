"""Catalog API: the category list (friendly for residents, full for staff) and admin edits."""

from __future__ import annotations

from sanic import Blueprint, Request

from app.catalog import service
from app.catalog.schemas import (
    CategoryCreate,
    CategoryList,
    CategoryOut,
    CategoryQuery,
    CategoryUpdate,
)
from app.core.api import endpoint

bp = Blueprint("catalog")
TAG = "catalog"


@bp.get("/categories")
@endpoint(summary="Problem categories: a short friendly list for residents, the full tree for "
          "staff", tag=TAG, query=CategoryQuery, response=CategoryList, errors=(403,))
async def list_categories(request: Request, query: CategoryQuery) -> CategoryList:
    return await service.list_categories(viewer=request.ctx.user, audience=query.audience,
                                         include_inactive=query.include_inactive)


@bp.get("/categories/<code:str>")
@endpoint(summary="One category with its time limits", tag=TAG, response=CategoryOut,
          errors=(404,))
async def get_category(request: Request, code: str) -> CategoryOut:
    return service.category_out(await service.get_category_for(viewer=request.ctx.user, code=code))


@bp.post("/categories")
@endpoint(summary="Add a 大类 or a 小类 (admins)", tag=TAG, body=CategoryCreate,
          response=CategoryOut, status=201, errors=(403, 409))
async def create_category(request: Request, body: CategoryCreate) -> CategoryOut:
    return service.category_out(await service.create_category(actor=request.ctx.user, data=body))


@bp.patch("/categories/<code:str>")
@endpoint(summary="Edit a category's names, time limits and flags (admins)", tag=TAG,
          body=CategoryUpdate, response=CategoryOut, errors=(403, 404))
async def update_category(request: Request, code: str, body: CategoryUpdate) -> CategoryOut:
    return service.category_out(
        await service.update_category(actor=request.ctx.user, code=code, changes=body))
