from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from app.core.migration_ops import AddFilledField
from app.escalation.models import CoHandlingStatus, EscalationStatus
from app.tickets.models import TicketLevel
from app.tickets.workflow import Status


class Migration(migrations.Migration):
    dependencies = [('models', '0012_approvals')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Ticket',
            name='status',
            field=fields.CharEnumField(db_index=True, description='SUBMITTED: submitted\nACCEPTED: accepted\nREJECTED: rejected\nDISPATCHED: dispatched\nCLAIMED: claimed\nHANDLED: handled\nVERIFYING: verifying\nCLOSED: closed\nRETURNED: returned\nREOPENED: reopened\nMERGED: merged\nSUSPENDED: suspended\nVOIDED: voided\nESCALATED: escalated', enum_type=Status, max_length=16),
        ),
        AddFilledField(
            model_name='Ticket',
            name='level',
            field=fields.CharEnumField(default=TicketLevel.GRID, description='GRID: grid\nCOMMUNITY: community\nSTREET: street\nDISTRICT: district', enum_type=TicketLevel, max_length=16),
        ),
        AddFilledField(
            model_name='Ticket',
            name='level_area_id',
            field=fields.IntField(null=True),
        ),
        ops.CreateModel(
            name='Escalation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ticket', fields.ForeignKeyField('models.Ticket', source_field='ticket_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('from_level', fields.CharEnumField(description='GRID: grid\nCOMMUNITY: community\nSTREET: street\nDISTRICT: district', enum_type=TicketLevel, max_length=16)),
                ('to_level', fields.CharEnumField(db_index=True, description='GRID: grid\nCOMMUNITY: community\nSTREET: street\nDISTRICT: district', enum_type=TicketLevel, max_length=16)),
                ('area_id', fields.IntField()),
                ('area_path', fields.CharField(max_length=255)),
                ('from_unit_id', fields.IntField(null=True)),
                ('status', fields.CharEnumField(default=EscalationStatus.PENDING, description='PENDING: pending\nACCEPTED: accepted\nPASSED_UP: passed_up', enum_type=EscalationStatus, max_length=16)),
                ('reason', fields.CharField(max_length=500)),
                ('requested_by', fields.ForeignKeyField('models.User', source_field='requested_by_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('requester_role', fields.CharField(max_length=24)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('accepted_by', fields.ForeignKeyField('models.User', source_field='accepted_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('accepted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('unit_id', fields.IntField(null=True)),
                ('deadline_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('pending_key', fields.CharField(null=True, unique=True, max_length=32)),
            ],
            options={'table': 'escalations', 'app': 'models', 'indexes': [Index(fields=['to_level', 'status', 'id']), Index(fields=['ticket_id', 'id']), Index(fields=['area_path', 'id'])], 'pk_attr': 'id', 'table_description': 'One step of a case up the tree: who asked, why, where to, who accepted it, which unit.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CoHandling',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ticket', fields.ForeignKeyField('models.Ticket', source_field='ticket_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('unit_id', fields.IntField(db_index=True)),
                ('status', fields.CharEnumField(default=CoHandlingStatus.PENDING, description='PENDING: pending\nREPORTED: reported\nWAIVED: waived', enum_type=CoHandlingStatus, max_length=16)),
                ('added_by', fields.ForeignKeyField('models.User', source_field='added_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('note', fields.TextField(default='', unique=False)),
                ('media_ids', fields.JSONField(default=list)),
                ('done_by', fields.ForeignKeyField('models.User', source_field='done_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('done_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'co_handlings', 'app': 'models', 'unique_together': (('ticket', 'unit_id'),), 'pk_attr': 'id', 'table_description': 'A co-handling unit (协办单位) on a ticket and the part it recorded.'},
            bases=['Model'],
        ),
    ]
