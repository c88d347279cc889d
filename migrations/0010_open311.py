import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from app.tickets.models import TicketSource


class Migration(migrations.Migration):
    dependencies = [('models', '0009_media_moderation')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Ticket',
            name='source',
            field=fields.CharEnumField(description='RESIDENT: resident\nPATROL: patrol\nHOTLINE: hotline\nCAMERA: camera\nSTAFF: staff\nOPEN311: open311', enum_type=TicketSource, max_length=16),
        ),
        ops.CreateModel(
            name='Open311Client',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=32)),
                ('name', fields.CharField(max_length=64)),
                ('key_hash', fields.CharField(unique=True, max_length=64)),
                ('key_prefix', fields.CharField(max_length=12)),
                ('is_active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('deactivated_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('deactivated_reason', fields.CharField(default='', max_length=255)),
            ],
            options={'table': 'open311_clients', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A client app allowed to POST requests: only a hash of its key is kept.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Open311Request',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ticket', fields.OneToOneField('models.Ticket', source_field='ticket_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('client', fields.ForeignKeyField('models.Open311Client', source_field='client_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('token', fields.CharField(unique=True, max_length=40)),
                ('email', fields.CharField(default='', max_length=255)),
                ('first_name', fields.CharField(default='', max_length=64)),
                ('last_name', fields.CharField(default='', max_length=64)),
                ('phone', fields.CharField(default='', max_length=32)),
                ('device_id', fields.CharField(default='', max_length=64)),
                ('account_id', fields.CharField(default='', max_length=64)),
                ('media_url', fields.CharField(default='', max_length=1024)),
                ('answers', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'open311_requests', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A ticket filed through Open311, its token and the contact details (staff only).'},
            bases=['Model'],
        ),
    ]
