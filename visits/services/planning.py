"""Before the visit: request, risk assessment and authorisation (P1-P16)."""

from django.core.exceptions import FieldDoesNotExist
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from schools.models import Role
from schools.phones import e164
from schools.selectors import roles_at

from ..models import (
    CANCELLABLE_STATES,
    Authorisation,
    Decision,
    EventKind,
    RiskAssessment,
    Status,
    Visit,
    VisitEvent,
    VisitStaff,
)
from ..permissions import visit_sync_permissions
from ..rules import (
    RuleBroken,
    authoriser_problems,
    is_involved,
    lone_decision_problems,
    may_close,
    request_problems,
    staff_problems,
    start_problems,
)
from ..signals import authorisation_needed, visit_decided
from .risk import record_problems

# The request's own fields, as set by the visit form.
DETAIL_FIELDS = (
    "purpose",
    "purpose_detail",
    "parent_could_come_to_school",
    "why_not_in_school",
    "planned_start",
    "expected_end",
    "reporting_arrangements",
    "address",
    "visit_type",
    "announced",
    "parent_told_how",
    "parent_told_at",
    "unannounced_reason",
    "la_told",
    "la_contact",
    "la_told_at",
    "la_confirmed_at",
    "joint_professional",
    "vehicle_description",
    "vehicle_registration",
    "code_word",
    "takes_id_badge",
    "takes_charged_mobile",
    "takes_school_numbers",
    "resources_note",
)
# P2: what an authorisation covers; changing any of these withdraws it.
AUTHORISED_FIELDS = ("planned_start", "expected_end", "address", "visit_type")

# How people say what changed (STYLE.md "Words"): the timeline, the queue and the messages name
# what changed in these words, never by column. Anything not named here says its verbose_name.
CHANGE_WORDS = {
    "purpose": "the purpose",
    "purpose_detail": "the details of the purpose",
    "parent_could_come_to_school": "whether the parent could come into school",
    "why_not_in_school": "why it cannot be done in school",
    "planned_start": "the date and time",
    "expected_end": "the expected end",
    "reporting_arrangements": "the reporting-in arrangements",
    "address": "the address",
    "visit_type": "the type of visit",
    "announced": "whether the parent/carer was told",
    "la_told": "whether the local authority was told",
    "joint_professional": "the other professional on the visit",
    "vehicle_description": "the vehicle",
    "vehicle_registration": "the vehicle registration",
    "code_word": "the code word",
    "staff": "the staff",
    "risk assessment": "the risk assessment",
}


def changed_words(names):
    """What changed, as people say it: ["planned_start", "staff"] -> ["the date and time",
    "the staff"]. Also reads the names kept on older timeline lines."""
    words = []
    for name in names:
        word = CHANGE_WORDS.get(name)
        if word is None:
            model = RiskAssessment if name in RiskAssessment.ANSWER_FIELDS else Visit
            try:
                word = str(model._meta.get_field(name).verbose_name)
            except FieldDoesNotExist:  # say something human, never the column
                word = name.replace("_", " ")
        if word not in words:
            words.append(word)
    return words


DEFAULT_REPORTING = (
    "Phone the office on arrival, outside the address, and as soon as you leave (D1). "
    "Return to school afterwards unless the office agrees otherwise."
)


def _event(*, visit, kind, by, now, from_status="", to_status="", message="", data=None):
    return VisitEvent.objects.create(
        visit=visit,
        kind=kind,
        by=by,
        at=now,
        from_status=from_status,
        to_status=to_status or from_status,
        message=message,
        data=data or {},
    )


def _move(visit, *, to, kind, by, now, message="", data=None, **stamps):
    """Save a transition: the new status, its timestamp columns, the overdue watch's deadline
    (recomputed on every change), and one timeline event."""
    old = visit.status
    visit.status = to
    for name, value in stamps.items():
        setattr(visit, name, value)
    visit.save(update_fields=["status", *stamps, *visit.refresh_deadline()])
    _event(
        visit=visit,
        kind=kind,
        by=by,
        now=now,
        from_status=old,
        to_status=to,
        message=message,
        data=data,
    )
    return visit


def _raise_if(problems):
    if problems:
        raise RuleBroken(problems)


def _locked(visit):
    """Re-read the visit under a row lock, so concurrent decisions queue rather than race.

    The visit's row only (`of`): locking the school's row too made every check-in of a school
    wait for any other, and the sweep's commit (its alerts reference the school) wait for them
    all. NO KEY UPDATE, because nothing here changes the visit's key: rows that reference the
    visit (timeline lines, messages) can still be written by others meanwhile.
    """
    return (
        Visit.objects.select_for_update(no_key=True, of=("self",))
        .select_related("school")
        .get(pk=visit.pk)
    )


def _staff_pairs(visit):
    return [(a.user, a.mobile) for a in visit.assignments.select_related("user")]


def _risk_assessment_of(visit):
    return RiskAssessment.objects.filter(visit=visit).first()


def visit_snapshot(visit):
    """P2: exactly what an authoriser approves."""
    risk = _risk_assessment_of(visit)
    return {
        "staff": [
            {"id": a.user_id, "name": a.user.get_full_name() or a.user.get_username()}
            for a in visit.assignments.select_related("user")
        ],
        "planned_start": visit.planned_start.isoformat(),
        "expected_end": visit.expected_end.isoformat(),
        "address": visit.address,
        "visit_type": visit.visit_type,
        "risk_answers": risk.answers() if risk else None,
    }


def _set_staff(*, visit, staff):
    """Replace the staff with `staff`, a list of (user, mobile); return whether it changed."""
    # Compared in international form: "07700 900123" and "+447700900123" are one number.
    before = [(a.user_id, e164(a.mobile)) for a in visit.assignments.all()]
    after = [(user.pk, e164(mobile)) for user, mobile in staff]
    if before == after:
        return False
    visit.assignments.all().delete()
    VisitStaff.objects.bulk_create(
        VisitStaff(visit=visit, user=user, mobile=number, position=index)
        for index, ((user, _), (_, number)) in enumerate(zip(staff, after, strict=True), start=1)
    )
    return True


def _may_plan(user, school):
    return bool(roles_at(user, school) - {Role.SCHOOL_ADMIN})


def _require_involved(visit, by):
    if not is_involved(visit=visit, user=by):
        raise RuleBroken(
            "Only the staff on this visit, its planner and the school's office and senior staff "
            "can change it (A8)."
        )


def _require_version(visit, expected_version):
    if expected_version is not None and expected_version != visit.version:
        raise RuleBroken(
            "Someone else changed this visit while you were editing it. Your changes were not "
            "saved: check them against the visit as it is now, then save again to keep them."
        )


def _apply_details(visit, details):
    """Set the request's fields from `details`; return the names that changed."""
    details = dict(details)
    if "address" in details and not (details["address"] or "").strip():
        details["address"] = visit.pupil.full_address
    changed = [
        name for name in DETAIL_FIELDS if name in details and getattr(visit, name) != details[name]
    ]
    for name in changed:
        setattr(visit, name, details[name])
    return changed


def _recheck_in_flight(*, visit, now, covered, risk_assessment=None):
    """A submitted or authorised visit stays complete: an edit may not break P3-P8 or P13.

    Once the visit has started, what the authorisation covers (P2) can no longer change.
    """
    if visit.status not in (Status.SUBMITTED, Status.AUTHORISED):
        return
    problems = request_problems(
        visit=visit,
        staff=_staff_pairs(visit),
        risk_assessment=risk_assessment or _risk_assessment_of(visit),
        now=now,
    )
    if covered and visit.status == Status.AUTHORISED and visit.planned_start <= now:
        problems.append(
            "The visit has started: its staff, times, address, type and risk answers can no "
            "longer change (P2). Record it as completed, or cancel it and plan a new visit."
        )
    _raise_if(problems)


@transaction.atomic
def visit_create(*, pupil, by, details, staff, now=None):
    """Start a visit request as a draft (the rules are checked in full on submission)."""
    now = now or timezone.now()
    school = pupil.school
    if not _may_plan(by, school):
        raise RuleBroken(f"You do not plan visits at {school}.")
    if not details.get("planned_start") or not details.get("expected_end"):
        raise RuleBroken("Set the planned start and expected end of the visit (P7).")
    _raise_if(staff_problems(school=school, staff=staff))
    visit = Visit(school=school, pupil=pupil, created_by=by, created_at=now)
    _apply_details(visit, details)
    if not visit.address:
        visit.address = pupil.full_address
    if not visit.reporting_arrangements:
        visit.reporting_arrangements = DEFAULT_REPORTING
    visit.save()
    _set_staff(visit=visit, staff=staff)
    visit_sync_permissions(visit=visit)
    _event(visit=visit, kind=EventKind.CREATED, by=by, now=now, to_status=visit.status)
    return visit


def _withdraw_authorisation(*, visit, by, now, changed):
    """P2: a change to what was authorised withdraws it; the visit goes back to the queue."""
    reason = "Changed after authorisation: " + ", ".join(changed_words(changed))
    Authorisation.objects.filter(
        visit=visit, decision=Decision.APPROVED, withdrawn_at__isnull=True
    ).update(withdrawn_at=now, withdrawn_reason=reason)
    old = visit.status
    visit.status = Status.SUBMITTED
    visit.authorised_at = None
    visit.submitted_at = now
    _event(
        visit=visit,
        kind=EventKind.AUTHORISATION_WITHDRAWN,
        by=by,
        now=now,
        from_status=old,
        to_status=Status.SUBMITTED,
        message=reason + ". It must be authorised again (P2).",
        data={"changed": changed},
    )


def withdrawn_changes(visits):
    """P2: for each visit back in the queue because a change withdrew its authorisation, what
    changed, in people's words: {visit pk: [words]}. One query for the lot (the queue's)."""
    submitted = {v.pk: v.submitted_at for v in visits if v.status == Status.SUBMITTED}
    found = {}
    events = VisitEvent.objects.filter(
        visit_id__in=submitted, kind=EventKind.AUTHORISATION_WITHDRAWN
    ).order_by("at", "pk")
    for event in events.only("visit_id", "at", "data"):
        # A withdrawal stamps submitted_at with its own moment; a later submission (after
        # "changes requested") is a new request, no longer a withdrawn one.
        if submitted[event.visit_id] and event.at >= submitted[event.visit_id]:
            found[event.visit_id] = changed_words((event.data or {}).get("changed", []))
    return found


def _after_change(*, visit, by, now, changed, covered):
    """Bump the version and, if an authorised visit changed what was approved, withdraw it."""
    visit.version = F("version") + 1
    withdrawn = visit.status == Status.AUTHORISED and bool(covered)
    if withdrawn:
        _withdraw_authorisation(visit=visit, by=by, now=now, changed=covered)
    visit.refresh_deadline()
    visit.save()
    visit.refresh_from_db()
    if withdrawn:
        # After the save: the messages' keys name the new version (P2: decided again).
        words = changed_words(covered)
        visit_decided.send(
            Visit, outcome="withdrawn", visit=visit, by=by, now=now, reason="", changed=words
        )
        authorisation_needed.send(Visit, visit=visit, by=by, now=now, changed=words)


@transaction.atomic
def visit_update(*, visit, by, details, staff, expected_version=None, now=None):
    """Change a visit's request; an authorised visit loses its authorisation if P2 says so."""
    now = now or timezone.now()
    visit = _locked(visit)
    _require_involved(visit, by)
    if not visit.is_editable:
        raise RuleBroken(f"A {visit.get_status_display().lower()} visit can no longer be changed.")
    _require_version(visit, expected_version)
    if any(name in details and not details[name] for name in ("planned_start", "expected_end")):
        raise RuleBroken("Set the planned start and expected end of the visit (P7).")
    _raise_if(staff_problems(school=visit.school, staff=staff))
    changed = _apply_details(visit, details)
    old_staff_ids = {a.user_id for a in visit.assignments.all()}
    staff_changed = _set_staff(visit=visit, staff=staff)
    if not changed and not staff_changed:
        return visit
    covered = [name for name in changed if name in AUTHORISED_FIELDS]
    # P2 covers who goes, not the order they are listed in.
    if staff_changed and old_staff_ids != {user.pk for user, _ in staff}:
        covered.append("staff")
    _recheck_in_flight(visit=visit, now=now, covered=covered)
    shown = changed + (["staff"] if staff_changed else [])
    _event(
        visit=visit,
        kind=EventKind.UPDATED,
        by=by,
        now=now,
        from_status=visit.status,
        message="Changed: " + ", ".join(changed_words(shown)),
        data={"changed": shown},
    )
    _after_change(visit=visit, by=by, now=now, changed=shown, covered=covered)
    visit_sync_permissions(visit=visit)
    return visit


@transaction.atomic
def risk_assessment_record(*, visit, by, answers, expected_version=None, now=None):
    """P5: record (or revise) the visit's risk assessment."""
    now = now or timezone.now()
    visit = _locked(visit)
    _require_involved(visit, by)
    if not visit.is_editable:
        raise RuleBroken(
            f"A {visit.get_status_display().lower()} visit's risk assessment can no longer change."
        )
    _require_version(visit, expected_version)
    risk = _risk_assessment_of(visit)
    if risk is None:
        risk = RiskAssessment(visit=visit)
        before = None
    else:
        before = risk.answers()
    for name in RiskAssessment.ANSWER_FIELDS:
        if name in answers:
            setattr(risk, name, answers[name])
    # The pupil's record wins over an answer typed against it (D4, P5, P6), whoever asks.
    _raise_if(list(record_problems(visit.pupil, risk.answers()).values()))
    if before == risk.answers():
        return risk
    risk.completed_by = by
    risk.completed_at = now
    risk.save()
    changed = (
        [name for name in RiskAssessment.ANSWER_FIELDS if before[name] != getattr(risk, name)]
        if before
        else list(RiskAssessment.ANSWER_FIELDS)
    )
    covered = ["risk assessment"] if before else []
    _recheck_in_flight(visit=visit, now=now, covered=covered, risk_assessment=risk)
    _event(
        visit=visit,
        kind=EventKind.RISK_ASSESSED,
        by=by,
        now=now,
        from_status=visit.status,
        message="; ".join(risk.risk_flags()) or "No risk flags.",
        data={"changed": changed},
    )
    _after_change(visit=visit, by=by, now=now, changed=changed, covered=covered)
    return risk


def last_risk_assessment_for(pupil, *, exclude_visit=None, among=None):
    """P5: the pupil's most recent assessment, offered as the starting point for the next one.

    `among` limits it to visits the planner may see (A8): an earlier visit's answers must not
    reach someone who may not know that visit exists.
    """
    qs = RiskAssessment.objects.filter(visit__pupil=pupil).order_by("-completed_at")
    if among is not None:
        qs = qs.filter(visit__in=among)
    if exclude_visit is not None:
        qs = qs.exclude(visit=exclude_visit)
    return qs.first()


def submission_problems(visit, *, now=None):
    """What still stops the visit going to an authoriser (shown on the visit page)."""
    now = now or timezone.now()
    return start_problems(visit=visit, now=now) + request_problems(
        visit=visit,
        staff=_staff_pairs(visit),
        risk_assessment=_risk_assessment_of(visit),
        now=now,
    )


@transaction.atomic
def visit_submit(*, visit, by, now=None):
    """Send the request to the authorisers' queue once it is complete."""
    now = now or timezone.now()
    visit = _locked(visit)
    _require_involved(visit, by)
    if visit.status == Status.SUBMITTED:
        return visit
    if visit.status not in (Status.DRAFT, Status.CHANGES_REQUESTED):
        raise RuleBroken(f"A {visit.get_status_display().lower()} visit cannot be submitted.")
    _raise_if(submission_problems(visit, now=now))
    # A new submission is a new version to decide on, even if nothing was edited after a
    # "changes requested": one decision per version (Authorisation's constraint).
    _move(
        visit,
        to=Status.SUBMITTED,
        kind=EventKind.SUBMITTED,
        by=by,
        now=now,
        submitted_at=now,
        version=visit.version + 1,
    )
    authorisation_needed.send(Visit, visit=visit, by=by, now=now, changed=[])
    return visit


# The state each decision leaves the visit in: pressing the same button again changes nothing.
DECISION_LEAVES = {
    Decision.APPROVED: Status.AUTHORISED,
    Decision.REFUSED: Status.REFUSED,
    Decision.CHANGES_REQUESTED: Status.CHANGES_REQUESTED,
}


def _decision_guard(*, visit, by, expected_version, decision):
    """Refuse a decision that cannot be made; return True if it is a repeat of one just made."""
    if visit.status != Status.SUBMITTED:
        latest = visit.authorisations.select_related("decided_by").first()
        if (
            latest
            and latest.visit_version == expected_version
            and latest.decided_by_id == by.pk
            and latest.decision == decision
            and visit.status == DECISION_LEAVES[decision]
        ):
            return True
        if latest and latest.visit_version == expected_version:
            who = latest.decided_by.get_full_name() or latest.decided_by.get_username()
            when = timezone.localtime(latest.decided_at).strftime("%H:%M on %d %b")
            raise RuleBroken(
                f"{who} already decided this visit ({latest.get_decision_display().lower()}) "
                f"at {when}. Your decision was not recorded."
            )
        raise RuleBroken(
            f"This visit is {visit.get_status_display().lower()}, not awaiting authorisation."
        )
    if expected_version != visit.version:
        raise RuleBroken(
            "The request changed since you opened it. Read it again before you decide (P2)."
        )
    _raise_if(authoriser_problems(visit=visit, user=by))
    return False


def _authoriser_role(visit, user):
    roles = roles_at(user, visit.school) & visit.school.authorising_roles()
    for role in (Role.HEADTEACHER, Role.DSL, Role.DEPUTY_DSL, Role.SLT):
        if role in roles:
            return role
    return ""


def _record_decision(*, visit, by, now, decision, reason="", lone_visit_reason=""):
    try:
        with transaction.atomic():
            return Authorisation.objects.create(
                visit=visit,
                decision=decision,
                decided_by=by,
                decided_as=_authoriser_role(visit, by),
                decided_at=now,
                reason=reason,
                lone_visit_reason=lone_visit_reason,
                visit_version=visit.version,
                snapshot=visit_snapshot(visit),
            )
    except IntegrityError as exc:
        # The row lock makes this rare; the constraint makes it impossible to win twice.
        raise RuleBroken(
            "Another authoriser decided this visit at the same moment. Your decision was not "
            "recorded; reload the visit to see theirs."
        ) from exc


@transaction.atomic
def visit_authorise(*, visit, by, expected_version, confirmed, lone_visit_reason="", now=None):
    """P1, P2, P3, P10: authorise the visit, for these staff, exactly as it stands."""
    now = now or timezone.now()
    visit = _locked(visit)
    if _decision_guard(
        visit=visit, by=by, expected_version=expected_version, decision=Decision.APPROVED
    ):
        return visit
    problems = submission_problems(visit, now=now)
    if visit.is_lone:
        problems += lone_decision_problems(
            visit=visit, user=by, lone_visit_reason=lone_visit_reason
        )
    else:
        lone_visit_reason = ""
    if not confirmed:
        problems.append(
            "Confirm you have read the request and risk assessment and sanction the visit (P10)."
        )
    _raise_if(problems)
    authorisation = _record_decision(
        visit=visit,
        by=by,
        now=now,
        decision=Decision.APPROVED,
        lone_visit_reason=lone_visit_reason.strip(),
    )
    message = "Lone visit allowed: " + lone_visit_reason.strip() if lone_visit_reason else ""
    _move(
        visit,
        to=Status.AUTHORISED,
        kind=EventKind.AUTHORISED,
        by=by,
        now=now,
        message=message,
        data={"authorisation": authorisation.pk},
        authorised_at=now,
    )
    visit_decided.send(
        Visit, outcome="authorised", visit=visit, by=by, now=now, reason="", changed=[]
    )
    return visit


@transaction.atomic
def visit_refuse(*, visit, by, expected_version, reason, now=None):
    """P1: refuse the visit, with the reason, which the requester sees."""
    return _decide_against(
        visit=visit,
        by=by,
        expected_version=expected_version,
        reason=reason,
        now=now,
        decision=Decision.REFUSED,
        status=Status.REFUSED,
        kind=EventKind.REFUSED,
    )


@transaction.atomic
def visit_request_changes(*, visit, by, expected_version, reason, now=None):
    """Send the request back to whoever planned it, saying what must change."""
    return _decide_against(
        visit=visit,
        by=by,
        expected_version=expected_version,
        reason=reason,
        now=now,
        decision=Decision.CHANGES_REQUESTED,
        status=Status.CHANGES_REQUESTED,
        kind=EventKind.CHANGES_REQUESTED,
    )


def _decide_against(*, visit, by, expected_version, reason, now, decision, status, kind):
    now = now or timezone.now()
    visit = _locked(visit)
    if _decision_guard(visit=visit, by=by, expected_version=expected_version, decision=decision):
        return visit
    if not (reason or "").strip():
        raise RuleBroken("Give the reason, so the person who planned the visit knows what to do.")
    _record_decision(visit=visit, by=by, now=now, decision=decision, reason=reason.strip())
    stamps = {"refused_at": now} if status == Status.REFUSED else {}
    _move(visit, to=status, kind=kind, by=by, now=now, message=reason.strip(), **stamps)
    visit_decided.send(
        Visit,
        outcome=str(decision),
        visit=visit,
        by=by,
        now=now,
        reason=reason.strip(),
        changed=[],
    )
    return visit


@transaction.atomic
def visit_cancel(*, visit, by, reason, now=None):
    """Cancel an open visit, with the reason."""
    now = now or timezone.now()
    visit = _locked(visit)
    _require_involved(visit, by)
    if visit.status == Status.CANCELLED:
        return visit
    if visit.status not in CANCELLABLE_STATES:
        raise RuleBroken(f"A {visit.get_status_display().lower()} visit cannot be cancelled.")
    if not (reason or "").strip():
        raise RuleBroken("Give the reason for cancelling the visit.")
    return _move(
        visit,
        to=Status.CANCELLED,
        kind=EventKind.CANCELLED,
        by=by,
        now=now,
        message=reason.strip(),
        cancelled_at=now,
        cancel_reason=reason.strip(),
    )


@transaction.atomic
def visit_close(*, visit, by, now=None):
    """Close a completed visit's record (DSL, deputy, headteacher or SLT)."""
    now = now or timezone.now()
    visit = _locked(visit)
    if visit.status == Status.CLOSED:
        return visit
    if visit.status != Status.COMPLETED:
        raise RuleBroken("Only a completed visit can be closed.")
    if not may_close(visit=visit, user=by):
        raise RuleBroken("A visit is closed by the DSL, a deputy DSL, the headteacher or SLT.")
    from safeguarding.services.minutes import record_missing

    missing = record_missing(visit)
    if missing:
        raise RuleBroken(f"The visit closes once it has {' and '.join(missing)} (A1, A6).")
    return _move(visit, to=Status.CLOSED, kind=EventKind.CLOSED, by=by, now=now, closed_at=now)
