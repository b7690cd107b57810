"""Copies and exports of submitted minutes (A2, A4).

Two PDF versions: the full record, and a copy for parents / the Local Authority that leaves out
the staff-safety details (code word, vehicle, staff mobiles) and every safeguarding concern.
A concern's content is in neither copy unless the person exporting may read concerns (A8).
The CPOMS export is one CSV row per minutes record in the fields such systems ask for (A4).
Every export and every copy sent is on the minutes' audit trail.
"""

import base64
import dataclasses
import datetime
import logging

from django.conf import settings
from django.contrib.staticfiles import finders
from django.db import transaction
from django.db.models import Prefetch, Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from homevisits.csv_safe import csv_cell, csv_lines  # noqa: F401  (csv_cell: the exports use it)
from schools.models import Role
from schools.phones import uk
from schools.selectors import display_name, roles_at, schools_for
from schools.validators import EARLIEST_YEAR, LATEST_YEAR, is_plausible_date
from visits.rules import RuleBroken

from ..models import (
    Action,
    Concern,
    CopyMethod,
    CopyRecipient,
    CopySent,
    CopyVersion,
    Minutes,
    MinutesEvent,
    MinutesEventKind,
    MinutesStatus,
)
from .concerns import may_read_all
from .minutes import MINUTES_READING_ROLES, may_read_minutes

# Beside the staff on the visit, these may export the full record with its staff-safety details.
FULL_COPY_ROLES = MINUTES_READING_ROLES
# A4: the school's safeguarding record is kept by the DSL, deputies and headteacher.
CPOMS_BULK_ROLES = frozenset({Role.DSL, Role.DEPUTY_DSL, Role.HEADTEACHER})
# The CPOMS CSV row is exported by anyone who may have the redacted copy.
CPOMS = "cpoms"
EXPORT_LABELS = {
    CopyVersion.FULL: "Full PDF",
    CopyVersion.REDACTED: "Redacted PDF",
    CPOMS: "CPOMS CSV",
}
SUMMARY_CHARS = 1000
# Leeway for a clock a little ahead when someone records a copy they have just sent.
CLOCK_SKEW = datetime.timedelta(minutes=5)


class ExportRefused(RuleBroken):
    """This person may read the minutes but not have this export (a 403, not a 400)."""


# --- Who may export ------------------------------------------------------------------------


def may_export(user, visit, version):
    """A2, A8: anyone who reads the minutes gets the redacted copy and the CPOMS row; the full
    record, with the staff-safety details, only the staff on the visit and the DSL, deputies,
    headteacher and SLT."""
    if not may_read_minutes(user, visit):
        return False
    if version == CopyVersion.FULL:
        return user.pk in visit.staff_user_ids() or bool(
            roles_at(user, visit.school) & FULL_COPY_ROLES
        )
    return version in (CopyVersion.REDACTED, CPOMS)


def versions_for(user, visit):
    return [v for v in (CopyVersion.FULL, CopyVersion.REDACTED) if may_export(user, visit, v)]


def cpoms_bulk_schools(user):
    """Schools whose minutes `user` may export in bulk for the safeguarding record (A4)."""
    if not user.is_authenticated:
        return schools_for(user).none()
    return schools_for(user, roles=CPOMS_BULK_ROLES)


def _require_submitted(minutes):
    if minutes.status != MinutesStatus.SUBMITTED:
        raise RuleBroken("Only submitted minutes are copied or exported: submit them first (A1).")


def _audit_export(minutes, *, by, now, what):
    MinutesEvent.objects.create(
        minutes=minutes, kind=MinutesEventKind.EXPORTED, by=by, at=now, message=what
    )


# --- PDF -----------------------------------------------------------------------------------


def _pdf_url_fetcher():
    """WeasyPrint may read `data:` URLs (the signatures) and nothing else: a PDF of a
    safeguarding record never makes a network request, whatever text ended up in it."""
    from weasyprint.urls import URLFetcher

    class LocalOnlyFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if not url.startswith("data:"):
                raise ValueError(f"Refused to fetch {url[:80]!r}: PDFs use local resources only.")
            return super().fetch(url, headers)

    return LocalOnlyFetcher(allowed_protocols=("data",), allow_redirects=False)


def _yes_no(value):
    return {True: "Yes", False: "No"}.get(value, "Not recorded")


def _local(moment):
    return timezone.localtime(moment) if moment else None


def _visit_times(visit):
    start = visit.arrived_at or visit.planned_start
    end = visit.left_at or visit.completed_at or visit.expected_end
    return _local(start), _local(end)


def _staff(visit, *, with_mobiles):
    people = []
    for assignment in visit.assignments.all():
        user = assignment.user
        profile = getattr(user, "staff_profile", None)
        people.append(
            {
                "name": display_name(user),
                "job_title": profile.job_title if profile else "",
                "mobile": uk(assignment.mobile) if with_mobiles else "",
            }
        )
    return people


def _actions(minutes):
    # Actions agreed in a concern's triage are as confidential as the concern (A8).
    return list(
        Action.objects.filter(minutes=minutes, concern__isnull=True)
        .select_related("owner")
        .order_by("due_on", "pk")
    )


def _concerns_section(visit, *, by, version):
    """None in the redacted copy; otherwise what the exporting person may know (A8)."""
    if version != CopyVersion.FULL:
        return None
    concerns = list(
        Concern.objects.filter(visit=visit).select_related("raised_by").order_by("raised_at")
    )
    readable = may_read_all(by, visit.school)
    return {"count": len(concerns), "entries": concerns if readable else None}


def pdf_context(*, minutes, version, by, now):
    visit = minutes.visit
    full = version == CopyVersion.FULL
    start, end = _visit_times(visit)
    signatures = [
        {
            "role": sig.get_signer_role_display(),
            "name": sig.signer_name,
            "signed_at": _local(sig.signed_at),
            "src": "data:image/png;base64," + base64.b64encode(bytes(sig.image)).decode("ascii"),
        }
        for sig in minutes.signatures.order_by("signer_role")
    ]
    return {
        "minutes": minutes,
        "visit": visit,
        "school": visit.school,
        "pupil": visit.pupil,
        "full": full,
        "version_label": CopyVersion(version).label,
        "start": start,
        "end": end,
        "staff": _staff(visit, with_mobiles=full),
        "present": [
            {**person, "pr": _yes_no(person.get("parental_responsibility"))}
            for person in minutes.present
        ],
        "child_seen": _yes_no(minutes.child_seen),
        "child_spoken_to": _yes_no(minutes.child_spoken_to),
        "actions": _actions(minutes),
        "signatures": signatures,
        "addenda": list(minutes.addenda.select_related("by")),
        "concerns": _concerns_section(visit, by=by, version=version),
        "generated_at": _local(now),
        "generated_by": display_name(by),
        "submitted_by": display_name(minutes.submitted_by) if minutes.submitted_by else "",
        "submitted_at": _local(minutes.submitted_at),
    }


class PdfUnavailable(RuleBroken):
    """WeasyPrint's system libraries (Pango) are missing on this machine: a 503, not a 500."""


def _render_pdf(html):
    try:
        from weasyprint import CSS, HTML
    except OSError as error:  # WeasyPrint loads Pango with ctypes when it is imported.
        raise PdfUnavailable(
            "PDF copies cannot be made on this server: WeasyPrint needs the Pango library "
            "(Debian: libpango-1.0-0 libpangoft2-1.0-0). The CPOMS CSV still works."
        ) from error

    # fontTools logs every glyph of every subset font at INFO: noise, and slow to format.
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    fetcher = _pdf_url_fetcher()
    stylesheet = CSS(filename=finders.find("css/minutes_pdf.css"), url_fetcher=fetcher)
    return HTML(string=html, url_fetcher=fetcher).write_pdf(stylesheets=[stylesheet])


def minutes_pdf(*, minutes, version, by, now=None):
    """A2: the minutes as an A4 PDF, the full record or the redacted copy; on the audit trail."""
    now = now or timezone.now()
    minutes = (
        Minutes.objects.select_related("visit__school", "visit__pupil", "submitted_by")
        .prefetch_related("visit__assignments__user__staff_profile")
        .get(pk=minutes.pk)
    )
    if version not in CopyVersion.values:
        raise RuleBroken("Choose the full record or the redacted copy.")
    if not may_export(by, minutes.visit, version):
        raise ExportRefused(
            "The full record, with staff-safety details, is for the staff on the visit and the "
            "DSL, deputies, headteacher and SLT (A8)."
        )
    _require_submitted(minutes)
    html = render_to_string(
        "safeguarding/pdf/minutes.html",
        pdf_context(minutes=minutes, version=version, by=by, now=now),
    )
    pdf = _render_pdf(html)
    _audit_export(minutes, by=by, now=now, what=EXPORT_LABELS[version])
    return pdf


def _file_stem(minutes):
    visit = minutes.visit
    start, _ = _visit_times(visit)
    pupil = slugify(f"{visit.pupil.last_name} {visit.pupil.first_name[:1]}") or "pupil"
    return f"home-visit-minutes-{start:%Y-%m-%d}-{pupil}"


def pdf_filename(minutes, version):
    return f"{_file_stem(minutes)}-{version}.pdf"


def csv_filename(minutes):
    return f"{_file_stem(minutes)}-cpoms.csv"


# --- CPOMS CSV (A4) ------------------------------------------------------------------------

CPOMS_FIELDS = (
    "Date",
    "Time",
    "Pupil name",
    "UPN",
    "Date of birth",
    "Category",
    "Staff",
    "Child seen",
    "Child spoken to",
    "Summary",
    "Actions",
    "Link",
)


def _trim(text, limit):
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def cpoms_row(minutes):
    """A4: one submitted minutes record as the fields a safeguarding record system asks for.
    Staff-safety details and concerns are never in it."""
    visit = minutes.visit
    pupil = visit.pupil
    start, _ = _visit_times(visit)
    actions = [
        f"{action.description} (owner: {display_name(action.owner)}, due {action.due_on:%d/%m/%Y})"
        for action in minutes.actions.all()
        if action.concern_id is None
    ]
    return {
        "Date": f"{start:%d/%m/%Y}",
        "Time": f"{start:%H:%M}",
        "Pupil name": f"{pupil.first_name} {pupil.last_name}",
        "UPN": pupil.upn,
        "Date of birth": f"{pupil.date_of_birth:%d/%m/%Y}",
        "Category": f"Home visit: {visit.get_purpose_display()}",
        "Staff": "; ".join(display_name(a.user) for a in visit.assignments.all()),
        "Child seen": _yes_no(minutes.child_seen),
        "Child spoken to": _yes_no(minutes.child_spoken_to),
        "Summary": _trim(minutes.discussed, SUMMARY_CHARS),
        "Actions": "; ".join(actions),
        "Link": settings.SITE_URL + minutes.get_absolute_url(),
    }


def cpoms_csv_lines(minutes_records):
    """The header and one line per minutes record, as text, for a streamed response."""
    rows = (cpoms_row(minutes) for minutes in minutes_records)
    yield from csv_lines(CPOMS_FIELDS, ([row[name] for name in CPOMS_FIELDS] for row in rows))


def _for_cpoms(queryset):
    return queryset.select_related("visit__school", "visit__pupil").prefetch_related(
        "visit__assignments__user",
        Prefetch("actions", queryset=Action.objects.select_related("owner").order_by("due_on")),
    )


def cpoms_export_one(*, minutes, by, now=None):
    """A4: the CSV lines for one submitted minutes record; on its audit trail."""
    now = now or timezone.now()
    if not may_export(by, minutes.visit, CPOMS):
        raise ExportRefused("Only people who may read these minutes export them (A8).")
    _require_submitted(minutes)
    _audit_export(minutes, by=by, now=now, what=EXPORT_LABELS[CPOMS])
    return list(cpoms_csv_lines(_for_cpoms(Minutes.objects.filter(pk=minutes.pk))))


@dataclasses.dataclass
class DateRange:
    start: datetime.date
    end: datetime.date


def parse_range(start, end):
    """`from` and `to` as given in the URL (YYYY-MM-DD, inclusive), or RuleBroken saying why."""
    parsed = []
    for name, value in (("from", start), ("to", end)):
        if not value:
            raise RuleBroken(f"Give the '{name}' date as YYYY-MM-DD.")
        try:
            parsed.append(datetime.date.fromisoformat(value))
        except ValueError:
            raise RuleBroken(f"'{name}' is not a date: write it as YYYY-MM-DD.") from None
        if not is_plausible_date(parsed[-1]):
            raise RuleBroken(f"'{name}' must be between {EARLIEST_YEAR} and {LATEST_YEAR}.")
    if parsed[0] > parsed[1]:
        raise RuleBroken("'from' is after 'to'.")
    return DateRange(*parsed)


def _day_start(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def cpoms_export_range(*, by, start, end, now=None):
    """A4: the DSL's, deputies' or headteacher's export of their schools' submitted minutes of
    visits between two dates given as YYYY-MM-DD (inclusive). The audit rows are written now;
    the lines are produced lazily, for a streamed response."""
    now = now or timezone.now()
    schools = cpoms_bulk_schools(by)
    if not schools.exists():
        raise ExportRefused(
            "The safeguarding record export is for the DSL, deputies and headteacher (A4)."
        )
    dates = parse_range(start, end)
    start, end = dates.start, dates.end
    after, before = _day_start(start), _day_start(end + datetime.timedelta(days=1))
    # The visit's date is when staff arrived, or the planned start if no arrival was recorded.
    when = Q(visit__arrived_at__gte=after, visit__arrived_at__lt=before) | Q(
        visit__arrived_at__isnull=True,
        visit__planned_start__gte=after,
        visit__planned_start__lt=before,
    )
    # submitted_at <= now freezes the set: minutes submitted while this streams are left out
    # of the CSV as well as of the audit rows.
    records = Minutes.objects.filter(
        when,
        visit__school__in=schools,
        status=MinutesStatus.SUBMITTED,
        submitted_at__lte=now,
    ).order_by("visit__planned_start", "pk")
    with transaction.atomic():
        MinutesEvent.objects.bulk_create(
            (
                MinutesEvent(
                    minutes_id=pk,
                    kind=MinutesEventKind.EXPORTED,
                    by=by,
                    at=now,
                    message=EXPORT_LABELS[CPOMS] + f" ({start:%d/%m/%Y}-{end:%d/%m/%Y})",
                )
                for pk in list(records.values_list("pk", flat=True))
            ),
            batch_size=500,
        )
    return cpoms_csv_lines(_for_cpoms(records).iterator(chunk_size=200))


# --- Copies sent (A2) ----------------------------------------------------------------------


@transaction.atomic
def copy_sent_record(*, minutes, by, version, recipient, recipient_name, method, sent_at, now=None):
    """A2: record who was sent which copy of the minutes, how and when."""
    now = now or timezone.now()
    minutes = (
        Minutes.objects.select_for_update(of=("self",))
        .select_related("visit__school")
        .get(pk=minutes.pk)
    )
    _require_submitted(minutes)
    if version not in CopyVersion.values:
        raise RuleBroken("Say which copy was sent.")
    if recipient not in CopyRecipient.values:
        raise RuleBroken("Say who the copy went to.")
    if method not in CopyMethod.values:
        raise RuleBroken("Say how the copy was sent.")
    if version == CopyVersion.FULL and recipient == CopyRecipient.PARENT:
        raise RuleBroken(
            "Parents get the redacted copy: the full record holds staff-safety details (A2)."
        )
    if not may_export(by, minutes.visit, version):
        raise ExportRefused(
            "Only the staff on the visit and the DSL, deputies, headteacher and SLT send the full "
            "record (A8)."
        )
    recipient_name = (recipient_name or "").strip()[:200]
    if not recipient_name:
        raise RuleBroken("Write the name of the person or service the copy went to.")
    if sent_at is None:
        raise RuleBroken("Say when the copy was sent.")
    if sent_at > now + CLOCK_SKEW:
        raise RuleBroken("A copy cannot be recorded as sent in the future.")
    if sent_at < minutes.submitted_at - CLOCK_SKEW:
        raise RuleBroken("A copy cannot have been sent before the minutes were submitted.")
    copy = CopySent.objects.create(
        minutes=minutes,
        version=version,
        recipient=recipient,
        recipient_name=recipient_name,
        method=method,
        sent_at=sent_at,
        recorded_by=by,
        recorded_at=now,
    )
    MinutesEvent.objects.create(
        minutes=minutes,
        kind=MinutesEventKind.COPY_SENT,
        by=by,
        at=now,
        message=(
            f"{copy.get_version_display()} to {recipient_name} "
            f"({copy.get_recipient_display()}), {copy.get_method_display().lower()}, "
            f"{timezone.localtime(sent_at):%d %b %Y %H:%M}"
        ),
    )
    return copy


def copies_panel(*, user, minutes):
    """What the copies-and-exports panel of the minutes page shows this person (A2, A4)."""
    visit = minutes.visit
    submitted = minutes.status == MinutesStatus.SUBMITTED
    return {
        "minutes": minutes,
        "visit": visit,
        "submitted": submitted,
        "versions": versions_for(user, visit) if submitted else [],
        "cpoms": submitted and may_export(user, visit, CPOMS),
        "copies": list(minutes.copies.select_related("recorded_by")) if submitted else [],
    }
