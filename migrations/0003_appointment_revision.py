from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_directory_indexes')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Appointment',
            name='revision',
            field=fields.IntField(default=0, db_default=0),
        ),
    ]
