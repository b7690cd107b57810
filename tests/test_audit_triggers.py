"""Append-only in PostgreSQL itself (A8, issue 11): every timeline and audit table refuses an
UPDATE and a DELETE, whether it comes from a queryset, raw SQL or a cascade, unless the
retention schedule switches its trigger off with pgtrigger.ignore (audit/triggers.py).

PostgreSQL only: SQLite has no such triggers (its Python guards are in tests/test_audit.py).
Run with DATABASE_URL=postgres://...
"""

import datetime

import pgtrigger
import pytest
from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit.models import Action
from audit.services import record
from audit.triggers import APPEND_ONLY_MODELS
from safeguarding.models import CopyVersion
from safeguarding.services import concern_raise, exports
from safeguarding.services import minutes as minutes_services
from visits import services
from visits.models import Visit

from .factories import ClosureDayFactory, write_minutes

pytestmark = pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
    reason="PostgreSQL's triggers: set DATABASE_URL=postgres://... to run",
)


@pytest.fixture
def rows(authorised_visit, visitor, dsl, head, school, pupil):
    """One row of every append-only table, written through the real services."""
    visit = authorised_visit
    services.visit_arrive(visit=visit, by=visitor, now=visit.planned_start)
    visit = services.visit_leave(
        visit=visit, by=visitor, now=visit.planned_start + datetime.timedelta(minutes=50)
    )
    minutes = write_minutes(visit, visitor, now=visit.completed_at + datetime.timedelta(minutes=5))
    addendum = minutes_services.minutes_add_addendum(minutes=minutes, by=dsl, text="A note.")
    copy = exports.copy_sent_record(
        minutes=minutes,
        by=dsl,
        version=CopyVersion.REDACTED,
        recipient="parent",
        recipient_name="Mary Pupil",
        method="email",
        sent_at=minutes.submitted_at + datetime.timedelta(minutes=1),
        now=minutes.submitted_at + datetime.timedelta(minutes=2),
    )
    concern = concern_raise(pupil=pupil, by=visitor, account="Bruise on the arm.")
    ClosureDayFactory.build(school=school).save_by(by=head, now=timezone.now())
    record(Action.VIEWED, actor=dsl, school=school, target_label="Visit 1")
    found = {
        "visits.VisitEvent": visit.events.first(),
        "safeguarding.ConcernEvent": concern.events.first(),
        "safeguarding.MinutesEvent": minutes.events.first(),
        "safeguarding.Addendum": addendum,
        "safeguarding.CopySent": copy,
        "schools.CalendarChange": apps.get_model("schools", "CalendarChange").objects.first(),
        "audit.AuditEvent": apps.get_model("audit", "AuditEvent").objects.first(),
    }
    assert all(row is not None for row in found.values())
    return found


def _refused(call):
    """`call` is refused, by the database or by Python, and leaves the test's transaction fit."""
    with pytest.raises((DatabaseError, ValueError)) as refusal, transaction.atomic():
        call()
    return refusal.value


def test_a8_migrate_installed_an_append_only_trigger_on_every_timeline_and_audit_table(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgrelid::regclass::text FROM pg_trigger "
            "WHERE tgname LIKE 'pgtrigger_append_only_%%' AND tgenabled = 'O'"
        )
        tables = {name.strip('"') for (name,) in cursor.fetchall()}
    expected = {apps.get_model(label)._meta.db_table for label in APPEND_ONLY_MODELS}
    assert tables == expected


@pytest.mark.parametrize("label", APPEND_ONLY_MODELS)
def test_a8_raw_sql_cannot_update_or_delete_a_row(rows, label):
    model = apps.get_model(label)
    table, pk = model._meta.db_table, rows[label].pk

    def run(sql):
        with connection.cursor() as cursor:
            cursor.execute(sql, [pk])

    pk_column = model._meta.pk.column
    where = f'WHERE "{pk_column}" = %s'
    update = _refused(lambda: run(f'UPDATE "{table}" SET "{pk_column}" = "{pk_column}" {where}'))
    delete = _refused(lambda: run(f'DELETE FROM "{table}" {where}'))
    assert "pgtrigger: Cannot update or delete rows" in str(update)
    assert "pgtrigger: Cannot update or delete rows" in str(delete)
    assert model.objects.filter(pk=pk).exists()


@pytest.mark.parametrize("label", APPEND_ONLY_MODELS)
def test_a8_a_queryset_cannot_update_or_delete_a_row(rows, label):
    model = apps.get_model(label)
    pk = rows[label].pk
    # A queryset's UPDATE never passes through Python's guards: the database refuses it.
    update = _refused(lambda: model.objects.filter(pk=pk).update(**{model._meta.pk.name: pk}))
    assert isinstance(update, DatabaseError)
    _refused(lambda: model.objects.filter(pk=pk).delete())
    # Straight to SQL, past every Python guard: still refused.
    raw = _refused(lambda: model.objects.filter(pk=pk)._raw_delete(using="default"))
    assert isinstance(raw, DatabaseError)
    assert model.objects.filter(pk=pk).exists()


def test_a8_deleting_a_visit_does_not_take_its_timeline_with_it(visit):
    # The cascade passes Python's guard (it is not aimed at the timeline): the database stops it.
    refusal = _refused(lambda: Visit.objects.filter(pk=visit.pk).delete())
    assert "pgtrigger: Cannot update or delete rows" in str(refusal)
    assert Visit.objects.filter(pk=visit.pk).exists()
    assert visit.events.exists()


@pytest.mark.parametrize("label", APPEND_ONLY_MODELS)
def test_a8_the_retention_schedule_may_remove_rows_inside_pgtrigger_ignore(rows, label):
    model = apps.get_model(label)
    pk = rows[label].pk
    with pgtrigger.ignore(f"{label}:append_only"):
        model.objects.filter(pk=pk)._raw_delete(using="default")
    assert not model.objects.filter(pk=pk).exists()
