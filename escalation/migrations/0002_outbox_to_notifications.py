"""The outbox moves to the notifications app (floor 2: people and addresses, not visits).

Every row is copied with its id (the timelines name notifications by id), what it was about
becoming a generic reference: its alert, or else its visit. Then the old table goes.
"""

from django.core.management.color import no_style
from django.db import migrations, models


def copy_rows(apps, schema_editor):
    Old = apps.get_model("escalation", "Notification")
    New = apps.get_model("notifications", "Notification")
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not Old.objects.exists():
        return
    escalation_type, _ = ContentType.objects.get_or_create(app_label="escalation", model="escalation")
    visit_type, _ = ContentType.objects.get_or_create(app_label="visits", model="visit")
    batch = []
    for old in Old.objects.order_by("pk").iterator(chunk_size=2000):
        if old.escalation_id:
            about_type, about_id = escalation_type, old.escalation_id
        elif old.visit_id:
            about_type, about_id = visit_type, old.visit_id
        else:
            about_type, about_id = None, None
        batch.append(
            New(
                id=old.pk,
                key=old.key,
                school_id=old.school_id,
                about_type=about_type,
                about_id=about_id,
                recipient_id=old.recipient_id,
                recipient_label=old.recipient_label,
                channel=old.channel,
                address=old.address,
                subject=old.subject,
                body=old.body,
                is_drill=old.is_drill,
                state=old.state,
                created_at=old.created_at,
                next_attempt_at=old.next_attempt_at,
                attempts=old.attempts,
                sent_at=old.sent_at,
                last_error=old.last_error,
            )
        )
        if len(batch) >= 2000:
            New.objects.bulk_create(batch)
            batch = []
    New.objects.bulk_create(batch)
    # Ids were given by hand: the sequence must start after them (PostgreSQL).
    for sql in schema_editor.connection.ops.sequence_reset_sql(no_style(), [New]):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("escalation", "0001_initial"),
        ("notifications", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(copy_rows, migrations.RunPython.noop),
        migrations.DeleteModel(name="Notification"),
        migrations.AddField(
            model_name="escalation",
            name="messages_error",
            field=models.TextField(blank=True),
        ),
        migrations.AddIndex(
            model_name="escalation",
            index=models.Index(
                condition=models.Q(
                    models.Q(("messages_error", ""), _negated=True), ("resolved_at__isnull", True)
                ),
                fields=["raised_at"],
                name="escalation_messages_unqueued",
            ),
        ),
    ]
