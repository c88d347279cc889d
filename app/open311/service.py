"""Open311 GeoReport v2 read and write rules: services, requests, tokens, updates.

What is public here is what the mini-program's public view shows, and less: a ticket appears
once it is 立案 (accepted) and public (the reporter did not ask to keep it private, the content
check holds nothing), and never with a person in it — no reporter, no contact details, no
staff name, no note. Its unit (an organisation) is `agency_responsible`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from tortoise.expressions import Q, Subquery

from app.catalog import service as catalog
from app.catalog.models import Category
from app.core.errors import AppError
from app.open311.formats import Open311Error, w3c
from app.open311.models import Open311Client, Open311Request
from app.settings import current
from app.tickets import intake, workflow
from app.tickets.models import Ticket, TicketEvent, TicketSource
from app.tickets.queries import RESIDENT_STEPS
from app.tickets.schemas import Location, ReportCreate
from app.tickets.workflow import Status
from app.units import service as unit_service

SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
MAX_SPAN = timedelta(days=90)
# Events are stamped just before their insert: ids and times may disagree by this much at most.
CLOCK_SKEW = timedelta(minutes=1)
# Not on the Open311 face: still waiting for 立案, or ended without being worked.
HIDDEN_STATUSES = frozenset({Status.SUBMITTED}) | workflow.DROPPED_STATUSES
# GeoReport's "closed": done here, fixed or forwarded to the body responsible (热线推送).
ENDED_STATUSES = [Status.CLOSED, Status.FORWARDED]
DESCRIPTION_MAX = 1000  # our reports' limit (the spec allows up to 4,000 characters)
# mySociety's update statuses, from ours (docs/open311.md).
UPDATE_STATUS: dict[str, str] = {
    Status.SUBMITTED: "OPEN", Status.ACCEPTED: "INVESTIGATING",
    Status.DISPATCHED: "ACTION_SCHEDULED", Status.CLAIMED: "IN_PROGRESS",
    Status.HANDLED: "IN_PROGRESS", Status.VERIFYING: "IN_PROGRESS", Status.CLOSED: "FIXED",
    Status.RETURNED: "INVESTIGATING", Status.REOPENED: "IN_PROGRESS",
    Status.REJECTED: "CLOSED", Status.MERGED: "DUPLICATE",
    Status.SUSPENDED: "INVESTIGATING", Status.VOIDED: "NO_FURTHER_ACTION",
    Status.ESCALATED: "INVESTIGATING",
    # 热线推送: handed to the outside body responsible (mySociety's own status for it).
    Status.FORWARDED: "NOT_COUNCILS_RESPONSIBILITY",
}


def check_jurisdiction(args: Mapping[str, str]) -> None:
    """A jurisdiction_id other than ours is 404; none given is fine (one jurisdiction)."""
    given = args.get("jurisdiction_id", "")
    ours = current().open311_jurisdiction_id
    if given and given != ours:
        raise Open311Error(404, f"jurisdiction_id 不存在：{given}")


# --- discovery and services ---------------------------------------------------------------


def discovery(*, base_url: str) -> dict[str, Any]:
    settings = current()
    changeset = w3c(datetime(2026, 12, 5, tzinfo=UTC))
    return {
        "changeset": changeset,
        "contact": settings.open311_contact,
        "key_service": settings.open311_key_service,
        "endpoints": [{
            "specification": SPEC_URL, "url": base_url, "changeset": changeset,
            "type": "production" if settings.app_env == "prod" else "test",
            "formats": ["text/xml", "application/json"],
        }],
    }


def _offered(category: Category, majors: dict[int, Category]) -> bool:
    major = majors.get(category.parent_id) if category.parent_id else None
    return (category.depth == 2 and category.is_active and category.is_resident_visible
            and major is not None and major.is_active and major.is_resident_visible)


def _service(category: Category, major: Category) -> dict[str, Any]:
    name = category.resident_label or category.name
    return {
        "service_code": category.code, "service_name": name,
        "description": f"{major.resident_label or major.name} › {name}（{category.name}）",
        # Our categories have no extra questions (yet): no service definition is needed.
        "metadata": False, "type": "batch",
        "keywords": ",".join(dict.fromkeys([category.name, name])),
        "group": major.resident_label or major.name,
    }


async def list_services() -> list[dict[str, Any]]:
    """Every resident-visible, active 小类 as a service, in the catalogue's order."""
    categories = await catalog.categories_by_id()
    majors = {c.id: c for c in categories.values() if c.depth == 1}
    leaves = [c for c in categories.values() if _offered(c, majors)]
    leaves.sort(key=lambda c: (majors[c.parent_id or 0].sort, majors[c.parent_id or 0].code,
                               c.sort, c.code))
    return [_service(c, majors[c.parent_id or 0]) for c in leaves]


async def _offered_or_404(code: str) -> Category:
    categories = await catalog.categories_by_id()
    majors = {c.id: c for c in categories.values() if c.depth == 1}
    for category in categories.values():
        if category.code == code and _offered(category, majors):
            return category
    raise Open311Error(404, f"service_code 不存在：{code}")


async def service_definition(*, code: str) -> dict[str, Any]:
    """The service's extra questions: none today, so an empty attribute list."""
    category = await _offered_or_404(code)
    return {"service_code": category.code, "attributes": []}


# --- requests: the public face of tickets ---------------------------------------------------


def _public() -> Q:
    return Q(is_public=True, content_held=False) & ~Q(status__in=list(HIDDEN_STATUSES))


async def _request_rows(tickets: list[Ticket]) -> list[dict[str, Any]]:
    categories = await catalog.categories_by_id()
    units = await unit_service.units_by_id(t.unit_id for t in tickets if t.unit_id)
    links = {r.ticket_id: r for r in await Open311Request.filter(
        ticket_id__in=[t.id for t in tickets])} if tickets else {}
    rows = []
    for t in tickets:
        category = categories[t.category_id]
        unit = units.get(t.unit_id) if t.unit_id else None
        is_closed = t.status in ENDED_STATUSES
        link = links.get(t.id)
        rows.append({
            "service_request_id": t.number or str(t.id),
            "status": "closed" if is_closed else "open",
            "status_notes": workflow.status_label(t.status),
            "service_name": category.resident_label or category.name,
            "service_code": category.code,
            "description": t.description,
            "agency_responsible": unit.name if unit is not None else None,
            "service_notice": None,
            "requested_datetime": w3c(t.created_at),
            "updated_datetime": w3c(t.closed_at if is_closed and t.closed_at else t.updated_at),
            "expected_datetime": w3c(t.deadline_at),
            "address": t.address or None,
            "address_id": None,
            "zipcode": None,
            # Five decimals (about a metre), as the mini-program's public view.
            "lat": round(t.lat, 5),
            "long": round(t.lng, 5),
            "media_url": (link.media_url or None) if link is not None else None,
        })
    return rows


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def parse_time(name: str, value: str) -> datetime:
    """A W3C time with its offset (Z or ±HH:MM); 400 otherwise."""
    if re.search(r"T[\d:.]+ \d\d:?\d\d$", value):  # an unencoded "+08:00" arrives as " 08:00"
        value = value[:-6] + "+" + value[-5:] if value[-3] == ":" else value[:-5] + "+" + value[-4:]
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Open311Error(400, f"{name} 须为 W3C 时间，例如 2026-01-01T00:00:00+08:00") from None
    if moment.tzinfo is None:
        raise Open311Error(400, f"{name} 须带时区（Z 或 +08:00）")
    return moment


def date_range(args: Mapping[str, str]) -> tuple[datetime, datetime]:
    """start_date/end_date: at most 90 days apart; by default the last 90 days."""
    start = parse_time("start_date", args["start_date"]) if args.get("start_date") else None
    end = parse_time("end_date", args["end_date"]) if args.get("end_date") else None
    if start is None and end is None:
        end = datetime.now(UTC)
    if start is None:
        assert end is not None
        start = end - MAX_SPAN
    if end is None:
        end = start + MAX_SPAN
    if end < start:
        raise Open311Error(400, "end_date 不能早于 start_date")
    if end - start > MAX_SPAN:
        raise Open311Error(400, "start_date 与 end_date 相隔不能超过 90 天")
    return start, end


def parse_bbox(value: str) -> tuple[float, float, float, float]:
    """Our extension `bbox=min_long,min_lat,max_long,max_lat` (WGS-84)."""
    try:
        parts = [float(p) for p in value.split(",")]
    except ValueError:
        parts = []
    if len(parts) != 4 or any(p != p for p in parts):
        raise Open311Error(400, "bbox 须为 min_long,min_lat,max_long,max_lat（WGS-84）")
    min_lng, min_lat, max_lng, max_lat = parts
    if not (-180 <= min_lng <= max_lng <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise Open311Error(400, "bbox 范围有误")
    return min_lng, min_lat, max_lng, max_lat


async def list_requests(*, args: Mapping[str, str]) -> list[dict[str, Any]]:
    """GET requests: newest first, at most OPEN311_MAX_REQUESTS, public tickets only."""
    qs = Ticket.filter(_public())
    limit = current().open311_max_requests
    # Newest first on the created_at index, which the date window ranges over anyway.
    if args.get("service_request_id"):  # overrides every other filter (the spec)
        numbers = _csv(args["service_request_id"])[:limit]
        qs = qs.filter(number__in=numbers)
    else:
        if args.get("service_code"):
            codes = _csv(args["service_code"])
            categories = await catalog.categories_by_id()
            qs = qs.filter(category_id__in=[c.id for c in categories.values()
                                            if c.code in codes])
        if args.get("status"):
            wanted = set(_csv(args["status"]))
            if not wanted <= {"open", "closed"}:
                raise Open311Error(400, "status 只能是 open、closed 或 open,closed")
            if wanted == {"closed"}:
                qs = qs.filter(status__in=ENDED_STATUSES)
            elif wanted == {"open"}:
                qs = qs.exclude(status__in=ENDED_STATUSES)
        start, end = date_range(args)
        qs = qs.filter(created_at__gte=start, created_at__lte=end)
        if args.get("bbox"):
            min_lng, min_lat, max_lng, max_lat = parse_bbox(args["bbox"])
            qs = qs.filter(lng__gte=min_lng, lng__lte=max_lng, lat__gte=min_lat,
                           lat__lte=max_lat)
    return await _request_rows(list(await qs.order_by("-created_at", "-id").limit(limit)))


async def get_request(*, service_request_id: str) -> list[dict[str, Any]]:
    ticket = await Ticket.filter(_public(), number=service_request_id).first()
    if ticket is None:
        raise Open311Error(404, f"service_request_id 不存在：{service_request_id}")
    return await _request_rows([ticket])


async def token_lookup(*, token: str) -> list[dict[str, Any]]:
    """The token's request id, once its ticket is public; until then the token alone."""
    link = await Open311Request.get_or_none(token=token)
    if link is None:
        raise Open311Error(404, "token 不存在")
    ticket = await Ticket.filter(_public(), id=link.ticket_id).first()
    row: dict[str, Any] = {"token": token}
    if ticket is not None:
        row = {"service_request_id": ticket.number or str(ticket.id), "token": token}
    return [row]


# --- POST requests ---------------------------------------------------------------------------


def _attributes(form: Mapping[str, list[str]]) -> dict[str, Any]:
    """`attribute[code]=v` and `attribute[code][]=v` (a multivaluelist) as {code: v | [v…]}."""
    answers: dict[str, Any] = {}
    for key, values in form.items():
        if not (key.startswith("attribute[") and "]" in key):
            continue
        code = key[len("attribute["):key.index("]")]
        many = key.endswith("[]") and key.count("[") == 2
        answers[code[:64]] = [v[:255] for v in values][:20] if many else values[0][:255]
    return dict(list(answers.items())[:50])


def _coordinate(form: Mapping[str, str], name: str, bound: float) -> float:
    try:
        value = float(form[name])
    except ValueError:
        raise Open311Error(400, f"{name} 须为数字（WGS-84）") from None
    if value != value or not -bound <= value <= bound:
        raise Open311Error(400, f"{name} 超出范围")
    return value


async def create_request(*, client: Open311Client, form: Mapping[str, list[str]]
                         ) -> list[dict[str, Any]]:
    """File a ticket through the one door for new reports; answer with its token (batch)."""
    first = {k: v[0].strip() for k, v in form.items() if v and v[0].strip()}
    if "service_code" not in first:
        raise Open311Error(400, "缺少 service_code")
    category = await _offered_or_404(first["service_code"])
    if "lat" not in first or "long" not in first:
        # address_string/address_id alone cannot be placed in a grid cell here.
        raise Open311Error(400, "需要 lat 和 long（WGS-84）；本平台不能只凭地址定位")
    lat = _coordinate(first, "lat", 90)
    lng = _coordinate(first, "long", 180)
    description = first.get("description") or (category.resident_label or category.name)
    if len(description) > DESCRIPTION_MAX:
        raise Open311Error(400, f"description 不能超过 {DESCRIPTION_MAX} 字")
    media_url = first.get("media_url", "")
    if media_url and not media_url.lower().startswith(("http://", "https://")):
        raise Open311Error(400, "media_url 须为 http(s) 地址")
    try:
        body = ReportCreate(category_code=category.code, description=description,
                            location=Location(lng=lng, lat=lat, crs="wgs84"),
                            address=first.get("address_string", "")[:255])
    except ValidationError as exc:
        raise Open311Error(400, f"请求参数有误：{exc.errors()[0]['msg']}") from None
    token = secrets.token_urlsafe(18)

    async def attach(ticket: Ticket) -> None:  # in the new ticket's transaction
        await Open311Request.create(
            ticket_id=ticket.id, client_id=client.id, token=token,
            email=first.get("email", "")[:255], first_name=first.get("first_name", "")[:64],
            last_name=first.get("last_name", "")[:64], phone=first.get("phone", "")[:32],
            device_id=first.get("device_id", "")[:64],
            account_id=first.get("account_id", "")[:64], media_url=media_url[:1024],
            answers=_attributes(form))

    try:
        # Filed for someone who is not our user: no reporter account, submitted by the system
        # and accepted at once only where the category is auto-accepted.
        await intake.file_for_caller(body=body, source=TicketSource.OPEN311, actor=None,
                                     attach=attach)
    except AppError as exc:  # outside the service area, an inactive category, …
        raise Open311Error(404 if exc.status_code == 404 else 400, exc.message) from None
    return [{"token": token, "service_notice": "已收到，立案后可凭 token 查询案件编号",
             "account_id": first.get("account_id") or None}]


# --- mySociety's servicerequestupdates ----------------------------------------------------------


async def _first_event_id_from(moment: datetime) -> int:
    """An id bound: every event written at or after `moment` has an id at least this.

    `ticket_events.created_at` has no index, but ids grow with time: bisecting the primary key
    (~30 one-row lookups) finds where the window starts, so the scan is a range from there,
    not the whole timeline.
    """

    async def written_since(from_id: int) -> bool:  # monotonic in from_id
        probe = await TicketEvent.filter(id__gte=from_id).order_by("id").only(
            "id", "created_at").first()
        return probe is None or probe.created_at >= moment

    last = await TicketEvent.all().order_by("-id").only("id").first()
    low, high = 1, (last.id + 1) if last is not None else 1
    while low < high:
        middle = (low + high) // 2
        if await written_since(middle):
            high = middle
        else:
            low = middle + 1
    return low


async def list_updates(*, args: Mapping[str, str]) -> list[dict[str, Any]]:
    """The status changes of public tickets in the window, oldest first (for syncing)."""
    start, end = date_range(args)
    limit = current().open311_max_requests
    first_id = await _first_event_id_from(start - CLOCK_SKEW)
    events = await TicketEvent.filter(
        id__gte=first_id, created_at__gte=start, created_at__lte=end, to_status__isnull=False,
        action__in=list(RESIDENT_STEPS),
        ticket_id__in=Subquery(Ticket.filter(_public()).values("id")),
    ).order_by("id").limit(limit)
    numbers = dict(await Ticket.filter(id__in=list({e.ticket_id for e in events}))
                   .values_list("id", "number")) if events else {}
    labels = {t.action: t.label for t in workflow.TRANSITIONS.values()}
    out = []
    for e in events:
        status = e.to_status or ""
        out.append({
            "update_id": str(e.id),
            "service_request_id": numbers.get(e.ticket_id) or str(e.ticket_id),
            "status": UPDATE_STATUS.get(status, "OPEN"),
            "updated_datetime": w3c(e.created_at),
            # The step and the status it reached: never the note (it may name people).
            "description": f"{labels.get(e.action, e.action)}：{workflow.status_label(status)}",
            "media_url": None,
            "external_status_code": status,
        })
    return out
