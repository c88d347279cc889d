from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from app.conversation.models import TemplatePurpose


class Migration(migrations.Migration):
    dependencies = [('models', '0013_escalation')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ReplyTemplate',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('purpose', fields.CharEnumField(description='PROGRESS_NOTE: progress_note\nASK_INFO: ask_info', enum_type=TemplatePurpose, max_length=16)),
                ('category_path', fields.CharField(default='', max_length=255)),
                ('status', fields.CharField(default='', max_length=16)),
                ('text', fields.CharField(max_length=500)),
                ('is_active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'reply_templates', 'app': 'models', 'indexes': [Index(fields=['purpose', 'is_active'])], 'pk_attr': 'id', 'table_description': 'One text for a purpose, for a category subtree and a status (empty: any).'},
            bases=['Model'],
        ),
    ]
