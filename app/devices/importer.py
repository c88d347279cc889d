"""A device file read into rows, or the list of what is wrong with it. Pure: no database.

CSV: UTF-8 (a BOM is fine), a header row naming the columns `code, name, kind, vendor, lng, lat,
crs, address, unit_id, integration, is_active` (`vendor`, `crs` (default wgs84), `address`,
`unit_id` and `is_active` (default true) may be left out or blank).

GeoJSON: a FeatureCollection of Point features whose properties are the same columns; the
point is WGS-84 as RFC 7946 says, unless a feature's `crs` property says `gcj02`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from app.devices.schemas import EVENT_TYPE as EVENT_TYPE_PATTERN
from app.devices.schemas import DeviceCreate

EVENT_TYPE = re.compile(EVENT_TYPE_PATTERN.strip("^$"))
MAX_ROWS = 5000
COLUMNS = ("code", "name", "kind", "vendor", "lng", "lat", "crs", "address", "unit_id",
           "integration", "is_active")
REQUIRED = ("code", "name", "kind", "lng", "lat", "integration")


@dataclass(frozen=True)
class Row:
    line: int  # the CSV line, or the feature's position (1-based)
    data: DeviceCreate


def _row(line: int, raw: dict[str, Any], problems: list[dict[str, Any]]) -> Row | None:
    values = {k: v for k, v in raw.items() if v not in (None, "")}
    location = {"lng": values.pop("lng", None), "lat": values.pop("lat", None),
                "crs": str(values.pop("crs", "wgs84")).lower()}
    values["location"] = location
    try:
        return Row(line, DeviceCreate.model_validate(values))
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"] if p != "location") or "row"
            problems.append({"row": line, "code": "invalid_field", "field": field,
                             "message": f"字段 {field} 有误：{error['msg']}"})
        return None


def _from_csv(content: str, problems: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown:
        problems.append({"row": 1, "code": "bad_header", "message": "表头有误", "missing": missing,
                         "unknown": unknown})
        return []
    reader.fieldnames = header
    rows: list[tuple[int, dict[str, Any]]] = []
    try:
        for record in reader:
            if None in record:  # more cells than the header names
                problems.append({"row": reader.line_num, "code": "extra_cells",
                                 "message": "该行的列数多于表头"})
                continue
            rows.append((reader.line_num, {k: (v or "").strip() for k, v in record.items()}))
    except csv.Error as exc:
        problems.append({"row": reader.line_num, "code": "bad_csv", "message": f"CSV 格式有误：{exc}"})
    return rows


def _from_geojson(content: str,
                  problems: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    try:
        data = json.loads(content)
    except ValueError:
        problems.append({"row": 0, "code": "bad_geojson", "message": "不是有效的 JSON"})
        return []
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" \
            or not isinstance(data.get("features"), list):
        problems.append({"row": 0, "code": "bad_geojson", "message": "须为 FeatureCollection"})
        return []
    rows: list[tuple[int, dict[str, Any]]] = []
    for i, feature in enumerate(data["features"], start=1):
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        props = feature.get("properties") if isinstance(feature, dict) else None
        coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
        if not (isinstance(geometry, dict) and geometry.get("type") == "Point"
                and isinstance(coords, list) and len(coords) >= 2
                and isinstance(props, dict | None)):
            problems.append({"row": i, "code": "not_a_point", "message": "要素须为 Point"})
            continue
        unknown = [k for k in (props or {}) if k not in COLUMNS or k in ("lng", "lat")]
        if unknown:
            problems.append({"row": i, "code": "unknown_property",
                             "message": "未知的属性", "unknown": unknown})
            continue
        rows.append((i, {**(props or {}), "lng": coords[0], "lat": coords[1]}))
    return rows


def parse(fmt: str, content: str) -> tuple[list[Row], list[dict[str, Any]]]:
    """The file's rows and every problem found (rows with a problem are left out)."""
    problems: list[dict[str, Any]] = []
    raw = _from_csv(content, problems) if fmt == "csv" else _from_geojson(content, problems)
    if len(raw) > MAX_ROWS:
        problems.append({"row": 0, "code": "too_many_rows",
                         "message": f"一次最多导入 {MAX_ROWS} 台设备"})
        return [], problems
    if not raw and not problems:
        problems.append({"row": 0, "code": "empty_file", "message": "文件中没有设备"})
    rows: list[Row] = []
    seen: dict[str, int] = {}
    for line, values in raw:
        row = _row(line, values, problems)
        if row is None:
            continue
        if row.data.code in seen:
            problems.append({"row": line, "code": "duplicate_code",
                             "message": f"设备编码 {row.data.code} 与第 {seen[row.data.code]} 行重复"})
            continue
        seen[row.data.code] = line
        rows.append(row)
    return rows, problems
