from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from app.devices.models import DeviceKind, EventStatus

# What the common AI-camera and sensor event types mean, until an admin says otherwise
# (PUT /api/v1/admin/device-event-types/{event_type}); codes from the default catalogue.
SEEDS = """INSERT INTO device_event_types
(event_type, label, category_code, urgency, min_confidence, is_active, updated_at) VALUES
('smoke', '烟雾', '1007', 'urgent', 0.8, 1, '2026-12-05 00:00:00'),
('fire', '明火', '0601', 'urgent', 0.8, 1, '2026-12-05 00:00:00'),
('illegal_parking', '机动车乱停放', '1404', 'normal', 0.7, 1, '2026-12-05 00:00:00'),
('bike_parking', '非机动车乱停放', '1405', 'normal', 0.7, 1, '2026-12-05 00:00:00'),
('garbage_overflow', '垃圾满溢或暴露', '1002', 'normal', 0.7, 1, '2026-12-05 00:00:00'),
('street_vending', '占道经营', '1403', 'normal', 0.75, 1, '2026-12-05 00:00:00'),
('debris_pile', '乱堆物堆料', '1406', 'normal', 0.75, 1, '2026-12-05 00:00:00')"""


class Migration(migrations.Migration):
    dependencies = [('models', '0010_open311')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Device',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=64)),
                ('name', fields.CharField(max_length=64)),
                ('kind', fields.CharEnumField(description='CAMERA: camera\nSENSOR: sensor', enum_type=DeviceKind, max_length=8)),
                ('vendor', fields.CharField(default='', max_length=64)),
                ('lng', fields.FloatField()),
                ('lat', fields.FloatField()),
                ('crs', fields.CharField(max_length=8)),
                ('address', fields.CharField(default='', max_length=255)),
                ('cell', fields.ForeignKeyField('models.Area', source_field='cell_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('area_path', fields.CharField(db_index=True, max_length=255)),
                ('unit', fields.ForeignKeyField('models.Unit', source_field='unit_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('integration', fields.ForeignKeyField('models.Integration', source_field='integration_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('is_active', fields.BooleanField(default=True)),
                ('last_seen_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('is_silent', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'devices', 'app': 'models', 'indexes': [Index(fields=['is_active', 'is_silent', 'last_seen_at'])], 'pk_attr': 'id', 'table_description': 'A camera or sensor: where it stands (its grid cell), who owns it, who speaks for it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DeviceEventType',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event_type', fields.CharField(unique=True, max_length=32)),
                ('label', fields.CharField(max_length=64)),
                ('category_code', fields.CharField(max_length=32)),
                ('urgency', fields.CharField(default='normal', max_length=8)),
                ('min_confidence', fields.FloatField(default=0.8)),
                ('is_active', fields.BooleanField(default=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'device_event_types', 'app': 'models', 'pk_attr': 'id', 'table_description': 'What an event type means: its category, urgency and the confidence it needs.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DeviceEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('integration', fields.ForeignKeyField('models.Integration', source_field='integration_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('external_id', fields.CharField(max_length=64)),
                ('device', fields.ForeignKeyField('models.Device', source_field='device_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('event_type', fields.CharField(max_length=32)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('confidence', fields.FloatField()),
                ('media_id', fields.IntField(null=True)),
                ('status', fields.CharEnumField(description='OPENED: opened\nATTACHED: attached\nREVIEW: review\nCONFIRMED: confirmed\nDISCARDED: discarded', enum_type=EventStatus, max_length=16)),
                ('ticket_id', fields.IntField(null=True, db_index=True)),
                ('reviewed_by_id', fields.IntField(null=True)),
                ('reviewed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('review_note', fields.CharField(default='', max_length=255)),
                ('area_path', fields.CharField(max_length=255)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'device_events', 'app': 'models', 'unique_together': (('integration', 'external_id'),), 'indexes': [Index(fields=['status', 'area_path'])], 'pk_attr': 'id', 'table_description': 'One event a device or its platform reported, recorded once per platform event id.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DeviceCase',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('device', fields.ForeignKeyField('models.Device', source_field='device_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('event_type', fields.CharField(max_length=32)),
                ('ticket_id', fields.IntField(null=True)),
                ('generation', fields.IntField(default=1)),
                ('event_count', fields.IntField(default=1)),
                ('opened_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_event_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'device_cases', 'app': 'models', 'unique_together': (('device', 'event_type'),), 'pk_attr': 'id', 'table_description': "The case a device's events of one type attach to while they keep coming."},
            bases=['Model'],
        ),
        ops.RunSQL([SEEDS], reverse_sql=["DELETE FROM device_event_types"]),
    ]
