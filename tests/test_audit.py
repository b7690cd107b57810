"""The audit trail (A8, issue 11): who opened which visit, police sheet, schedule, pupil and file;
what was printed, downloaded and changed in the admin; the page where the DSL and the headteacher
read their school's trail (and the school admin its account events); append-only rows.

Runs on SQLite and PostgreSQL; the database's own triggers are tests/test_audit_triggers.py.
"""

import csv
import datetime
import io

import pgtrigger
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit import access_log
from audit.models import Action, AuditEvent
from audit.services import record
from safeguarding.services import concern_raise
from schools.models import CalendarChange, ClosureDay, Membership, Role
from visits import services
from visits.models import VisitEvent

from .factories import ClosureDayFactory, PupilFactory, member, write_minutes

DAY = datetime.timedelta(days=1)
PEOPLE = ["office", "visitor", "dsl", "deputy", "head", "slt", "school_admin", "outsider"]


def _complete(visit, by):
    services.visit_arrive(
        visit=visit, by=by, now=visit.planned_start + datetime.timedelta(minutes=3)
    )
    return services.visit_leave(
        visit=visit, by=by, now=visit.planned_start + datetime.timedelta(minutes=55)
    )


def _only_event():
    events = list(AuditEvent.objects.all())
    assert len(events) == 1, [str(e) for e in events]
    return events[0]


def _csv(response):
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


# --- Who opened what -----------------------------------------------------------------------------


def test_a8_opening_a_visit_page_records_who_opened_which_visit(client, visit, office, school):
    client.force_login(office)
    response = client.get(reverse("visit-detail", args=[visit.pk]), REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    event = _only_event()
    assert event.action == Action.VIEWED
    assert (event.actor, event.actor_name) == (office, "office")
    assert (event.school_id, event.pupil_id) == (school.pk, visit.pupil_id)
    assert (event.target_type, event.target_id) == ("visits.visit", str(visit.pk))
    assert event.target_label == f"Visit {visit.pk}"
    assert event.ip_address == "10.1.2.3"


def test_a8_each_opening_is_recorded_again(client, visit, office):
    client.force_login(office)
    url = reverse("visit-detail", args=[visit.pk])
    client.get(url)
    client.get(url)
    assert AuditEvent.objects.filter(action=Action.VIEWED, actor=office).count() == 2


def test_a8_opening_the_police_sheet_records_the_alert_and_the_pupil(client, overdue, office):
    client.force_login(office)
    response = client.get(reverse("escalation-police", args=[overdue.pk]))
    assert response.status_code == 200
    event = _only_event()
    assert event.action == Action.VIEWED
    assert event.actor == office
    assert (event.school_id, event.pupil_id) == (overdue.school_id, overdue.visit.pupil_id)
    assert (event.target_type, event.target_id) == ("escalation.escalation", str(overdue.pk))
    assert event.target_label == f"Police sheet for alert {overdue.pk} (visit {overdue.visit_id})"


def test_p11_opening_the_schedule_records_it_for_the_school(client, visit, office, school):
    client.force_login(office)
    assert client.get(reverse("schedule")).status_code == 200
    event = _only_event()
    assert (event.action, event.actor, event.school_id) == (Action.VIEWED, office, school.pk)
    assert event.target_label == "Schedule"
    assert event.pupil_id is None


def test_p11_the_schedules_printable_copy_is_recorded_as_printed(client, visit, office, school):
    client.force_login(office)
    assert client.get(reverse("schedule"), {"print": "1"}).status_code == 200
    assert _only_event().action == Action.PRINTED


def test_a8_opening_a_pupils_page_and_file_records_the_pupil(client, pupil, dsl, school):
    client.force_login(dsl)
    assert client.get(reverse("pupil-detail", args=[pupil.pk])).status_code == 200
    assert client.get(reverse("pupil-file", args=[pupil.pk])).status_code == 200
    page, file = AuditEvent.objects.order_by("pk")
    for event in (page, file):
        assert (event.action, event.actor, event.school_id) == (Action.VIEWED, dsl, school.pk)
        assert (event.pupil_id, event.target_id) == (pupil.pk, str(pupil.pk))
    assert page.target_label == f"Page of pupil {pupil.pk}"
    assert file.target_label == f"File of pupil {pupil.pk}"


def test_a8_opening_a_concern_records_it(client, pupil, visitor, dsl, school):
    concern = concern_raise(pupil=pupil, by=visitor, account="Bruise on the arm.")
    client.force_login(dsl)
    assert client.get(reverse("concern-detail", args=[concern.pk])).status_code == 200
    event = _only_event()
    assert (event.action, event.actor, event.pupil_id) == (Action.VIEWED, dsl, pupil.pk)
    assert (event.target_type, event.target_id) == ("safeguarding.concern", str(concern.pk))


def test_a8_opening_minutes_and_downloading_them_are_recorded(
    client, authorised_visit, visitor, dsl, school
):
    visit = _complete(authorised_visit, visitor)
    minutes = write_minutes(visit, visitor, now=visit.completed_at + datetime.timedelta(minutes=5))
    client.force_login(dsl)
    assert client.get(reverse("minutes-detail", args=[visit.pk])).status_code == 200
    response = client.get(reverse("minutes-cpoms-csv", args=[visit.pk]))
    assert response.status_code == 200
    viewed, exported = AuditEvent.objects.order_by("pk")
    assert (viewed.action, exported.action) == (Action.VIEWED, Action.EXPORTED)
    for event in (viewed, exported):
        assert (event.actor, event.school_id, event.pupil_id) == (dsl, school.pk, visit.pupil_id)
        assert (event.target_type, event.target_id) == ("safeguarding.minutes", str(minutes.pk))
    assert exported.target_label == f"Minutes of visit {visit.pk}, CPOMS CSV"


def test_a4_the_cpoms_export_of_a_period_is_recorded_as_exported(client, dsl, school):
    client.force_login(dsl)
    today = timezone.localdate()
    response = client.get(reverse("cpoms-csv"), {"from": f"{today - DAY * 30}", "to": f"{today}"})
    assert response.status_code == 200
    event = _only_event()
    assert (event.action, event.actor, event.school_id) == (Action.EXPORTED, dsl, school.pk)
    assert event.detail == f"Visits from {today - DAY * 30} to {today}"


def test_a9_the_monitoring_csv_is_recorded_as_exported(client, head, school):
    client.force_login(head)
    assert client.get(reverse("monitoring-export")).status_code == 200
    event = _only_event()
    assert (event.action, event.actor, event.school_id) == (Action.EXPORTED, head, school.pk)
    assert event.target_label == "Monitoring figures CSV"


@pytest.mark.parametrize("person", ["colleague", "outsider", "school_admin"])
def test_a8_a_refused_visit_page_records_nothing(client, visit, request, person):
    # Nothing was shown, so nothing was opened: the 404 itself is the record of the refusal.
    client.force_login(request.getfixturevalue(person))
    assert client.get(reverse("visit-detail", args=[visit.pk])).status_code == 404
    assert not AuditEvent.objects.exists()


def test_a8_a_refused_schedule_and_a_missing_pupil_record_nothing(client, visitor, pupil):
    client.force_login(visitor)
    assert client.get(reverse("schedule")).status_code == 403
    assert client.get(reverse("pupil-detail", args=[pupil.pk + 1000])).status_code == 404
    assert not AuditEvent.objects.exists()


def test_a8_an_htmx_refresh_of_the_open_page_is_not_recorded_again(client, visit, office):
    client.force_login(office)
    url = reverse("visit-detail", args=[visit.pk])
    client.get(url)
    refresh = client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL=f"http://testserver{url}")
    assert refresh.status_code == 200
    assert AuditEvent.objects.count() == 1


def test_a8_the_live_boards_polling_is_not_recorded(client, on_site_visit, office):
    client.force_login(office)
    assert client.get(reverse("board")).status_code == 200
    rows = client.get(
        reverse("board-rows"),
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver" + reverse("board"),
    )
    assert rows.status_code == 200
    assert not AuditEvent.objects.exists()


def test_a8_recording_an_opening_costs_one_lookup_and_one_insert(
    client, visit, office, monkeypatch
):
    client.force_login(office)
    url = reverse("visit-detail", args=[visit.pk])
    client.get(url)  # whatever the page reads once per process is read now

    def queries():
        with CaptureQueriesContext(connection) as page:
            assert client.get(url).status_code == 200
        return page.captured_queries

    recorded = queries()
    with monkeypatch.context() as patch:
        patch.delitem(access_log.REGISTRY, "visit-detail")
        unrecorded = queries()
    assert len(recorded) - len(unrecorded) == 2
    audit = [q["sql"] for q in recorded if "audit_auditevent" in q["sql"]]
    assert len(audit) == 1 and audit[0].lstrip().upper().startswith("INSERT")


# --- What admins changed -------------------------------------------------------------------------


def test_a8_a_change_made_in_the_admin_is_on_the_trail_of_the_objects_school(client, school):
    trust = member(school, Role.HEADTEACHER, username="trust", is_superuser=True, is_staff=True)
    closure = ClosureDayFactory(school=school)
    client.force_login(trust)
    url = reverse("admin:schools_closureday_delete", args=[closure.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not ClosureDay.objects.filter(pk=closure.pk).exists()
    event = AuditEvent.objects.get(action=Action.CHANGED)
    assert (event.actor, event.school_id) == (trust, school.pk)
    assert (event.target_type, event.target_id) == ("schools.closureday", str(closure.pk))
    assert event.target_label == str(closure)
    assert event.detail == "Deleted in the admin"


def test_a8_an_admin_change_to_a_pupil_carries_the_pupil_and_the_message(pupil, head):
    from django.contrib.admin.models import CHANGE, LogEntry

    LogEntry.objects.log_actions(
        head.pk,
        [pupil],
        CHANGE,
        change_message=[{"changed": {"fields": ["Known risks"]}}],
        single_object=True,
    )
    event = AuditEvent.objects.get(action=Action.CHANGED)
    assert (event.school_id, event.pupil_id, event.actor) == (pupil.school_id, pupil.pk, head)
    assert event.detail == "Changed in the admin: Changed Known risks."


# --- The audit page ------------------------------------------------------------------------------

AUDIT_URLS = ["audit-home", "audit-trail", "audit-export"]
# A8: who reaches each page of the trail at Heather Avenue (200, or 302 to the one school's page).
ALLOWED = {"dsl", "head", "school_admin"}


def _url(name, school):
    return reverse(name) if name == "audit-home" else reverse(name, args=[school.slug])


@pytest.mark.parametrize("name", AUDIT_URLS)
@pytest.mark.parametrize("person", PEOPLE)
def test_a8_matrix_for_the_audit_pages(client, school, request, name, person):
    client.force_login(request.getfixturevalue(person))
    response = client.get(_url(name, school))
    if person == "outsider" and name == "audit-home":
        # The DSL of St Laurence's is taken to St Laurence's trail, never to this one.
        assert response["Location"] == reverse("audit-trail", args=["sls"])
    elif person not in ALLOWED:
        assert response.status_code == 404
    elif name == "audit-home":
        assert response.status_code == 302
        assert response["Location"] == reverse("audit-trail", args=[school.slug])
    else:
        assert response.status_code == 200


@pytest.mark.parametrize("name", AUDIT_URLS)
def test_a8_anonymous_is_sent_to_sign_in_from_the_audit_pages(client, school, name):
    response = client.get(_url(name, school))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_a8_someone_with_trails_at_two_schools_chooses_one(client, school, other_school, dsl):
    Membership.objects.create(user=dsl, school=other_school, role=Role.HEADTEACHER)
    client.force_login(dsl)
    response = client.get(reverse("audit-home"))
    assert response.status_code == 200
    assert reverse("audit-trail", args=[other_school.slug]).encode() in response.content


@pytest.fixture
def trail(school, other_school, dsl, visitor, office, pupil, outsider):
    """Events of Heather Avenue, one of another school, and account events."""
    now = timezone.now()
    other_pupil = PupilFactory(school=school, first_name="Oscar", last_name="Other")
    rows = {
        "visitor_viewed": record(
            Action.VIEWED, actor=visitor, school=school, pupil=pupil, target_label="Visit 1"
        ),
        "office_printed": record(
            Action.PRINTED, actor=office, school=school, target_label="Schedule"
        ),
        "office_viewed": record(
            Action.VIEWED, actor=office, school=school, pupil=other_pupil, target_label="Visit 2"
        ),
        "visitor_signed_in": record(Action.SIGNED_IN, actor=visitor),
        "visitor_factor": record(Action.FACTOR_ADDED, actor=visitor, school=school),
        "outsider_viewed": record(
            Action.VIEWED, actor=outsider, school=other_school, target_label="Their visit"
        ),
        "outsider_signed_in": record(Action.SIGNED_IN, actor=outsider),
    }
    # Rows cannot be changed once written (append-only): this one is written backdated.
    old = AuditEvent(
        action=Action.EXPORTED,
        actor=office,
        actor_name="office",
        school=school,
        target_label="Old export",
        at=now - DAY * 40,
    )
    old.save()
    rows["office_long_ago"] = old
    return rows


def _shown(response):
    return {event.pk for event in response.context["page"]}


def test_a8_the_dsl_reads_the_schools_whole_trail_newest_first(client, school, dsl, trail):
    client.force_login(dsl)
    response = client.get(reverse("audit-trail", args=[school.slug]))
    assert response.status_code == 200
    shown = [event.pk for event in response.context["page"]]
    expected = {
        trail[name].pk
        for name in (
            "visitor_viewed",
            "office_printed",
            "office_viewed",
            "visitor_signed_in",
            "visitor_factor",
            "office_long_ago",
        )
    }
    assert set(shown) == expected
    assert shown[-1] == trail["office_long_ago"].pk
    assert shown == sorted(shown, key=lambda pk: AuditEvent.objects.get(pk=pk).at, reverse=True)
    assert b"Their visit" not in response.content


@pytest.mark.parametrize(
    "filters, expected",
    [
        ("person=office", ["office_printed", "office_viewed", "office_long_ago"]),
        ("pupil=pupil", ["visitor_viewed"]),
        ("kind=printed", ["office_printed"]),
        ("kind=signed_in", ["visitor_signed_in"]),
        ("range", ["office_long_ago"]),
    ],
)
def test_a8_the_trail_is_filtered_by_person_pupil_kind_and_dates(
    client, school, dsl, office, pupil, trail, filters, expected
):
    today = timezone.localdate()
    params = {
        "person=office": {"person": office.pk},
        "pupil=pupil": {"pupil": pupil.pk},
        "kind=printed": {"kind": "printed"},
        "kind=signed_in": {"kind": "signed_in"},
        "range": {"date_from": f"{today - DAY * 45}", "date_to": f"{today - DAY * 35}"},
    }[filters]
    client.force_login(dsl)
    response = client.get(reverse("audit-trail", args=[school.slug]), params)
    assert response.status_code == 200
    assert _shown(response) == {trail[name].pk for name in expected}


@pytest.mark.parametrize(
    "params, words",
    [
        ({"date_from": "2024-13-45"}, b"Enter a valid date"),
        ({"date_from": "1066-10-14"}, b"Enter a date between"),
        ({"date_from": "2025-03-10", "date_to": "2025-03-01"}, b"The end date is before the start"),
        ({"pupil": "abc"}, b"Choose a pupil of this school"),
        ({"pupil": "99999999999999999999999"}, b"Choose a pupil of this school"),
        ({"person": "-1"}, b"Choose a person of this school"),
        ({"kind": "teleported"}, b"Select a valid choice"),
    ],
)
def test_a8_a_nonsense_filter_is_a_clear_400_not_a_500(client, school, dsl, trail, params, words):
    client.force_login(dsl)
    response = client.get(reverse("audit-trail", args=[school.slug]), params)
    assert response.status_code == 400
    assert words in response.content
    export = client.get(reverse("audit-export", args=[school.slug]), params)
    assert export.status_code == 400
    assert not AuditEvent.objects.filter(action=Action.EXPORTED, actor=dsl).exists()


def test_a8_a_pupil_or_person_of_another_school_is_not_a_filter(
    client, school, other_school, dsl, outsider, trail
):
    theirs = PupilFactory(school=other_school)
    client.force_login(dsl)
    for params in ({"pupil": theirs.pk}, {"person": outsider.pk}):
        response = client.get(reverse("audit-trail", args=[school.slug]), params)
        assert response.status_code == 400


def test_a8_a_nonsense_page_number_shows_a_page(client, school, dsl, trail):
    client.force_login(dsl)
    for page in ("abc", "-3", "99999999"):
        response = client.get(reverse("audit-trail", args=[school.slug]), {"page": page})
        assert response.status_code == 200


def test_a8_the_trail_is_paginated(client, school, dsl, office):
    for n in range(55):
        record(Action.VIEWED, actor=office, school=school, target_label=f"Visit {n}")
    client.force_login(dsl)
    first = client.get(reverse("audit-trail", args=[school.slug]))
    second = client.get(reverse("audit-trail", args=[school.slug]), {"page": 2})
    assert len(first.context["page"]) == 50
    assert len(second.context["page"]) == 5
    assert b"Older" in first.content


def test_a8_the_school_admin_sees_only_account_events_of_the_schools_people(
    client, school, school_admin, trail
):
    client.force_login(school_admin)
    response = client.get(reverse("audit-trail", args=[school.slug]))
    assert response.status_code == 200
    assert _shown(response) == {trail["visitor_signed_in"].pk, trail["visitor_factor"].pk}
    assert "pupil" not in response.context["form"].fields
    kinds = {value for value, _ in response.context["form"].fields["kind"].choices}
    assert "viewed" not in kinds and "signed_in" in kinds
    # Asking for another kind of event is refused, not answered.
    refused = client.get(reverse("audit-trail", args=[school.slug]), {"kind": "viewed"})
    assert refused.status_code == 400


def test_a8_the_csv_has_the_filtered_rows_with_formula_safe_cells(
    client, school, dsl, visitor, pupil
):
    record(
        Action.VIEWED,
        actor=visitor,
        school=school,
        pupil=pupil,
        target_label='=HYPERLINK("http://evil.example","Visit 1")',
        detail="+cmd|' /C calc'!A0",
    )
    record(Action.PRINTED, actor=visitor, school=school, target_label="Schedule")
    client.force_login(dsl)
    response = client.get(reverse("audit-export", args=[school.slug]), {"kind": "viewed"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-hai-')
    header, *rows = _csv(response)
    assert header == ["When", "Person", "What happened", "What", "Pupil", "Detail", "From address"]
    assert len(rows) == 1
    row = dict(zip(header, rows[0], strict=True))
    assert row["What"] == '\'=HYPERLINK("http://evil.example","Visit 1")'
    assert row["Detail"] == "'+cmd|' /C calc'!A0"
    assert row["Person"] == "Vic Visitor"
    assert row["Pupil"] == "Poppy Pupil"


def test_a8_downloading_the_trail_is_itself_recorded(client, school, dsl, office):
    client.force_login(dsl)
    response = client.get(reverse("audit-export", args=[school.slug]), {"person": office.pk})
    assert response.status_code == 200
    _csv(response)
    event = AuditEvent.objects.get(action=Action.EXPORTED)
    assert (event.actor, event.school_id) == (dsl, school.pk)
    assert event.target_label == "Audit trail CSV"
    assert event.detail == "Filters: person Olive Office"


def test_a8_the_school_admins_csv_has_account_events_only(client, school, school_admin, trail):
    client.force_login(school_admin)
    response = client.get(reverse("audit-export", args=[school.slug]))
    header, *rows = _csv(response)
    assert "Pupil" not in header
    assert sorted(row[2] for row in rows) == ["Second factor added", "Signed in"]


# --- Append-only in Python (the database's triggers: tests/test_audit_triggers.py) --------------


def test_a8_a_visit_timeline_row_cannot_be_changed_or_deleted(visit):
    event = VisitEvent.objects.filter(visit=visit).first()
    event.message = "Rewritten."
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    # A refused delete is refused inside a transaction: it must not spoil the caller's.
    with pytest.raises(ValueError, match="append-only"), transaction.atomic():
        event.delete()
    with pytest.raises(ValueError, match="append-only"), transaction.atomic():
        VisitEvent.objects.filter(visit=visit).delete()
    assert VisitEvent.objects.get(pk=event.pk).message != "Rewritten."


def test_e1_a_calendar_change_row_cannot_be_changed_or_deleted(school, head):
    closure = ClosureDayFactory.build(school=school)
    closure.save_by(by=head, now=timezone.now())
    change = CalendarChange.objects.get(school=school)
    with pytest.raises(ValueError, match="append-only"):
        change.save()
    with pytest.raises(ValueError, match="append-only"), transaction.atomic():
        change.delete()
    assert CalendarChange.objects.filter(pk=change.pk).exists()


def test_a8_an_audit_row_cannot_be_changed_or_deleted(school, dsl):
    event = record(Action.VIEWED, actor=dsl, school=school, target_label="Visit 1")
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()


def test_a8_the_retention_schedule_alone_may_remove_rows(visit, school, dsl):
    event = VisitEvent.objects.filter(visit=visit).first()
    audit = record(Action.VIEWED, actor=dsl, school=school, target_label="Visit 1")
    with pgtrigger.ignore("visits.VisitEvent:append_only", "audit.AuditEvent:append_only"):
        event.delete()
        audit.delete()
    assert not VisitEvent.objects.filter(pk=event.pk).exists()
    assert not AuditEvent.objects.filter(pk=audit.pk).exists()
