from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from app.approvals.models import ApprovalKind, ApprovalStatus
from app.core.migration_ops import AddFilledField
from app.tickets.models import ExtensionStatus
from app.tickets.workflow import Status


class Migration(migrations.Migration):
    dependencies = [('models', '0011_devices')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Ticket',
            name='status',
            field=fields.CharEnumField(db_index=True, description='SUBMITTED: submitted\nACCEPTED: accepted\nREJECTED: rejected\nDISPATCHED: dispatched\nCLAIMED: claimed\nHANDLED: handled\nVERIFYING: verifying\nCLOSED: closed\nRETURNED: returned\nREOPENED: reopened\nMERGED: merged\nSUSPENDED: suspended\nVOIDED: voided', enum_type=Status, max_length=16),
        ),
        AddFilledField(
            model_name='Ticket',
            name='suspended_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        AddFilledField(
            model_name='Ticket',
            name='suspend_count',
            field=fields.IntField(default=0),
        ),
        ops.AlterField(
            model_name='ExtensionRequest',
            name='status',
            field=fields.CharEnumField(default=ExtensionStatus.PENDING, description='PENDING: pending\nAPPROVED: approved\nREFUSED: refused\nLAPSED: lapsed', enum_type=ExtensionStatus, max_length=16),
        ),
        ops.CreateModel(
            name='ApprovalRequest',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ticket', fields.ForeignKeyField('models.Ticket', source_field='ticket_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='SUSPEND: suspend\nEXTEND: extend\nSEND_BACK: send_back\nVOID: void', enum_type=ApprovalKind, max_length=16)),
                ('status', fields.CharEnumField(default=ApprovalStatus.PENDING, description='PENDING: pending\nAPPROVED: approved\nDENIED: denied\nLAPSED: lapsed', enum_type=ApprovalStatus, max_length=16)),
                ('unit_id', fields.IntField(null=True)),
                ('area_path', fields.CharField(default='', max_length=255)),
                ('requested_by', fields.ForeignKeyField('models.User', source_field='requested_by_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('requester_role', fields.CharField(max_length=24)),
                ('reason', fields.CharField(max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('decided_by', fields.ForeignKeyField('models.User', source_field='decided_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decision_note', fields.CharField(default='', max_length=500)),
                ('pending_key', fields.CharField(null=True, unique=True, max_length=64)),
                ('extension_id', fields.IntField(null=True, unique=True)),
                ('extra_value', fields.IntField(null=True)),
                ('extra_unit', fields.CharField(null=True, max_length=16)),
                ('back_to', fields.CharField(null=True, max_length=16)),
            ],
            options={'table': 'approval_requests', 'app': 'models', 'indexes': [Index(fields=['area_path', 'id']), Index(fields=['unit_id', 'id']), Index(fields=['ticket_id', 'kind'])], 'pk_attr': 'id', 'table_description': 'A request on a ticket: who asked, when, why, and who decided it, when, how, why.'},
            bases=['Model'],
        ),
    ]
