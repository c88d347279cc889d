from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0007_display_links')]

    initial = False

    operations = [
        ops.CreateModel(
            name='EvaluationGrade',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(unique=True, max_length=16)),
                ('rate', fields.CharField(max_length=32)),
                ('excellent', fields.FloatField()),
                ('good', fields.FloatField()),
                ('passing', fields.FloatField()),
                ('updated_by', fields.ForeignKeyField('models.User', source_field='updated_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'evaluation_grades', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Which rate decides a kind\'s grade, and the lowest value of 优秀, 良好 and 合格.'},
            bases=['Model'],
        ),
    ]
