"""The rollups behind the summaries: ticket counts per (local day, grid cell), per
(local day, community, unit), per (local day, community, category) and per (local day,
community, source, urgency), and the same four per local month beside them.

Every ticket change writes what it adds to each day's counts as `StatsDelta` rows, in the
same transaction as the change (inserts only: no hot row to lock). The job process folds
them into the daily and the monthly rollups at once (`app.stats.rollups.compact`). A summary
reads whole months from a monthly rollup, the other whole days from the daily one, and the
deltas, so it is exact at every moment; see docs/metrics.md.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class _Counts(Model):
    day = fields.DateField()  # Asia/Shanghai
    area_path = fields.CharField(max_length=255)  # the ticket's cell
    reported = fields.IntField(default=0)
    accepted = fields.IntField(default=0)
    rejected = fields.IntField(default=0)
    self_disposed = fields.IntField(default=0)
    dispatched = fields.IntField(default=0)
    returned = fields.IntField(default=0)
    should_handle = fields.IntField(default=0)
    handled = fields.IntField(default=0)
    handled_on_time = fields.IntField(default=0)
    reworked = fields.IntField(default=0)
    should_close = fields.IntField(default=0)
    closed = fields.IntField(default=0)
    closed_on_time = fields.IntField(default=0)
    forwarded = fields.IntField(default=0)
    # The units' ranking's cohort counts (`metrics.COHORT_COUNTS`), not published figures.
    dispatched_closed = fields.IntField(default=0)
    dispatched_closed_on_time = fields.IntField(default=0)
    extended = fields.IntField(default=0)
    suspended = fields.IntField(default=0)

    class Meta:
        abstract = True


class StatsDaily(_Counts):
    id = fields.IntField(primary_key=True)

    class Meta:
        table = "stats_daily"
        unique_together = (("day", "area_path"),)


class StatsDailyUnit(_Counts):
    """By unit: `area_path` is the community's path (a cell's first three levels), and
    `unit_id` 0 stands for tickets no unit holds."""

    id = fields.IntField(primary_key=True)
    unit_id = fields.IntField()

    class Meta:
        table = "stats_daily_units"
        unique_together = (("day", "area_path", "unit_id"),)


class StatsDailyCategory(_Counts):
    """By category: `area_path` is the community's path, `category_path` the 小类's path
    ("" for none)."""

    id = fields.IntField(primary_key=True)
    category_path = fields.CharField(max_length=64)

    class Meta:
        table = "stats_daily_categories"
        unique_together = (("day", "area_path", "category_path"),)
        indexes = (("category_path", "day"),)


class StatsDailySource(_Counts):
    """By intake channel and urgency: `area_path` is the community's path, `source` and
    `urgency` the ticket's ("" for deltas written before this rollup existed)."""

    id = fields.IntField(primary_key=True)
    source = fields.CharField(max_length=16)
    urgency = fields.CharField(max_length=8)

    class Meta:
        table = "stats_daily_sources"
        unique_together = (("day", "area_path", "source", "urgency"),)


# The monthly rollups: the same keys and counts, `day` being the first day of the local
# month (a month's row is the sum of its days' rows). Whole months of a period are read from
# them: a year is 12 rows per key instead of 365 (`app.stats.reads`).


class StatsMonthly(_Counts):
    id = fields.IntField(primary_key=True)

    class Meta:
        table = "stats_monthly"
        unique_together = (("day", "area_path"),)


class StatsMonthlyUnit(_Counts):
    id = fields.IntField(primary_key=True)
    unit_id = fields.IntField()

    class Meta:
        table = "stats_monthly_units"
        unique_together = (("day", "area_path", "unit_id"),)


class StatsMonthlyCategory(_Counts):
    id = fields.IntField(primary_key=True)
    category_path = fields.CharField(max_length=64)

    class Meta:
        table = "stats_monthly_categories"
        unique_together = (("day", "area_path", "category_path"),)
        indexes = (("category_path", "day"),)


class StatsMonthlySource(_Counts):
    id = fields.IntField(primary_key=True)
    source = fields.CharField(max_length=16)
    urgency = fields.CharField(max_length=8)

    class Meta:
        table = "stats_monthly_sources"
        unique_together = (("day", "area_path", "source", "urgency"),)


class StatsDelta(_Counts):
    """Not yet folded into the rollups. Counts may be negative (a ticket merged later)."""

    id = fields.BigIntField(primary_key=True)
    unit_id = fields.IntField(null=True)
    category_id = fields.IntField(null=True)
    source = fields.CharField(max_length=16, null=True)
    urgency = fields.CharField(max_length=8, null=True)

    class Meta:
        table = "stats_deltas"
        indexes = (("day", "area_path"),)
