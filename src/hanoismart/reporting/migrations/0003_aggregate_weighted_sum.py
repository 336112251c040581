# Averages keep the exact sum of value × weight behind them, so that they roll up by difference like sums.

from django.db import migrations, models

AVERAGE_RULES = ("average", "weighted_average")


def backfill(apps, schema_editor):
    """Give every stored average its weighted sum (and the exact value that follows from it) by recomputing
    the periods that hold averages from the raw values: the roll-up's own ``aggregates_rebuild``, limited to
    the average indicators. Nothing to do on a new database. It uses the current models: if a later
    migration changes ``Aggregate``, run this step before it (or replace it by a rebuild after migrating)."""
    historical = apps.get_model("reporting", "Aggregate")
    pending = historical.objects.filter(weighted_sum__isnull=True, indicator__aggregation__in=AVERAGE_RULES)
    period_ids = set(pending.values_list("period_id", flat=True).distinct())
    if not period_ids:
        return
    from hanoismart.reporting.models import Indicator, Period
    from hanoismart.reporting.services.aggregation import aggregates_rebuild

    averages = set(Indicator.objects.filter(aggregation__in=AVERAGE_RULES).values_list("pk", flat=True))
    aggregates_rebuild(
        periods=Period.objects.filter(pk__in=period_ids).order_by("pk"), indicator_ids=averages
    )


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0002_reminders_and_requests"),
    ]

    operations = [
        migrations.AddField(
            model_name="aggregate",
            name="weighted_sum",
            field=models.DecimalField(blank=True, decimal_places=8, max_digits=48, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
