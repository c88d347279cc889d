"""Request and response models of the areas domain."""

from __future__ import annotations

from typing import Annotated, Any, Literal

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
    """A GeoJSON FeatureCollection of areas, with the CRS it declares (if any)."""

    model_config = ConfigDict(extra="allow")

    type: Literal["FeatureCollection"]
    # Either our plain string or the old GeoJSON object GDAL/QGIS exports still write,
    # `{"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}`. A name we
    # do not know is refused, not guessed (see overlaps.resolve_crs).
    crs: Annotated[str, Field(max_length=200)] | dict[str, Any] | None = Field(
        default=None,
        description='"wgs84" or "gcj02" (or a GeoJSON crs object naming WGS-84/CRS84/'
                    "EPSG:4326, CGCS2000/EPSG:4490 or GCJ-02); omitted = WGS-84, said in the result",
    )
    features: list[Feature] = Field(min_length=1, max_length=300_000)


class ImportQuery(Input):
    crs: Crs | None = Field(default=None, description="Overrides the file's `crs` member")
    replace: str | None = Field(
        default=None, min_length=1, max_length=32, pattern=r"^[0-9A-Za-z_\-]+$",
        description="Redraw: the code of an area (district, street or community) whose cells "
                    "the file replaces. Areas under it with a code in the file are updated in "
                    "place (same id); its grid cells missing from the file are removed, which is "
                    "refused while anything (a ticket, a grant, a rule) still refers to them.",
    )


class ImportResult(BaseModel):
    created: int
    updated: int = Field(default=0, description="Existing areas redrawn in place (?replace=)")
    removed: int = Field(default=0, description="Grid cells removed by a redraw (?replace=)")
    by_kind: dict[str, int]
    geometry_revision: int
    crs: Crs = Field(description="The CRS the file's coordinates were read in")
    crs_source: Literal["query", "file", "assumed"] = Field(
        description="Where `crs` came from: ?crs= (or --crs), the file's own `crs` member, or "
                    "assumed (nothing declared: WGS-84 was assumed — check the cells sit where "
                    "they should; GCJ-02 data would be shifted by hundreds of metres)",
    )


class PreviewFeature(BaseModel):
    """One area of a checked file as it would be stored (geometry in WGS-84)."""

    index: int = Field(description="Position of the feature in the file (from 0)")
    code: str
    name: str
    kind: str
    parent_code: str | None
    geometry: dict[str, Any]


class ImportPreview(BaseModel):
    """A dry run of the import: what it would write and every problem, nothing written."""

    error_count: int
    errors: list[dict[str, Any]] = Field(description="As an import's refusal lists them")
    creates: int
    updates: int
    removes: int
    by_kind: dict[str, int]
    crs: Crs
    crs_source: Literal["query", "file", "assumed"]
    crs_declared: str = Field(description="The CRS name the file declares, if any")
    features: list[PreviewFeature] = Field(description="The areas with a valid polygon")
