"""The minutes screens (A1, A3, A6, A8): every URL tried by the people of the school and of
another school, the autosave that two devices share without overwriting each other, signatures,
submit, addenda, the audit trail and the debrief that closes the visit."""

import base64
import datetime
import json
import struct
import zlib

import pytest
from django.urls import reverse
from django.utils import timezone

from safeguarding.models import (
    Action,
    Addendum,
    Debrief,
    Minutes,
    MinutesEvent,
    MinutesEventKind,
    MinutesStatus,
    Signature,
)
from safeguarding.services import minutes as minutes_services
from visits import services
from visits.models import Status, Visit

from .factories import RISK_ANSWERS, record_debrief, visit_details, write_minutes

HOUR = datetime.timedelta(hours=1)
READERS = ["visitor", "partner", "dsl", "deputy", "head", "slt"]
# A8: the office plans and watches visits but does not read the minutes; a colleague not on
# the visit does not know it exists; the outsider is the DSL, office and head of another school.
HIDDEN_FROM = ["office", "colleague", "outsider"]


def _pixels(data):
    from io import BytesIO

    from PIL import Image

    with Image.open(BytesIO(data), formats=["PNG"]) as picture:
        return picture.size, list(picture.convert("RGBA").getdata())


def png(width=2, height=2):
    """A real, tiny PNG, as the signature canvas sends."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xff\xff\xff" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _done_visit(*, pupil, office, head, staff, purpose="welfare_check", leave=True):
    """A visit that took place this morning: authorised yesterday, staff arrived and (by
    default) left, so its minutes may be written and its debrief recorded."""
    now = timezone.now()
    yesterday = now - datetime.timedelta(days=1)
    start = now - 3 * HOUR
    visit = services.visit_create(
        pupil=pupil,
        by=office,
        details=visit_details(
            purpose=purpose,
            planned_start=start,
            expected_end=start + HOUR,
            parent_told_at=yesterday - HOUR,
        ),
        staff=[(u, u.staff_profile.mobile) for u in staff],
        now=yesterday,
    )
    services.risk_assessment_record(visit=visit, by=office, answers=RISK_ANSWERS, now=yesterday)
    services.visit_submit(visit=visit, by=office, now=yesterday)
    visit.refresh_from_db()
    visit = services.visit_authorise(
        visit=visit, by=head, expected_version=visit.version, confirmed=True, now=yesterday
    )
    staff_member = staff[0]
    visit = services.visit_arrive(
        visit=visit, by=staff_member, now=start + datetime.timedelta(minutes=5)
    )
    if leave:
        visit = services.visit_leave(
            visit=visit, by=staff_member, now=start + 50 * datetime.timedelta(minutes=1)
        )
    return Visit.objects.get(pk=visit.pk)


@pytest.fixture
def done_visit(pupil, office, head, visitor, partner):
    return _done_visit(pupil=pupil, office=office, head=head, staff=[visitor, partner])


@pytest.fixture
def attendance_visit(pupil, office, head, visitor, partner):
    return _done_visit(
        pupil=pupil, office=office, head=head, staff=[visitor, partner], purpose="attendance"
    )


@pytest.fixture
def draft(done_visit, visitor):
    return minutes_services.minutes_start(visit=done_visit, by=visitor)


@pytest.fixture
def submitted(done_visit, visitor):
    return write_minutes(done_visit, visitor)


def _client(client, user):
    client.force_login(user)
    return client


def _as(client, request, name):
    return _client(client, request.getfixturevalue(name))


def _save(client, visit, changes):
    return client.post(
        reverse("minutes-save", args=[visit.pk]),
        data=json.dumps({"changes": changes}),
        content_type="application/json",
    )


def _sign(client, visit, *, role="staff", name="Vic Visitor", image=None):
    image = png() if image is None else image
    body = {"signer_role": role, "signer_name": name}
    body["image"] = "data:image/png;base64," + base64.b64encode(image).decode()
    return client.post(
        reverse("minutes-sign", args=[visit.pk]),
        data=json.dumps(body),
        content_type="application/json",
    )


def _open_form(client, visit):
    """Start the minutes with the page's button (a POST), then open the tablet form."""
    address = reverse("minutes-edit", args=[visit.pk])
    assert client.post(address).status_code == 302
    return client.get(address)


def _stored(visit):
    return Minutes.objects.get(visit=visit)


# --- A8: who may open each page ------------------------------------------------------------


@pytest.mark.parametrize("who", READERS)
def test_a8_staff_on_the_visit_and_the_dsl_deputy_head_and_slt_read_the_minutes(
    client, request, who, submitted, done_visit
):
    response = _as(client, request, who).get(reverse("minutes-detail", args=[done_visit.pk]))
    assert response.status_code == 200
    assert "Attendance since half term" in response.text
    assert "Apply for a bus pass" in response.text


@pytest.mark.parametrize("who", HIDDEN_FROM)
@pytest.mark.parametrize(
    "url, method",
    [
        ("minutes-detail", "get"),
        ("minutes-edit", "get"),
        ("minutes-save", "post"),
        ("minutes-sign", "post"),
        ("minutes-submit", "post"),
        ("minutes-addendum", "post"),
    ],
)
def test_a8_minutes_urls_are_404_for_the_office_a_colleague_and_another_school(
    client, request, who, url, method, submitted, done_visit
):
    c = _as(client, request, who)
    address = reverse(url, args=[done_visit.pk])
    if url == "minutes-save":
        response = _save(c, done_visit, {"discussed": {"base": "", "value": "leak"}})
    elif method == "post":
        response = c.post(address, {"text": "Seen by the office"})
    else:
        response = c.get(address)
    assert response.status_code == 404
    assert "Attendance since half term" not in response.text
    assert _stored(done_visit).revision == submitted.revision
    assert not Addendum.objects.exists()


@pytest.mark.parametrize("who", HIDDEN_FROM)
def test_a8_signature_images_are_404_for_anyone_who_may_not_read(
    client, request, who, attendance_visit, visitor
):
    minutes = minutes_services.minutes_start(visit=attendance_visit, by=visitor)
    minutes_services.minutes_sign(
        minutes=minutes, by=visitor, signer_role="staff", signer_name="Vic Visitor", png=png()
    )
    response = _as(client, request, who).get(
        reverse("minutes-signature", args=[attendance_visit.pk, "staff"])
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    "url, method",
    [
        ("minutes-detail", "get"),
        ("minutes-edit", "get"),
        ("minutes-save", "post"),
        ("minutes-sign", "post"),
        ("minutes-submit", "post"),
        ("minutes-addendum", "post"),
        ("minutes-summary", "get"),
        ("debrief-record", "get"),
    ],
)
def test_anonymous_people_are_sent_to_sign_in(client, url, method, done_visit):
    response = getattr(client, method)(reverse(url, args=[done_visit.pk]))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_anonymous_people_are_sent_to_sign_in_for_a_signature(client, done_visit):
    response = client.get(reverse("minutes-signature", args=[done_visit.pk, "staff"]))
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))


@pytest.mark.parametrize("who", ["dsl", "head", "slt"])
@pytest.mark.parametrize(
    "url, method",
    [
        ("minutes-edit", "get"),
        ("minutes-save", "post"),
        ("minutes-sign", "post"),
        ("minutes-submit", "post"),
    ],
)
def test_a1_readers_not_on_the_visit_may_not_write_the_minutes(
    client, request, who, url, method, draft, done_visit
):
    """A1: the staff who went write the minutes; the DSL reads them (403 with the reason)."""
    c = _as(client, request, who)
    if url == "minutes-save":
        response = _save(c, done_visit, {"discussed": {"base": "", "value": "Written by the DSL"}})
        assert response.json() == {
            "error": "Minutes are written by the staff who made the visit (A1)."
        }
    elif url == "minutes-sign":
        response = _sign(c, done_visit)
        assert "staff who made the visit" in response.json()["error"]
    else:
        response = getattr(c, method)(reverse(url, args=[done_visit.pk]))
        assert "staff who made the visit" in response.text
    assert response.status_code == 403
    assert _stored(done_visit).discussed == ""
    assert not Signature.objects.exists()
    assert _stored(done_visit).status == MinutesStatus.DRAFT


# --- A1: writing the draft -----------------------------------------------------------------


def test_a1_staff_on_the_visit_open_the_tablet_form_and_the_minutes_start(
    client, visitor, done_visit
):
    # Opening the page writes nothing (issue 11): the minutes start with its button, a POST.
    address = reverse("minutes-edit", args=[done_visit.pk])
    opened = _client(client, visitor).get(address)
    assert opened.status_code == 200
    assert "Start the minutes" in opened.text
    assert not Minutes.objects.filter(visit=done_visit).exists()
    started = client.post(address)
    assert started.status_code == 302 and started.url == address
    response = client.get(address)
    assert response.status_code == 200
    minutes = _stored(done_visit)
    assert minutes.started_by == visitor
    page = response.context["page"]
    assert page["values"] == minutes_services.minutes_values(minutes)
    assert page["urls"]["save"] == reverse("minutes-save", args=[done_visit.pk])
    assert "signature_pad" not in response.text  # a welfare check needs no signatures (A3)
    for label in (
        "Who was present",
        "Was the child seen?",
        "Was the child spoken to?",
        "The child's voice",
        "What was discussed",
        "Action plan",
        "Follow-up required",
        "Referrals",
        "Date of a further visit",
        "Submit minutes",
    ):
        assert label in response.text, label
    assert MinutesEvent.objects.filter(minutes=minutes, kind=MinutesEventKind.STARTED).count() == 1


def test_a1_the_action_owner_list_is_the_schools_staff_only(
    client, visitor, done_visit, dsl, outsider, school_admin
):
    response = _open_form(_client(client, visitor), done_visit)
    owner_ids = {owner["id"] for owner in response.context["owners"]}
    assert {visitor.pk, dsl.pk} <= owner_ids
    assert outsider.pk not in owner_ids
    assert school_admin.pk not in owner_ids


def test_a1_minutes_cannot_be_started_before_staff_arrive(client, visitor, visit):
    response = _client(client, visitor).get(reverse("minutes-edit", args=[visit.pk]))
    assert response.status_code == 400
    assert "once staff have arrived" in response.text
    assert not Minutes.objects.exists()


def test_a1_the_on_visit_screen_offers_write_the_minutes_after_leaving(client, visitor, done_visit):
    response = _client(client, visitor).get(reverse("visit-on", args=[done_visit.pk]))
    assert "Write the minutes" in response.text
    assert reverse("minutes-edit", args=[done_visit.pk]) in response.text


def test_a1_autosave_writes_the_fields_and_answers_with_the_stored_values(
    client, visitor, draft, done_visit
):
    response = _save(
        _client(client, visitor),
        done_visit,
        {
            "discussed": {"base": "", "value": "The morning routine."},
            "child_seen": {"base": None, "value": True},
            "further_visit_on": {"base": None, "value": "2030-01-14"},
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["revision"] == 1
    assert body["conflicts"] == {}
    assert body["values"]["discussed"] == "The morning routine."
    assert body["values"]["further_visit_on"] == "2030-01-14"
    assert len(body["saved_at"]) == 8  # HH:MM:SS
    minutes = _stored(done_visit)
    assert (minutes.discussed, minutes.child_seen) == ("The morning routine.", True)
    assert minutes.further_visit_on == datetime.date(2030, 1, 14)


def test_a1_two_devices_editing_different_fields_both_land(
    client, visitor, partner, draft, done_visit
):
    from django.test import Client

    tablet, phone = _client(client, visitor), _client(Client(), partner)
    first = _save(tablet, done_visit, {"discussed": {"base": "", "value": "Routine."}})
    second = _save(phone, done_visit, {"child_voice": {"base": "", "value": "Misses friends."}})
    assert first.status_code == second.status_code == 200
    assert second.json()["conflicts"] == {}
    # The second device's answer carries the first device's text too: it shows the latest.
    assert second.json()["values"]["discussed"] == "Routine."
    minutes = _stored(done_visit)
    assert (minutes.discussed, minutes.child_voice) == ("Routine.", "Misses friends.")
    assert minutes.revision == 2


def test_a1_the_same_field_from_two_devices_is_a_conflict_and_the_stored_text_stays(
    client, visitor, partner, draft, done_visit
):
    from django.test import Client

    tablet, phone = _client(client, visitor), _client(Client(), partner)
    _save(tablet, done_visit, {"discussed": {"base": "", "value": "Vic's account."}})
    response = _save(phone, done_visit, {"discussed": {"base": "", "value": "Pat's account."}})

    assert response.status_code == 200
    conflict = response.json()["conflicts"]["discussed"]
    assert conflict["theirs"] == "Vic's account."
    assert conflict["mine"] == "Pat's account."
    assert conflict["by"] == "Vic Visitor"
    assert _stored(done_visit).discussed == "Vic's account."
    assert MinutesEvent.objects.filter(kind=MinutesEventKind.CONFLICT, by=partner).exists()

    # "Keep my version": sent again with their text as the base, it lands.
    again = _save(
        phone, done_visit, {"discussed": {"base": "Vic's account.", "value": "Pat's account."}}
    )
    assert again.json()["conflicts"] == {}
    assert _stored(done_visit).discussed == "Pat's account."


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'{"changes": []}',
        b'{"changes": {"code_word": {"value": "x"}}}',
        b'{"changes": {"child_seen": {"base": null, "value": "perhaps"}}}',
        "\xff".encode("latin-1"),
    ],
)
def test_a1_a_save_that_is_not_understood_is_400_with_a_reason_and_changes_nothing(
    client, visitor, draft, done_visit, body
):
    response = _client(client, visitor).post(
        reverse("minutes-save", args=[done_visit.pk]), data=body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]
    assert _stored(done_visit).revision == 0


def test_a1_submitted_minutes_refuse_a_save_and_keep_their_text(
    client, visitor, submitted, done_visit
):
    response = _save(
        _client(client, visitor),
        done_visit,
        {"discussed": {"base": submitted.discussed, "value": "Rewritten later."}},
    )
    assert response.status_code == 400
    assert "add an addendum" in response.json()["error"]
    assert (
        _stored(done_visit).discussed
        == "Attendance since half term; morning routine; the bus pass."
    )


def test_a1_submit_with_problems_is_400_listing_them_and_loses_nothing(
    client, visitor, draft, done_visit
):
    c = _client(client, visitor)
    _save(c, done_visit, {"child_voice": {"base": "", "value": "Wants to come back."}})
    response = c.post(reverse("minutes-submit", args=[done_visit.pk]))
    assert response.status_code == 400
    for problem in (
        "Say who was present (A1).",
        "Say whether the child was seen (A1).",
        "Write what was discussed (A1).",
        "Write the follow-up required",
    ):
        assert problem in response.text, problem
    minutes = _stored(done_visit)
    assert minutes.status == MinutesStatus.DRAFT
    assert minutes.child_voice == "Wants to come back."
    assert response.context["values"]["child_voice"] == "Wants to come back."


def test_a1_a7_submit_makes_the_record_and_its_actions(client, visitor, done_visit):
    minutes = write_minutes(done_visit, visitor, submit=False)
    response = _client(client, visitor).post(reverse("minutes-submit", args=[done_visit.pk]))
    assert response.status_code == 302
    assert response.url == reverse("minutes-detail", args=[done_visit.pk])
    minutes.refresh_from_db()
    assert minutes.status == MinutesStatus.SUBMITTED and minutes.submitted_by == visitor
    [action] = Action.objects.filter(minutes=minutes)
    assert (action.description, action.owner) == ("Apply for a bus pass", visitor)

    page = client.get(reverse("minutes-detail", args=[done_visit.pk]))
    assert "Apply for a bus pass" in page.text and "Open" in page.text


def test_a1_submitted_minutes_cannot_be_opened_for_writing_again(
    client, visitor, submitted, done_visit
):
    response = _client(client, visitor).get(reverse("minutes-edit", args=[done_visit.pk]))
    assert response.status_code == 302
    assert response.url == reverse("minutes-detail", args=[done_visit.pk])


# --- A3: signatures ------------------------------------------------------------------------


def test_a3_an_attendance_visit_form_asks_for_both_signatures(client, visitor, attendance_visit):
    response = _open_form(_client(client, visitor), attendance_visit)
    assert "signature_pad-5.1.4.min.js" in response.text
    assert 'data-signature="carer"' in response.text and 'data-signature="staff"' in response.text
    assert 'value="Vic Visitor"' in response.text  # the member of staff's name, ready


def test_a3_a_drawn_signature_is_stored_as_png_and_served_only_to_readers(
    client, visitor, dsl, attendance_visit
):
    image = png()
    response = _sign(
        _client(client, visitor), attendance_visit, role="carer", name=" Mary Pupil ", image=image
    )
    assert response.status_code == 200
    assert response.json()["url"] == reverse(
        "minutes-signature", args=[attendance_visit.pk, "carer"]
    )
    signature = Signature.objects.get()
    assert (signature.signer_role, signature.signer_name) == ("carer", "Mary Pupil")
    # Kept as drawn: the same pixels, in a PNG drawn again from them (issue 11), not the bytes sent.
    assert _pixels(bytes(signature.image)) == _pixels(image)
    image = bytes(signature.image)

    served = _client(client, dsl).get(response.json()["url"])
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert served["Cache-Control"] == "private, no-store"
    assert served.content == image
    missing = client.get(reverse("minutes-signature", args=[attendance_visit.pk, "staff"]))
    assert missing.status_code == 404

    page = client.get(reverse("minutes-detail", args=[attendance_visit.pk]))
    assert f'src="{response.json()["url"]}"' in page.text


def test_a3_a_signature_may_also_arrive_as_a_multipart_upload(client, visitor, attendance_visit):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = _client(client, visitor).post(
        reverse("minutes-sign", args=[attendance_visit.pk]),
        {
            "signer_role": "staff",
            "signer_name": "Vic Visitor",
            "image": SimpleUploadedFile("sig.png", png(), content_type="image/png"),
        },
    )
    assert response.status_code == 200
    assert Signature.objects.get().signer_role == "staff"


@pytest.mark.parametrize(
    "image, role, name",
    [
        (b"GIF89a not a png", "carer", "Mary"),
        (b"", "carer", "Mary"),
        (None, "grandma", "Mary"),
        (None, "carer", "   "),
    ],
)
def test_a3_a_signature_that_is_not_a_png_or_has_no_signer_is_refused(
    client, visitor, attendance_visit, image, role, name
):
    response = _sign(
        _client(client, visitor),
        attendance_visit,
        role=role,
        name=name,
        image=png() if image is None else image,
    )
    assert response.status_code == 400
    assert response.json()["error"]
    assert not Signature.objects.exists()


def test_a3_a_signature_that_is_not_base64_is_refused(client, visitor, attendance_visit):
    response = _client(client, visitor).post(
        reverse("minutes-sign", args=[attendance_visit.pk]),
        data=json.dumps({"signer_role": "carer", "signer_name": "Mary", "image": "data:,%%%"}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "PNG" in response.json()["error"]


def test_a3_an_attendance_visit_is_not_submitted_without_the_staff_signature(
    client, visitor, attendance_visit
):
    write_minutes(attendance_visit, visitor, submit=False)
    response = _client(client, visitor).post(reverse("minutes-submit", args=[attendance_visit.pk]))
    assert response.status_code == 400
    assert "the member of staff&#x27;s signature (A3)" in response.text
    _sign(client, attendance_visit, role="staff")
    _sign(client, attendance_visit, role="carer", name="Mary Pupil")
    assert client.post(reverse("minutes-submit", args=[attendance_visit.pk])).status_code == 302


# --- Addenda -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["visitor", "dsl", "head"])
def test_an_addendum_is_added_below_submitted_minutes_with_who_and_when(
    client, request, who, submitted, done_visit
):
    person = request.getfixturevalue(who)
    response = _client(client, person).post(
        reverse("minutes-addendum", args=[done_visit.pk]), {"text": "The bus pass came."}
    )
    assert response.status_code == 302
    addendum = Addendum.objects.get()
    assert (addendum.text, addendum.by, addendum.minutes) == (
        "The bus pass came.",
        person,
        submitted,
    )
    assert abs(addendum.at - timezone.now()) < datetime.timedelta(minutes=1)
    page = client.get(reverse("minutes-detail", args=[done_visit.pk]))
    assert "The bus pass came." in page.text
    assert person.get_full_name() in page.text
    assert _stored(done_visit).discussed == submitted.discussed


def test_an_addendum_to_a_draft_is_refused_with_the_reason(client, visitor, draft, done_visit):
    response = _client(client, visitor).post(
        reverse("minutes-addendum", args=[done_visit.pk]), {"text": "Early note."}
    )
    assert response.status_code == 400
    assert "addenda are for submitted minutes" in response.text
    assert not Addendum.objects.exists()


def test_an_empty_addendum_is_refused_and_the_page_shows_why(client, dsl, submitted, done_visit):
    response = _client(client, dsl).post(
        reverse("minutes-addendum", args=[done_visit.pk]), {"text": "  "}
    )
    assert response.status_code == 400
    assert not Addendum.objects.exists()


# --- A8: the audit trail -------------------------------------------------------------------


def test_a8_every_reading_of_the_minutes_is_on_the_audit_trail(client, slt, submitted, done_visit):
    _client(client, slt).get(reverse("minutes-detail", args=[done_visit.pk]))
    _client(client, slt).get(reverse("minutes-detail", args=[done_visit.pk]))
    assert (
        MinutesEvent.objects.filter(minutes=submitted, kind=MinutesEventKind.VIEWED, by=slt).count()
        == 2
    )


@pytest.mark.parametrize(
    "who, sees",
    [("dsl", True), ("deputy", True), ("head", True), ("slt", False), ("visitor", False)],
)
def test_a8_the_audit_trail_is_shown_to_the_dsl_deputy_and_head_only(
    client, request, who, sees, submitted, done_visit
):
    response = _as(client, request, who).get(reverse("minutes-detail", args=[done_visit.pk]))
    assert ("Who read or changed them<" in response.text) is sees
    assert ('data-testid="minutes-audit"' in response.text) is sees


def test_a8_before_the_minutes_exist_staff_see_write_and_others_see_not_written(
    client, visitor, dsl, done_visit
):
    mine = _client(client, visitor).get(reverse("minutes-detail", args=[done_visit.pk]))
    assert "Write the minutes" in mine.text
    theirs = _client(client, dsl).get(reverse("minutes-detail", args=[done_visit.pk]))
    assert "not written yet" in theirs.text and "Write the minutes" not in theirs.text
    assert f"{reverse('concern-create')}?visit={done_visit.pk}" in theirs.text  # A5
    assert not MinutesEvent.objects.exists()


# --- A6: the debrief and closing the visit -------------------------------------------------


def _debrief_form(when, visit):
    return {
        "led_as": "dsl",
        "held_at": timezone.localtime(when).strftime("%Y-%m-%dT%H:%M"),
        "agreed": "Visit again in two weeks.",
        # A6: who was debriefed, from the staff on the visit.
        "debriefed": sorted(visit.staff_user_ids()),
    }


def test_a6_the_dsl_records_the_debrief_and_the_visit_closes_once_minutes_are_submitted(
    client, dsl, visitor, done_visit
):
    c = _client(client, dsl)
    form = c.get(reverse("debrief-record", args=[done_visit.pk]))
    assert form.status_code == 200
    assert form.context["form"].initial["led_as"] == "dsl"
    response = c.post(
        reverse("debrief-record", args=[done_visit.pk]), _debrief_form(timezone.now(), done_visit)
    )
    assert response.status_code == 302
    debrief = Debrief.objects.get(visit=done_visit)
    assert (debrief.led_by, debrief.led_as, debrief.agreed) == (
        dsl,
        "dsl",
        "Visit again in two weeks.",
    )
    assert Visit.objects.get(pk=done_visit.pk).status == Status.COMPLETED  # minutes missing

    write_minutes(done_visit, visitor)
    assert Visit.objects.get(pk=done_visit.pk).status == Status.CLOSED
    page = c.get(reverse("minutes-detail", args=[done_visit.pk]))
    assert "Visit again in two weeks." in page.text


def test_a6_submitting_the_minutes_after_the_debrief_closes_the_visit(
    client, dsl, visitor, done_visit
):
    record_debrief(done_visit, dsl)
    write_minutes(done_visit, visitor, submit=False)
    _client(client, visitor).post(reverse("minutes-submit", args=[done_visit.pk]))
    assert Visit.objects.get(pk=done_visit.pk).status == Status.CLOSED


def test_a6_the_held_at_time_is_read_as_uk_time(client, dsl, done_visit):
    held = timezone.localtime(timezone.now() - HOUR).replace(second=0, microsecond=0)
    _client(client, dsl).post(
        reverse("debrief-record", args=[done_visit.pk]), _debrief_form(held, done_visit)
    )
    assert Debrief.objects.get().held_at == held


def test_a6_staff_on_the_visit_may_not_record_their_own_debrief(client, visitor, done_visit):
    c = _client(client, visitor)
    assert c.get(reverse("debrief-record", args=[done_visit.pk])).status_code == 403
    response = c.post(
        reverse("debrief-record", args=[done_visit.pk]), _debrief_form(timezone.now(), done_visit)
    )
    assert response.status_code == 403
    assert not Debrief.objects.exists()


@pytest.mark.parametrize("who", HIDDEN_FROM)
def test_a8_the_debrief_page_is_404_for_people_who_may_not_read_the_minutes(
    client, request, who, done_visit
):
    c = _as(client, request, who)
    assert c.get(reverse("debrief-record", args=[done_visit.pk])).status_code == 404
    assert (
        c.post(
            reverse("debrief-record", args=[done_visit.pk]),
            _debrief_form(timezone.now(), done_visit),
        ).status_code
        == 404
    )
    assert not Debrief.objects.exists()


def test_a6_a_refused_debrief_comes_back_with_the_reason_and_what_was_typed(
    client, head, done_visit
):
    """The head may not record a debrief "as the DSL" (A6)."""
    response = _client(client, head).post(
        reverse("debrief-record", args=[done_visit.pk]), _debrief_form(timezone.now(), done_visit)
    )
    assert response.status_code == 400
    assert "You are not the school&#x27;s DSL (A6)." in response.text
    assert "Visit again in two weeks." in response.text
    assert not Debrief.objects.exists()


def test_a6_a_second_debrief_is_refused(client, dsl, done_visit):
    record_debrief(done_visit, dsl)
    c = _client(client, dsl)
    page = c.get(reverse("debrief-record", args=[done_visit.pk]))
    assert page.status_code == 200 and page.context["form"] is None
    response = c.post(
        reverse("debrief-record", args=[done_visit.pk]), _debrief_form(timezone.now(), done_visit)
    )
    assert response.status_code == 400
    assert "already recorded" in response.text
    assert Debrief.objects.count() == 1


# --- The visit page ------------------------------------------------------------------------


def test_a6_the_visit_page_has_no_close_button_and_says_what_is_missing(
    client, dsl, visitor, done_visit
):
    page = _client(client, dsl).get(reverse("visit-detail", args=[done_visit.pk]))
    assert "Close the record" not in page.text
    assert reverse("minutes-summary", args=[done_visit.pk]) in page.text

    summary = client.get(
        reverse("minutes-summary", args=[done_visit.pk]), headers={"HX-Request": "true"}
    )
    assert "Not started" in summary.text
    assert "once it has submitted minutes and a recorded debrief" in summary.text
    assert reverse("debrief-record", args=[done_visit.pk]) in summary.text
    assert "<html" not in summary.text

    write_minutes(done_visit, visitor)
    summary = client.get(reverse("minutes-summary", args=[done_visit.pk]))
    assert "Submitted" in summary.text and "once it has a recorded debrief" in summary.text
    assert "<html" in summary.text  # opened without script: a whole page


def test_a8_the_office_sees_the_minutes_state_on_the_visit_page_but_not_their_content(
    client, office, dsl, visitor, done_visit
):
    write_minutes(done_visit, visitor)
    record_debrief(done_visit, dsl)
    summary = _client(client, office).get(reverse("minutes-summary", args=[done_visit.pk]))
    assert summary.status_code == 200
    assert "Submitted" in summary.text and "The visit is closed" in summary.text
    assert "Keep visiting weekly." not in summary.text
    assert reverse("minutes-detail", args=[done_visit.pk]) not in summary.text


@pytest.mark.parametrize("who", ["colleague", "outsider"])
def test_a8_the_minutes_summary_is_404_for_people_who_may_not_see_the_visit(
    client, request, who, done_visit
):
    response = _as(client, request, who).get(reverse("minutes-summary", args=[done_visit.pk]))
    assert response.status_code == 404


def test_a1_the_visit_page_offers_write_the_minutes_to_the_staff(client, visitor, done_visit):
    summary = _client(client, visitor).get(reverse("minutes-summary", args=[done_visit.pk]))
    assert "Write the minutes" in summary.text


def test_a1_before_arrival_the_minutes_page_says_when_they_can_be_written(client, visitor, visit):
    response = _client(client, visitor).get(reverse("minutes-detail", args=[visit.pk]))
    assert response.status_code == 200
    assert "once staff have arrived" in response.text
    assert reverse("minutes-edit", args=[visit.pk]) not in response.text


def test_a7_an_overdue_action_is_marked_overdue_on_the_minutes(
    client, dsl, authorised_visit, visitor
):
    """A7: an open action past its due date reads as overdue, not merely open."""
    services.visit_arrive(visit=authorised_visit, by=visitor, now=authorised_visit.planned_start)
    services.visit_leave(
        visit=authorised_visit,
        by=visitor,
        now=authorised_visit.planned_start + datetime.timedelta(hours=1),
    )
    write_minutes(
        authorised_visit, visitor, now=authorised_visit.planned_start + datetime.timedelta(hours=2)
    )
    client.force_login(dsl)
    url = f"/visits/{authorised_visit.pk}/minutes/"
    assert "Overdue" not in client.get(url).content.decode()
    Action.objects.update(due_on=timezone.localdate() - datetime.timedelta(days=1))
    assert "Overdue" in client.get(url).content.decode()


def test_a7_an_owner_who_left_stays_on_the_owner_list_marked(
    client, pupil, office, head, visitor, partner, colleague
):
    """Found in review: the owner select showed "Choose…" and the next save dropped them."""
    visit = _done_visit(pupil=pupil, office=office, head=head, staff=[visitor, partner])
    due = (timezone.localdate() + datetime.timedelta(days=3)).isoformat()
    plan = [{"description": "Call the GP", "owner": colleague.pk, "due_on": due}]
    write_minutes(visit, visitor, submit=False, action_plan=plan)
    colleague.memberships.all().delete()
    client.force_login(visitor)
    page = client.get(reverse("minutes-edit", args=[visit.pk])).content.decode()
    assert f'"id": {colleague.pk}' in page
    assert "(no longer at school)" in page


def test_a1_a8_the_on_visit_screen_offers_the_minutes_only_to_the_staff_who_went(
    client, office, dsl, done_visit
):
    """The offer is the domain's (minutes_offer), not worked out in the template."""
    for person in (office, dsl):
        page = _client(client, person).get(reverse("visit-on", args=[done_visit.pk]))
        assert reverse("minutes-edit", args=[done_visit.pk]) not in page.text


def test_a1_on_site_the_screen_offers_to_start_the_minutes(
    client, pupil, office, head, visitor, partner
):
    visit = _done_visit(
        pupil=pupil, office=office, head=head, staff=[visitor, partner], leave=False
    )
    page = _client(client, visitor).get(reverse("visit-on", args=[visit.pk]))
    assert "Start the minutes" in page.text
