from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from app.hotline.models import CallbackResult
from app.integrations.models import IntegrationKind


class Migration(migrations.Migration):
    dependencies = [('models', '0005_supervision')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Integration',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=32)),
                ('name', fields.CharField(max_length=64)),
                ('kind', fields.CharEnumField(description='HOTLINE12345: hotline12345\nCAMERA: camera\nSENSOR: sensor\nFEED: feed', enum_type=IntegrationKind, max_length=16)),
                ('is_active', fields.BooleanField(default=True)),
                ('rate_per_minute', fields.IntField(default=600)),
                ('endpoint_url', fields.CharField(default='', max_length=512)),
                ('feed_cursor', fields.CharField(default='', max_length=80)),
                ('feed_outbox_id', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'integrations', 'app': 'models', 'pk_attr': 'id', 'table_description': 'An outside system that calls us with signed requests, with its own limit and endpoint.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='IntegrationKey',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('integration', fields.ForeignKeyField('models.Integration', source_field='integration_id', db_constraint=True, to_field='id', related_name='keys', on_delete=OnDelete.CASCADE)),
                ('secret', fields.CharField(max_length=64)),
                ('prefix', fields.CharField(max_length=8)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'integration_keys', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A signing secret of an integration, valid until `expires_at` (null: until rotated).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='IntegrationRequest',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('integration', fields.ForeignKeyField('models.Integration', source_field='integration_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('request_id', fields.CharField(max_length=64)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'integration_requests', 'app': 'models', 'unique_together': (('integration', 'request_id'),), 'indexes': [Index(fields=['received_at'])], 'pk_attr': 'id', 'table_description': 'A request id an integration has used: the unique constraint refuses a replay.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='HotlineCase',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ticket', fields.OneToOneField('models.Ticket', source_field='ticket_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('integration', fields.ForeignKeyField('models.Integration', source_field='integration_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('order_number', fields.CharField(null=True, max_length=64)),
                ('caller_name', fields.CharField(default='', max_length=64)),
                ('caller_phone', fields.CharField(default='', max_length=32)),
                ('wants_callback', fields.BooleanField(default=True)),
                ('filed_by', fields.ForeignKeyField('models.User', source_field='filed_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('callback_result', fields.CharEnumField(null=True, description='SATISFIED: satisfied\nBASICALLY_SATISFIED: basically_satisfied\nUNSATISFIED: unsatisfied\nUNREACHABLE: unreachable', enum_type=CallbackResult, max_length=24)),
                ('callback_note', fields.CharField(default='', max_length=500)),
                ('callback_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('callback_by', fields.ForeignKeyField('models.User', source_field='callback_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'hotline_cases', 'app': 'models', 'unique_together': (('integration', 'order_number'),), 'pk_attr': 'id', 'table_description': 'The caller and 12345 order of a hotline ticket, kept out of the ticket (staff only).'},
            bases=['Model'],
        ),
    ]
