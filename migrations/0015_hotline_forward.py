from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from app.core.migration_ops import AddFilledField
from app.tickets.workflow import Status


class Migration(migrations.Migration):
    dependencies = [('models', '0014_reply_templates')]

    initial = False

    operations = [
        ops.CreateModel(
            name='HotlineForward',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ticket', fields.OneToOneField('models.Ticket', source_field='ticket_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('body_name', fields.CharField(max_length=100)),
                ('body_contact', fields.CharField(default='', max_length=100)),
                ('external_number', fields.CharField(default='', max_length=64)),
                ('reason', fields.CharField(max_length=255)),
                ('forwarded_by', fields.ForeignKeyField('models.User', source_field='forwarded_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('forwarded_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('reply', fields.CharField(default='', max_length=1000)),
                ('replied_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('replied_by', fields.ForeignKeyField('models.User', source_field='replied_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'hotline_forwards', 'app': 'models', 'pk_attr': 'id', 'table_description': "热线推送: a case forwarded to an outside body, and the body's answer (staff only)."},
            bases=['Model'],
        ),
        AddFilledField(
            model_name='StatsDaily',
            name='forwarded',
            field=fields.IntField(default=0),
        ),
        AddFilledField(
            model_name='StatsDailyCategory',
            name='forwarded',
            field=fields.IntField(default=0),
        ),
        AddFilledField(
            model_name='StatsDailyUnit',
            name='forwarded',
            field=fields.IntField(default=0),
        ),
        AddFilledField(
            model_name='StatsDelta',
            name='forwarded',
            field=fields.IntField(default=0),
        ),
        ops.AlterField(
            model_name='Ticket',
            name='status',
            field=fields.CharEnumField(db_index=True, description='SUBMITTED: submitted\nACCEPTED: accepted\nREJECTED: rejected\nDISPATCHED: dispatched\nCLAIMED: claimed\nHANDLED: handled\nVERIFYING: verifying\nCLOSED: closed\nRETURNED: returned\nREOPENED: reopened\nMERGED: merged\nSUSPENDED: suspended\nVOIDED: voided\nESCALATED: escalated\nFORWARDED: forwarded', enum_type=Status, max_length=16),
        ),
    ]
