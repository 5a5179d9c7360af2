from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='AvailabilityWindow',
            index=Index(fields=['provider_id', 'weekday']),
        ),
        ops.AddIndex(
            model_name='Office',
            index=Index(fields=['provider_id', 'position']),
        ),
        ops.RemoveIndex(
            model_name='ProviderTag',
            name=None,
            fields=['kind', 'folded'],
        ),
        ops.AddIndex(
            model_name='ProviderTag',
            index=Index(fields=['kind', 'folded', 'provider_id']),
        ),
        # The plans' through table has no model to declare an index on; the
        # directory's plan filter reads it by plan.
        ops.RunSQL(
            "CREATE INDEX IF NOT EXISTS provider_plans_plan_idx "
            "ON provider_plans (insuranceplan_id, providers_id)",
            reverse_sql="DROP INDEX IF EXISTS provider_plans_plan_idx",
        ),
    ]
