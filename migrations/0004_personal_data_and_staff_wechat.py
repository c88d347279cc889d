from tortoise import fields, migrations

from app.core.migration_ops import AddFilledField


class Migration(migrations.Migration):
    dependencies = [('models', '0003_idempotent_actions')]

    initial = False

    operations = [
        AddFilledField(
            model_name='User',
            name='deleted_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        AddFilledField(
            model_name='User',
            name='wechat_openid',
            field=fields.CharField(null=True, unique=True, max_length=64),
        ),
    ]
