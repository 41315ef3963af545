"""Default SLA targets (business minutes) and the default business calendar."""

from django.db import migrations

TARGETS = {
    "urgent": (60, 480),
    "high": (240, 1440),
    "normal": (480, 2880),
    "low": (1440, 7200),
}


def add_defaults(apps, schema_editor):
    SlaTarget = apps.get_model("feedback", "SlaTarget")
    BusinessCalendar = apps.get_model("feedback", "BusinessCalendar")
    for priority, (first, resolution) in TARGETS.items():
        SlaTarget.objects.get_or_create(
            priority=priority,
            defaults={
                "first_response_minutes": first,
                "resolution_minutes": resolution,
            },
        )
    if not BusinessCalendar.objects.exists():
        from feedback.models.tickets import default_timezone, default_weekly_hours

        BusinessCalendar.objects.create(
            timezone=default_timezone(), weekly_hours=default_weekly_hours()
        )


class Migration(migrations.Migration):
    dependencies = [("feedback", "0001_surveys_reviews")]

    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]
