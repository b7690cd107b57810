"""The pupil's whole record as one zip: for a subject access request (UK GDPR Article 15) and
for the transfer of the child-protection file to the next school (KCSIE).

PDFs of each submitted minutes record (the copy for parents / the Local Authority: the
staff-safety details are not the pupil's data) and of each concern, CSVs of the visits,
actions, timeline, debriefs and copies sent, and a README.txt. Built in a temporary file one
entry at a time, so memory holds one PDF at most whatever the size of the record; the caller
streams the file and closes it.
"""

import dataclasses
import io
import tempfile
import zipfile

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from audit import services as audit
from audit.models import Action as AuditAction
from homevisits.csv_safe import csv_lines
from schools.selectors import display_name
from visits.models import Status, Visit, VisitEvent

from ..models import (
    Action,
    Concern,
    ConcernEvent,
    ConcernEventKind,
    CopySent,
    CopyVersion,
    Debrief,
    Minutes,
    MinutesStatus,
)
from . import exports

CHUNK = 200


@dataclasses.dataclass
class RecordZip:
    file: object
    filename: str
    counts: dict

    def summary(self):
        return ", ".join(f"{n} {name}" for name, n in self.counts.items())


def _local(moment, fmt="%d/%m/%Y %H:%M"):
    return f"{timezone.localtime(moment):{fmt}}" if moment else ""


def _name(user):
    return display_name(user) if user is not None else ""


def _write_csv(archive, name, header, rows):
    with archive.open(name, "w") as raw, io.TextIOWrapper(raw, "utf-8", newline="") as text:
        for line in csv_lines(header, rows):
            text.write(line)


def _visits(pupil):
    return (
        Visit.objects.filter(pupil=pupil)
        .exclude(status=Status.DRAFT)
        .prefetch_related("assignments__user")
        .order_by("planned_start", "pk")
    )


VISIT_HEADER = (
    "Visit",
    "Planned start",
    "Expected end",
    "Status",
    "Purpose",
    "What the visit was for",
    "Visit type",
    "Address",
    "Staff",
    "Parent/carer told in advance",
    "Authorised",
    "Set off",
    "Arrived",
    "Left",
    "Completed",
    "Closed",
    "Cancelled",
    "Why cancelled",
    "Called off at the door because",
)


def _visit_rows(pupil):
    for visit in _visits(pupil).iterator(chunk_size=CHUNK):
        yield (
            visit.pk,
            _local(visit.planned_start),
            _local(visit.expected_end),
            visit.get_status_display(),
            visit.get_purpose_display(),
            visit.purpose_detail,
            visit.get_visit_type_display(),
            visit.address,
            "; ".join(display_name(a.user) for a in visit.assignments.all()),
            {True: "yes", False: "no"}.get(visit.announced, "not recorded"),
            _local(visit.authorised_at),
            _local(visit.set_off_at),
            _local(visit.arrived_at),
            _local(visit.left_at),
            _local(visit.completed_at),
            _local(visit.closed_at),
            _local(visit.cancelled_at),
            visit.cancel_reason,
            visit.get_door_reason_display() if visit.door_reason else "",
        )


ACTION_HEADER = ("Agreed", "Action", "Owner", "Due", "Status", "Done", "Outcome", "From")


def _action_rows(pupil):
    actions = (
        Action.objects.filter(pupil=pupil)
        .select_related("owner", "minutes__visit", "concern")
        .order_by("created_at", "pk")
    )
    for action in actions.iterator(chunk_size=CHUNK):
        if action.concern_id:
            source = f"Concern of {_local(action.concern.raised_at, '%d/%m/%Y')}"
        elif action.minutes_id:
            visited = _local(action.minutes.visit.planned_start, "%d/%m/%Y")
            source = f"Minutes of the visit of {visited}"
        else:
            source = ""
        yield (
            _local(action.created_at),
            action.description,
            _name(action.owner),
            f"{action.due_on:%d/%m/%Y}",
            action.get_status_display(),
            _local(action.done_at),
            action.outcome,
            source,
        )


TIMELINE_HEADER = ("Visit", "When", "What happened", "Who", "From", "To", "Note")


def _timeline_rows(pupil):
    # The check-in positions are the staff's whereabouts, not the pupil's data: left out.
    events = (
        VisitEvent.objects.filter(visit__pupil=pupil)
        .select_related("by")
        .order_by("visit_id", "at", "pk")
    )
    for event in events.iterator(chunk_size=CHUNK):
        yield (
            event.visit_id,
            _local(event.at),
            event.get_kind_display(),
            _name(event.by),
            event.from_status,
            event.to_status,
            event.message,
        )


DEBRIEF_HEADER = ("Visit", "Held", "With", "As", "What was agreed")


def _debrief_rows(pupil):
    debriefs = Debrief.objects.filter(visit__pupil=pupil).select_related("visit", "led_by")
    for debrief in debriefs.order_by("held_at", "pk").iterator(chunk_size=CHUNK):
        yield (
            debrief.visit_id,
            _local(debrief.held_at),
            _name(debrief.led_by),
            debrief.get_led_as_display(),
            debrief.agreed,
        )


COPY_HEADER = ("Visit", "Sent", "Copy", "To", "Who", "How", "Recorded by")


def _copy_rows(pupil):
    copies = CopySent.objects.filter(minutes__visit__pupil=pupil).select_related(
        "minutes", "recorded_by"
    )
    for copy in copies.order_by("sent_at", "pk").iterator(chunk_size=CHUNK):
        yield (
            copy.minutes.visit_id,
            _local(copy.sent_at),
            copy.get_version_display(),
            copy.get_recipient_display(),
            copy.recipient_name,
            copy.get_method_display(),
            _name(copy.recorded_by),
        )


def _concern_pdf(concern, *, by, now):
    html = render_to_string(
        "safeguarding/records/concern_pdf.html",
        {
            "concern": concern,
            "pupil": concern.pupil,
            "school": concern.school,
            "actions": list(concern.actions.select_related("owner").order_by("due_on", "pk")),
            "generated_at": timezone.localtime(now),
            "generated_by": display_name(by),
        },
    )
    return exports._render_pdf(html)


def _readme(pupil, *, by, now, purpose, counts):
    born = f"{pupil.date_of_birth:%d/%m/%Y}"
    return f"""Record of {pupil.first_name} {pupil.last_name} (born {born}, UPN {pupil.upn})
{pupil.school.name}

Made {_local(now, "%d %B %Y at %H:%M")} (UK time) by {display_name(by)}, {purpose}.

What this zip holds:

- README.txt: this note.
- minutes/: {counts["minutes"]} PDF(s), one for each submitted record of a home visit (who was
  present, the child's voice, what was discussed, actions, signatures, addenda). They are the
  copy for parents and the Local Authority: the staff-safety details of the visit (code word,
  vehicle, staff mobiles) are left out.
- concerns/: {counts["concerns"]} PDF(s), one for each safeguarding concern: what was seen or
  heard, the DSL's decision, the referral, the outcome and its actions.
- visits.csv: every home visit asked for ({counts["visits"]}): when, why, who went, the outcome.
- actions.csv: every action agreed, its owner, due date and outcome.
- timeline.csv: each visit's timeline: requests, authorisation, check-ins, alerts.
- debriefs.csv: the debriefs held after visits.
- copies_sent.csv: who was sent a copy of which minutes, how and when.

Not in it: records already removed under the school's retention schedule, and the staff's
check-in positions. Before disclosing any of it in answer to a subject access request, check it
for information about other people (ICO guidance on third-party data) and for anything that
an exemption applies to.
"""


def _entry_date(moment):
    return f"{timezone.localtime(moment):%Y-%m-%d}" if moment else "undated"


def record_zip(*, pupil, by, now, purpose, concern_note):
    """The zip of the pupil's record, in a temporary file at its start. `by` must be a person
    who may read the whole record (safeguarding/access.py RECORDS_ROLES); the minutes' and
    concerns' read-logs say who took them and `concern_note` why."""
    minutes = list(
        Minutes.objects.filter(visit__pupil=pupil, status=MinutesStatus.SUBMITTED)
        .select_related("visit")
        .order_by("submitted_at", "pk")
    )
    concerns = list(
        Concern.objects.filter(pupil=pupil)
        .select_related("school", "pupil", "visit", "raised_by", "triaged_by", "closed_by")
        .order_by("raised_at", "pk")
    )
    counts = {
        "minutes": len(minutes),
        "concerns": len(concerns),
        "visits": _visits(pupil).count(),
    }
    # Not a `with`: the open file is handed to the response, which closes it when sent.
    handle = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(
                "README.txt", _readme(pupil, by=by, now=now, purpose=purpose, counts=counts)
            )
            for record in minutes:
                pdf = exports.minutes_pdf(
                    minutes=record, version=CopyVersion.REDACTED, by=by, now=now
                )
                day = _entry_date(record.visit.planned_start)
                name = f"minutes/{day}-visit-{record.visit_id}.pdf"
                archive.writestr(name, pdf)
            for concern in concerns:
                name = f"concerns/{_entry_date(concern.raised_at)}-concern-{concern.pk}.pdf"
                archive.writestr(name, _concern_pdf(concern, by=by, now=now))
            _write_csv(archive, "visits.csv", VISIT_HEADER, _visit_rows(pupil))
            _write_csv(archive, "actions.csv", ACTION_HEADER, _action_rows(pupil))
            _write_csv(archive, "timeline.csv", TIMELINE_HEADER, _timeline_rows(pupil))
            _write_csv(archive, "debriefs.csv", DEBRIEF_HEADER, _debrief_rows(pupil))
            _write_csv(archive, "copies_sent.csv", COPY_HEADER, _copy_rows(pupil))
    except BaseException:
        handle.close()
        raise
    ConcernEvent.objects.bulk_create(
        ConcernEvent(concern=c, kind=ConcernEventKind.VIEWED, by=by, at=now, message=concern_note)
        for c in concerns
    )
    handle.seek(0)
    stem = slugify(f"{pupil.last_name} {pupil.first_name}") or "pupil"
    filename = f"record-{stem}-{timezone.localtime(now):%Y-%m-%d}.zip"
    return RecordZip(file=handle, filename=filename, counts=counts)


@transaction.atomic
def subject_access_export(*, pupil, by, now=None, request=None):
    """The DSL's or headteacher's zip of the pupil's whole record, on the audit trail
    (EXPORTED, with the pupil). The caller checks who may (access.get_pupil_for_records)."""
    now = now or timezone.now()
    record = record_zip(
        pupil=pupil,
        by=by,
        now=now,
        purpose="for a subject access request",
        concern_note="Included in a subject access export",
    )
    audit.record(
        AuditAction.EXPORTED,
        actor=by,
        school=pupil.school,
        target=pupil,
        pupil=pupil,
        detail=f"Subject access export (zip): {record.summary()}",
        request=request,
    )
    return record
