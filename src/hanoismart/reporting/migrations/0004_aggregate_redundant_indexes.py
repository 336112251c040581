# Aggregate rows are written 600 at a time: drop the two indexes that the unique one and (period, unit) cover.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0003_aggregate_weighted_sum"),
    ]

    operations = [
        migrations.AlterField(
            model_name="aggregate",
            name="indicator",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="reporting.indicator",
            ),
        ),
        migrations.AlterField(
            model_name="aggregate",
            name="period",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="aggregates",
                to="reporting.period",
            ),
        ),
    ]
