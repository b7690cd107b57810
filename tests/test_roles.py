"""A8, separation of duties (schools/roles.py): a role that reads safeguarding records (DSL,
deputy DSL, headteacher) needs a second person's approval; other roles are given at once, on the
record; roles go only to the school's own people; nobody sets another person's password. The
school's DSLs and headteacher are emailed about every request and grant."""

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from audit.models import Action, AuditEvent
from notifications.models import Channel, Notification
from schools import roles
from schools.models import Membership, Role, RoleRequest, RoleRequestOutcome

from .factories import UserFactory, member
from .test_admin import admin_url, as_school_admin, form_data

User = get_user_model()


@pytest.fixture
def a_admin(school_admin):
    return as_school_admin(school_admin)


@pytest.fixture
def trust(db):
    """The trust's admin: a superuser, with the second factor every superuser has."""
    return UserFactory(
        username="trust", first_name="Tess", last_name="Trust", is_superuser=True, is_staff=True
    )


@pytest.fixture
def starter(db):
    """A new member of staff with no role anywhere yet."""
    return UserFactory(username="starter", first_name="Nina", last_name="New")


def login(client, user):
    client.force_login(user)
    return client


def give_in_admin(client, user, school, role):
    return client.post(
        admin_url("schools.membership", "add"),
        {"user": user.pk, "school": school.pk, "role": role},
    )


def form_errors(response):
    form = response.context["adminform"].form
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


def emails(prefix):
    """The addresses the outbox will email for events whose key starts with `prefix`."""
    rows = Notification.objects.filter(key__startswith=prefix)
    assert all(row.channel == Channel.EMAIL for row in rows)
    return {row.address for row in rows}


def events(action):
    return list(AuditEvent.objects.filter(action=action))


def ask(user, school, role, by):
    return roles.role_give(user=user, school=school, role=role, by=by)


# Asking for a role that reads safeguarding records.


@pytest.mark.parametrize("role", [Role.DSL, Role.DEPUTY_DSL, Role.HEADTEACHER])
def test_a8_school_admin_giving_themselves_a_safeguarding_role_only_asks_for_it(
    client, a_admin, school, dsl, head, role
):
    response = give_in_admin(login(client, a_admin), a_admin, school, role)

    assert response.status_code == 302
    assert response.url == admin_url("schools.rolerequest", "changelist")
    assert not Membership.objects.filter(user=a_admin, role=role).exists()
    request = RoleRequest.objects.get(user=a_admin, school=school, role=role)
    assert (request.outcome, request.asked_by) == (RoleRequestOutcome.WAITING, a_admin)
    [event] = events(Action.ROLE_REQUESTED)
    assert (event.actor, event.school, event.target_id) == (a_admin, school, str(request.pk))
    # The DSL and the headteacher are told by email, nobody else.
    assert emails("role-requested:") == {dsl.email, head.email}
    message = Notification.objects.filter(key__startswith="role-requested:").first()
    assert "Ada Admin" in message.body and Role(role).label in message.body
    # Seeing all the roles of the school in the admin, the request is there to follow.
    assert (
        request
        in client.get(admin_url("schools.rolerequest", "changelist")).context["cl"].result_list
    )


def test_a8_giving_a_safeguarding_role_on_the_persons_page_only_asks_for_it(
    client, a_admin, school, visitor, head, dsl
):
    url = admin_url("auth.user", "change", visitor.pk)
    data = form_data(login(client, a_admin).get(url))
    total = int(data["memberships-TOTAL_FORMS"])
    data.update(
        {
            "memberships-TOTAL_FORMS": str(total + 1),
            f"memberships-{total}-school": str(school.pk),
            f"memberships-{total}-role": Role.DSL,
            f"memberships-{total}-user": str(visitor.pk),
        }
    )

    assert client.post(url, data).status_code == 302

    assert not Membership.objects.filter(user=visitor, role=Role.DSL).exists()
    assert RoleRequest.objects.filter(user=visitor, role=Role.DSL, outcome="waiting").exists()
    assert emails("role-requested:") == {dsl.email, head.email}


def test_a8_a_role_given_on_the_persons_page_cannot_be_turned_into_dsl(client, a_admin, visitor):
    url = admin_url("auth.user", "change", visitor.pk)
    page = login(client, a_admin).get(url)
    [inline] = [
        f for f in page.context["inline_admin_formsets"] if f.formset.prefix == "memberships"
    ]
    held = inline.formset.forms[0]
    assert held.fields["role"].disabled and held.fields["school"].disabled
    data = form_data(page)
    data["memberships-0-role"] = Role.DSL  # a disabled field's posted value is ignored

    assert client.post(url, data).status_code == 302
    assert list(visitor.memberships.values_list("role", flat=True)) == [Role.VISITING_STAFF]
    assert not RoleRequest.objects.exists()


def test_a8_asking_twice_is_one_request_and_asking_for_a_held_role_changes_nothing(
    a_admin, school, visitor, dsl
):
    first = ask(visitor, school, Role.DSL, a_admin)
    again = ask(visitor, school, Role.DSL, a_admin)
    assert first == again
    assert RoleRequest.objects.count() == 1
    held = Membership.objects.get(user=dsl, role=Role.DSL)
    assert ask(dsl, school, Role.DSL, a_admin) == held
    assert len(events(Action.ROLE_REQUESTED)) == 1


# Other roles: given at once, on the record; never school admin to oneself.


def test_a8_other_roles_are_given_at_once_on_the_record_and_the_dsl_and_head_told(
    client, a_admin, school, starter, dsl, head
):
    response = give_in_admin(login(client, a_admin), starter, school, Role.OFFICE)

    assert response.status_code == 302
    membership = Membership.objects.get(user=starter, school=school, role=Role.OFFICE)
    [event] = events(Action.ROLE_GRANTED)
    assert (event.actor, event.school, event.target_id) == (a_admin, school, str(membership.pk))
    assert emails("role-granted:") == {dsl.email, head.email}


def test_a8_nobody_makes_themselves_school_admin(client, school, a_admin, trust, starter):
    refused = give_in_admin(login(client, a_admin), a_admin, school, Role.SCHOOL_ADMIN)

    assert refused.status_code == 200
    assert "Nobody makes themselves school admin" in form_errors(refused)
    assert "(A8)" in form_errors(refused)
    with pytest.raises(roles.RoleRefused, match="Nobody makes themselves school admin"):
        roles.check_role_give(user=a_admin, school=school, role=Role.SCHOOL_ADMIN, by=a_admin)
    # Another school admin may make them one.
    assert (
        roles.check_role_give(user=starter, school=school, role=Role.SCHOOL_ADMIN, by=a_admin)
        is None
    )


# Roles go only to the school's own people.


@pytest.mark.parametrize("role", [Role.OFFICE, Role.DSL])
def test_a8_a_role_is_never_given_to_a_superuser(client, a_admin, school, trust, role):
    other_trust = UserFactory(username="trust2", is_superuser=True, is_staff=True)

    for giver, client_ in ((a_admin, client), (trust, None)):
        if client_ is not None:
            refused = give_in_admin(login(client_, giver), other_trust, school, role)
            assert refused.status_code == 200
            assert "superuser" in form_errors(refused) and "(A8)" in form_errors(refused)
        with pytest.raises(roles.RoleRefused, match=r"superuser.*\(A8\)"):
            roles.role_give(user=other_trust, school=school, role=role, by=giver)

    assert not Membership.objects.filter(user=other_trust).exists()
    assert not RoleRequest.objects.exists()
    assert not events(Action.ROLE_GRANTED) and not events(Action.ROLE_REQUESTED)


def test_a8_school_admin_cannot_give_a_role_to_someone_of_another_school(
    client, a_admin, school, outsider, starter
):
    refused = give_in_admin(login(client, a_admin), outsider, school, Role.VISITING_STAFF)

    assert refused.status_code == 200
    assert "works at another school" in form_errors(refused) and "(A8)" in form_errors(refused)
    assert not Membership.objects.filter(user=outsider, school=school).exists()
    # A new starter with no role anywhere is fine.
    assert give_in_admin(client, starter, school, Role.VISITING_STAFF).status_code == 302
    assert Membership.objects.filter(user=starter, school=school).exists()


def test_a8_school_admin_can_give_a_role_at_a_school_they_do_not_administer_to_nobody(
    a_admin, other_school, starter
):
    with pytest.raises(roles.RoleRefused, match="given by its school admin or the trust's admin"):
        roles.role_give(user=starter, school=other_school, role=Role.OFFICE, by=a_admin)


# Approving and refusing.


def approve(client, request):
    return client.post(reverse("role-request-approve", args=[request.pk]))


def refuse(client, request, reason="Not agreed with the governors."):
    return client.post(reverse("role-request-refuse", args=[request.pk]), {"reason": reason})


def page_text(response):
    return response.content.decode()


def test_a8_the_headteacher_approves_a_dsl_role_and_it_is_given_once(
    client, a_admin, school, visitor, head, dsl
):
    request = ask(visitor, school, Role.DSL, a_admin)
    page = login(client, head).get(reverse("role-requests"))
    assert page.status_code == 200
    assert reverse("role-request-approve", args=[request.pk]) in page_text(page)

    response = approve(client, request)

    assert response.status_code == 302
    assert Membership.objects.filter(user=visitor, school=school, role=Role.DSL).exists()
    request.refresh_from_db()
    assert (request.outcome, request.decided_by) == (RoleRequestOutcome.APPROVED, head)
    assert request.decided_at is not None
    [event] = events(Action.ROLE_GRANTED)
    assert event.actor == head and "approved by Hazel Head" in event.detail
    assert "asked for by Ada Admin" in event.detail
    # The DSL and head are told; so is the new DSL, who now is one.
    assert emails("role-granted:") == {dsl.email, head.email, visitor.email}
    # The signal put them in the school's oversight group (A8).
    assert visitor.groups.filter(name=f"school-{school.pk}-oversight").exists()

    approve(client, request)  # a repeat changes nothing
    assert Membership.objects.filter(user=visitor, role=Role.DSL).count() == 1
    assert len(events(Action.ROLE_GRANTED)) == 1


def test_a8_the_person_who_asked_never_approves_their_own_request(
    client, school, visitor, dsl, head
):
    """A school admin who is also the headteacher still needs a second headteacher or the
    trust's admin: here, another headteacher approves."""
    admin_head = as_school_admin(
        member(school, Role.SCHOOL_ADMIN, Role.HEADTEACHER, username="adminhead")
    )
    request = ask(visitor, school, Role.DSL, admin_head)

    page = login(client, admin_head).get(reverse("role-requests"))
    assert reverse("role-request-approve", args=[request.pk]) not in page_text(page)
    assert "You asked for this role" in page_text(page)
    response = approve(client, request)

    assert response.status_code == 302
    assert "You asked for this role: a second person must approve" in page_text(
        client.get(response.url)
    )
    request.refresh_from_db()
    assert request.outcome == RoleRequestOutcome.WAITING
    assert not Membership.objects.filter(user=visitor, role=Role.DSL).exists()
    with pytest.raises(roles.RoleRefused, match=r"You asked for this role.*\(A8\)"):
        roles.role_request_approve(role_request=request, by=admin_head)
    with pytest.raises(roles.RoleRefused, match="You asked for this role"):
        roles.role_request_refuse(role_request=request, by=admin_head, reason="Changed my mind")

    roles.role_request_approve(role_request=request, by=head)
    assert Membership.objects.filter(user=visitor, role=Role.DSL).exists()


def test_a8_nobody_approves_a_role_for_themselves(client, a_admin, school, head, trust):
    """The head asked for as a deputy DSL: the school has no other headteacher, so the trust's
    admin approves, not the head."""
    request = ask(head, school, Role.DEPUTY_DSL, a_admin)

    approve(login(client, head), request)
    request.refresh_from_db()
    assert request.outcome == RoleRequestOutcome.WAITING
    with pytest.raises(
        roles.RoleRefused, match=r"Nobody approves or refuses a role for themselves"
    ):
        roles.role_request_approve(role_request=request, by=head)

    approve(login(client, trust), request)
    request.refresh_from_db()
    assert (request.outcome, request.decided_by) == (RoleRequestOutcome.APPROVED, trust)


@pytest.mark.parametrize("who", ["a_admin", "other_admin", "trust"])
def test_a8_only_the_headteacher_approves_a_dsl_role_where_there_is_one(
    client, a_admin, school, visitor, head, trust, who, request
):
    other_admin = as_school_admin(member(school, Role.SCHOOL_ADMIN, username="otheradmin"))
    decider = {"a_admin": a_admin, "other_admin": other_admin, "trust": trust}[who]
    role_request = ask(visitor, school, Role.DSL, a_admin)

    response = approve(login(client, decider), role_request)

    assert response.status_code == 302
    role_request.refresh_from_db()
    assert role_request.outcome == RoleRequestOutcome.WAITING
    assert not Membership.objects.filter(user=visitor, role=Role.DSL).exists()
    if who != "a_admin":
        with pytest.raises(
            roles.RoleRefused, match=r"Only the headteacher of .* approves this role \(A8\)"
        ):
            roles.role_request_approve(role_request=role_request, by=decider)


def test_a8_the_headteacher_role_is_approved_by_the_trusts_admin_not_the_head(
    client, a_admin, school, slt, head, dsl, trust
):
    request = ask(slt, school, Role.HEADTEACHER, a_admin)
    assert emails("role-requested:") == {dsl.email, head.email}

    approve(login(client, head), request)
    request.refresh_from_db()
    assert request.outcome == RoleRequestOutcome.WAITING
    with pytest.raises(
        roles.RoleRefused, match=r"headteacher role is approved by the trust's admin \(A8\)"
    ):
        roles.role_request_approve(role_request=request, by=head)

    page = login(client, trust).get(reverse("role-requests"))
    assert reverse("role-request-approve", args=[request.pk]) in page_text(page)
    approve(client, request)

    assert Membership.objects.filter(user=slt, school=school, role=Role.HEADTEACHER).exists()
    assert emails("role-granted:") == {dsl.email, head.email, slt.email}


def test_a8_at_a_school_without_a_headteacher_the_trusts_admin_approves(
    client, a_admin, school, visitor, dsl, trust
):
    request = ask(visitor, school, Role.DEPUTY_DSL, a_admin)
    assert emails("role-requested:") == {dsl.email}  # no headteacher to tell

    approve(login(client, trust), request)

    assert Membership.objects.filter(user=visitor, role=Role.DEPUTY_DSL).exists()


def test_a8_a_refusal_says_why_and_is_final(client, a_admin, school, visitor, head, dsl):
    request = ask(visitor, school, Role.DSL, a_admin)
    login(client, head)

    refuse(client, request, reason="   ")
    request.refresh_from_db()
    assert request.outcome == RoleRequestOutcome.WAITING
    assert not events(Action.ROLE_REFUSED)

    refuse(client, request, reason="Not agreed with the governors.")
    request.refresh_from_db()
    assert (request.outcome, request.decided_by, request.reason) == (
        RoleRequestOutcome.REFUSED,
        head,
        "Not agreed with the governors.",
    )
    [event] = events(Action.ROLE_REFUSED)
    assert event.actor == head and "Not agreed with the governors." in event.detail
    assert emails("role-refused:") == {dsl.email, head.email}
    with pytest.raises(roles.RoleRefused, match="was refused"):
        roles.role_request_approve(role_request=request, by=head)
    assert not Membership.objects.filter(user=visitor, role=Role.DSL).exists()
    # The school admin who asked sees the outcome and the reason.
    page = login(client, a_admin).get(reverse("role-requests"))
    assert "Not agreed with the governors." in page_text(page)


def test_a8_someone_made_a_superuser_after_being_asked_for_is_not_given_the_role(
    a_admin, school, visitor, head
):
    request = ask(visitor, school, Role.DSL, a_admin)
    User.objects.filter(pk=visitor.pk).update(is_superuser=True)

    with pytest.raises(roles.RoleRefused, match="superuser"):
        roles.role_request_approve(role_request=request, by=head)
    assert not Membership.objects.filter(user=visitor, role=Role.DSL).exists()


# Taking a role away.


def test_a8_school_admin_removes_a_dsl_role_on_the_record_and_the_dsl_and_head_are_told(
    client, a_admin, school, dsl, head
):
    membership = Membership.objects.get(user=dsl, role=Role.DSL)

    response = login(client, a_admin).post(
        admin_url("schools.membership", "delete", membership.pk), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    [event] = events(Action.ROLE_REMOVED)
    assert (event.actor, event.school) == (a_admin, school)
    assert "Designated safeguarding lead" in event.detail and "Dee Lead" in event.detail
    assert emails("role-removed:") == {dsl.email, head.email}


def test_a8_the_headteacher_removes_a_safeguarding_role_from_the_roles_page(
    client, school, dsl, deputy, head
):
    membership = Membership.objects.get(user=deputy, role=Role.DEPUTY_DSL)
    page = login(client, head).get(reverse("role-requests"))
    assert reverse("role-remove", args=[membership.pk]) in page_text(page)

    response = client.post(reverse("role-remove", args=[membership.pk]))

    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    [event] = events(Action.ROLE_REMOVED)
    assert event.actor == head
    assert emails("role-removed:") == {dsl.email, head.email, deputy.email}  # and the deputy
    assert not deputy.groups.filter(name=f"school-{school.pk}-oversight").exists()


def test_a8_the_headteacher_does_not_remove_other_roles(school, head, office):
    membership = Membership.objects.get(user=office, role=Role.OFFICE)
    with pytest.raises(roles.RoleRefused, match=r"taken away by its school admin.*\(A8\)"):
        roles.role_remove(membership=membership, by=head)
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_removing_an_office_role_is_on_the_record_without_emails(a_admin, school, office, dsl):
    roles.role_remove(membership=office.memberships.get(), by=a_admin)
    assert len(events(Action.ROLE_REMOVED)) == 1
    assert not Notification.objects.exists()


# Passwords: nobody sets another person's; they are sent a link to set their own.


@pytest.mark.parametrize("who", ["trust", "a_admin"])
def test_a8_the_person_page_has_no_password_field_for_anyone(client, visitor, who, request):
    admin = request.getfixturevalue(who)
    page = login(client, admin).get(admin_url("auth.user", "change", visitor.pk))

    assert page.status_code == 200
    assert not {"password", "password1", "password2"} & set(page.context["adminform"].form.fields)
    text = page_text(page)
    assert admin_url("auth.user", "password_change", visitor.pk) not in text
    assert "Send a password reset link" in text
    assert client.get(admin_url("auth.user", "password_change", visitor.pk)).status_code == 403
    changed = client.post(
        admin_url("auth.user", "password_change", visitor.pk),
        {"password1": "Zebra-Lamp-91", "password2": "Zebra-Lamp-91"},
    )
    assert changed.status_code == 403
    visitor.refresh_from_db()
    assert visitor.check_password("pw") and not visitor.check_password("Zebra-Lamp-91")


def test_ones_own_password_is_changed_on_the_password_change_page(client, trust):
    response = login(client, trust).get(admin_url("auth.user", "password_change", trust.pk))
    assert response.status_code == 302
    assert response.url == reverse("account_change_password")


def test_a8_send_a_password_reset_link_sends_allauths_link_on_the_record(client, a_admin, visitor):
    url = reverse("admin:auth_user_send_reset", args=[visitor.pk])
    assert login(client, a_admin).get(url).status_code == 200

    response = client.post(url)

    assert response.status_code == 302
    [email] = mail.outbox
    assert email.to == [visitor.email]
    assert "/accounts/password/reset/key/" in email.body
    [event] = events(Action.PASSWORD_RESET)
    assert (event.actor, event.target_id) == (a_admin, str(visitor.pk))
    visitor.refresh_from_db()
    assert visitor.check_password("pw")  # nobody set it: the link lets them set it


def test_a8_the_reset_link_action_skips_people_the_school_admin_does_not_manage(
    client, a_admin, visitor, outsider
):
    Membership.objects.create(
        user=visitor, school=outsider.memberships.first().school, role=Role.OFFICE
    )
    office = member(a_admin.memberships.first().school, Role.OFFICE, username="office2")
    changelist = admin_url("auth.user", "changelist")

    login(client, a_admin).post(
        changelist,
        {"action": "send_password_reset", "_selected_action": [office.pk, visitor.pk]},
    )

    assert [m.to for m in mail.outbox] == [[office.email]]
    assert len(events(Action.PASSWORD_RESET)) == 1
    with pytest.raises(roles.RoleRefused, match=r"\(A8\)"):
        roles.password_reset_send(user=visitor, by=a_admin, request=None)


def test_a8_a_new_person_is_added_without_a_password_and_sent_a_link(client, trust, school):
    response = login(client, trust).post(
        admin_url("auth.user", "add"),
        {
            "username": "newbie",
            "first_name": "Nell",
            "last_name": "Newbie",
            "email": "nell@example.org",
            "password1": "Zebra-Lamp-91",
            "password2": "Zebra-Lamp-91",
            "staff_profile-TOTAL_FORMS": "0",
            "staff_profile-INITIAL_FORMS": "0",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "0",
            "memberships-0-school": str(school.pk),
            "memberships-0-role": Role.OFFICE,
        },
    )

    assert response.status_code == 302
    newbie = User.objects.get(username="newbie")
    assert not newbie.has_usable_password()
    assert (newbie.first_name, newbie.last_name) == ("Nell", "Newbie")
    [email] = mail.outbox
    assert email.to == ["nell@example.org"]
    assert len(events(Action.PASSWORD_RESET)) == 1
    assert Membership.objects.filter(user=newbie, role=Role.OFFICE).exists()
    assert len(events(Action.ROLE_GRANTED)) == 1


def test_a8_a_new_person_needs_a_name_and_an_email_of_their_own(client, trust, visitor):
    add = admin_url("auth.user", "add")
    page = login(client, trust).get(add)
    assert not {"password1", "password2", "usable_password"} & set(
        page.context["adminform"].form.fields
    )
    response = client.post(
        add,
        {
            "username": "newbie",
            "email": visitor.email,
            "staff_profile-TOTAL_FORMS": "0",
            "staff_profile-INITIAL_FORMS": "0",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert {"first_name", "last_name", "email"} <= set(errors)
    assert "Someone already has this email address" in str(errors["email"])
    assert not User.objects.filter(username="newbie").exists()


# A8: the new pages, for every role, another school's staff and someone not signed in.

PEOPLE = ["office", "visitor", "dsl", "deputy", "head", "slt", "a_admin", "outsider", "trust"]


@pytest.fixture
def waiting_request(a_admin, school, colleague, head, dsl):
    return ask(colleague, school, Role.DSL, a_admin)


@pytest.mark.parametrize("who", [*PEOPLE, "anonymous"])
def test_a8_roles_page_matrix(client, waiting_request, who, request):
    expected = {"head": 200, "a_admin": 200, "trust": 200, "outsider": 200, "anonymous": 302}
    if who != "anonymous":
        login(client, request.getfixturevalue(who))

    response = client.get(reverse("role-requests"))

    assert response.status_code == expected.get(who, 404)
    if who == "anonymous":
        assert response.url.startswith(reverse("account_login"))
    elif response.status_code == 200:
        # The outsider heads another school: this school's request is not theirs to see.
        assert ("Col League" in page_text(response)) == (who != "outsider")


@pytest.mark.parametrize("who", [*PEOPLE, "anonymous"])
def test_a8_approve_matrix(client, waiting_request, who, request):
    if who != "anonymous":
        login(client, request.getfixturevalue(who))

    response = approve(client, waiting_request)

    waiting_request.refresh_from_db()
    approved = waiting_request.outcome == RoleRequestOutcome.APPROVED
    assert approved == (who == "head")
    if who in ("head", "a_admin", "trust"):
        assert response.status_code == 302  # decided, or refused with a message
    elif who == "anonymous":
        assert response.url.startswith(reverse("account_login"))
    else:
        assert response.status_code == 404


@pytest.mark.parametrize("who", [*PEOPLE, "anonymous"])
def test_a8_refuse_matrix(client, waiting_request, who, request):
    if who != "anonymous":
        login(client, request.getfixturevalue(who))

    response = refuse(client, waiting_request)

    waiting_request.refresh_from_db()
    refused = waiting_request.outcome == RoleRequestOutcome.REFUSED
    assert refused == (who == "head")
    if who in ("head", "a_admin", "trust"):
        assert response.status_code == 302
    elif who == "anonymous":
        assert response.url.startswith(reverse("account_login"))
    else:
        assert response.status_code == 404


@pytest.mark.parametrize("who", [*PEOPLE, "anonymous"])
def test_a8_remove_matrix(client, school, dsl, deputy, who, request):
    membership = Membership.objects.get(user=deputy, role=Role.DEPUTY_DSL)
    if who != "anonymous":
        login(client, request.getfixturevalue(who))

    response = client.post(reverse("role-remove", args=[membership.pk]))

    removed = not Membership.objects.filter(pk=membership.pk).exists()
    assert removed == (who in ("head", "a_admin", "trust"))
    if who == "anonymous":
        assert response.url.startswith(reverse("account_login"))
    elif not removed:
        assert response.status_code == 404


@pytest.mark.parametrize("name", ["role-requests", "role-request-approve", "role-request-refuse"])
def test_role_buttons_are_posts_only(client, waiting_request, head, name):
    login(client, head)
    if name == "role-requests":
        assert client.post(reverse(name)).status_code == 405
    else:
        assert client.get(reverse(name, args=[waiting_request.pk])).status_code == 405


def test_roles_page_carries_no_inline_code_or_styles(client, waiting_request, head, deputy):
    """The strict CSP: no inline script, no on* handler, no style attribute, no javascript: URL."""
    import re

    text = page_text(login(client, head).get(reverse("role-requests")))
    assert "Approve" in text and "Remove" in text  # the buttons are there to be checked
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text)
    assert not re.search(r"\son[a-z]+\s*=", text, re.IGNORECASE)
    assert not re.search(r"\sstyle\s*=", text, re.IGNORECASE)
    assert "javascript:" not in text.lower()


def test_the_menu_offers_the_roles_page_to_those_it_is_for(head, a_admin, trust, dsl, office):
    assert head.memberships.sees_role_requests()
    assert a_admin.memberships.sees_role_requests()
    assert trust.memberships.sees_role_requests()
    assert not dsl.memberships.sees_role_requests()
    assert not office.memberships.sees_role_requests()
