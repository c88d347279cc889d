import functools
from json import dumps, loads

from tortoise import fields, migrations

from app.core.migration_ops import AddFilledField


class Migration(migrations.Migration):
    dependencies = [('models', '0002_console_sessions')]

    initial = False

    operations = [
        AddFilledField(
            model_name='IdempotencyRecord',
            name='response',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        AddFilledField(
            model_name='IdempotencyRecord',
            name='response_status',
            field=fields.IntField(null=True),
        ),
    ]
