"""The evaluation tables for a viewer's area and a period, the grade thresholds, the CSV.

The figures are counted by `rules` from the ticket timeline (TicketEvent rows) of the tickets
in the viewer's scope; this module loads those rows, names the subjects and grades them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q, Subquery
from tortoise.transactions import in_transaction

from app.accounts.models import Role, User
from app.accounts.service import scope_of, scoped_area_paths
from app.core import replica
from app.core.errors import Forbidden, Invalid, NotFound
from app.core.paths import under_any
from app.core.workcalendar import SHANGHAI
from app.evaluation import rules
from app.evaluation.models import EvaluationGrade
from app.evaluation.schemas import (
    EvaluationQuery,
    EvaluationRateOut,
    EvaluationRow,
    EvaluationTable,
    GradeRuleIn,
    GradeRuleList,
    GradeRuleOut,
)
from app.settings import current as current_settings
from app.stats import service as stats
from app.stats.metrics import Period, format_percent, midnight
from app.tickets.models import Ticket, TicketEvent
from app.units.models import Unit

VIEWERS = (Role.DISPATCHER, Role.COMMUNITY_STAFF, Role.ADMIN)
# The timeline steps a period's figures are anchored to (besides the report itself).
_ANCHORS = ("accept", "dispatch", "verify_pass", "verify_fail")
_CHUNK = 500  # ids per IN (...) list


def _period(query: EvaluationQuery) -> Period:
    if query.month and (query.from_ or query.to):
        raise Invalid("请指定月份，或起止时间，二者不能同时使用", code="invalid_period")
    if query.from_ or query.to:
        if query.from_ is None or query.to is None:
            raise Invalid("请同时指定开始和结束时间", code="invalid_period")
        if query.from_.tzinfo is None or query.to.tzinfo is None:
            raise Invalid("时间需要带时区，例如 2026-11-01T00:00:00+08:00",
                          code="naive_datetime")
        # Far dates would overflow on the conversion to UTC; no evaluation lies there.
        if not (2000 <= query.from_.year <= 2100 and 2000 <= query.to.year <= 2100):
            raise Invalid("考核区间超出范围", code="invalid_period")
        if query.to <= query.from_:
            raise Invalid("结束时间必须晚于开始时间", code="invalid_period")
        if query.to - query.from_ > timedelta(days=400):
            raise Invalid("考核区间不能超过 400 天", code="invalid_period")
        return Period(query.from_.astimezone(UTC), query.to.astimezone(UTC))
    if query.month:
        year, month = (int(part) for part in query.month.split("-"))
    else:
        today = datetime.now(UTC).astimezone(SHANGHAI).date()
        year, month = today.year, today.month
    if not 2000 <= year <= 2100:
        raise Invalid("月份超出范围", code="invalid_period")
    first = date(year, month, 1)
    after = date(year + month // 12, month % 12 + 1, 1)
    return Period(midnight(first, SHANGHAI).astimezone(UTC),
                  midnight(after, SHANGHAI).astimezone(UTC))


def _limits() -> rules.Limits:
    s = current_settings()
    return rules.Limits(accept=timedelta(minutes=s.evaluation_accept_minutes),
                        dispatch=timedelta(minutes=s.evaluation_dispatch_minutes),
                        verify=timedelta(minutes=s.evaluation_verify_minutes))


async def _scope_paths(viewer: User, area: str | None) -> list[str]:
    scope = scope_of(viewer)
    if not scope.has(*VIEWERS):
        raise Forbidden("只有工作人员可以查看考核")
    return await scoped_area_paths(scope=scope, roles=VIEWERS, area_code=area)


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


async def _load(paths: list[str], period: Period) -> list[rules.TicketFacts]:
    """The tickets in scope with a report or an anchoring step in the period, with their
    whole timeline (a ticket dispatched in the period counts what happened to it later)."""
    # In UTC, as stored: SQLite compares datetimes as text.
    start, end = period.start.astimezone(UTC), period.end.astimezone(UTC)
    # One snapshot: a ticket changing meanwhile is seen with its events or not at all.
    async with in_transaction(replica.reading_from()):
        return await _read(paths, start, end)


async def _read(paths: list[str], start: datetime, end: datetime) -> list[rules.TicketFacts]:
    """`_load`'s queries, inside its transaction."""
    in_scope = Ticket.filter(under_any("area_path", paths))
    reported = await in_scope.filter(created_at__gte=start, created_at__lt=end).values_list(
        "id", flat=True)
    stepped = await TicketEvent.filter(
        Q(created_at__gte=start, created_at__lt=end), action__in=_ANCHORS,
        ticket_id__in=Subquery(Ticket.filter(under_any("area_path", paths)).values("id")),
    ).distinct().values_list("ticket_id", flat=True)
    ids = sorted({int(str(i)) for i in (*reported, *stepped)})
    events: dict[int, list[rules.Event]] = {}
    tickets: list[dict[str, Any]] = []
    for part in _chunks(ids):
        tickets += await Ticket.filter(id__in=part).values(
            "id", "created_at", "status", "source", "reporter_id", "unit_id", "accepted_at",
            "is_self_disposed", "handled_on_time", "closed_on_time")
        for row in await TicketEvent.filter(ticket_id__in=part, action__in=rules.ACTIONS
                                             ).order_by("id").values(
                "ticket_id", "action", "created_at", "actor_id", "actor_role", "from_status",
                "to_status", "data"):
            events.setdefault(row["ticket_id"], []).append(rules.Event(
                action=row["action"], at=row["created_at"], actor_id=row["actor_id"],
                actor_role=row["actor_role"], from_status=row["from_status"],
                to_status=row["to_status"], data=row["data"] or {}))
    return [rules.TicketFacts(
        id=t["id"], created_at=t["created_at"], status=str(t["status"]),
        source=str(t["source"]), reporter_id=t["reporter_id"], unit_id=t["unit_id"],
        accepted_at=t["accepted_at"], is_self_disposed=t["is_self_disposed"],
        handled_on_time=t["handled_on_time"], closed_on_time=t["closed_on_time"],
        events=tuple(events.get(t["id"], ())))
        for t in tickets]


async def _names(kind: str, keys: list[int]) -> dict[int, str]:
    if not keys:
        return {}
    if kind == rules.UNIT:
        return dict(await Unit.filter(id__in=keys).values_list("id", "name"))
    rows = await User.filter(id__in=keys).values_list("id", "display_name", "username")
    return {uid: display or username or f"用户{uid}" for uid, display, username in rows}


def _rate_out(kind: str, key: str, value: float | None) -> EvaluationRateOut:
    label = next(r.label for r in rules.RATES[kind] if r.key == key)
    return EvaluationRateOut(value=value, display=format_percent(value), label=label)


@replica.heavy_read
async def evaluate(*, viewer: User, kind: str, query: EvaluationQuery) -> EvaluationTable:
    """The evaluation table of one kind: a row per subject, graded and ranked."""
    period = _period(query)
    paths = await _scope_paths(viewer, query.area)
    tickets = await _load(paths, period)
    limits = _limits()
    counted: Mapping[int, rules.Counts]
    if kind == rules.UNIT:
        counted = rules.unit_counts(tickets, period)
    elif kind == rules.DISPATCHER:
        counted = rules.dispatcher_counts(tickets, period, limits)
    else:
        counted = rules.worker_counts(tickets, period, limits)
    return await _table(kind, period, counted)


@replica.heavy_read
async def rank_units(*, viewer: User, query: EvaluationQuery) -> EvaluationTable:
    """The units' table of `evaluate(kind=unit)`, counted from the stats rollups (whole days,
    the period's edges from the tickets) instead of every ticket's timeline: what the
    dashboard and the API show. It differs only for a ticket that went through several
    units, or was imported without the door's verdicts (docs/metrics.md, "The units'
    ranking from the rollups")."""
    period = _period(query)
    paths = await _scope_paths(viewer, query.area)
    counted: dict[int, rules.Counts] = {}
    per_unit = await stats.unit_counts(paths=paths, start=period.start, end=period.end)
    for unit_id, c in per_unit.items():
        if unit_id and c["should_handle"] > 0:  # 0: tickets no unit holds
            counted[unit_id] = rules.UnitCounts(
                should_handle=c["should_handle"], handled=c["handled"],
                handled_on_time=c["handled_on_time"],
                handled_late=c["handled"] - c["handled_on_time"], reworked=c["reworked"],
                extended=c["extended"], suspended=c["suspended"],
                # The evaluation's 应结案 is the dispatched cohort (`rules.unit_counts`).
                should_close=c["should_handle"], closed=c["dispatched_closed"],
                closed_on_time=c["dispatched_closed_on_time"])
    return await _table(rules.UNIT, period, counted)


async def _table(kind: str, period: Period, counted: Mapping[int, rules.Counts]
                 ) -> EvaluationTable:
    """The rows of `counted`, named, graded by the kind's rule and ranked."""
    rule = await _grade_rule(kind)
    names = await _names(kind, list(counted))
    subjects: list[tuple[int, rules.Counts]] = sorted(counted.items(), key=lambda kv: kv[0])
    all_rates = [rules.rates_of(kind, counts) for _, counts in subjects]
    ranked = rules.ranks([r[rule.rate] for r in all_rates])
    rows = []
    for (key, counts), rates, rank in zip(subjects, all_rates, ranked, strict=True):
        graded = rules.grade(rates[rule.rate], rule)
        rows.append(EvaluationRow(
            key=str(key), name=names.get(key, f"#{key}"), rank=rank,
            grade=graded[0] if graded else None,  # type: ignore[arg-type]
            grade_label=graded[1] if graded else "—",
            counts=rules.as_dict(counts),
            rates={k: _rate_out(kind, k, v) for k, v in rates.items()}))
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.name, r.key))
    return EvaluationTable(kind=kind, period_from=period.start, period_to=period.end,  # type: ignore[arg-type]
                           decided_by=rule.rate, rows=rows)


def to_csv(table: EvaluationTable) -> str:
    """The table as CSV with Chinese headers (a BOM so Excel opens UTF-8 correctly)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    count_names = list(rules.as_dict(rules.COUNTS_OF[table.kind]()))
    rate_keys = rules.rate_keys(table.kind)
    labels = {r.key: r.label for r in rules.RATES[table.kind]}
    writer.writerow(["排名", "编号", "名称", "等级",
                     *[rules.COUNT_LABELS[c] for c in count_names],
                     *[labels[k] for k in rate_keys]])
    for row in table.rows:
        writer.writerow([row.rank if row.rank is not None else "—", row.key, row.name,
                         row.grade_label, *[row.counts[c] for c in count_names],
                         *[row.rates[k].display for k in rate_keys]])
    return out.getvalue()


# --- the grade thresholds -----------------------------------------------------------------

async def _grade_rule(kind: str) -> rules.GradeRule:
    row = await EvaluationGrade.get_or_none(kind=kind)
    if row is None:
        return rules.DEFAULT_GRADES[kind]
    return rules.GradeRule(kind, row.rate, row.excellent, row.good, row.passing)


def _rule_out(rule: rules.GradeRule, updated_at: datetime | None) -> GradeRuleOut:
    labels = {r.key: r.label for r in rules.RATES[rule.kind]}
    return GradeRuleOut(kind=rule.kind, kind_label=rules.KIND_LABELS[rule.kind],  # type: ignore[arg-type]
                        rate=rule.rate, rate_label=labels.get(rule.rate, rule.rate),
                        rates=rules.rate_keys(rule.kind), excellent=rule.excellent,
                        good=rule.good, passing=rule.passing, updated_at=updated_at)


async def list_grade_rules(*, viewer: User) -> GradeRuleList:
    """Every kind's grade rule: the district's, or the documented default."""
    if not scope_of(viewer).has(*VIEWERS):
        raise Forbidden("只有工作人员可以查看考核")
    stored = {row.kind: row for row in await EvaluationGrade.all()}
    items = []
    for kind in rules.KINDS:
        row = stored.get(kind)
        if row is None:
            items.append(_rule_out(rules.DEFAULT_GRADES[kind], None))
        else:
            items.append(_rule_out(rules.GradeRule(kind, row.rate, row.excellent, row.good,
                                                   row.passing), row.updated_at))
    return GradeRuleList(items=items)


async def set_grade_rule(*, viewer: User, kind: str, body: GradeRuleIn) -> GradeRuleOut:
    """An admin sets the rate and thresholds of one kind (the last write wins as a whole)."""
    if kind not in rules.KINDS:
        raise NotFound("没有该考核对象", code="evaluation_kind_not_found")
    if not scope_of(viewer).has(Role.ADMIN):
        raise Forbidden("只有管理员可以设置考核等级")
    rule = rules.GradeRule(kind, body.rate, body.excellent, body.good, body.passing)
    problems = rule.problems()
    if problems:
        raise Invalid("；".join(problems), code="invalid_grade_rule",
                      details={"rates": rules.rate_keys(kind)})
    values: dict[str, Any] = {"rate": rule.rate, "excellent": rule.excellent, "good": rule.good,
              "passing": rule.passing, "updated_by_id": viewer.id,
              "updated_at": datetime.now(UTC)}
    # By fields, never a full-row save; two first writes at once: the loser updates.
    if not await EvaluationGrade.filter(kind=kind).update(**values):
        try:
            await EvaluationGrade.create(kind=kind, **values)
        except IntegrityError:
            await EvaluationGrade.filter(kind=kind).update(**values)
    row = await EvaluationGrade.get(kind=kind)
    return _rule_out(rule, row.updated_at)
