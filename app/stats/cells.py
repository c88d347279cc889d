"""The heat map's figures per grid cell: cases reported in the period, open now and the
period's 按期结案率, with each cell's own polygon (GeoJSON, WGS-84; no map tiles)."""

from __future__ import annotations

from typing import Any

from tortoise.functions import Count

from app.accounts.models import User
from app.areas.models import Area, AreaKind
from app.core.paths import under_any
from app.stats import service as base
from app.stats.rollups import path_levels
from app.stats.schemas import BreakdownQuery
from app.tickets.workflow import OPEN_STATUSES

CELL_LEVEL = 4  # district / street / community / cell


async def heat(*, viewer: User, query: Any) -> dict[str, Any]:
    """A FeatureCollection of the scope's cells, each with `reported`, `open` and `rate`
    (按期结案率 {value, display}); the figures are `stats.breakdown(by=grid)`'s."""
    params = query.model_dump(by_alias=True)
    table = await base.breakdown(viewer=viewer,
                                 query=BreakdownQuery.model_validate({**params, "by": "grid"}))
    tickets, _, paths, _ = await base._filtered(viewer, query)
    open_now: dict[str, int] = {}
    # Grouped by (status, area_path), the order of the (status, area_path) index: MariaDB
    # counts along it with no temporary table (0.1-0.2 s at a million tickets, against
    # 1.2-1.5 s grouped by area_path alone, docs/benchmarks.md); the statuses add up below.
    rows = await tickets.filter(status__in=list(OPEN_STATUSES)).annotate(
        n=Count("id")).group_by("status", "area_path").values("status", "area_path", "n")
    for row in rows:
        levels = path_levels(row["area_path"] or "")
        if len(levels) >= CELL_LEVEL:
            code = levels[CELL_LEVEL - 1]
            open_now[code] = open_now.get(code, 0) + int(row["n"])
    by_code = {row.key: row for row in table.rows}
    cells = await Area.filter(under_any("path", paths), kind=AreaKind.GRID,
                              geometry__isnull=False).only("code", "name", "geometry")
    features = []
    for cell in sorted(cells, key=lambda c: c.code):
        figures = by_code.get(cell.code)
        rate = figures.rates["closed_on_time_rate"] if figures else None
        features.append({"type": "Feature", "geometry": cell.geometry, "properties": {
            "code": cell.code, "name": cell.name,
            "reported": figures.counts["reported"] if figures else 0,
            "open": open_now.get(cell.code, 0),
            "rate": rate.model_dump() if rate else {"value": None, "display": "—",
                                                     "label": "按期结案率"}}})
    return {"type": "FeatureCollection", "features": features,
            "period_from": table.rows[0].period_from.isoformat() if table.rows else None}
