import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from app.review.models import Decision, ReviewKind


class Migration(migrations.Migration):
    dependencies = [('models', '0017_stats_source_urgency')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AccountChange',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('actor', fields.ForeignKeyField('models.User', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('action', fields.CharField(max_length=16)),
                ('before', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('after', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'account_changes', 'app': 'models', 'indexes': [Index(fields=['user_id', 'id'])], 'pk_attr': 'id', 'table_description': 'The record of a change an admin made to a staff account: its grants replaced, or the'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReviewDecision',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='TICKET: ticket\nRATING: rating\nPOLL_TEXT: poll_text', enum_type=ReviewKind, max_length=16)),
                ('target_id', fields.IntField(null=True)),
                ('target_uuid', fields.UUIDField(null=True)),
                ('decision', fields.CharEnumField(description='RELEASED: released\nKEPT: kept', enum_type=Decision, max_length=16)),
                ('reviewer', fields.ForeignKeyField('models.User', source_field='reviewer_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('decided_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'review_decisions', 'app': 'models', 'indexes': [Index(fields=['kind', 'target_id']), Index(fields=['kind', 'target_uuid'])], 'pk_attr': 'id', 'table_description': "One reviewer's decision on one held text. Rows are only added: the history stays."},
            bases=['Model'],
        ),
    ]
