"""Minutes (A1, A3), signatures, addenda and the debrief (A6): every change goes through here.

Drafts save field by field as people type. A save names, for each field it changes, the value
it started from (`base`); a field that someone else changed in between is returned as a
conflict with both texts and is not written, so two people editing at once never silently
overwrite each other. Submitted minutes never change again: corrections are addenda.
"""

import dataclasses
import datetime
import io
import warnings

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date
from PIL import Image

from homevisits.cleaning import clean_text
from schools.calendar import school_days_after
from schools.models import Role
from schools.selectors import display_name, roles_at, staff_of
from schools.validators import EARLIEST_YEAR, LATEST_YEAR, is_plausible_date
from visits.models import EventKind, Purpose, Status, Visit, VisitEvent
from visits.rules import RuleBroken
from visits.services.planning import _move

from ..models import (
    Action,
    Addendum,
    Debrief,
    DebriefWith,
    Minutes,
    MinutesEvent,
    MinutesEventKind,
    MinutesStatus,
    Signature,
    SignerRole,
)
from .actions import action_tell_owner

# A8: beside the staff on the visit, these read the minutes of every visit of their school.
MINUTES_READING_ROLES = frozenset({Role.DSL, Role.DEPUTY_DSL, Role.HEADTEACHER, Role.SLT})
# A3: visits about attendance need the parent/carer's and the member of staff's signatures.
ATTENDANCE_PURPOSES = frozenset({Purpose.ATTENDANCE, Purpose.RETURN_AFTER_ABSENCE})
# A1: minutes are written during or straight after the visit, so from arrival on.
WRITABLE_VISIT_STATES = frozenset({Status.ON_SITE, Status.COMPLETED})
# A6: roles a debrief may be held with. A line manager records it too, as a member of SLT or
# above: they are the people who may read the visit (A8).
DEBRIEF_ROLES = {
    DebriefWith.DSL: Role.DSL,
    DebriefWith.DEPUTY_DSL: Role.DEPUTY_DSL,
    DebriefWith.HEADTEACHER: Role.HEADTEACHER,
    DebriefWith.SLT: Role.SLT,
}
# One "draft edited" audit row per person per this long: autosave runs every few seconds.
EDIT_AUDIT_EVERY = datetime.timedelta(minutes=10)
MAX_SIGNATURE_BYTES = 300_000
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# A signature box drawn on a tablet or phone at up to three device pixels per CSS pixel.
MAX_SIGNATURE_WIDTH, MAX_SIGNATURE_HEIGHT = 3_000, 1_500
NOT_WRITABLE_YET = "Minutes can be written once staff have arrived (A1)."
NOT_A_SIGNATURE = "The signature must be a PNG drawing of at most 300 KB."
MAX_TEXT = 20_000
MAX_PEOPLE = 20
MAX_ACTIONS = 30


def may_read_minutes(user, visit):
    return user.pk in visit.staff_user_ids() or bool(
        roles_at(user, visit.school) & MINUTES_READING_ROLES
    )


def may_write_minutes(user, visit):
    """A1: the staff who went write the minutes."""
    return user.pk in visit.staff_user_ids() and bool(roles_at(user, visit.school))


def may_add_addendum(user, visit):
    return may_read_minutes(user, visit) and bool(roles_at(user, visit.school))


def may_record_debrief(user, visit):
    """A6: the DSL, a deputy, the headteacher or SLT (as such or as the staff's line manager),
    who was not on the visit. They already see the visit (A8); nobody else is let in for it."""
    return user.pk not in visit.staff_user_ids() and bool(
        roles_at(user, visit.school) & set(DEBRIEF_ROLES.values())
    )


def may_write_now(user, visit):
    """A1: the staff on the visit may write (or carry on) the minutes from arrival on."""
    return may_write_minutes(user, visit) and visit.status in WRITABLE_VISIT_STATES


def debrief_awaited_from(user, visit):
    """A6: the visit is over, its debrief not recorded, and `user` may record it."""
    return (
        visit.status == Status.COMPLETED
        and may_record_debrief(user, visit)
        and not Debrief.objects.filter(visit=visit).exists()
    )


def has_record_after(visit):
    """The visit has (or may now have) minutes and a debrief: from arrival on (A1, A6)."""
    return visit.status in WRITABLE_VISIT_STATES | {Status.CLOSED}


def minutes_offer(user, visit):
    """What the staff's check-in screen offers about the minutes: (label, URL name) or None."""
    if may_write_now(user, visit):
        label = "Write the minutes" if visit.status == Status.COMPLETED else "Start the minutes"
        return label, "minutes-edit"
    if visit.status == Status.CLOSED and may_read_minutes(user, visit):
        return "The minutes", "minutes-detail"
    return None


def needs_signatures(visit):
    return visit.purpose in ATTENDANCE_PURPOSES


def _audit(minutes, *, kind, by, now, message=""):
    return MinutesEvent.objects.create(minutes=minutes, kind=kind, by=by, at=now, message=message)


def _visit_event(visit, *, kind, by, now, message=""):
    VisitEvent.objects.create(
        visit=visit,
        kind=kind,
        by=by,
        at=now,
        from_status=visit.status,
        to_status=visit.status,
        message=message,
    )


# --- Values as the form sees them ----------------------------------------------------------


def minutes_values(minutes):
    """The draft fields as JSON values: what the tablet shows and compares against."""
    values = {}
    for name in Minutes.DRAFT_FIELDS:
        value = getattr(minutes, name)
        if isinstance(value, datetime.date):
            value = value.isoformat()
        values[name] = value
    return values


def _text(value, name):
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RuleBroken(f"{name}: expected text.")
    if "\x00" in value:
        # PostgreSQL stores no NUL character in text or JSON: refuse it with a reason.
        raise RuleBroken(f"{name}: contains a character that cannot be stored.")
    # The autosave is JSON, not a form: the cleaning the forms get from the middleware is here.
    value = clean_text(value)
    if len(value) > MAX_TEXT:
        raise RuleBroken(f"{name}: at most {MAX_TEXT:,} characters.")
    return value


def _yes_no(value, name):
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        return value
    raise RuleBroken(f"{name}: answer yes or no.")


def _date(value, name):
    if value in (None, ""):
        return None
    try:
        parsed = parse_date(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise RuleBroken(f"{name}: not a date (YYYY-MM-DD).")
    if not is_plausible_date(parsed):
        raise RuleBroken(f"{name}: enter a date between {EARLIEST_YEAR} and {LATEST_YEAR}.")
    return parsed


def _people(value, name):
    if value in (None, ""):
        return []
    if not isinstance(value, list) or len(value) > MAX_PEOPLE:
        raise RuleBroken(f"{name}: expected a list of at most {MAX_PEOPLE} people.")
    people = []
    for person in value:
        if not isinstance(person, dict):
            raise RuleBroken(f"{name}: each person needs a name.")
        people.append(
            {
                "name": _text(person.get("name"), name)[:200],
                "relationship": _text(person.get("relationship"), name)[:100],
                "parental_responsibility": _yes_no(person.get("parental_responsibility"), name),
            }
        )
    return people


def _actions(value, name):
    if value in (None, ""):
        return []
    if not isinstance(value, list) or len(value) > MAX_ACTIONS:
        raise RuleBroken(f"{name}: expected a list of at most {MAX_ACTIONS} actions.")
    actions = []
    for action in value:
        if not isinstance(action, dict):
            raise RuleBroken(f"{name}: each action needs a description.")
        owner = action.get("owner")
        if owner in ("", None):
            owner = None
        elif isinstance(owner, str) and owner.isascii() and owner.isdigit() and len(owner) < 12:
            owner = int(owner)
        elif not isinstance(owner, int) or isinstance(owner, bool) or not 0 < owner < 2**62:
            raise RuleBroken(f"{name}: the owner is not a member of staff.")
        due = _date(action.get("due_on"), name)
        actions.append(
            {
                "description": _text(action.get("description"), name)[:2000],
                "owner": owner,
                "due_on": due.isoformat() if due else "",
            }
        )
    return actions


_CLEANERS = {
    "present": _people,
    "child_seen": _yes_no,
    "child_spoken_to": _yes_no,
    "child_voice": _text,
    "discussed": _text,
    "action_plan": _actions,
    "follow_up": _text,
    "referrals": _text,
    "further_visit_on": _date,
    "signatures_note": _text,
}


def _clean(name, value):
    """A draft field's value as stored, or RuleBroken naming the field."""
    label = Minutes._meta.get_field(name).verbose_name
    return _CLEANERS[name](value, label)


def _as_json(name, value):
    return value.isoformat() if isinstance(value, datetime.date) else value


# --- Drafts --------------------------------------------------------------------------------


def _locked_minutes(minutes):
    return Minutes.objects.select_for_update().get(pk=minutes.pk)


def _locked_visit(visit):
    return (
        Visit.objects.select_for_update(no_key=True, of=("self",))
        .select_related("school", "pupil")
        .prefetch_related("assignments")
        .get(pk=visit.pk)
    )


@transaction.atomic
def minutes_start(*, visit, by, now=None):
    """The visit's minutes, started now if need be (A1). Safe to call twice."""
    now = now or timezone.now()
    existing = Minutes.objects.filter(visit=visit).first()
    if existing is not None:
        return existing
    visit = _locked_visit(visit)
    if not may_write_minutes(by, visit):
        raise RuleBroken("Minutes are written by the staff who made the visit (A1).")
    if visit.status not in WRITABLE_VISIT_STATES:
        raise RuleBroken(NOT_WRITABLE_YET)
    minutes, created = Minutes.objects.get_or_create(
        visit=visit,
        defaults={"started_by": by, "updated_by": by, "started_at": now, "updated_at": now},
    )
    if created:
        _audit(minutes, kind=MinutesEventKind.STARTED, by=by, now=now)
    return minutes


@dataclasses.dataclass
class DraftSaved:
    minutes: Minutes
    # name -> {"mine": what this person typed, "theirs": what is stored, "by", "at"}
    conflicts: dict


@transaction.atomic
def minutes_save_draft(*, minutes, by, changes, now=None):
    """Write the fields in `changes` ({name: {"base": old, "value": new}}) to a draft.

    A field whose stored value is no longer `base` was changed by someone else since this person
    last saw it: it is left as stored and returned in `conflicts`, for them to choose.
    """
    now = now or timezone.now()
    minutes = _locked_minutes(minutes)
    visit = minutes.visit
    if not may_write_minutes(by, visit):
        raise RuleBroken("Minutes are written by the staff who made the visit (A1).")
    if minutes.is_submitted:
        raise RuleBroken("These minutes are submitted and cannot change: add an addendum.")
    if not isinstance(changes, dict) or set(changes) - set(Minutes.DRAFT_FIELDS):
        raise RuleBroken("Unknown field in the minutes.")
    stored = minutes_values(minutes)
    written, conflicts = [], {}
    for name, change in changes.items():
        if not isinstance(change, dict) or "value" not in change:
            raise RuleBroken(f"{name}: nothing to save.")
        value = _clean(name, change["value"])
        mine = _as_json(name, value)
        base = _clean(name, change.get("base"))
        if stored[name] == mine:
            continue
        if stored[name] != _as_json(name, base):
            conflicts[name] = {
                "mine": mine,
                "theirs": stored[name],
                "by": display_name(minutes.updated_by),
                "at": timezone.localtime(minutes.updated_at).strftime("%H:%M:%S"),
            }
            continue
        setattr(minutes, name, value)
        written.append(name)
    if written:
        minutes.revision += 1
        minutes.updated_by, minutes.updated_at = by, now
        minutes.save(update_fields=[*written, "revision", "updated_by", "updated_at"])
        recent = MinutesEvent.objects.filter(
            minutes=minutes, by=by, kind=MinutesEventKind.EDITED, at__gt=now - EDIT_AUDIT_EVERY
        )
        if not recent.exists():
            _audit(minutes, kind=MinutesEventKind.EDITED, by=by, now=now)
    if conflicts:
        _audit(
            minutes,
            kind=MinutesEventKind.CONFLICT,
            by=by,
            now=now,
            message="Both changed: " + ", ".join(sorted(conflicts)),
        )
    return DraftSaved(minutes=minutes, conflicts=conflicts)


@transaction.atomic
def minutes_sign(*, minutes, by, signer_role, signer_name, png, now=None):
    """A3: a signature drawn on the screen; a new drawing replaces the old one until submit."""
    now = now or timezone.now()
    minutes = _locked_minutes(minutes)
    if not may_write_minutes(by, minutes.visit):
        raise RuleBroken("Minutes are written by the staff who made the visit (A1).")
    if minutes.is_submitted:
        raise RuleBroken("These minutes are submitted and cannot change: add an addendum.")
    if signer_role not in SignerRole.values:
        raise RuleBroken("Say who is signing.")
    signer_name = _text(signer_name, "signer's name").strip()[:200]
    if not signer_name:
        raise RuleBroken("Write the name of the person signing.")
    png = signature_png(png)
    Signature.objects.update_or_create(
        minutes=minutes,
        signer_role=signer_role,
        defaults={
            "signer_name": signer_name,
            "image": png,
            "signed_at": now,
            "captured_by": by,
        },
    )
    _audit(
        minutes,
        kind=MinutesEventKind.SIGNED,
        by=by,
        now=now,
        message=f"{SignerRole(signer_role).label}: {signer_name}",
    )
    return minutes


def signature_png(data):
    """A3: the drawing as clean PNG bytes, or RuleBroken. The whole image is decoded (not its
    first 8 bytes trusted) within bounds of size and dimensions, and drawn again into a new PNG:
    what is kept, served and put in PDFs is pixels only, with no other chunk, text or profile."""
    if not isinstance(data, bytes) or not data.startswith(PNG_MAGIC):
        raise RuleBroken(NOT_A_SIGNATURE)
    if len(data) > MAX_SIGNATURE_BYTES:
        raise RuleBroken(NOT_A_SIGNATURE)
    # A whole PNG ends with its IEND chunk. Pillow alone cannot be trusted to refuse a cut-off
    # file here: WeasyPrint sets its LOAD_TRUNCATED_IMAGES for the whole process once imported.
    if not data.endswith(b"IEND\xaeB`\x82"):
        raise RuleBroken(NOT_A_SIGNATURE)
    try:
        with warnings.catch_warnings():
            # A decompression bomb is an error here, not a warning.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
                width, height = image.size
                if not (0 < width <= MAX_SIGNATURE_WIDTH and 0 < height <= MAX_SIGNATURE_HEIGHT):
                    raise RuleBroken(
                        f"The signature is too big a picture: at most {MAX_SIGNATURE_WIDTH} by "
                        f"{MAX_SIGNATURE_HEIGHT} pixels."
                    )
                image.load()
                pixels = image.convert("RGBA")
    except RuleBroken:
        raise
    except (
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
        Image.DecompressionBombWarning,
        Image.DecompressionBombError,
    ) as error:
        raise RuleBroken(NOT_A_SIGNATURE) from error
    clean = Image.frombytes("RGBA", pixels.size, pixels.tobytes())
    out = io.BytesIO()
    clean.save(out, format="PNG", optimize=True)
    return out.getvalue()


def submit_problems(minutes, *, today=None):
    """What still stops the minutes being submitted (A1, A3, A7), in the form's words."""
    problems = []
    if not minutes.present:
        problems.append("Say who was present (A1).")
    elif any(not p["name"].strip() for p in minutes.present):
        problems.append("Every person present needs a name (A1).")
    elif any(p["parental_responsibility"] is None for p in minutes.present):
        problems.append("Say for each person present whether they hold parental responsibility.")
    if minutes.child_seen is None:
        problems.append("Say whether the child was seen (A1).")
    if minutes.child_seen and minutes.child_spoken_to is None:
        problems.append("Say whether the child was spoken to (A1).")
    if not minutes.discussed.strip():
        problems.append("Write what was discussed (A1).")
    if not minutes.follow_up.strip():
        problems.append('Write the follow-up required, or "None" (A1).')
    staff_ids = set(staff_of(minutes.visit.school).values_list("pk", flat=True))
    for number, action in enumerate(minutes.action_plan, start=1):
        if not action["description"].strip():
            problems.append(f"Action {number} needs a description (A7).")
        if action["owner"] not in staff_ids:
            problems.append(f"Action {number} needs an owner from the school's staff (A7).")
        if not action["due_on"]:
            problems.append(f"Action {number} needs a due date (A7).")
        elif today and action["due_on"] < today.isoformat():
            problems.append(f"Action {number} is due in the past.")
    if needs_signatures(minutes.visit):
        signed = {s.signer_role for s in minutes.signatures.all()}
        if SignerRole.STAFF not in signed:
            problems.append("An attendance visit needs the member of staff's signature (A3).")
        if SignerRole.CARER not in signed and not minutes.signatures_note.strip():
            problems.append(
                "An attendance visit needs the parent/carer's signature, or a note of why "
                "they did not sign (A3)."
            )
    return problems


@transaction.atomic
def minutes_submit(*, minutes, by, now=None):
    """A1: the minutes become the record; their actions are created (A7) and the visit closes
    if the debrief is recorded too (A6). A repeat does nothing."""
    now = now or timezone.now()
    visit = _locked_visit(minutes.visit)
    minutes = _locked_minutes(minutes)
    if minutes.is_submitted:
        return minutes
    if not may_write_minutes(by, visit):
        raise RuleBroken("Minutes are submitted by the staff who made the visit (A1).")
    if visit.status not in WRITABLE_VISIT_STATES:
        raise RuleBroken("Minutes can be submitted once staff have arrived (A1).")
    problems = submit_problems(minutes, today=timezone.localdate(now))
    if problems:
        raise RuleBroken(" ".join(problems))
    actions = Action.objects.bulk_create(
        Action(
            school=visit.school,
            pupil=visit.pupil,
            minutes=minutes,
            description=item["description"].strip(),
            owner_id=item["owner"],
            due_on=datetime.date.fromisoformat(item["due_on"]),
            created_by=by,
            created_at=now,
        )
        for item in minutes.action_plan
    )
    for action in actions:
        action_tell_owner(action, by=by, now=now)
    minutes.status = MinutesStatus.SUBMITTED
    minutes.submitted_by, minutes.submitted_at = by, now
    minutes.save(update_fields=["status", "submitted_by", "submitted_at"])
    _audit(minutes, kind=MinutesEventKind.SUBMITTED, by=by, now=now)
    _visit_event(visit, kind=EventKind.MINUTES_SUBMITTED, by=by, now=now)
    visit_close_if_ready(visit=visit, by=by, now=now)
    return minutes


@transaction.atomic
def minutes_add_addendum(*, minutes, by, text, now=None):
    """A correction or later note on submitted minutes: the record itself never changes."""
    now = now or timezone.now()
    minutes = _locked_minutes(minutes)
    if not minutes.is_submitted:
        raise RuleBroken("Change the draft itself: addenda are for submitted minutes.")
    if not may_add_addendum(by, minutes.visit):
        raise RuleBroken("Only people who may read these minutes add to them (A8).")
    text = (text or "").strip()
    if not text:
        raise RuleBroken("Write the addendum.")
    if len(text) > MAX_TEXT:
        raise RuleBroken(f"An addendum is at most {MAX_TEXT} characters.")
    addendum = Addendum.objects.create(minutes=minutes, text=text, by=by, at=now)
    _audit(minutes, kind=MinutesEventKind.ADDENDUM, by=by, now=now)
    return addendum


def minutes_viewed(*, minutes, by, now=None):
    """A8: reading the minutes is on their audit trail."""
    _audit(minutes, kind=MinutesEventKind.VIEWED, by=by, now=now or timezone.now())


def minutes_summaries_viewed(*, minutes_ids, by, now=None):
    """A8: the pupil's file shows a line of each minutes record and addendum: that reading is
    on each record's audit trail too (one insert for the page)."""
    now = now or timezone.now()
    MinutesEvent.objects.bulk_create(
        MinutesEvent(
            minutes_id=pk,
            kind=MinutesEventKind.VIEWED,
            by=by,
            at=now,
            message="Summary read in the pupil's file",
        )
        for pk in sorted(set(minutes_ids))
    )


# --- Debrief and closing the visit ---------------------------------------------------------


@transaction.atomic
def debrief_record(*, visit, by, led_as, held_at, agreed, debriefed=None, now=None):
    """A6: the person who led the debrief records that it happened, who of the visit's staff
    was debriefed (everyone on the visit when not said) and what was agreed."""
    now = now or timezone.now()
    visit = _locked_visit(visit)
    if Debrief.objects.filter(visit=visit).exists():
        raise RuleBroken("The debrief of this visit is already recorded.")
    if visit.status not in (Status.COMPLETED, Status.CLOSED):
        raise RuleBroken("A debrief is recorded after the visit (A6).")
    if led_as not in DebriefWith.values:
        raise RuleBroken("Say who the debrief was with (A6).")
    roles = roles_at(by, visit.school)
    if by.pk in visit.staff_user_ids():
        raise RuleBroken(
            "A debrief is held with someone who was not on the visit: the DSL, a deputy, SLT "
            "or a line manager (A6)."
        )
    if led_as in DEBRIEF_ROLES and DEBRIEF_ROLES[led_as] not in roles:
        raise RuleBroken(f"You are not the school's {DebriefWith(led_as).label} (A6).")
    if not roles & set(DEBRIEF_ROLES.values()):
        raise RuleBroken(
            "A debrief is recorded by the DSL, a deputy, the headteacher or SLT, who may read "
            "the visit (A6, A8)."
        )
    if held_at > now + datetime.timedelta(minutes=5):
        raise RuleBroken("The debrief cannot be in the future.")
    started = visit.arrived_at or visit.planned_start
    if held_at < started:
        raise RuleBroken("The debrief cannot be before the visit.")
    agreed = (agreed or "").strip()
    if not agreed:
        raise RuleBroken("Write what was agreed at the debrief (A6).")
    on_visit = visit.staff_user_ids()
    debriefed_ids = on_visit if debriefed is None else {person.pk for person in debriefed}
    if not debriefed_ids:
        raise RuleBroken("Tick who was debriefed: at least one of the staff on the visit (A6).")
    if debriefed_ids - on_visit:
        raise RuleBroken("Only the staff on the visit are debriefed on it (A6).")
    debrief = Debrief.objects.create(
        visit=visit,
        led_by=by,
        led_as=led_as,
        held_at=held_at,
        agreed=agreed[:MAX_TEXT],
        recorded_by=by,
        recorded_at=now,
    )
    debrief.debriefed.set(sorted(debriefed_ids))
    _visit_event(
        visit,
        kind=EventKind.DEBRIEF_RECORDED,
        by=by,
        now=now,
        message=f"With {display_name(by)} ({debrief.get_led_as_display()}); debriefed: "
        f"{', '.join(sorted(display_name(person) for person in debrief.debriefed.all()))}.",
    )
    visit_close_if_ready(visit=visit, by=by, now=now)
    return debrief


def record_missing(visit):
    """A6: what the visit still lacks before it closes: submitted minutes and the debrief."""
    missing = []
    minutes = Minutes.objects.filter(visit=visit).only("status").first()
    if minutes is None or not minutes.is_submitted:
        missing.append("submitted minutes")
    if not Debrief.objects.filter(visit=visit).exists():
        missing.append("a recorded debrief")
    return missing


def visit_close_if_ready(*, visit, by, now):
    """The visit closes once its minutes are submitted and its debrief recorded (A1, A6)."""
    if visit.status != Status.COMPLETED or record_missing(visit):
        return visit
    return _move(
        visit,
        to=Status.CLOSED,
        kind=EventKind.CLOSED,
        by=by,
        now=now,
        message="Minutes submitted and debrief recorded (A1, A6).",
        closed_at=now,
    )


def working_days_after(moment, days, *, school):
    """The end of the `days`-th school day of `school` after `moment` (A7 reminders): weekends,
    holidays between terms, bank holidays and closure days are skipped (schools/calendar.py)."""
    return school_days_after(school, moment, days)
