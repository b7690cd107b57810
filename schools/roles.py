"""People's roles at schools, with separation of duties (A8).

- A role that reads safeguarding records (APPROVAL_ROLES: DSL, deputy DSL, headteacher) is never
  given by one person: giving it makes a RoleRequest, and the Membership exists only once a second
  person approves it. The school's headteacher approves; for the headteacher role, or at a school
  with no headteacher, the trust's admin (a superuser) does. Nobody approves a request they made,
  or a role for themselves (schools/access.py: why_not_decide).
- Other roles are given at once; nobody makes themselves school admin.
- Roles go only to the school's own people: never to a superuser, and a school admin never gives
  one to someone whose roles are all at other schools (a new starter with none is fine; the
  trust's admin links someone to a second school).
- Nobody sets another person's password: they are sent a reset link (password_reset_send).

Every request, grant, refusal and removal is on the audit trail, and the school's DSLs and
headteacher are told of it by email: schools sends `signals.role_changed` in the change's
transaction and notifications/roles.py queues the messages (schools never imports notifications).
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.models import Action
from audit.services import record

from . import access
from .models import (
    APPROVAL_ROLES,
    Membership,
    Role,
    RoleRequest,
    RoleRequestOutcome,
    StaffProfile,
)
from .selectors import display_name
from .signals import role_changed


class RoleRefused(ValidationError):
    """A rule of giving, approving or removing a role was broken; the message says which (A8).

    A ValidationError, so that the admin's forms show it as the form's error."""


def role_label(role):
    return Role(role).label


def check_role_give(*, user, school, role, by):
    """Raise RoleRefused unless `by` may give `user` the `role` at `school` (A8).

    `user` None: a new person being added in the admin, who has no role anywhere yet."""
    if role not in Role.values:
        raise RoleRefused("Choose one of the roles on the list.")
    if not access.may_manage_roles(by, school):
        raise RoleRefused(
            f"Roles at {school} are given by its school admin or the trust's admin (A8)."
        )
    if user is None:
        return
    name = display_name(user)
    if user.is_superuser:
        raise RoleRefused(
            f"{name} is one of the trust's admins (a superuser), who holds no role at a school: "
            "roles go only to the school's own staff. Give the person a staff account of their "
            "own (A8)."
        )
    if not user.is_active:
        raise RoleRefused(f"{name}'s account is switched off: they cannot be given a role (A8).")
    if user.pk == by.pk and role == Role.SCHOOL_ADMIN:
        raise RoleRefused(
            "Nobody makes themselves school admin: another school admin or the trust's admin "
            "gives that role (A8)."
        )
    if not by.is_superuser:
        roles = Membership.objects.filter(user=user)
        if roles.exists() and not roles.filter(school=school).exists():
            raise RoleRefused(
                f"{name} works at another school, not at {school}: a role here goes only to "
                f"people of {school} or to a new starter with no role yet. If they now work "
                "here too, the trust's admin gives the role (A8)."
            )


def _tell(event, *, school, user, role, by, now, audit_event, about=None, reason=""):
    role_changed.send(
        RoleRequest,
        event=event,
        school=school,
        user=user,
        role=role,
        by=by,
        now=now,
        key=f"role-{event}:{audit_event.pk}",
        about=about,
        reason=reason,
    )


def role_give(*, user, school, role, by, request=None, now=None):
    """Give `user` the `role` at `school`, or, for a role that reads safeguarding records, ask
    for it. Returns the Membership (given) or the RoleRequest (waiting for approval). Asking or
    giving again what is already asked or given changes nothing."""
    check_role_give(user=user, school=school, role=role, by=by)
    now = now or timezone.now()
    with transaction.atomic():
        held = Membership.objects.filter(user=user, school=school, role=role).first()
        if held is not None:
            return held
        if role in APPROVAL_ROLES:
            return _role_ask(user=user, school=school, role=role, by=by, request=request, now=now)
        membership = Membership.objects.create(user=user, school=school, role=role)
        _granted(
            membership,
            by=by,
            how=f"by {display_name(by)}",
            request=request,
            now=now,
        )
    return membership


def _granted(membership, *, by, how, request, now, about=None):
    """A role given: on the audit trail, and the school's DSLs and head told (A8)."""
    user, school, role = membership.user, membership.school, membership.role
    event = record(
        Action.ROLE_GRANTED,
        actor=by,
        school=school,
        target=membership,
        detail=f"{role_label(role)} given to {display_name(user)} {how}.",
        request=request,
    )
    _tell(
        "granted",
        school=school,
        user=user,
        role=role,
        by=by,
        now=now,
        audit_event=event,
        about=about,
    )


def _role_ask(*, user, school, role, by, request, now):
    waiting = RoleRequest.objects.filter(
        user=user, school=school, role=role, outcome=RoleRequestOutcome.WAITING
    ).first()
    if waiting is not None:
        return waiting
    role_request = RoleRequest.objects.create(
        user=user, school=school, role=role, asked_by=by, asked_at=now
    )
    event = record(
        Action.ROLE_REQUESTED,
        actor=by,
        school=school,
        target=role_request,
        detail=f"{display_name(by)} asked for {display_name(user)} to be given the role "
        f"{role_label(role)}; it waits for {approver_words(role_request)} to approve it.",
        request=request,
    )
    _tell(
        "requested",
        school=school,
        user=user,
        role=role,
        by=by,
        now=now,
        audit_event=event,
        about=role_request,
    )
    return role_request


def approver_words(role_request):
    """Who approves this request, as people say it."""
    if role_request.role == Role.HEADTEACHER:
        return "the trust's admin"
    if role_request.needs_trust_admin:
        return "the trust's admin (the school has no other headteacher)"
    return "the headteacher"


def _locked_request(role_request):
    return (
        RoleRequest.objects.select_for_update()
        .select_related("user", "school")
        .get(pk=role_request.pk)
    )


def _check_decider(role_request, by):
    problem = access.why_not_decide(by, role_request)
    if problem:
        raise RoleRefused(problem)


def role_request_approve(*, role_request, by, request=None, now=None):
    """A8: the second person approves: the role is given (one Membership), on the record."""
    now = now or timezone.now()
    with transaction.atomic():
        role_request = _locked_request(role_request)
        if role_request.outcome == RoleRequestOutcome.APPROVED:
            return role_request
        if role_request.outcome == RoleRequestOutcome.REFUSED:
            raise RoleRefused("This request was refused: it cannot be approved now.")
        _check_decider(role_request, by)
        user, school, role = role_request.user, role_request.school, role_request.role
        # The person may have become a superuser or left since they were asked for.
        if user.is_superuser or not user.is_active:
            raise RoleRefused(
                f"{display_name(user)} is now a superuser or has left: the role cannot be given. "
                "Refuse the request (A8)."
            )
        role_request.outcome = RoleRequestOutcome.APPROVED
        role_request.decided_by, role_request.decided_at = by, now
        role_request.save(update_fields=["outcome", "decided_by", "decided_at"])
        membership, _ = Membership.objects.get_or_create(user=user, school=school, role=role)
        asker = role_request.asked_by
        _granted(
            membership,
            by=by,
            how=f"(asked for by {display_name(asker) if asker else 'someone since removed'}, "
            f"approved by {display_name(by)})",
            request=request,
            now=now,
            about=role_request,
        )
    return role_request


def role_request_refuse(*, role_request, by, reason, request=None, now=None):
    """A8: the second person refuses, saying why; no role is given."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    with transaction.atomic():
        role_request = _locked_request(role_request)
        if role_request.outcome == RoleRequestOutcome.REFUSED:
            return role_request
        if role_request.outcome == RoleRequestOutcome.APPROVED:
            raise RoleRefused(
                "This request was approved: to take the role away, remove it from the person."
            )
        _check_decider(role_request, by)
        if not reason:
            raise RoleRefused("Give the reason, so the person who asked knows why.")
        role_request.outcome = RoleRequestOutcome.REFUSED
        role_request.decided_by, role_request.decided_at = by, now
        role_request.reason = reason
        role_request.save(update_fields=["outcome", "decided_by", "decided_at", "reason"])
        event = record(
            Action.ROLE_REFUSED,
            actor=by,
            school=role_request.school,
            target=role_request,
            detail=f"Refused by {display_name(by)}: {reason}",
            request=request,
        )
        _tell(
            "refused",
            school=role_request.school,
            user=role_request.user,
            role=role_request.role,
            by=by,
            now=now,
            audit_event=event,
            about=role_request,
            reason=reason,
        )
    return role_request


def role_remove(*, membership, by, request=None, now=None):
    """Take a role away (someone leaves, or should not have it): the school admin, the trust's
    admin, or for a safeguarding role the headteacher. On the record; the DSLs and headteacher
    are told of a safeguarding role taken away."""
    if not access.may_remove_role(by, membership):
        raise RoleRefused(
            f"Roles at {membership.school} are taken away by its school admin, the trust's admin "
            "or, for the DSL, deputy DSL and headteacher roles, the headteacher (A8)."
        )
    now = now or timezone.now()
    user, school, role = membership.user, membership.school, membership.role
    with transaction.atomic():
        label = str(membership)
        membership.delete()
        event = record(
            Action.ROLE_REMOVED,
            actor=by,
            school=school,
            target_label=label,
            detail=f"{role_label(role)} taken away from {display_name(user)} by "
            f"{display_name(by)}.",
            request=request,
        )
        if role in APPROVAL_ROLES:
            _tell(
                "removed",
                school=school,
                user=user,
                role=role,
                by=by,
                now=now,
                audit_event=event,
            )


def password_reset_send(*, user, by, request):
    """Send `user` a link to set their own password (allauth's reset): nobody sets another
    person's password, so nobody can sign in as them (A8). On the record."""
    from allauth.account.forms import ResetPasswordForm

    if not access.may_manage_person(by, user):
        raise RoleRefused(
            f"{display_name(user)} is managed by the admins of all their schools or the "
            "trust's admin: ask them to send the link (A8)."
        )
    if not user.is_active:
        raise RoleRefused(f"{display_name(user)}'s account is switched off: no link was sent.")
    if not user.email:
        raise RoleRefused(f"{display_name(user)} has no email address: add it, then send the link.")
    form = ResetPasswordForm(data={"email": user.email})
    if not form.is_valid():
        raise RoleRefused(" ".join(form.errors.get("email", ["That email address is not valid."])))
    form.save(request)
    membership = Membership.objects.filter(user=user).select_related("school").first()
    record(
        Action.PASSWORD_RESET,
        actor=by,
        school=membership.school if membership else None,
        target=user,
        target_label=display_name(user),
        detail=f"{display_name(by)} sent {display_name(user)} a link to set their own password.",
        request=request,
    )


def staff_import(*, school, rows, by, request=None, now=None):
    """Add the staff of a checked file (schools/resources.py staff_file_read) and their roles at
    `school`, all or nothing: a rule broken on any row (someone changed meanwhile) saves none.

    A new person gets an unusable password and, once everything is saved, a link to set their
    own (password_reset_send); someone who already has an account keeps it and their details,
    and gets only the roles they do not hold yet (a blank job title or mobile is filled). Each
    role goes through role_give: given on the record, or, for DSL, deputy DSL and headteacher,
    asked for and waiting for approval (A8). Returns what was done, as (row, person, created,
    [what role_give returned]) for each row, and the reset links that could not be sent.
    """
    User = get_user_model()
    now = now or timezone.now()
    done = []
    with transaction.atomic():
        for row in rows:
            person, created = row.person, row.person is None
            if created:
                person = User(
                    username=row.username,
                    first_name=row.first_name,
                    last_name=row.last_name,
                    email=row.email,
                )
                person.set_unusable_password()
                person.save()
            profile, _ = StaffProfile.objects.get_or_create(user=person)
            changed = []
            if row.job_title and not profile.job_title:
                profile.job_title, changed = row.job_title, [*changed, "job_title"]
            if row.mobile and not profile.mobile:
                profile.mobile, changed = row.mobile, [*changed, "mobile"]
            if changed:
                profile.save(update_fields=changed)
            given = [
                role_give(user=person, school=school, role=role, by=by, request=request, now=now)
                for role in row.roles
            ]
            done.append((row, person, created, given))
    # Only once all is saved: a link sent for a person then rolled back would reach nobody.
    unsent = []
    for row, person, created, _ in done:
        if not created:
            continue
        try:
            password_reset_send(user=person, by=by, request=request)
        except RoleRefused as refusal:
            unsent.append(f"Row {row.number}: " + " ".join(refusal.messages))
    return done, unsent
