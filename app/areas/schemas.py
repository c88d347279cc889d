"""Request and response models of the areas domain."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.areas.models import AreaKind
from app.core.api import Input

Crs = Literal["wgs84", "gcj02"]


class AreaRef(BaseModel):
    """An area as other domains show it (a user's home, a ticket's cell, a rule's area)."""

    id: int
    code: str
    name: str
    kind: str
    path: str


class AreaOut(AreaRef):
    parent_code: str | None = None
    has_geometry: bool
    office_address: str = ""
    office_phone: str = ""


class AreaDetail(AreaOut):
    geometry: dict[str, Any] | None = Field(default=None, description="GeoJSON, WGS-84")


class AreaList(BaseModel):
    items: list[AreaOut]


class AreaQuery(Input):
    parent: str | None = Field(default=None, max_length=32,
                               description="Parent area code; omitted = the top level")


class AreaUpdate(Input):
    name: str | None = Field(default=None, min_length=1, max_length=128)
    office_address: str | None = Field(default=None, max_length=255)
    office_phone: str | None = Field(default=None, max_length=32)


class LocateQuery(Input):
    lng: float = Field(ge=-180, le=180, allow_inf_nan=False)
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    crs: Crs = Field(description="CRS of the point: gcj02 (WeChat maps) or wgs84 (GPS)")


class Point(BaseModel):
    lng: float
    lat: float


class LocateOut(BaseModel):
    found: bool
    cell: AreaRef | None = None
    ancestors: list[AreaRef] = Field(default_factory=list,
                                     description="From the district down to the community")
    snapped: bool = Field(default=False,
                          description="Outside every cell but within tolerance of this one")
    distance_m: float = 0.0
    wgs84: Point
    message: str = ""


class FeatureProperties(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str = Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z_\-]+$")
    name: str = Field(min_length=1, max_length=128)
    kind: AreaKind
    parent_code: str | None = Field(default=None, max_length=32)


class Feature(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["Feature"]
    properties: FeatureProperties
    geometry: dict[str, Any] | None = None


class FeatureCollection(BaseModel):
    """A GeoJSON FeatureCollection of areas; `crs` is "wgs84" (default) or "gcj02"."""

    model_config = ConfigDict(extra="allow")

    type: Literal["FeatureCollection"]
    # GDAL/QGIS exports carry the old `"crs": {...}` object: it says nothing we can use for
    # Chinese offsets, so it is treated as unspecified (pass ?crs= / --crs instead).
    crs: Crs | dict[str, Any] | None = None
    features: list[Feature] = Field(min_length=1, max_length=300_000)


class ImportQuery(Input):
    crs: Crs | None = Field(default=None, description="Overrides the file's `crs` member")


class ImportResult(BaseModel):
    created: int
    by_kind: dict[str, int]
    geometry_revision: int
