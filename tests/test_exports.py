"""Copies and exports of the minutes (A2, A4): the PDF read back as text, the CPOMS CSV, copies
sent, who may have which (A8) and the audit rows every export writes."""

import csv
import datetime
import io

import pypdf
import pytest
import time_machine
from django.urls import reverse
from PIL import Image

from safeguarding.models import (
    CopySent,
    CopyVersion,
    MinutesEvent,
    MinutesEventKind,
)
from safeguarding.services import concern_raise, exports
from safeguarding.services import minutes as minutes_services
from visits import services
from visits.models import VisitStaff
from visits.rules import RuleBroken

from .conftest import make_visit
from .factories import PupilFactory, Role, member, write_minutes

CONCERN_ACCOUNT = "Bruise on the left forearm; said her uncle grabbed her."
READERS = ["dsl", "deputy", "head", "slt", "visitor", "partner"]
NOT_READERS = ["office", "colleague", "school_admin", "outsider"]
BULK_ROLES = ["dsl", "deputy", "head"]
WEEK = datetime.timedelta(days=7)


def _png(colour):
    buffer = io.BytesIO()
    Image.new("RGB", (120, 40), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _complete(visit, by):
    """The visit arrived and left (D1), so its minutes can be written and submitted (A1)."""
    services.visit_arrive(
        visit=visit, by=by, now=visit.planned_start + datetime.timedelta(minutes=3)
    )
    return services.visit_leave(
        visit=visit, by=by, now=visit.planned_start + datetime.timedelta(minutes=55)
    )


def submitted_minutes(visit, by, **answers):
    """Minutes written and submitted through the real services an hour after the visit."""
    visit = _complete(visit, by)
    return write_minutes(
        visit, by, now=visit.completed_at + datetime.timedelta(minutes=5), **answers
    )


def _text(pdf):
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def _flat(text):
    return " ".join(text.split())


def _csv(response):
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(body.decode("utf-8"))))


@pytest.fixture
def visit_staff_mobiles(authorised_visit):
    VisitStaff.objects.filter(visit=authorised_visit, position=1).update(mobile="07700 900123")
    VisitStaff.objects.filter(visit=authorised_visit, position=2).update(mobile="07700 900456")
    return ["07700 900123", "07700 900456"]


@pytest.fixture
def minutes(authorised_visit, visitor, visit_staff_mobiles):
    return submitted_minutes(
        authorised_visit,
        visitor,
        discussed="Attendance since half term and the morning routine.",
        referrals="Early help assessment offered.",
    )


@pytest.fixture
def concern(minutes, visitor):
    visit = minutes.visit
    return concern_raise(
        pupil=visit.pupil,
        by=visitor,
        account=CONCERN_ACCOUNT,
        visit=visit,
        now=minutes.submitted_at,
    )


@pytest.fixture
def after(minutes):
    """A moment after the minutes were submitted, for things done through the screens."""
    return minutes.submitted_at + datetime.timedelta(hours=2)


# The PDF (A2, A3) ----------------------------------------------------------------------------


def test_a2_full_record_holds_the_staff_safety_details_and_the_record(
    minutes, dsl, visit_staff_mobiles
):
    pdf = exports.minutes_pdf(minutes=minutes, version=CopyVersion.FULL, by=dsl)
    flat = _flat(_text(pdf))

    for safety in ["bluebell", "AB12 CDE", "Blue Ford Fiesta", *visit_staff_mobiles]:
        assert safety in flat
    for record in [
        "Heather Avenue Infant School",
        "Poppy Pupil",
        "1 May 2016",
        "Year 4",
        "Welfare check after absence",
        "Vic Visitor",
        "Pat Partner",
        "Mary Pupil",
        "Attendance since half term and the morning routine.",
        "Apply for a bus pass",
        "Phone mother on Friday.",
        "Early help assessment offered.",
        "Said she misses her friends",
    ]:
        assert record in flat
    pages = len(pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert f"Page 1 of {pages}" in flat
    assert "CONFIDENTIAL" in flat.upper()
    assert "by Dee Lead" in flat


def test_a2_redacted_copy_leaves_out_staff_safety_details_and_concerns(
    minutes, concern, dsl, visit_staff_mobiles
):
    flat = _flat(_text(exports.minutes_pdf(minutes=minutes, version=CopyVersion.REDACTED, by=dsl)))

    for secret in ["bluebell", "AB12 CDE", "AB12CDE", "Blue Ford Fiesta", *visit_staff_mobiles]:
        assert secret not in flat
    assert "Bruise" not in flat and "uncle" not in flat
    assert "concern" not in flat.lower()
    # ...but it is still the record of the visit.
    assert "Attendance since half term and the morning routine." in flat
    assert "Apply for a bus pass" in flat
    assert "Vic Visitor" in flat
    assert "Page 1 of" in flat


def test_a8_full_record_counts_concerns_for_those_who_may_not_read_them(minutes, concern, slt, dsl):
    for_slt = _flat(_text(exports.minutes_pdf(minutes=minutes, version=CopyVersion.FULL, by=slt)))
    assert "1 concern raised (see the safeguarding record)" in for_slt
    assert "Bruise" not in for_slt

    for_dsl = _flat(_text(exports.minutes_pdf(minutes=minutes, version=CopyVersion.FULL, by=dsl)))
    assert CONCERN_ACCOUNT in for_dsl


def test_a1_a_draft_is_neither_copied_nor_exported(authorised_visit, visitor, dsl):
    visit = _complete(authorised_visit, visitor)
    draft = write_minutes(visit, visitor, now=visit.completed_at, submit=False)
    for version in CopyVersion.values:
        with pytest.raises(RuleBroken, match="submitted"):
            exports.minutes_pdf(minutes=draft, version=version, by=dsl)
    with pytest.raises(RuleBroken, match="submitted"):
        exports.cpoms_export_one(minutes=draft, by=dsl)
    assert not MinutesEvent.objects.filter(kind=MinutesEventKind.EXPORTED).exists()


def test_a3_signatures_are_drawn_into_the_pdf_and_addenda_carry_who_and_when(
    pupil, office, head, visitor, partner, dsl
):
    visit = make_visit(
        pupil=pupil, by=office, staff=[visitor, partner], details={"purpose": "attendance"}
    )
    visit = services.visit_submit(visit=visit, by=office)
    visit = services.visit_authorise(
        visit=visit, by=head, expected_version=visit.version, confirmed=True
    )
    visit = _complete(visit, visitor)
    now = visit.completed_at + datetime.timedelta(minutes=5)
    draft = write_minutes(visit, visitor, now=now, submit=False)
    for role, name, colour in (("carer", "Mary Pupil", "navy"), ("staff", "Vic Visitor", "black")):
        minutes_services.minutes_sign(
            minutes=draft, by=visitor, signer_role=role, signer_name=name, png=_png(colour), now=now
        )
    minutes = minutes_services.minutes_submit(minutes=draft, by=visitor, now=now)
    minutes_services.minutes_add_addendum(
        minutes=minutes, by=dsl, text="Mother rang: bus pass sorted.", now=now
    )

    pdf = exports.minutes_pdf(minutes=minutes, version=CopyVersion.REDACTED, by=dsl)

    reader = pypdf.PdfReader(io.BytesIO(pdf))
    # WeasyPrint shares one resource dictionary between pages: count each drawing once.
    drawings = {(image.name, image.image.size) for page in reader.pages for image in page.images}
    assert len(drawings) == 2
    assert {size for _, size in drawings} == {(120, 40)}
    flat = _flat(_text(pdf))
    assert "Parent/carer: Mary Pupil" in flat
    assert "Member of staff: Vic Visitor" in flat
    assert "Mother rang: bus pass sorted." in flat
    assert "Dee Lead" in flat


def test_a2_the_pdf_never_fetches_anything_from_the_network():
    fetcher = exports._pdf_url_fetcher()
    for url in ("http://example.org/logo.png", "https://example.org/x.css", "file:///etc/passwd"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert fetcher.fetch("data:text/plain,ok").read() == b"ok"


def test_a2_text_typed_into_the_minutes_is_printed_not_run(authorised_visit, visitor, dsl):
    minutes = submitted_minutes(
        authorised_visit,
        visitor,
        discussed='<img src="http://example.org/track.png"> <b>bold</b> & more',
    )
    flat = _flat(_text(exports.minutes_pdf(minutes=minutes, version=CopyVersion.FULL, by=dsl)))
    assert '<img src="http://example.org/track.png"> <b>bold</b> & more' in flat


def test_every_export_is_on_the_minutes_audit_trail(minutes, visitor, dsl):
    exports.minutes_pdf(minutes=minutes, version=CopyVersion.FULL, by=visitor)
    exports.minutes_pdf(minutes=minutes, version=CopyVersion.REDACTED, by=dsl)
    exports.cpoms_export_one(minutes=minutes, by=dsl)

    rows = MinutesEvent.objects.filter(minutes=minutes, kind=MinutesEventKind.EXPORTED)
    assert [(e.by, e.message) for e in rows] == [
        (visitor, "Full PDF"),
        (dsl, "Redacted PDF"),
        (dsl, "CPOMS CSV"),
    ]


# Who may have which export (A8) -----------------------------------------------------------


def _export_urls(visit):
    return [
        reverse("minutes-pdf", args=[visit.pk, "full"]),
        reverse("minutes-pdf", args=[visit.pk, "redacted"]),
        reverse("minutes-cpoms-csv", args=[visit.pk]),
        reverse("minutes-copy-sent", args=[visit.pk]),
    ]


@pytest.mark.parametrize("who", READERS)
def test_a8_everyone_who_reads_the_minutes_gets_each_export(client, request, minutes, who):
    person = request.getfixturevalue(who)
    client.force_login(person)
    full, redacted, cpoms, copies = _export_urls(minutes.visit)

    for url, kind in ((full, "full"), (redacted, "redacted")):
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response["Cache-Control"] == "private, no-store"
        filename = exports.pdf_filename(minutes, kind)
        assert filename.endswith(f"-pupil-p-{kind}.pdf")
        assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
        assert response.content.startswith(b"%PDF")

    response = client.get(cpoms)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Disposition"].startswith("attachment;")
    assert len(_csv(response)) == 2

    response = client.get(copies)
    assert response.status_code == 200
    for name in ("download-full", "download-redacted", "download-cpoms"):
        assert f'data-testid="{name}"' in response.content.decode()

    assert (
        MinutesEvent.objects.filter(
            minutes=minutes, kind=MinutesEventKind.EXPORTED, by=person
        ).count()
        == 3
    )


@pytest.mark.parametrize("who", NOT_READERS)
def test_a8_people_who_may_not_read_the_minutes_get_a_404_for_every_export(
    client, request, minutes, who
):
    client.force_login(request.getfixturevalue(who))
    for url in _export_urls(minutes.visit):
        assert client.get(url).status_code == 404
    response = client.post(
        reverse("minutes-copy-sent", args=[minutes.visit.pk]),
        {
            "version": "redacted",
            "recipient": "parent",
            "recipient_name": "Mary",
            "method": "email",
            "sent_at": "2030-01-01T10:00",
        },
    )
    assert response.status_code == 404
    assert not MinutesEvent.objects.filter(kind=MinutesEventKind.EXPORTED).exists()
    assert not CopySent.objects.exists()


def test_a8_anonymous_visitors_are_sent_to_sign_in_for_every_export(client, minutes):
    for url in [
        *_export_urls(minutes.visit),
        reverse("cpoms-csv") + "?from=2020-01-01&to=2040-01-01",
    ]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login") + "?next=")


def test_a8_exports_of_a_visit_without_minutes_or_of_an_unknown_copy_are_404(
    client, minutes, authorised_visit, dsl
):
    client.force_login(dsl)
    assert (
        client.get(reverse("minutes-pdf", args=[minutes.visit.pk, "everything"])).status_code == 404
    )
    assert client.get(reverse("minutes-pdf", args=[999999, "full"])).status_code == 404


def test_a1_a_draft_pdf_through_the_screen_is_refused_with_the_reason(
    client, authorised_visit, visitor, partner
):
    visit = _complete(authorised_visit, visitor)
    write_minutes(visit, visitor, now=visit.completed_at, submit=False)
    client.force_login(partner)
    for url in _export_urls(visit)[:3]:
        response = client.get(url)
        assert response.status_code == 400
        assert "submit them first" in response.content.decode()
    response = client.get(reverse("minutes-copy-sent", args=[visit.pk]))
    assert "made once the minutes are submitted" in response.content.decode()


def test_a8_full_copy_rule_names_who_may_have_the_staff_safety_details(request, minutes, visitor):
    """The full record: the staff on the visit and the DSL, deputies, headteacher and SLT.
    Today they are exactly the people who read the minutes, so no reader is refused it."""
    visit = minutes.visit
    for who in READERS:
        assert exports.may_export(request.getfixturevalue(who), visit, CopyVersion.FULL)
    for who in NOT_READERS:
        person = request.getfixturevalue(who)
        for version in (*CopyVersion.values, exports.CPOMS):
            assert not exports.may_export(person, visit, version)


# CPOMS CSV (A4) ---------------------------------------------------------------------------


def test_a4_cpoms_row_has_the_fields_a_safeguarding_record_asks_for(minutes, visitor, dsl):
    row = exports.cpoms_row(minutes)
    start = exports._visit_times(minutes.visit)[0]
    assert row["Date"] == f"{start:%d/%m/%Y}"
    assert row["Pupil name"] == "Poppy Pupil"
    assert row["UPN"] == minutes.visit.pupil.upn
    assert row["Date of birth"] == "01/05/2016"
    assert row["Category"] == "Home visit: Welfare check after absence"
    assert row["Staff"] == "Vic Visitor; Pat Partner"
    assert row["Child seen"] == "Yes" and row["Child spoken to"] == "Yes"
    assert row["Summary"] == "Attendance since half term and the morning routine."
    assert row["Actions"].startswith("Apply for a bus pass (owner: Vic Visitor, due ")
    assert row["Link"].endswith(f"/visits/{minutes.visit.pk}/minutes/")
    assert "bluebell" not in repr(row) and "AB12" not in repr(row)


def test_a4_long_discussion_is_trimmed_in_the_summary(authorised_visit, visitor):
    minutes = submitted_minutes(authorised_visit, visitor, discussed="word " * 500)
    summary = exports.cpoms_row(minutes)["Summary"]
    assert len(summary) == exports.SUMMARY_CHARS
    assert summary.endswith("…")


def test_a4_csv_cells_that_a_spreadsheet_would_run_are_escaped(
    client, authorised_visit, visitor, dsl
):
    minutes = submitted_minutes(
        authorised_visit, visitor, discussed='=HYPERLINK("http://evil.example","click")'
    )
    client.force_login(dsl)
    header, row = _csv(client.get(reverse("minutes-cpoms-csv", args=[minutes.visit.pk])))
    assert row[header.index("Summary")] == '\'=HYPERLINK("http://evil.example","click")'
    for dangerous in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx"):
        assert exports.csv_cell(dangerous) == "'" + dangerous
    assert exports.csv_cell("Home visit") == "Home visit"


@pytest.fixture
def second_minutes(pupil, office, head, visitor, partner, minutes):
    """Another visit's submitted minutes, three days after the first."""
    start = minutes.visit.planned_start + datetime.timedelta(days=3)
    visit = make_visit(
        pupil=pupil,
        by=office,
        staff=[visitor, partner],
        details={"planned_start": start, "expected_end": start + datetime.timedelta(hours=1)},
        submit=True,
    )
    visit = services.visit_authorise(
        visit=visit, by=head, expected_version=visit.version, confirmed=True
    )
    return submitted_minutes(visit, partner, discussed="Second visit: all well.")


def _day(minutes, days=0):
    return (
        exports._visit_times(minutes.visit)[0].date() + datetime.timedelta(days=days)
    ).isoformat()


@pytest.mark.parametrize("who", BULK_ROLES)
def test_a4_bulk_csv_has_the_schools_submitted_minutes_in_the_range(
    client, request, minutes, second_minutes, who
):
    person = request.getfixturevalue(who)
    url = reverse("cpoms-csv")
    with time_machine.travel(second_minutes.submitted_at + WEEK, tick=False):
        client.force_login(person)
        response = client.get(url, {"from": _day(minutes), "to": _day(minutes)})
        assert response.status_code == 200
        assert response.streaming
        assert response["Cache-Control"] == "private, no-store"
        assert response["Content-Disposition"].startswith("attachment;")
        header, *rows = _csv(response)
        assert header == list(exports.CPOMS_FIELDS)
        assert [r[header.index("Summary")] for r in rows] == [
            "Attendance since half term and the morning routine."
        ]

        both = _csv(client.get(url, {"from": _day(minutes, -1), "to": _day(second_minutes)}))
        assert [r[header.index("Summary")] for r in both[1:]] == [
            "Attendance since half term and the morning routine.",
            "Second visit: all well.",
        ]
        none = _csv(client.get(url, {"from": _day(minutes, -30), "to": _day(minutes, -1)}))
        assert none == [header]

    exported = MinutesEvent.objects.filter(kind=MinutesEventKind.EXPORTED, by=person)
    assert sorted(e.minutes_id for e in exported) == sorted(
        [minutes.pk, minutes.pk, second_minutes.pk]
    )
    assert all(e.message.startswith("CPOMS CSV") for e in exported)


def test_a4_bulk_csv_leaves_out_drafts_and_other_schools(
    client, minutes, pupil, office, head, visitor, partner, dsl, other_school, outsider
):
    # A draft at this school, the same week.
    start = minutes.visit.planned_start + datetime.timedelta(days=1)
    visit = make_visit(
        pupil=pupil,
        by=office,
        staff=[visitor, partner],
        details={"planned_start": start, "expected_end": start + datetime.timedelta(hours=1)},
        submit=True,
    )
    visit = services.visit_authorise(
        visit=visit, by=head, expected_version=visit.version, confirmed=True
    )
    visit = _complete(visit, partner)
    write_minutes(visit, partner, now=visit.completed_at, submit=False)
    # Submitted minutes at the other school, the same day.
    there = [member(other_school, Role.VISITING_STAFF) for _ in range(2)]
    other_head = member(other_school, Role.HEADTEACHER)
    visit = make_visit(
        pupil=PupilFactory(school=other_school), by=there[0], staff=there, submit=True
    )
    visit = services.visit_authorise(
        visit=visit, by=other_head, expected_version=visit.version, confirmed=True
    )
    submitted_minutes(visit, there[0], discussed="At the other school.")
    week = {"from": _day(minutes, -5), "to": _day(minutes, 5)}

    with time_machine.travel(minutes.submitted_at + WEEK, tick=False):
        client.force_login(dsl)
        header, *rows = _csv(client.get(reverse("cpoms-csv"), week))
        assert [r[header.index("Summary")] for r in rows] == [
            "Attendance since half term and the morning routine."
        ]

        client.force_login(outsider)
        header, *rows = _csv(client.get(reverse("cpoms-csv"), week))
        assert [r[header.index("Summary")] for r in rows] == ["At the other school."]


@pytest.mark.parametrize("who", ["slt", "visitor", "office", "colleague", "school_admin"])
def test_a4_bulk_csv_is_refused_to_everyone_but_the_dsl_deputies_and_head(
    client, request, minutes, who
):
    client.force_login(request.getfixturevalue(who))
    response = client.get(reverse("cpoms-csv"), {"from": _day(minutes), "to": _day(minutes)})
    assert response.status_code == 403
    assert "DSL, deputies and headteacher" in response.content.decode()
    assert not MinutesEvent.objects.filter(kind=MinutesEventKind.EXPORTED).exists()


@pytest.mark.parametrize(
    "params, reason",
    [
        ({}, "Give the 'from' date"),
        ({"from": "2026-01-01"}, "Give the 'to' date"),
        ({"from": "01/02/2026", "to": "2026-03-01"}, "'from' is not a date"),
        ({"from": "2026-02-01", "to": "2026-02-30"}, "'to' is not a date"),
        ({"from": "2026-03-01", "to": "2026-02-01"}, "'from' is after 'to'"),
    ],
)
def test_a4_bulk_csv_with_bad_dates_is_a_400_with_the_reason(client, dsl, params, reason):
    client.force_login(dsl)
    response = client.get(reverse("cpoms-csv"), params)
    assert response.status_code == 400
    assert reason in response.content.decode()


# Copies sent (A2) -------------------------------------------------------------------------


def test_a2_a_copy_sent_is_recorded_with_who_what_how_and_when(minutes, dsl, after):
    sent_at = after - datetime.timedelta(minutes=30)
    copy = exports.copy_sent_record(
        minutes=minutes,
        by=dsl,
        version=CopyVersion.REDACTED,
        recipient="parent",
        recipient_name="Mary Pupil",
        method="email",
        sent_at=sent_at,
        now=after,
    )
    assert (copy.version, copy.recipient, copy.recipient_name, copy.method) == (
        "redacted",
        "parent",
        "Mary Pupil",
        "email",
    )
    assert (copy.sent_at, copy.recorded_by, copy.recorded_at) == (sent_at, dsl, after)
    [event] = MinutesEvent.objects.filter(minutes=minutes, kind=MinutesEventKind.COPY_SENT)
    assert event.by == dsl and event.at == after
    assert "Mary Pupil" in event.message and "Parent/carer" in event.message


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"version": "full", "recipient": "parent"}, "Parents get the redacted copy"),
        ({"sent_at": "future"}, "in the future"),
        ({"sent_at": "before"}, "before the minutes were submitted"),
        ({"recipient_name": "  "}, "Write the name"),
        ({"method": "pigeon"}, "how the copy was sent"),
    ],
)
def test_a2_copy_sent_refusals(minutes, dsl, after, changes, reason):
    values = {
        "version": "redacted",
        "recipient": "local_authority",
        "recipient_name": "Manchester LADO",
        "method": "email",
        "sent_at": after,
        **changes,
    }
    if values["sent_at"] == "future":
        values["sent_at"] = after + datetime.timedelta(hours=1)
    if values["sent_at"] == "before":
        values["sent_at"] = minutes.submitted_at - datetime.timedelta(hours=1)
    with pytest.raises(RuleBroken, match=reason):
        exports.copy_sent_record(minutes=minutes, by=dsl, now=after, **values)
    assert not CopySent.objects.exists()
    assert not MinutesEvent.objects.filter(kind=MinutesEventKind.COPY_SENT).exists()


def test_a2_no_copy_of_a_draft_is_recorded(authorised_visit, visitor, dsl):
    visit = _complete(authorised_visit, visitor)
    draft = write_minutes(visit, visitor, now=visit.completed_at, submit=False)
    with pytest.raises(RuleBroken, match="submitted"):
        exports.copy_sent_record(
            minutes=draft,
            by=dsl,
            version="redacted",
            recipient="parent",
            recipient_name="Mary",
            method="post",
            sent_at=visit.completed_at,
            now=visit.completed_at,
        )


def test_a8_someone_who_may_not_read_the_minutes_records_no_copy(minutes, colleague, after):
    with pytest.raises(exports.ExportRefused):
        exports.copy_sent_record(
            minutes=minutes,
            by=colleague,
            version="redacted",
            recipient="parent",
            recipient_name="Mary",
            method="post",
            sent_at=after,
            now=after,
        )


def _form(after, **changes):
    return {
        "version": "redacted",
        "recipient": "local_authority",
        "recipient_name": "Manchester LADO",
        "method": "email",
        "sent_at": f"{after.astimezone():%Y-%m-%dT%H:%M}",
        **changes,
    }


def test_a2_recording_a_copy_through_the_screen(client, minutes, head, after):
    url = reverse("minutes-copy-sent", args=[minutes.visit.pk])
    with time_machine.travel(after, tick=False):
        client.force_login(head)
        response = client.post(url, _form(after))
        page = client.get(url).content.decode()
    assert response.status_code == 302
    assert response["Location"] == reverse("minutes-detail", args=[minutes.visit.pk]) + "#copies"
    copy = CopySent.objects.get()
    assert (copy.recipient_name, copy.recorded_by) == ("Manchester LADO", head)
    assert "Manchester LADO" in page and "Hazel Head" in page


def test_a2_a_refused_copy_shows_the_reason_and_keeps_what_was_typed(client, minutes, head, after):
    url = reverse("minutes-copy-sent", args=[minutes.visit.pk])
    with time_machine.travel(after, tick=False):
        client.force_login(head)
        response = client.post(
            url, _form(after, version="full", recipient="parent", recipient_name="Mrs Typed Name")
        )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Parents get the redacted copy" in page
    assert "Mrs Typed Name" in page
    assert not CopySent.objects.exists()


def test_a2_the_minutes_page_leads_to_the_copies_and_exports(client, minutes, dsl):
    client.force_login(dsl)
    page = client.get(reverse("minutes-detail", args=[minutes.visit.pk])).content.decode()
    assert 'id="copies"' in page
    # Either the panel in place (when the minutes view adds it) or a link to its page.
    assert (
        reverse("minutes-pdf", args=[minutes.visit.pk, "redacted"]) in page
        or reverse("minutes-copy-sent", args=[minutes.visit.pk]) in page
    )


def test_the_copies_panel_alone_for_htmx(client, minutes, dsl):
    client.force_login(dsl)
    response = client.get(
        reverse("minutes-copy-sent", args=[minutes.visit.pk]), HTTP_HX_REQUEST="true"
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert 'data-testid="minutes-copies"' in page


def test_a2_without_pango_a_pdf_is_a_503_with_the_reason_and_no_audit_row(
    client, dsl, monkeypatch, minutes
):
    """A machine without WeasyPrint's system libraries says so instead of failing with a 500."""
    import builtins

    real_import = builtins.__import__

    def no_pango(name, *args, **kwargs):
        if name == "weasyprint":
            raise OSError("cannot load library 'libpango-1.0-0'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pango)
    client.force_login(dsl)
    response = client.get(f"/visits/{minutes.visit_id}/minutes/pdf/redacted/")
    assert response.status_code == 503
    assert "Pango" in response.content.decode()
    assert not minutes.events.filter(kind="exported").exists()
