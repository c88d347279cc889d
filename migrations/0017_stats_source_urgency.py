"""The per-source rollup (day, community, source, urgency) and the units' ranking's cohort
counts in every rollup (docs/metrics.md). The new columns start at 0 and the new table
empty: run `python -m app stats rebuild` once after this migration (a maintenance window),
or the source and urgency breakdowns and the units' ranking miss the days before it."""


from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from app.core.migration_ops import AddFilledField


class Migration(migrations.Migration):
    dependencies = [('models', '0016_ticket_deadline_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='StatsDailySource',
            fields=[
                ('day', fields.DateField()),
                ('area_path', fields.CharField(max_length=255)),
                ('reported', fields.IntField(default=0)),
                ('accepted', fields.IntField(default=0)),
                ('rejected', fields.IntField(default=0)),
                ('self_disposed', fields.IntField(default=0)),
                ('dispatched', fields.IntField(default=0)),
                ('returned', fields.IntField(default=0)),
                ('should_handle', fields.IntField(default=0)),
                ('handled', fields.IntField(default=0)),
                ('handled_on_time', fields.IntField(default=0)),
                ('reworked', fields.IntField(default=0)),
                ('should_close', fields.IntField(default=0)),
                ('closed', fields.IntField(default=0)),
                ('closed_on_time', fields.IntField(default=0)),
                ('forwarded', fields.IntField(default=0)),
                ('dispatched_closed', fields.IntField(default=0)),
                ('dispatched_closed_on_time', fields.IntField(default=0)),
                ('extended', fields.IntField(default=0)),
                ('suspended', fields.IntField(default=0)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('source', fields.CharField(max_length=16)),
                ('urgency', fields.CharField(max_length=8)),
            ],
            options={'table': 'stats_daily_sources', 'app': 'models', 'unique_together': (('day', 'area_path', 'source', 'urgency'),), 'pk_attr': 'id', 'table_description': "By intake channel and urgency: `area_path` is the community's path, `source` and"},
            bases=['_Counts'],
        ),
        AddFilledField(
            model_name='StatsDaily',
            name='dispatched_closed',
            field=fields.IntField(default=0),
        ),
        AddFilledField(
            model_name='StatsDaily',
            name='dispatched_closed_on_time',
            field=fields.IntField(default=0),
        ),
        AddFilledField(
            model_name='StatsDaily',
            name='extended',
            field=fields.IntField(default=0),
        ),
        AddFilledField(
            model_name='StatsDaily',
            name='suspended',
            field=fields.IntField(default=0),
        ),
        AddFilledField(
            model_name='StatsDailyCategory',
            name='dispatched_closed',
            field=fields.IntField(default=0),
        ),
        AddFilledField(
            model_name='StatsDailyCategory',
            name='dispatched_closed_on_time',
            field=fields.IntField(default=0),
        ),
        AddFilledField(
            model_name='StatsDailyCategory',
            name='extended',
            field=fields.IntField(default=0),
        ),
        AddFilledField(
            model_name='StatsDailyCategory',
            name='suspended',
            field=fields.IntField(default=0),
        ),
        AddFilledField(
            model_name='StatsDailyUnit',
            name='dispatched_closed',
            field=fields.IntField(default=0),
        ),
        AddFilledField(
            model_name='StatsDailyUnit',
            name='dispatched_closed_on_time',
            field=fields.IntField(default=0),
        ),
        AddFilledField(
            model_name='StatsDailyUnit',
            name='extended',
            field=fields.IntField(default=0),
        ),
        AddFilledField(
            model_name='StatsDailyUnit',
            name='suspended',
            field=fields.IntField(default=0),
        ),
        AddFilledField(
            model_name='StatsDelta',
            name='dispatched_closed',
            field=fields.IntField(default=0),
        ),
        AddFilledField(
            model_name='StatsDelta',
            name='dispatched_closed_on_time',
            field=fields.IntField(default=0),
        ),
        AddFilledField(
            model_name='StatsDelta',
            name='extended',
            field=fields.IntField(default=0),
        ),
        AddFilledField(
            model_name='StatsDelta',
            name='source',
            field=fields.CharField(null=True, max_length=16),
        ),
        AddFilledField(
            model_name='StatsDelta',
            name='suspended',
            field=fields.IntField(default=0),
        ),
        AddFilledField(
            model_name='StatsDelta',
            name='urgency',
            field=fields.CharField(null=True, max_length=8),
        ),
    ]
