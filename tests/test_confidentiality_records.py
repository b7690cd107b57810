"""Rule A8 for the record after the visit: every minutes, debrief, export, concern, action,
pupil-file and monitoring URL, tried by every role of the school, by another school's DSL,
by someone with no role, by a superuser and by an anonymous visitor.

Minutes are read by the staff on the visit and the DSL, deputies, headteacher and SLT; a concern
by the DSL, deputies, headteacher and whoever raised it. Everyone else gets a 404 on their URLs
(a 403 would say they exist), sees none of their words anywhere, and changes nothing by POST.
"""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from safeguarding.models import (
    Action,
    Addendum,
    Concern,
    ConcernEvent,
    CopySent,
    Debrief,
    Minutes,
    MinutesEvent,
    MinutesEventKind,
    Signature,
)
from safeguarding.services import concern_raise
from safeguarding.services import minutes as minutes_services
from safeguarding.services.exports import copy_sent_record
from visits import services

from .factories import UserFactory, enrol_totp, write_minutes

# Words only this record carries, looked for in every response that must not show them.
CHILD_VOICE = "I hide under the stairs when they shout"
DISCUSSED = "Rent arrears and the bailiffs' letter"
ACCOUNT = "Finger-shaped bruises on the upper arm"
ADDENDUM = "The stepfather has moved back in"


def _png():
    """A real drawing: a signature is decoded in full, not trusted on its first 8 bytes."""
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGBA", (120, 40), (0, 0, 0, 0)).save(buffer, format="PNG")
    return buffer.getvalue()


PNG = _png()

ON_VISIT = ["visitor", "partner"]
SENIOR_READERS = ["dsl", "deputy", "head", "slt"]
MINUTES_READERS = ON_VISIT + SENIOR_READERS
CONCERN_READERS = ["dsl", "deputy", "head", "visitor"]  # the visitor raised it
NOT_READERS = ["office", "colleague", "school_admin"]
STRANGERS = ["outsider", "no_role", "superuser"]
EVERYONE = MINUTES_READERS + NOT_READERS + STRANGERS


@pytest.fixture
def no_role(db):
    return UserFactory(username="norole")


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def record(authorised_visit, visitor, dsl, school):
    """A visit with submitted, signed minutes, an addendum, an action, a copy sent and a concern
    raised from it; the debrief is not yet recorded, so its form is open."""
    visit = authorised_visit
    # A surname no menu or heading contains, so finding it means the pupil's data leaked.
    visit.pupil.last_name = "Quennell-Abara"
    visit.pupil.save(update_fields=["last_name"])
    services.visit_arrive(visit=visit, by=visitor, now=visit.planned_start)
    services.visit_leave(
        visit=visit, by=visitor, now=visit.planned_start + datetime.timedelta(hours=1)
    )
    now = visit.planned_start + datetime.timedelta(hours=2)
    minutes = write_minutes(
        visit, visitor, now=now, submit=False, child_voice=CHILD_VOICE, discussed=DISCUSSED
    )
    minutes_services.minutes_sign(
        minutes=minutes, by=visitor, signer_role="staff", signer_name="Vic Visitor", png=PNG
    )
    minutes_services.minutes_submit(minutes=minutes, by=visitor, now=now)
    minutes_services.minutes_add_addendum(minutes=minutes, by=dsl, text=ADDENDUM, now=now)
    concern = concern_raise(pupil=visit.pupil, by=visitor, visit=visit, account=ACCOUNT, now=now)
    copy_sent_record(
        minutes=minutes,
        by=dsl,
        version="redacted",
        recipient="parent",
        recipient_name="Mary Pupil",
        method="post",
        sent_at=now,
        now=now,
    )
    return {"visit": visit, "minutes": minutes, "concern": concern, "action": Action.objects.get()}


def _fingerprint():
    """What any POST that got through would change."""
    return {
        "minutes": list(Minutes.objects.values()),
        "signatures": Signature.objects.count(),
        "addenda": Addendum.objects.count(),
        "copies": CopySent.objects.count(),
        "debriefs": Debrief.objects.count(),
        "concerns": list(Concern.objects.values()),
        "actions": list(Action.objects.values()),
        "concern_events": ConcernEvent.objects.exclude(kind="viewed").count(),
        "minutes_events": MinutesEvent.objects.exclude(
            kind__in=[MinutesEventKind.VIEWED, MinutesEventKind.EXPORTED]
        ).count(),
    }


def _urls(record):
    """(label, method, url, data, who may reach it) for every URL of the record."""
    pk = record["visit"].pk
    concern = record["concern"].pk
    action = record["action"].pk
    pupil = record["visit"].pupil_id
    today = timezone.localdate().isoformat()
    minutes = [
        ("minutes page", "get", f"/visits/{pk}/minutes/", None),
        ("minutes write", "get", f"/visits/{pk}/minutes/write/", None),
        ("signature", "get", f"/visits/{pk}/minutes/signature/staff.png", None),
        ("PDF redacted", "get", f"/visits/{pk}/minutes/pdf/redacted/", None),
        ("PDF full", "get", f"/visits/{pk}/minutes/pdf/full/", None),
        ("CPOMS row", "get", f"/visits/{pk}/minutes/cpoms.csv", None),
        ("debrief form", "get", f"/visits/{pk}/debrief/", None),
        (
            "autosave",
            "post",
            f"/visits/{pk}/minutes/save/",
            {"changes": {"discussed": {"base": DISCUSSED, "value": "Overwritten"}}},
        ),
        ("submit", "post", f"/visits/{pk}/minutes/submit/", {}),
        ("addendum", "post", f"/visits/{pk}/minutes/addendum/", {"text": "Sneaked in"}),
        (
            "copy sent",
            "post",
            f"/visits/{pk}/minutes/copies/",
            {
                "version": "redacted",
                "recipient": "parent",
                "recipient_name": "X",
                "method": "post",
                "sent_at": today + "T09:00",
            },
        ),
        (
            "debrief",
            "post",
            f"/visits/{pk}/debrief/",
            {"led_as": "line_manager", "held_at": today + "T09:00", "agreed": "x"},
        ),
    ]
    concerns = [
        ("concern page", "get", f"/concerns/{concern}/", None),
        (
            "concern triage",
            "post",
            f"/concerns/{concern}/triage/",
            {"category": "neglect", "referral": "none"},
        ),
        ("concern close", "post", f"/concerns/{concern}/close/", {"outcome": "Closed."}),
        (
            "concern action",
            "post",
            f"/concerns/{concern}/actions/",
            {"description": "x", "owner": "1", "due_on": today},
        ),
    ]
    pages = [
        ("pupil file", "get", f"/pupils/{pupil}/file/", None),
        ("my actions", "get", "/actions/", None),
        ("action done", "post", f"/actions/{action}/done/", {"outcome": "Done."}),
        ("monitoring", "get", "/monitoring/", None),
        ("monitoring CSV", "get", "/monitoring/export.csv", None),
        ("CPOMS bulk", "get", f"/minutes/cpoms.csv?from=2000-01-01&to={today}", None),
        ("concern list", "get", "/concerns/", None),
    ]
    return minutes, concerns, pages


def _send(client, method, url, data):
    if method == "get":
        return client.get(url)
    if url.endswith("/save/"):
        return client.post(url, data, content_type="application/json")
    return client.post(url, data)


def _body(response):
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    content = response.content
    if content.startswith(b"%PDF"):
        import io

        import pypdf

        return "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(content)).pages)
    return content.decode(errors="replace")


@pytest.mark.parametrize("who", NOT_READERS + STRANGERS)
def test_a8_minutes_urls_are_404_for_everyone_who_may_not_read_them(client, request, record, who):
    client.force_login(request.getfixturevalue(who))
    minutes_urls, _, _ = _urls(record)
    before = _fingerprint()
    wrong = []
    for label, method, url, data in minutes_urls:
        response = _send(client, method, url, data)
        if response.status_code != 404:
            wrong.append(f"{label}: {response.status_code}, not 404")
        body = _body(response)
        if any(mark in body for mark in (CHILD_VOICE, DISCUSSED, ADDENDUM)):
            wrong.append(f"{label}: shows the minutes")
    assert wrong == []
    assert _fingerprint() == before


@pytest.mark.parametrize("who", MINUTES_READERS)
def test_a8_readers_open_the_minutes_pages_and_exports(client, request, record, who):
    client.force_login(request.getfixturevalue(who))
    minutes_urls, _, _ = _urls(record)
    wrong = []
    for label, method, url, _ in minutes_urls:
        if method != "get" or label in ("minutes write", "debrief form"):
            continue
        response = client.get(url)
        if response.status_code != 200:
            wrong.append(f"{label}: {response.status_code}")
    assert wrong == []
    page = _body(client.get(f"/visits/{record['visit'].pk}/minutes/"))
    assert CHILD_VOICE in page and ADDENDUM in page
    # Reading is on the audit trail (A8).
    assert MinutesEvent.objects.filter(
        kind=MinutesEventKind.VIEWED, by=request.getfixturevalue(who)
    ).exists()


@pytest.mark.parametrize("who", EVERYONE)
def test_a8_concern_urls_open_only_for_its_readers_and_its_words_go_nowhere_else(
    client, request, record, who
):
    person = request.getfixturevalue(who)
    client.force_login(person)
    minutes_urls, concern_urls, pages = _urls(record)
    before = _fingerprint()
    wrong = []
    for label, method, url, data in concern_urls:
        response = _send(client, method, url, data)
        if who not in CONCERN_READERS and response.status_code != 404:
            wrong.append(f"{label}: {response.status_code}, not 404")
        if who in CONCERN_READERS and label == "concern page" and response.status_code != 200:
            wrong.append(f"{label}: {response.status_code}, not 200")
        if who not in CONCERN_READERS and ACCOUNT in _body(response):
            wrong.append(f"{label}: shows the concern")
    # The concern's words appear on no page but its own: not the minutes, exports or file.
    for label, method, url, _ in minutes_urls + pages:
        if method != "get" or label == "concern list":
            continue
        response = client.get(url)
        redacted = label in ("PDF redacted", "CPOMS row", "CPOMS bulk")
        if (redacted or who not in CONCERN_READERS) and ACCOUNT in _body(response):
            wrong.append(f"{label}: shows the concern's account")
    assert wrong == []
    if who not in CONCERN_READERS:
        assert _fingerprint() == before


@pytest.mark.parametrize("who", STRANGERS)
def test_a8_strangers_get_404_on_the_pupil_file_and_no_data_anywhere(client, request, record, who):
    client.force_login(request.getfixturevalue(who))
    _, _, pages = _urls(record)
    pupil = record["visit"].pupil
    wrong = []
    for label, method, url, data in pages:
        response = _send(client, method, url, data)
        if label in ("pupil file", "action done") and response.status_code != 404:
            wrong.append(f"{label}: {response.status_code}, not 404")
        if response.status_code == 200 and pupil.last_name in _body(response):
            wrong.append(f"{label}: names the pupil")
    assert wrong == []
    assert not Action.objects.filter(status="done").exists()


@pytest.mark.parametrize("who", ["office", "colleague", "school_admin"])
def test_a8_the_pupil_file_shows_staff_who_may_not_read_minutes_none_of_their_words(
    client, request, record, who
):
    client.force_login(request.getfixturevalue(who))
    response = client.get(f"/pupils/{record['visit'].pupil_id}/file/")
    assert response.status_code in (200, 404)
    body = _body(response)
    for mark in (CHILD_VOICE, DISCUSSED, ADDENDUM, ACCOUNT):
        assert mark not in body


@pytest.mark.parametrize("who", ["office", "visitor", "colleague", "school_admin"])
def test_a9_monitoring_and_bulk_export_are_refused_to_other_roles(client, request, record, who):
    client.force_login(request.getfixturevalue(who))
    for url in ("/monitoring/", "/monitoring/export.csv"):
        assert client.get(url).status_code in (403, 404), url
    response = client.get(f"/minutes/cpoms.csv?from=2000-01-01&to={timezone.localdate()}")
    assert response.status_code in (403, 404)
    assert record["visit"].pupil.last_name not in _body(response)


@pytest.mark.parametrize("who", SENIOR_READERS)
def test_a9_seniors_open_monitoring(client, request, record, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get("/monitoring/").status_code == 200
    assert client.get("/monitoring/export.csv").status_code == 200


def test_a8_another_schools_dsl_sees_none_of_this_school_in_their_own_monitoring(
    client, record, outsider
):
    client.force_login(outsider)
    for url in ("/monitoring/", "/monitoring/export.csv", "/actions/", "/concerns/"):
        response = client.get(url)
        assert record["visit"].pupil.last_name not in _body(response), url


def test_a8_anonymous_visitor_is_sent_to_sign_in_everywhere(client, record):
    minutes_urls, concern_urls, pages = _urls(record)
    before = _fingerprint()
    wrong = []
    for label, method, url, data in minutes_urls + concern_urls + pages:
        response = _send(client, method, url, data)
        if response.status_code != 302 or not response["Location"].startswith(
            reverse("account_login") + "?next="
        ):
            wrong.append(f"{label}: {response.status_code}")
    assert wrong == []
    assert _fingerprint() == before


def test_a8_losing_the_role_loses_the_minutes(client, record, dsl, school):
    client.force_login(dsl)
    url = f"/visits/{record['visit'].pk}/minutes/"
    assert client.get(url).status_code == 200
    dsl.memberships.all().delete()
    assert client.get(url).status_code == 404


def test_a8_gaining_the_dsl_role_gains_the_minutes(client, record, school, colleague):
    client.force_login(colleague)
    url = f"/visits/{record['visit'].pk}/minutes/"
    assert client.get(url).status_code == 404
    colleague.memberships.create(school=school, role="dsl")
    enrol_totp(colleague)  # a DSL signs in with a second factor
    assert client.get(url).status_code == 200


def test_a8_slt_see_that_a_concern_action_is_overdue_but_not_its_wording(
    client, record, dsl, slt, head
):
    """A9 shows SLT the overdue actions; an action on a concern keeps its wording to the
    concern's readers (A8), on the page and in the CSV."""
    from safeguarding.services.actions import action_add_for_concern

    wording = "Ask the police about the stepfather record"
    action = action_add_for_concern(
        concern=record["concern"],
        by=dsl,
        description=wording,
        owner=dsl,
        due_on=timezone.localdate(),
    )
    Action.objects.filter(pk=action.pk).update(
        due_on=timezone.localdate() - datetime.timedelta(days=3)
    )
    for person, sees in ((slt, False), (head, True), (dsl, True)):
        client.force_login(person)
        for url in ("/monitoring/", "/monitoring/export.csv"):
            body = _body(client.get(url))
            assert (wording in body) is sees, (person, url)
            assert "action on a safeguarding concern" in body or sees


def test_a8_reading_the_minutes_summary_in_the_pupils_file_is_audited(client, record, slt):
    client.force_login(slt)
    body = _body(client.get(f"/pupils/{record['visit'].pupil_id}/file/"))
    assert "Rent arrears" in body
    viewed = MinutesEvent.objects.filter(
        minutes=record["minutes"], kind=MinutesEventKind.VIEWED, by=slt
    )
    assert viewed.get().message == "Summary read in the pupil's file"
