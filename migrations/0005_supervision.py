from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from app.accounts.models import Role
from app.supervision.models import SupervisionLevel, SupervisionStatus


class Migration(migrations.Migration):
    dependencies = [('models', '0004_personal_data_and_staff_wechat')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='RoleGrant',
            name='role',
            field=fields.CharEnumField(description='RESIDENT: resident\nGRID_WORKER: grid_worker\nHANDLER: handler\nCOMMUNITY_STAFF: community_staff\nDISPATCHER: dispatcher\nADMIN: admin\nSUPERVISOR: supervisor', enum_type=Role, max_length=32),
        ),
        ops.CreateModel(
            name='Supervision',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ticket', fields.ForeignKeyField('models.Ticket', source_field='ticket_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('unit_id', fields.IntField(null=True)),
                ('area_path', fields.CharField(default='', max_length=255)),
                ('level', fields.CharEnumField(description='NORMAL: normal\nKEY: key\nLISTED: listed', enum_type=SupervisionLevel, max_length=16)),
                ('note', fields.CharField(max_length=500)),
                ('deadline_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('raised_by', fields.ForeignKeyField('models.User', source_field='raised_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('auto_key', fields.CharField(null=True, unique=True, max_length=64)),
                ('status', fields.CharEnumField(default=SupervisionStatus.OPEN, description='OPEN: open\nCLOSED: closed', enum_type=SupervisionStatus, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'supervisions', 'app': 'models', 'indexes': [Index(fields=['unit_id', 'id']), Index(fields=['ticket_id', 'status']), Index(fields=['area_path', 'id'])], 'pk_attr': 'id', 'table_description': 'A 督办 on a ticket: who raised it (none: the overdue job), level, note, its own deadline.'},
            bases=['Model'],
        ),
    ]
