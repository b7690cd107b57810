"""Subject access and the transfer of the child-protection file (data-protection duties,
issue 11 item 9; A8 for who may).

The DSL, a deputy or the headteacher downloads the pupil's whole record as a zip (audited
EXPORTED with the pupil). The file goes to the next school by a one-time link that expires: the
recipient confirms receipt with their name and role, downloads it once, and the receipt shows on
the pupil's file; a link not yet used may be cancelled; a used, cancelled or expired link is a
plain 410. Every new URL is tried by every role, by another school's staff and anonymously.
"""

import csv
import datetime
import io
import re
import zipfile
from urllib.parse import urlsplit

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from audit.models import Action as AuditAction
from audit.models import AuditEvent
from notifications.models import Channel, Notification
from safeguarding.models import ConcernEvent, FileTransfer, MinutesEvent, RetentionSchedule
from safeguarding.models_records import TransferStatus
from safeguarding.services import transfer as transfer_service

from .factories import UserFactory
from .test_retention import ACCOUNT, full_record

ROLES = ["office", "visitor", "dsl", "deputy", "head", "slt", "school_admin"]
RECORD_KEEPERS = {"dsl", "deputy", "head"}
SCHEDULE_KEEPERS = {"dsl", "head"}


@pytest.fixture
def people(office, visitor, partner, head, dsl):
    return {"office": office, "visitor": visitor, "partner": partner, "head": head, "dsl": dsl}


@pytest.fixture
def recorded(pupil, people):
    """Poppy's record: a closed visit with minutes, a debrief, a concern and actions."""
    return full_record(pupil, **people)


def _zip(response):
    body = b"".join(response.streaming_content)
    return zipfile.ZipFile(io.BytesIO(body))


def _csv(archive, name):
    return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"))))


def _send(client, pupil, email="dsl@newschool.example.org", school="Acacia Academy"):
    return client.post(
        reverse("records-transfer", args=[pupil.pk]),
        {"receiving_school": school, "recipient_email": email},
    )


def _link(transfer):
    """The link as the email carries it (the token itself is stored nowhere else)."""
    body = Notification.objects.get(key=f"file-transfer:{transfer.public_id}").body
    return urlsplit(re.search(r"https?://\S+", body).group(0)).path


# --- Subject access ---------------------------------------------------------------------------


def test_dsl_downloads_the_pupils_whole_record_as_a_zip(client, dsl, pupil, recorded):
    client.force_login(dsl)

    response = client.get(reverse("records-pupil-zip", args=[pupil.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "no-store" in response["Cache-Control"]
    archive = _zip(response)
    names = archive.namelist()
    assert names[0] == "README.txt"
    assert {"visits.csv", "actions.csv", "timeline.csv", "debriefs.csv", "copies_sent.csv"} <= set(
        names
    )
    minutes_pdfs = [n for n in names if n.startswith("minutes/")]
    concern_pdfs = [n for n in names if n.startswith("concerns/")]
    assert len(minutes_pdfs) == 1 and len(concern_pdfs) == 1
    assert all(archive.read(name).startswith(b"%PDF") for name in minutes_pdfs + concern_pdfs)
    readme = archive.read("README.txt").decode()
    assert "Poppy Pupil" in readme and "Made " in readme and "Dee Lead" in readme
    assert "subject access" in readme
    visits = _csv(archive, "visits.csv")
    assert [row["Visit"] for row in visits] == [str(recorded.pk)]
    assert visits[0]["Status"] == "Closed"
    actions = _csv(archive, "actions.csv")
    assert any(row["Action"] == "Apply for a bus pass" for row in actions)
    timeline = _csv(archive, "timeline.csv")
    assert any(row["What happened"] == "Arrived (D1)" for row in timeline)
    # Staff's positions are not the pupil's data; the code word is in no file.
    assert all("51.5" not in row["Note"] for row in timeline)


def test_the_export_is_on_the_audit_trail_with_the_pupil(client, head, pupil, recorded):
    client.force_login(head)

    _zip(client.get(reverse("records-pupil-zip", args=[pupil.pk])))

    event = AuditEvent.objects.get(action=AuditAction.EXPORTED, pupil=pupil)
    assert event.actor == head and event.school == pupil.school
    assert "1 minutes, 1 concerns" in event.detail
    assert MinutesEvent.objects.filter(minutes__visit=recorded, by=head, kind="exported").exists()
    assert ConcernEvent.objects.filter(concern__pupil=pupil, by=head, kind="viewed").exists()


def test_the_pupil_file_offers_the_download_only_to_those_who_may(
    client, pupil, recorded, dsl, slt, office
):
    url = reverse("pupil-file", args=[pupil.pk])
    button = reverse("records-pupil-zip", args=[pupil.pk])
    client.force_login(dsl)
    assert button in client.get(url).text
    for person in (slt, office):
        client.force_login(person)
        page = client.get(url)
        assert page.status_code == 200 and button not in page.text


# --- Transfer ---------------------------------------------------------------------------------


def test_a_transfer_link_gives_the_file_once_and_records_the_receipt(
    client, dsl, office, pupil, recorded
):
    client.force_login(dsl)
    assert _send(client, pupil).status_code == 302
    sent = FileTransfer.objects.get()
    email = Notification.objects.get(key=f"file-transfer:{sent.public_id}")
    assert email.channel == Channel.EMAIL and email.address == "dsl@newschool.example.org"
    link = _link(sent)
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert token not in sent.token_hash and len(sent.token_hash) == 64
    assert "Poppy" not in email.body  # the pupil's name is not in the email
    client.logout()

    page = client.get(link)
    assert page.status_code == 200 and "Poppy Pupil" in page.text
    response = client.post(
        link,
        {"name": "Rita Receiver", "role": "DSL"},
        REMOTE_ADDR="203.0.113.9",
    )

    assert response.status_code == 200
    archive = _zip(response)
    assert "for transfer to Acacia Academy" in archive.read("README.txt").decode()
    assert any(name.startswith("concerns/") for name in archive.namelist())
    sent.refresh_from_db()
    assert sent.status == TransferStatus.COLLECTED
    assert (sent.collected_by_name, sent.collected_by_role) == ("Rita Receiver", "DSL")
    assert sent.collected_from == "203.0.113.9" and sent.collected_at is not None
    # Used once: the link is gone, and its words are out of the outbox.
    assert client.get(link).status_code == 410
    assert client.post(link, {"name": "Eve", "role": "DSL"}).status_code == 410
    assert token not in Notification.objects.get(pk=email.pk).body
    receipt = AuditEvent.objects.get(action=AuditAction.TRANSFERRED, actor_name="Rita Receiver")
    assert receipt.pupil == pupil and "203.0.113.9" in receipt.detail
    # The receipt shows on the pupil's file, for the DSL only.
    client.force_login(dsl)
    assert "Received" in client.get(reverse("pupil-file", args=[pupil.pk])).text
    assert "Rita Receiver" in client.get(reverse("pupil-file", args=[pupil.pk])).text
    client.force_login(office)
    assert "Rita Receiver" not in client.get(reverse("pupil-file", args=[pupil.pk])).text


def test_a_link_expires_after_the_schools_period(client, dsl, pupil):
    client.force_login(dsl)
    _send(client, pupil)
    sent = FileTransfer.objects.get()
    link = _link(sent)
    client.logout()
    days = RetentionSchedule.for_school(pupil.school).transfer_link_days
    assert days == 7

    with time_machine.travel(sent.created_at + datetime.timedelta(days=7, minutes=-1), tick=False):
        assert client.get(link).status_code == 200
    with time_machine.travel(sent.created_at + datetime.timedelta(days=7), tick=False):
        gone = client.get(link)
        assert gone.status_code == 410 and "no longer works" in gone.text
        assert client.post(link, {"name": "Rita", "role": "DSL"}).status_code == 410
    sent.refresh_from_db()
    assert sent.collected_at is None


def test_the_dsl_cancels_a_link_not_yet_used(client, dsl, pupil):
    client.force_login(dsl)
    _send(client, pupil)
    sent = FileTransfer.objects.get()
    link = _link(sent)

    response = client.post(reverse("records-transfer-cancel", args=[sent.pk]))

    assert response.status_code == 302
    sent.refresh_from_db()
    assert sent.status == TransferStatus.CANCELLED and sent.cancelled_by == dsl
    client.logout()
    assert client.get(link).status_code == 410
    assert AuditEvent.objects.filter(
        action=AuditAction.TRANSFERRED, detail__contains="cancelled"
    ).exists()


def test_a_collected_file_cannot_be_cancelled(client, dsl, pupil):
    client.force_login(dsl)
    _send(client, pupil)
    sent = FileTransfer.objects.get()
    client.post(_link(sent), {"name": "Rita Receiver", "role": "DSL"})

    response = client.post(reverse("records-transfer-cancel", args=[sent.pk]), follow=True)

    assert "already received" in response.text
    sent.refresh_from_db()
    assert sent.status == TransferStatus.COLLECTED


def test_a_second_link_waits_until_the_first_is_cancelled(client, dsl, pupil):
    client.force_login(dsl)
    _send(client, pupil)

    response = _send(client, pupil, school="Another School")

    assert response.status_code == 400
    assert "already out to Acacia Academy" in response.text
    assert FileTransfer.objects.count() == 1


def test_a_wrong_token_is_not_found(client, dsl, pupil):
    client.force_login(dsl)
    _send(client, pupil)
    sent = FileTransfer.objects.get()
    client.logout()

    url = reverse("records-transfer-collect", args=[sent.public_id, "not-the-token"])

    assert client.get(url).status_code == 404
    assert client.post(url, {"name": "Eve", "role": "DSL"}).status_code == 404


@pytest.mark.parametrize(
    "data, words",
    [
        ({"receiving_school": "", "recipient_email": "a@b.org"}, "This field is required"),
        ({"receiving_school": "Acacia", "recipient_email": "not an email"}, "valid email"),
        ({"receiving_school": "x" * 201, "recipient_email": "a@b.org"}, "at most 200"),
    ],
)
def test_bad_transfer_input_is_refused_with_a_message(client, dsl, pupil, data, words):
    client.force_login(dsl)

    response = client.post(reverse("records-transfer", args=[pupil.pk]), data)

    assert response.status_code == 400 and words in response.text
    assert not FileTransfer.objects.exists()


def test_receipt_needs_a_name_and_a_role(client, dsl, pupil):
    client.force_login(dsl)
    _send(client, pupil)
    sent = FileTransfer.objects.get()
    client.logout()

    response = client.post(_link(sent), {"name": "  ", "role": "DSL"})

    assert response.status_code == 400 and "This field is required" in response.text
    sent.refresh_from_db()
    assert sent.status == TransferStatus.WAITING


def test_the_zip_has_the_concerns_account_only_inside_the_pdf(client, dsl, pupil, recorded):
    """A8: the account of a concern is in its PDF, never in a CSV anyone could open casually."""
    client.force_login(dsl)
    archive = _zip(client.get(reverse("records-pupil-zip", args=[pupil.pk])))
    for name in archive.namelist():
        if name.endswith(".csv"):
            assert ACCOUNT not in archive.read(name).decode()


# --- A8: every new URL, every role ------------------------------------------------------------


@pytest.fixture
def everyone(office, visitor, dsl, deputy, head, slt, school_admin, outsider):
    return {
        "office": office,
        "visitor": visitor,
        "dsl": dsl,
        "deputy": deputy,
        "head": head,
        "slt": slt,
        "school_admin": school_admin,
        "outsider": outsider,
        "no_role": UserFactory(username="norole"),
    }


@pytest.fixture
def waiting(pupil, dsl):
    sent = transfer_service.transfer_start(
        pupil=pupil, by=dsl, receiving_school="Acacia Academy", recipient_email="r@a.example.org"
    )
    return sent


def _expected(name, allowed, *, anonymous_status=302):
    if name == "anonymous":
        return anonymous_status
    return "ok" if name in allowed else 404


@pytest.mark.parametrize("who", [*ROLES, "outsider", "no_role", "anonymous"])
def test_a8_matrix_of_every_new_url(client, school, pupil, everyone, waiting, who):
    """A8: the records' URLs answer only the DSL, deputies and headteacher of the pupil's school
    (the schedule: the DSL and headteacher); everyone else gets a 404 and anonymous visitors
    the sign-in page. The link's own page answers whoever holds the link."""
    if who != "anonymous":
        client.force_login(everyone[who])
    home = client.get(reverse("records-retention-home"))
    if who in SCHEDULE_KEEPERS:
        assert home["Location"] == reverse("records-retention", args=[school.slug])
    elif who == "outsider":  # the DSL of another school keeps their own school's schedule
        assert home["Location"] == reverse("records-retention", args=["sls"])
    else:
        assert home.status_code == _expected(who, ())
    urls = [
        ("get", reverse("records-retention", args=[school.slug]), SCHEDULE_KEEPERS, 200),
        ("get", reverse("records-pupil-zip", args=[pupil.pk]), RECORD_KEEPERS, 200),
        ("get", reverse("records-transfer", args=[pupil.pk]), RECORD_KEEPERS, 200),
        ("post", reverse("records-transfer", args=[pupil.pk]), RECORD_KEEPERS, 400),
    ]
    for method, url, allowed, ok in urls:
        response = getattr(client, method)(url)
        expected = _expected(who, allowed)
        assert response.status_code == (ok if expected == "ok" else expected), (method, url)
        if who == "anonymous":
            assert "/accounts/login/" in response["Location"] or "login" in response["Location"]

    cancel = client.post(reverse("records-transfer-cancel", args=[waiting.pk]))
    waiting.refresh_from_db()
    if who in RECORD_KEEPERS:
        assert cancel.status_code == 302 and waiting.status == TransferStatus.CANCELLED
    else:
        assert cancel.status_code == (302 if who == "anonymous" else 404)
        assert waiting.status == TransferStatus.WAITING


def test_the_collect_link_answers_anyone_who_holds_it_and_nobody_without(
    client, pupil, waiting, dsl, office
):
    link = reverse("records-transfer-collect", args=[waiting.public_id, "x" * 43])
    for person in (None, dsl, office):
        if person is None:
            client.logout()
        else:
            client.force_login(person)
        assert client.get(link).status_code == 404
    assert timezone.now() < waiting.expires_at
