from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from app.core.migration_ops import AddFilledField
from app.media.models import MediaCheck, ModerationAction


class Migration(migrations.Migration):
    dependencies = [('models', '0008_evaluation')]

    initial = False

    operations = [
        AddFilledField(
            model_name='Media',
            name='check',
            field=fields.CharEnumField(default=MediaCheck.PASSED, description='CHECKING: checking\nPASSED: passed\nREVIEW: review\nRISKY: risky', enum_type=MediaCheck, max_length=16),
        ),
        AddFilledField(
            model_name='Media',
            name='check_trace_id',
            field=fields.CharField(null=True, db_index=True, max_length=64),
        ),
        AddFilledField(
            model_name='Media',
            name='check_sent_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        AddFilledField(
            model_name='Media',
            name='check_label',
            field=fields.CharField(null=True, max_length=16),
        ),
        AddFilledField(
            model_name='Media',
            name='checked_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        AddFilledField(
            model_name='Media',
            name='hidden_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        AddFilledField(
            model_name='Media',
            name='hidden_reason',
            field=fields.CharField(null=True, max_length=200),
        ),
        ops.CreateModel(
            name='MediaModeration',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('media_id', fields.IntField(db_index=True)),
                ('ticket_id', fields.IntField(null=True, db_index=True)),
                ('action', fields.CharEnumField(description='HIDE: hide\nRESTORE: restore\nCHECK_RISKY: check_risky\nCHECK_REVIEW: check_review', enum_type=ModerationAction, max_length=16)),
                ('actor_id', fields.IntField(null=True)),
                ('actor_role', fields.CharField(default='', max_length=32)),
                ('reason', fields.CharField(default='', max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'media_moderation', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Who hid or restored a photo and why, or the check\'s verdict: read into the timeline.'},
            bases=['Model'],
        ),
    ]
