"""Staff and their roles from one CSV in the admin (issue 12, item 8: "60 staff means 60 forms").

The file is checked first and nothing is saved until the school admin confirms; a bad row is
named by its row number and nothing of the file is saved. The rules of giving roles still hold
(A8, schools/roles.py): DSL, deputy DSL and headteacher are asked for, never given by the file;
roles only at the importer's school; never to a superuser or someone of another school; a new
person gets an unusable password and a link to set their own; mobiles are ones the office can
dial (P13).
"""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import Action, AuditEvent
from schools import roles
from schools.models import Membership, Role, RoleRequest, RoleRequestOutcome
from schools.resources import StaffRow

from .factories import UserFactory, member
from .test_admin import as_school_admin

User = get_user_model()

HEADER = "first_name,last_name,email,username,job_title,mobile,roles\n"
IMPORT_URL = "admin:auth_user_staff_import"


@pytest.fixture
def a_admin(school_admin):
    return as_school_admin(school_admin)


@pytest.fixture
def admin_in(client, a_admin):
    client.force_login(a_admin)
    return client


def check(client, school, text, name="staff.csv"):
    """Choose the file and press "Check the file": nothing is saved."""
    upload = SimpleUploadedFile(name, text.encode("utf-8"), "text/csv")
    return client.post(
        reverse(IMPORT_URL), {"school": school.pk, "staff_file": upload, "check": "Check"}
    )


def confirm(client, school, checked_response):
    """Press "Add these people" on the checked page."""
    return client.post(
        reverse(IMPORT_URL),
        {"school": school.pk, "checked": checked_response.context["checked"], "confirm": "Add"},
    )


def reset_links_to(address):
    return [
        m for m in mail.outbox if m.to == [address] and "/accounts/password/reset/key/" in m.body
    ]


def test_school_admin_imports_staff_and_roles_after_checking_the_file(admin_in, a_admin, school):
    text = HEADER + (
        "Jo,Bloggs,Jo.Bloggs@example.org,,Teaching assistant,07700 900123,visiting staff; office\n"
        "Sam,Smith,sam@example.org,ssmith,Family liaison,+44 7700 900124,Visiting staff\n"
    )

    checked = check(admin_in, school, text)

    assert checked.status_code == 200
    page = checked.content.decode()
    assert "Checked: 2 people for Heather Avenue Infant School" in page
    assert "jo.bloggs" in page  # the username made from the email
    assert not User.objects.filter(email__iexact="jo.bloggs@example.org").exists()

    response = confirm(admin_in, school, checked)

    assert response.status_code == 302
    jo = User.objects.get(email="jo.bloggs@example.org")  # as allauth finds it for the link
    assert jo.username == "jo.bloggs"
    assert not jo.has_usable_password()
    assert jo.staff_profile.mobile == "+447700900123"
    assert jo.staff_profile.job_title == "Teaching assistant"
    assert set(Membership.objects.filter(user=jo).values_list("school", "role")) == {
        (school.pk, Role.VISITING_STAFF),
        (school.pk, Role.OFFICE),
    }
    sam = User.objects.get(username="ssmith")
    assert reset_links_to(jo.email) and reset_links_to(sam.email)
    granted = AuditEvent.objects.filter(action=Action.ROLE_GRANTED, actor=a_admin)
    assert granted.count() == 3
    assert AuditEvent.objects.filter(action=Action.PASSWORD_RESET, target_id=str(jo.pk)).exists()


def test_a8_dsl_and_headteacher_in_the_file_are_asked_for_and_wait_for_approval(
    admin_in, a_admin, school, head
):
    text = HEADER + "Dee,Two,dee2@example.org,,Deputy head,,deputy DSL; visiting staff\n"

    checked = check(admin_in, school, text)
    assert "Deputy DSL" in checked.content.decode()
    confirm(admin_in, school, checked)

    dee = User.objects.get(email="dee2@example.org")
    assert list(Membership.objects.filter(user=dee).values_list("role", flat=True)) == [
        Role.VISITING_STAFF
    ]
    request = RoleRequest.objects.get(user=dee)
    assert (request.role, request.outcome) == (Role.DEPUTY_DSL, RoleRequestOutcome.WAITING)
    assert AuditEvent.objects.filter(action=Action.ROLE_REQUESTED, actor=a_admin).count() == 1


def test_every_bad_row_is_named_by_its_row_number_and_nothing_is_saved(admin_in, school, visitor):
    text = HEADER + (
        "Good,Person,good@example.org,,,07700 900125,office\n"  # row 2
        "Bad,Mobile,badmobile@example.org,,,07700 ninety,office\n"  # row 3
        "Bad,Role,badrole@example.org,,,,cook\n"  # row 4
        "Same,Email,GOOD@example.org,,,,office\n"  # row 5
        ",,noname@example.org,,,,office\n"  # row 6
        f"Taken,Name,taken@example.org,{visitor.username},,,office\n"  # row 7
    )

    response = check(admin_in, school, text)

    page = response.content.decode()
    assert "Nothing was saved: 5 rows of the file have problems" in page
    assert "<td>Row 2</td>" not in page
    problems = dict(re.findall(r"<td>Row (\d+)</td>(.*?)</tr>", page, flags=re.S))
    assert "07700 900123 (P13)" in problems["3"]
    assert "is not a role here" in problems["4"]
    assert "Row 2 has the same email" in problems["5"]
    assert "Give the first name." in problems["6"]
    assert "already has the username" in problems["7"]
    assert 'name="confirm"' not in page
    assert not User.objects.filter(email="good@example.org").exists()


def test_a8_a_superuser_or_someone_of_another_school_in_the_file_is_refused(
    admin_in, school, outsider
):
    UserFactory(username="trust", email="trust@example.org", is_superuser=True, is_staff=True)
    text = HEADER + (
        f"Tess,Trust,trust@example.org,,,,office\nOut,Sider,{outsider.email},,,,visiting staff\n"
    )

    page = check(admin_in, school, text).content.decode()

    assert "superuser" in page
    assert "works at another school" in page
    assert not Membership.objects.filter(school=school, user__username="trust").exists()
    assert not Membership.objects.filter(school=school, user=outsider).exists()


def test_a8_roles_only_at_the_importers_own_school(admin_in, school, other_school):
    text = HEADER + "Jo,Bloggs,jo@example.org,,,,office\n"

    response = check(admin_in, other_school, text)

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    # A checked file for school A, replayed for school B, saves nothing.
    checked = check(admin_in, school, text)
    response = admin_in.post(
        reverse(IMPORT_URL),
        {"school": other_school.pk, "checked": checked.context["checked"], "confirm": "Add"},
    )
    assert response.status_code == 200
    assert not User.objects.filter(email="jo@example.org").exists()


def test_a_confirmation_that_was_tampered_with_saves_nothing(admin_in, school):
    checked = check(admin_in, school, HEADER + "Jo,Bloggs,jo@example.org,,,,office\n")

    response = admin_in.post(
        reverse(IMPORT_URL),
        {"school": school.pk, "checked": checked.context["checked"] + "x", "confirm": "Add"},
    )

    assert "Choose the file and check it again" in response.content.decode()
    assert not User.objects.filter(email="jo@example.org").exists()


def test_someone_with_an_account_gets_only_the_new_roles_and_no_new_password_link(
    admin_in, school, visitor
):
    text = HEADER + f"Vic,Visitor,{visitor.email.upper()},,,,visiting staff; office\n"

    checked = check(admin_in, school, text)
    assert "Has one already" in checked.content.decode()
    confirm(admin_in, school, checked)

    assert set(Membership.objects.filter(user=visitor).values_list("role", flat=True)) == {
        Role.VISITING_STAFF,
        Role.OFFICE,
    }
    assert User.objects.filter(email__iexact=visitor.email).count() == 1
    assert not reset_links_to(visitor.email)


def test_a_file_without_the_needed_columns_says_which_are_missing(admin_in, school):
    response = check(admin_in, school, "name,email\nJo,jo@example.org\n")

    page = response.content.decode()
    assert "Missing: first name, last name, roles" in page


def test_staff_csv_template_has_the_documented_header(admin_in, school):
    page = admin_in.get(reverse(IMPORT_URL)).content.decode()
    assert "first_name,last_name,email,username,job_title,mobile,roles" in page

    response = admin_in.get(reverse("admin:auth_user_staff_template"))

    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0] == HEADER.strip()
    assert len(lines) == 2  # one example row


def test_the_people_list_links_to_the_staff_import(admin_in):
    page = admin_in.get(reverse("admin:auth_user_changelist")).content.decode()
    assert reverse(IMPORT_URL) in page


def test_staff_import_is_refused_to_someone_who_administers_no_school(client, office):
    office.is_staff = True
    office.save()
    client.force_login(office)

    assert client.get(reverse(IMPORT_URL)).status_code == 403
    assert client.get(reverse("admin:auth_user_staff_template")).status_code == 403


def test_what_changed_between_checking_and_confirming_is_checked_again(
    admin_in, school, other_school
):
    checked = check(admin_in, school, HEADER + "Jo,Bloggs,jo@example.org,,,,office\n")
    # Meanwhile the trust's admin gives jo@ a role at another school.
    member(other_school, Role.OFFICE, username="jo-b", email="jo@example.org")

    response = confirm(admin_in, school, checked)

    assert response.status_code == 200
    assert "works at another school" in response.content.decode()
    assert not Membership.objects.filter(school=school, user__email="jo@example.org").exists()


def test_a_role_refused_on_saving_saves_nothing_of_the_file(a_admin, school):
    """All or nothing (schools/roles.py staff_import): a rule broken on the last row undoes the
    people of the rows before it, and no link is sent to anyone."""
    trust = UserFactory(username="trust", email="trust@example.org", is_superuser=True)
    rows = [
        StaffRow(
            number=2,
            first_name="Jo",
            last_name="Bloggs",
            email="jo@example.org",
            username="jo",
            roles=[Role.OFFICE],
        ),
        StaffRow(number=3, email=trust.email, username="trust", roles=[Role.OFFICE], person=trust),
    ]

    with pytest.raises(roles.RoleRefused):
        roles.staff_import(school=school, rows=rows, by=a_admin)

    assert not User.objects.filter(username="jo").exists()
    assert not mail.outbox


@pytest.mark.parametrize(
    "content, words",
    [
        (b"\x00\x01PK binary", "This is not a CSV file"),
        (b"", "The submitted file is empty"),
        (HEADER.encode(), "has no staff rows"),
    ],
)
def test_a_file_that_is_not_a_staff_csv_is_refused_in_plain_words(admin_in, school, content, words):
    upload = SimpleUploadedFile("staff.csv", content, "text/csv")

    response = admin_in.post(
        reverse(IMPORT_URL), {"school": school.pk, "staff_file": upload, "check": "Check"}
    )

    assert response.status_code == 200
    assert words in response.content.decode()


def test_a_windows_excel_csv_is_read(admin_in, school):
    text = HEADER + "Zoë,Brontë,zoe@example.org,,,,office\n"

    checked = admin_in.post(
        reverse(IMPORT_URL),
        {
            "school": school.pk,
            "staff_file": SimpleUploadedFile("staff.csv", text.encode("cp1252"), "text/csv"),
            "check": "Check",
        },
    )
    confirm(admin_in, school, checked)

    assert checked.status_code == 200
    assert User.objects.get(email="zoe@example.org").first_name == "Zoë"


def test_the_trusts_admin_chooses_any_school(admin_client, school, other_school):
    response = admin_client.get(reverse(IMPORT_URL))

    assert response.status_code == 200
    choices = {str(school) for school in response.context["form"].fields["school"].queryset}
    assert choices == {"Heather Avenue Infant School", "St Laurence's School"}
