"""The area tree (district › street › community › grid) with polygons in WGS-84."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class AreaKind(StrEnum):
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"


KIND_DEPTH = {AreaKind.DISTRICT: 0, AreaKind.STREET: 1, AreaKind.COMMUNITY: 2, AreaKind.GRID: 3}


class Area(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=128)
    kind = fields.CharEnumField(AreaKind, max_length=16)
    parent: fields.ForeignKeyNullableRelation[Area] = fields.ForeignKeyField(
        "models.Area", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    parent_id: int | None
    # Materialised path of codes, "/370811/370811001/": a subtree is one indexed prefix query.
    path = fields.CharField(max_length=255, db_index=True)
    # GeoJSON geometry (Polygon/MultiPolygon), always WGS-84; `source_crs` says what was imported.
    geometry: fields.Field[dict | None] = fields.JSONField(null=True)
    source_crs = fields.CharField(max_length=8, default="wgs84")
    office_address = fields.CharField(max_length=255, default="")
    office_phone = fields.CharField(max_length=32, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "areas"


class GeometryRevision(Model):
    """Bumped in the same transaction as every geometry change, so processes rebuild on a new value."""

    id = fields.IntField(primary_key=True)
    revision = fields.IntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "geometry_revision"
