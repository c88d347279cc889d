"""The big screen's figures, cached per scope, and the display links that open it.

Every count and rate that the stats API publishes comes from `app.stats.service` (the same
call, scope and period as `/api/v1/stats/summary` and `/stats/breakdown`); the screen adds
only plain counts the stats API has no view of (open cases, overdue now, reports per
category and per intake channel, the live feed).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from tortoise.expressions import Q
from tortoise.functions import Count

from app.accounts import service as accounts
from app.accounts.models import User
from app.accounts.scope import Role, scope_of
from app.areas.models import Area, AreaKind
from app.catalog import service as catalog
from app.core import redis as redis_core
from app.core.errors import Forbidden, Invalid, NotFound
from app.core.paths import under_any
from app.core.workcalendar import SHANGHAI
from app.screen.models import DisplayLink
from app.settings import current
from app.stats import metrics
from app.stats import service as stats
from app.stats.schemas import BreakdownQuery, StatsQuery
from app.tickets.models import Ticket, TicketSource
from app.tickets.workflow import ON_THE_CLOCK, OPEN_STATUSES, Status

log = logging.getLogger("gongzhi.screen")

# Who may watch a screen (the stats API's viewers) and who may hand out display links.
VIEWERS = (Role.DISPATCHER, Role.COMMUNITY_STAFF, Role.ADMIN)
LINK_MANAGERS = (Role.ADMIN, Role.DISPATCHER)
SOURCE_LABELS = {
    TicketSource.RESIDENT: "居民上报", TicketSource.PATROL: "巡查上报",
    TicketSource.HOTLINE: "热线来电", TicketSource.CAMERA: "视频发现",
    TicketSource.STAFF: "工作人员", TicketSource.OPEN311: "第三方应用",
}
FEED_SIZE = 12
RANKING_SIZE = 10
GRID_DEPTH = 4  # /district/street/community/cell/
COMMUNITY_DEPTH = 3


# --- display links ----------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ScreenScope:
    """What a screen shows: the area subtrees, read with the rights of `viewer`."""

    viewer: User
    paths: tuple[str, ...]
    area_code: str | None  # the one area asked for; None: the viewer's whole scope
    title: str

    @property
    def key(self) -> str:
        return ",".join(self.paths)


async def create_link(*, actor: User, name: str, area_code: str) -> tuple[DisplayLink, str]:
    """A new display link for an area inside the actor's admin/dispatcher scope, and its token
    (shown once: only the hash is kept)."""
    scope = scope_of(actor)
    if not scope.has(*LINK_MANAGERS):
        raise Forbidden("只有管理员和派遣员可以创建大屏链接")
    name = name.strip()
    if not name or len(name) > 64:
        raise Invalid("请填写链接名称（不超过 64 个字）", code="invalid_name")
    await accounts.scoped_area_paths(scope=scope, roles=LINK_MANAGERS, area_code=area_code)
    area = await Area.get(code=area_code)
    token = secrets.token_urlsafe(32)
    link = await DisplayLink.create(token_hash=_hash(token), name=name, area_id=area.id,
                                    created_by_id=actor.id)
    return link, token


async def list_links(*, actor: User) -> list[DisplayLink]:
    """The links of the areas inside the actor's admin/dispatcher scope, newest first."""
    scope = scope_of(actor)
    if not scope.has(*LINK_MANAGERS):
        raise Forbidden("只有管理员和派遣员可以管理大屏链接")
    paths = scope.paths(*LINK_MANAGERS)
    return list(await DisplayLink.filter(under_any("area__path", paths))
                .prefetch_related("area").order_by("-id").limit(500))


async def link_areas(*, actor: User) -> list[Area]:
    """The districts, streets and communities an actor may make a display link for."""
    paths = scope_of(actor).paths(*LINK_MANAGERS)
    return list(await Area.filter(under_any("path", paths), kind__in=[
        AreaKind.DISTRICT, AreaKind.STREET, AreaKind.COMMUNITY]).order_by("path").limit(2000))


async def revoke_link(*, actor: User, link_id: int) -> DisplayLink:
    """Revoke a link in the actor's scope (once; revoking again changes nothing)."""
    scope = scope_of(actor)
    if not scope.has(*LINK_MANAGERS):
        raise Forbidden("只有管理员和派遣员可以管理大屏链接")
    link = await DisplayLink.get_or_none(id=link_id).prefetch_related("area")
    if link is None or not scope.covers(link.area.path, *LINK_MANAGERS):
        raise NotFound("找不到该大屏链接", code="display_link_not_found")
    # Conditional: a second revoke (another tab) keeps the first time.
    await DisplayLink.filter(id=link_id, revoked_at__isnull=True).update(
        revoked_at=datetime.now(UTC))
    _links.pop(link.token_hash, None)
    await _tell_revoked(link.token_hash)
    await link.refresh_from_db(fields=["revoked_at"])
    return link


# token hash -> [resolved at, checked at, scope]. A resolved link (the link, its creator, the
# creator's grants: about 7 statements) is kept LINK_RESOLVE_S; every LINK_CACHE_S one
# statement checks that it is still there and unrevoked (and marks it seen). So 50 screens on
# 50 links do not read 50 links, creators and grants every few seconds. A revoke ends a link at
# once: this process forgets it, and other processes see the Redis key `_tell_revoked` writes
# (checked on every use). Without Redis only this process is told at once (the others within
# LINK_CACHE_S); with Redis unreachable a link is trusted SCREEN_CACHE_S after its check. A
# creator who loses the grant or the account ends their links within LINK_RESOLVE_S.
_links: dict[str, list[Any]] = {}
LINK_CACHE_S = 60.0
LINK_RESOLVE_S = 300.0
LINK_GONE = "大屏链接无效或已被撤销"


def _revoked_key(digest: str) -> str:
    return f"gz:screen:revoked:{digest}"


async def _tell_revoked(digest: str) -> None:
    # Kept twice as long as any process caches a link: after that the database says it.
    try:
        await redis_core.run(lambda r: r.set(_revoked_key(digest), "1",
                                             ex=int(2 * LINK_CACHE_S)))
    except redis_core.Unavailable:
        pass


async def _cached_link(digest: str) -> ScreenScope | None:
    """The cached scope of a link while it may still be trusted; None: resolve it again."""
    hit = _links.get(digest)
    if hit is None:
        return None
    resolved_at, checked_at, screen = hit
    now = time.monotonic()
    trusted = now - resolved_at < LINK_RESOLVE_S
    if trusted and redis_core.client() is not None:
        try:
            trusted = not await redis_core.run(lambda r: r.exists(_revoked_key(digest)))
        except redis_core.Unavailable:
            # Not told about revocations now: check the database after SCREEN_CACHE_S.
            checked_at -= LINK_CACHE_S - current().screen_cache_s
    if trusted and now - checked_at >= LINK_CACHE_S:
        seen = datetime.now(UTC)
        # One statement: still there and unrevoked (0 rows: gone), and seen now.
        trusted = await DisplayLink.filter(token_hash=digest, revoked_at__isnull=True).update(
            last_seen_at=seen) > 0
        hit[1] = now
    if trusted:
        return cast(ScreenScope, screen)
    _links.pop(digest, None)
    return None


async def scope_of_link(*, token: str) -> ScreenScope:
    """The scope a display link shows; 404 once revoked, or when its creator no longer may."""
    if not token or len(token) > 128:
        raise NotFound(LINK_GONE, code="display_link_not_found")
    digest = _hash(token)
    cached = await _cached_link(digest)
    if cached is not None:
        return cached
    link = await DisplayLink.get_or_none(token_hash=digest, revoked_at__isnull=True
                                         ).prefetch_related("area")
    creator = await accounts.get_active_user(user_id=link.created_by_id) if link else None
    if link is None or creator is None:
        raise NotFound(LINK_GONE, code="display_link_not_found")
    try:
        screen = await scope_for(viewer=creator, area_code=link.area.code, title=link.area.name)
    except (Forbidden, NotFound):
        raise NotFound(LINK_GONE, code="display_link_not_found") from None
    now = datetime.now(UTC)
    # Seen at most once a minute per link: 50 screens must not mean 10 writes a second.
    await DisplayLink.filter(Q(last_seen_at__isnull=True)
                             | Q(last_seen_at__lt=now - timedelta(minutes=1)),
                             id=link.id).update(last_seen_at=now)
    _links[digest] = [time.monotonic(), time.monotonic(), screen]
    return screen


async def scope_for(*, viewer: User, area_code: str | None, title: str = "") -> ScreenScope:
    """A staff member's screen: their whole stats scope, or one area inside it (404 outside)."""
    scope = scope_of(viewer)
    if not scope.has(*VIEWERS):
        raise Forbidden("只有派遣员、社区工作人员和管理员可以查看大屏")
    paths = await accounts.scoped_area_paths(scope=scope, roles=VIEWERS, area_code=area_code)
    if not title:
        areas = await Area.filter(path__in=paths).order_by("path").values_list("name", flat=True)
        title = "、".join(str(a) for a in areas) or "全市"
    return ScreenScope(viewer=viewer, paths=tuple(sorted(paths)), area_code=area_code or None,
                       title=title)


# --- the figures, cached ------------------------------------------------------------------------


class _Cache:
    """The figures per scope: valid SCREEN_CACHE_S from the end of their computation, and one
    computation per scope at a time (single flight): in this process one task computes while
    the others wait for it, and with Redis one process computes (it holds a lock key) while
    the others wait for the figures it shares."""

    def __init__(self) -> None:
        self.local: dict[str, tuple[float, dict[str, Any]]] = {}  # key -> (fresh until, figures)
        self.flights: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.computations = 0  # how many times the figures were computed (for tests)

    def clear(self) -> None:
        self.local.clear()
        self.flights.clear()


cache = _Cache()
# While new figures are being computed a screen that has older ones waits this long at most,
# then shows the older ones (a computation at a city's scale may take seconds).
STALE_WAIT_S = 1.0
# How long another process's computation is waited for before this one computes itself.
FLIGHT_S = 60.0


async def figures(screen: ScreenScope) -> dict[str, Any]:
    """The screen's figures for `screen`, computed at most SCREEN_CACHE_S ago."""
    ttl = current().screen_cache_s
    if ttl <= 0:  # caching off (tests, or a deployment that wants every figure fresh)
        return await compute(screen)
    key = f"gz:screen:{screen.key}"
    hit = cache.local.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    flight = cache.flights.get(key)
    if flight is None:
        flight = asyncio.ensure_future(_refresh(key, screen, ttl))
        cache.flights[key] = flight
        flight.add_done_callback(lambda done: _landed(key, done))
    if hit is None:
        return await asyncio.shield(flight)
    try:
        return await asyncio.wait_for(asyncio.shield(flight), STALE_WAIT_S)
    except TimeoutError:
        return hit[1]
    except Exception:
        log.exception("screen figures for %s: computing failed; showing older ones", key)
        return hit[1]


def _landed(key: str, done: asyncio.Future[dict[str, Any]]) -> None:
    if cache.flights.get(key) is done:
        del cache.flights[key]
    if not done.cancelled() and done.exception() is not None:  # retrieved: logged once here
        log.warning("screen figures for %s not computed: %r", key, done.exception())


async def _refresh(key: str, screen: ScreenScope, ttl: float) -> dict[str, Any]:
    """New figures for `key`: another process's, or computed here (and shared)."""
    shared = await _shared(key)
    if shared is None:
        lock = await _lock(key)
        if lock == "":  # another process computes: wait for what it shares
            shared = await _wait_shared(key)
        if shared is None:
            try:
                data = await compute(screen)
                shared = (time.time() + ttl, data)  # valid from the end of the computation
                await _share(key, shared, ttl)
            finally:
                if lock:
                    await _unlock(key, lock)
    until, data = shared
    cache.local[key] = (time.monotonic() + max(0.0, until - time.time()), data)
    return data


async def _shared(key: str) -> tuple[float, dict[str, Any]] | None:
    try:
        raw = await redis_core.run(lambda r: r.get(key))
    except redis_core.Unavailable:
        return None
    if not raw:
        return None
    found = json.loads(raw)
    return float(found["until"]), found["data"]


async def _share(key: str, shared: tuple[float, dict[str, Any]], ttl: float) -> None:
    body = json.dumps({"until": shared[0], "data": shared[1]}, ensure_ascii=False)
    try:
        await redis_core.run(lambda r: r.set(key, body, px=max(1, int(ttl * 1000))))
    except redis_core.Unavailable:
        pass


async def _lock(key: str) -> str | None:
    """A token when this process may compute (it holds the lock), "" when another process
    does, None without Redis (this process's own single flight is all there is)."""
    token = secrets.token_hex(8)
    try:
        got = await redis_core.run(lambda r: r.set(f"{key}:lock", token, nx=True,
                                                   px=int(FLIGHT_S * 1000)))
    except redis_core.Unavailable:
        return None
    return token if got else ""


async def _unlock(key: str, token: str) -> None:
    try:
        if await redis_core.run(lambda r: r.get(f"{key}:lock")) == token:
            await redis_core.run(lambda r: r.delete(f"{key}:lock"))
    except redis_core.Unavailable:
        pass


async def _wait_shared(key: str) -> tuple[float, dict[str, Any]] | None:
    """The figures another process is computing, once shared; None when it gave up (its lock
    is gone, or FLIGHT_S passed): then this process computes."""
    deadline = time.monotonic() + FLIGHT_S
    while time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        shared = await _shared(key)
        if shared is not None:
            return shared
        try:
            if not await redis_core.run(lambda r: r.exists(f"{key}:lock")):
                return await _shared(key)
        except redis_core.Unavailable:
            return None
    return None


def _periods(now: datetime) -> dict[str, tuple[datetime, datetime]]:
    today = now.astimezone(SHANGHAI).date()
    return {"today": (metrics.midnight(today, SHANGHAI), now),
            "month": (metrics.midnight(today.replace(day=1), SHANGHAI), now)}


def _stats_query(screen: ScreenScope, start: datetime, end: datetime, **extra: Any) -> Any:
    model = BreakdownQuery if extra else StatsQuery
    return model.model_validate({"area": screen.area_code, "from": start, "to": end, **extra})


def _iso(value: datetime) -> str:
    """Beijing time, to the microsecond: a period's bounds must be exact to be re-asked."""
    return value.astimezone(SHANGHAI).isoformat()


async def compute(screen: ScreenScope) -> dict[str, Any]:
    """Every figure of the screen, now (uncached)."""
    cache.computations += 1
    now = datetime.now(UTC)
    periods = _periods(now)
    viewer = screen.viewer
    today = await stats.summary(viewer=viewer, query=_stats_query(screen, *periods["today"]))
    month = await stats.summary(viewer=viewer, query=_stats_query(screen, *periods["month"]))
    cells = await stats.breakdown(viewer=viewer,
                                  query=_stats_query(screen, *periods["month"], by="grid"))
    units = await stats.breakdown(viewer=viewer,
                                  query=_stats_query(screen, *periods["month"], by="unit"))
    # This month's reports per 大类 and per intake channel: the stats breakdowns (their daily
    # rollups for whole days, the tickets for today), the figures the dashboard publishes.
    majors = await stats.breakdown(
        viewer=viewer, query=_stats_query(screen, *periods["month"], by="category_major"))
    sources = await stats.breakdown(
        viewer=viewer, query=_stats_query(screen, *periods["month"], by="source"))
    tickets = Ticket.filter(under_any("area_path", screen.paths))
    open_now = tickets.filter(status__in=list(OPEN_STATUSES))
    open_by_path = await _open_by_path(open_now)
    return {
        "generated_at": _iso(now),
        "refresh_s": current().screen_refresh_s,
        "title": screen.title,
        "today": {"from": _iso(periods["today"][0]), "to": _iso(now),
                  "counts": {k: today.counts[k] for k in
                             ("reported", "accepted", "dispatched", "closed")}},
        "month": {"from": _iso(periods["month"][0]), "to": _iso(now),
                  "counts": {k: month.counts[k] for k in ("reported", "closed", "should_close",
                                                          "closed_on_time")},
                  "rates": {k: month.rates[k].model_dump() for k in
                            ("closed_on_time_rate", "handled_on_time_rate", "closing_rate")}},
        "open": sum(open_by_path.values()),
        "overdue": await open_now.filter(status__in=list(ON_THE_CLOCK),
                                         deadline_at__lt=now).count(),
        "cells": _cells(open_by_path, cells.rows),
        "units": _ranking(units.rows),
        "categories": _categories(majors.rows),
        "sources": _sources(sources.rows),
        "feed": await _feed(tickets),
    }


def _segment(path: str, depth: int) -> str:
    parts = [p for p in path.split("/") if p]
    return parts[depth - 1] if len(parts) >= depth else ""


async def _open_by_path(open_now: Any) -> dict[str, int]:
    """Open cases now per cell path, grouped in the (status, area_path) index's order: no
    temporary table (60 ms at 160,000 open cases, 360 ms grouped by path alone)."""
    counted = await open_now.annotate(n=Count("id")).group_by("status", "area_path").values(
        "area_path", "n")
    by_path: dict[str, int] = {}
    for row in counted:
        by_path[row["area_path"]] = by_path.get(row["area_path"], 0) + int(row["n"])
    return by_path


def _cells(open_by_path: dict[str, int], rows: list[Any]) -> dict[str, Any]:
    """Per grid cell (by code): open cases now and this month's 按期结案率 (stats breakdown)."""
    result: dict[str, dict[str, Any]] = {
        row.key: {"open": 0, "rate": row.rates["closed_on_time_rate"].model_dump()}
        for row in rows if row.key}
    for path, n in open_by_path.items():
        code = _segment(path, GRID_DEPTH)
        if code:
            entry = result.setdefault(code, {"open": 0, "rate": None})
            entry["open"] += n
    return result


def _ranking(rows: list[Any]) -> list[dict[str, Any]]:
    """Units by this month's 按期处置率 (best first), those with dispatched cases only."""
    ranked = [r for r in rows if r.key and r.counts["should_handle"] > 0]
    ranked.sort(key=lambda r: (-(r.rates["handled_on_time_rate"].value or 0),
                               -r.counts["should_handle"], r.name))
    return [{"name": r.name, "should_handle": r.counts["should_handle"],
             "handled_on_time": r.counts["handled_on_time"],
             "rate": r.rates["handled_on_time_rate"].model_dump()} for r in ranked[:RANKING_SIZE]]


def _categories(rows: list[Any]) -> list[dict[str, Any]]:
    """Cases reported this month per 大类 (major class), most first."""
    counted = [{"name": r.name, "count": r.counts["reported"]} for r in rows
               if r.counts["reported"] > 0]
    return sorted(counted, key=lambda r: -r["count"])


def _sources(rows: list[Any]) -> list[dict[str, Any]]:
    """Cases reported this month per intake channel (来源)."""
    counted = [{"source": r.key, "label": SOURCE_LABELS.get(r.key, "其他"),
                "count": r.counts["reported"]} for r in rows if r.counts["reported"] > 0]
    return sorted(counted, key=lambda r: -r["count"])


async def _feed(tickets: Any) -> list[dict[str, Any]]:
    """The newest reports and closings: number, category, community, grid cell code and time
    only (never a reporter, a phone, a description or an address, which residents may have
    typed)."""
    fields = ("id", "number", "category_id", "area_path", "created_at", "closed_at", "status")
    new = await tickets.order_by("-created_at", "-id").limit(FEED_SIZE).values(*fields)
    closed = await tickets.filter(status=Status.CLOSED, closed_at__isnull=False).order_by(
        "-closed_at", "-id").limit(FEED_SIZE).values(*fields)
    by_id = await catalog.categories_by_id()
    events = [("new", row["created_at"], row) for row in new]
    events += [("closed", row["closed_at"], row) for row in closed]
    events.sort(key=lambda e: (e[1], e[2]["id"]), reverse=True)
    events = events[:FEED_SIZE]
    codes = {_segment(e[2]["area_path"], COMMUNITY_DEPTH) for e in events} - {""}
    names = dict(await Area.filter(code__in=codes).values_list("code", "name")) if codes else {}
    return [{
        "kind": kind, "label": "新上报" if kind == "new" else "已结案",
        "number": row["number"] or str(row["id"]),
        "category": by_id[row["category_id"]].name if row["category_id"] in by_id else "",
        "community": names.get(_segment(row["area_path"], COMMUNITY_DEPTH), "未定位"),
        "cell": _segment(row["area_path"], GRID_DEPTH),  # where the map flashes a new case
        "at": _iso(at),
    } for kind, at, row in events]


async def grid(screen: ScreenScope) -> dict[str, Any]:
    """The scope's grid cells as GeoJSON (WGS-84): the screen's map draws only these."""
    cells = await Area.filter(under_any("path", screen.paths), kind=AreaKind.GRID,
                              geometry__isnull=False).only("code", "name", "geometry")
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": c.geometry,
         "properties": {"code": c.code, "name": c.name}} for c in cells]}
