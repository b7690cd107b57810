"""On the day: staff set off, arrive, extend, leave, call a visit off at the door, or call for help.

Each check-in records the time and, where the browser gave one, the position (E2's "last known
location") and moves the visit's overdue deadline. Arriving, extending, leaving and calling off
at the door answer an open step-1 overdue alert; setting off does not, since staff who are late
to arrive are still to be reached by the office.
"""

import datetime
import math

from django.db import transaction
from django.utils import timezone

from schools.selectors import display_name

from ..models import DoorReason, EventKind, Status
from ..rules import EXTENSION_MINUTES, RuleBroken, check_in_problems
from .planning import _event, _locked, _move, _raise_if


def clean_position(position):
    """A browser position as {lat, lng, accuracy}, or None if it is missing or nonsense."""
    if not position:
        return None
    try:
        lat, lng = float(position["lat"]), float(position["lng"])
        accuracy = float(position.get("accuracy") or 0)
    except (KeyError, TypeError, ValueError):
        return None
    if not all(math.isfinite(value) for value in (lat, lng, accuracy)):
        return None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180) or (lat, lng) == (0.0, 0.0):
        return None
    return {"lat": round(lat, 6), "lng": round(lng, 6), "accuracy": round(accuracy)}


def _seen(visit, *, by, now, position):
    """Record the last check-in and position; return the fields to save with the move."""
    visit.last_seen_at = now
    position = clean_position(position)
    if position is not None:
        visit.last_position = {**position, "at": now.isoformat(), "by": by.pk}
    return {"last_seen_at": now, "last_position": visit.last_position}


def _guard(visit, by, now, action):
    _raise_if(check_in_problems(visit=visit, user=by, now=now, action=action))


def _answer_alert(visit, *, by, now, what, whereabouts):
    from escalation.responses import overdue_resolve_on_check_in

    overdue_resolve_on_check_in(visit=visit, by=by, now=now, what=what, whereabouts=whereabouts)


def _position_data(position):
    cleaned = clean_position(position)
    return {"position": cleaned} if cleaned else {}


@transaction.atomic
def visit_set_off(*, visit, by, position=None, now=None):
    """Staff leave school for the visit; the arrival deadline still runs from the plan."""
    now = now or timezone.now()
    visit = _locked(visit)
    if visit.status == Status.ON_THE_WAY:
        return visit
    _guard(visit, by, now, "set_off")
    return _move(
        visit,
        to=Status.ON_THE_WAY,
        kind=EventKind.SET_OFF,
        by=by,
        now=now,
        data=_position_data(position),
        set_off_at=now,
        **_seen(visit, by=by, now=now, position=position),
    )


@transaction.atomic
def visit_arrive(*, visit, by, position=None, now=None):
    """D1: staff report in on arrival, outside the address; the return deadline starts."""
    now = now or timezone.now()
    visit = _locked(visit)
    if visit.status == Status.ON_SITE:
        return visit
    _guard(visit, by, now, "arrive")
    visit = _move(
        visit,
        to=Status.ON_SITE,
        kind=EventKind.ARRIVED,
        by=by,
        now=now,
        data=_position_data(position),
        arrived_at=now,
        **_seen(visit, by=by, now=now, position=position),
    )
    _answer_alert(visit, by=by, now=now, what="arrived", whereabouts="staying")
    return visit


@transaction.atomic
def visit_extend(*, visit, by, minutes, reason, position=None, now=None):
    """D2: a visit running long is reported, with the reason; the return deadline moves."""
    now = now or timezone.now()
    visit = _locked(visit)
    _guard(visit, by, now, "extend")
    if minutes not in EXTENSION_MINUTES:
        raise RuleBroken("Extend by 15, 30 or 60 minutes (D2).")
    reason = (reason or "").strip()
    if not reason:
        raise RuleBroken("Say why the visit is running longer (D2).")
    until = max(visit.expected_back(), now) + datetime.timedelta(minutes=minutes)
    visit.extended_until = until
    fields = ["extended_until", *visit.refresh_deadline()]
    if by.pk in visit.staff_user_ids():
        fields += list(_seen(visit, by=by, now=now, position=position))
    visit.save(update_fields=fields)
    local = timezone.localtime(until)
    _event(
        visit=visit,
        kind=EventKind.EXTENDED,
        by=by,
        now=now,
        from_status=visit.status,
        message=f"Extended by {minutes} minutes, to {local:%H:%M}: {reason}",
        data={"minutes": minutes, "until": until.isoformat(), **_position_data(position)},
    )
    _answer_alert(visit, by=by, now=now, what=f"extended to {local:%H:%M}", whereabouts="staying")
    return visit


@transaction.atomic
def visit_leave(*, visit, by, position=None, now=None):
    """D1: staff report immediately on leaving; the visit is completed and the watch ends."""
    now = now or timezone.now()
    visit = _locked(visit)
    if visit.status == Status.COMPLETED:
        return visit
    _guard(visit, by, now, "leave")
    if visit.status == Status.AUTHORISED and visit.planned_start > now:
        raise RuleBroken("This visit has not started yet.")
    on_visit = by.pk in visit.staff_user_ids()
    seen = _seen(visit, by=by, now=now, position=position) if on_visit else {}
    message = "" if on_visit else "Recorded by the office for staff who phoned in (D1)."
    visit = _move(
        visit,
        to=Status.COMPLETED,
        kind=EventKind.LEFT,
        by=by,
        now=now,
        message=message,
        data=_position_data(position) if on_visit else {},
        left_at=now,
        completed_at=now,
        **seen,
    )
    _answer_alert(visit, by=by, now=now, what="left safely", whereabouts="left")
    return visit


# Before this change "Record as completed" was the way to end a visit; leaving is that now.
visit_complete = visit_leave


@transaction.atomic
def visit_safe_by_phone(*, visit, by, until, now=None):
    """E1: the office reached the staff by phone: they are safe and staying until `until`.

    Staff not yet recorded as arrived are recorded as arrived (they are there), and the watch
    goes on until the agreed time: the next alert comes only if that is missed too.
    """
    now = now or timezone.now()
    visit = _locked(visit)
    _guard(visit, by, now, "extend" if visit.status == Status.ON_SITE else "leave")
    if until <= now:
        raise RuleBroken("The time they are staying until has passed: give a later time.")
    local = timezone.localtime(until)
    message = f"Reached by phone: safe, staying until {local:%H:%M}."
    stamps = {"extended_until": until}
    if visit.status != Status.ON_SITE:
        return _move(
            visit,
            to=Status.ON_SITE,
            kind=EventKind.ARRIVED,
            by=by,
            now=now,
            message=message,
            arrived_at=visit.arrived_at or now,
            **stamps,
        )
    visit.extended_until = until
    visit.save(update_fields=["extended_until", *visit.refresh_deadline()])
    _event(
        visit=visit,
        kind=EventKind.EXTENDED,
        by=by,
        now=now,
        from_status=visit.status,
        message=message,
        data={"until": until.isoformat(), "by_phone": True},
    )
    return visit


@transaction.atomic
def visit_cancel_at_door(*, visit, by, reason, note="", position=None, now=None):
    """D3-D6: the visit is called off at the door and staff leave; safety reasons go to the
    headteacher (D5) and a child at risk to the DSL (D6)."""
    from escalation.responses import safety_report

    now = now or timezone.now()
    visit = _locked(visit)
    if visit.status == Status.CANCELLED:
        return visit
    _guard(visit, by, now, "door")
    if reason not in DoorReason.values:
        raise RuleBroken("Choose why the visit was called off at the door.")
    note = (note or "").strip()
    if reason == DoorReason.OTHER and not note:
        raise RuleBroken("Say why the visit was called off.")
    label = DoorReason(reason).label
    text = f"{label}. {note}".strip() if note else label
    visit = _move(
        visit,
        to=Status.CANCELLED,
        kind=EventKind.CANCELLED_AT_DOOR,
        by=by,
        now=now,
        message=text,
        data={"reason": reason, **_position_data(position)},
        cancelled_at=now,
        cancel_reason=text,
        door_reason=reason,
        left_at=now,
        **_seen(visit, by=by, now=now, position=position),
    )
    _answer_alert(
        visit, by=by, now=now, what="called the visit off at the door and left", whereabouts="left"
    )
    if reason in DoorReason.safety_reasons():
        safety_report(visit=visit, by=by, now=now, child_at_risk=reason == DoorReason.CHILD_ALONE)
    return visit


@transaction.atomic
def visit_need_help(*, visit, by, position=None, now=None):
    """E3: "I need help" goes straight to the police step; the other member of staff is told."""
    from escalation.models import Kind
    from escalation.services import emergency_raise

    now = now or timezone.now()
    visit = _locked(visit)
    _guard(visit, by, now, "help")
    seen = _seen(visit, by=by, now=now, position=position)
    visit.save(update_fields=list(seen))
    who = display_name(by)
    _event(
        visit=visit,
        kind=EventKind.HELP,
        by=by,
        now=now,
        from_status=visit.status,
        message=f"{who} pressed I need help.",
        data=_position_data(position),
    )
    return emergency_raise(
        visit=visit,
        by=by,
        now=now,
        kind=Kind.HELP,
        reason=f"{who} pressed I need help (E3): call 999 now.",
    )
