"""The admin: every model's pages, read-only visits (every change goes through the services),
A8 in the admin (superusers included), a school admin scoped to their own school, the school's
P1/P3 settings, and CSV import of pupils and carers."""

import datetime
from pathlib import Path

import pytest
import tablib
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from schools.admin import UserAdmin
from schools.models import Carer, Membership, Pupil, Role, School
from schools.resources import CarerResource, PupilResource
from schools.services import school_admins_group, school_oversight_group
from visits import services
from visits.admin import READ_ONLY_NOTE
from visits.models import VisitEvent

from .conftest import make_visit
from .factories import CarerFactory, PupilFactory, UserFactory, member

FIXTURES = Path(__file__).parent / "fixtures"

OUR_MODELS = [
    "auth.user",
    "schools.school",
    "schools.membership",
    "schools.staffprofile",
    "schools.pupil",
    "schools.carer",
    "visits.visit",
    "visits.visitstaff",
    "visits.riskassessment",
    "visits.authorisation",
    "visits.visitevent",
]
VISIT_RECORDS = [
    "visits.visit",
    "visits.visitstaff",
    "visits.riskassessment",
    "visits.authorisation",
    "visits.visitevent",
]
SCHOOL_RECORDS = [label for label in OUR_MODELS if label not in VISIT_RECORDS]


def admin_url(label, view, *args):
    app_label, model_name = label.split(".")
    return reverse(f"admin:{app_label}_{model_name}_{view}", args=args)


def csv_file(name):
    return (FIXTURES / name).read_text(encoding="utf-8")


def dataset(text):
    return tablib.Dataset().load(text, format="csv")


def import_csv(resource_class, text, user=None):
    return resource_class(user=user).import_data(dataset(text), dry_run=False)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Each person the fixtures make would otherwise cost half a second of PBKDF2.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def populated(authorised_visit, pupil, head):
    """A school with people, a pupil with a carer, and an authorised visit with its records."""
    pupil.key_worker = head
    pupil.save()
    CarerFactory(pupil=pupil, name="Mary Pupil")
    return authorised_visit


@pytest.fixture
def overseer_client(client, school):
    """A superuser who also holds the office role at the school, so A8 lets them see its visits.

    (The plain `admin_client` superuser holds no school role and sees no visit: see below.)
    """
    overseer = member(
        school, Role.OFFICE, username="trust-office", is_superuser=True, is_staff=True
    )
    client.force_login(overseer)
    return client


def as_school_admin(user):
    """`user` made a school admin in the Django admin, as load_demo sets the demo's up."""
    user.is_staff = True
    user.save()
    user.groups.add(school_admins_group())
    return get_user_model().objects.get(pk=user.pk)


def staff_with_view_perms(user):
    user.is_staff = True
    user.save()
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="visits", codename__startswith="view_")
    )
    return get_user_model().objects.get(pk=user.pk)


def form_data(response):
    """The POST data the admin change form in `response` sends when nothing is touched."""
    data = {}

    def add_form(form):
        for name, field in form.fields.items():
            if field.disabled:
                continue
            key = form.add_prefix(name)
            value = form[name].value()
            widget = field.widget
            if hasattr(widget, "decompress"):
                for index, part in enumerate(widget.decompress(value)):
                    data[f"{key}_{index}"] = "" if part is None else str(part)
            elif isinstance(value, bool):
                if value:
                    data[key] = "on"
            elif isinstance(value, list | tuple):
                data[key] = [str(getattr(item, "pk", item)) for item in value]
            elif value is not None:
                data[key] = str(getattr(value, "pk", value))

    add_form(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        add_form(formset.management_form)
        for form in formset.initial_forms:
            add_form(form)
        data[formset.management_form.add_prefix("TOTAL_FORMS")] = str(len(formset.initial_forms))
    return data


# Every model has an admin page that works.


def test_every_model_is_registered():
    for app_label in ("schools", "visits", "safeguarding"):
        for model in apps.get_app_config(app_label).get_models():
            assert admin.site.is_registered(model), model
    assert isinstance(admin.site.get_model_admin(get_user_model()), UserAdmin)


@pytest.mark.parametrize("label", OUR_MODELS)
def test_changelist_and_change_page_render_for_superuser(
    admin_client, overseer_client, populated, label
):
    # The visits' records only to a superuser A8 lets see the visit: one with a school role.
    client = overseer_client if label in VISIT_RECORDS else admin_client
    model = apps.get_model(label)
    obj = model._default_manager.first()
    assert obj is not None

    changelist = client.get(admin_url(label, "changelist"))
    assert changelist.status_code == 200
    assert changelist.context["cl"].result_count >= 1

    page = client.get(admin_url(label, "change", obj.pk))
    assert page.status_code == 200


@pytest.mark.parametrize(
    "label, query",
    [
        ("visits.visit", "q=Poppy"),
        ("visits.visit", "q=AB12"),
        ("visits.visit", "status__exact=authorised&purpose__exact=welfare_check"),
        ("visits.authorisation", "decision__exact=approved"),
        ("visits.visitevent", "kind__exact=authorised"),
        ("schools.pupil", "q=Poppy&has_animals__exact=0"),
        ("schools.carer", "q=Mary"),
        ("schools.membership", "role__exact=headteacher&q=Hazel"),
        ("auth.user", "q=Visitor"),
    ],
)
def test_changelist_search_and_filters_find_the_record(
    admin_client, overseer_client, populated, label, query
):
    client = overseer_client if label in VISIT_RECORDS else admin_client
    response = client.get(admin_url(label, "changelist") + "?" + query)
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1


def test_visit_changelist_shows_local_start_staff_and_pairing(overseer_client, populated):
    response = overseer_client.get(admin_url("visits.visit", "changelist"))
    content = response.content.decode()
    assert "Vic Visitor, Pat Partner" in content
    assert "10:00" in content  # planned for 10:00 local time, whatever UTC says
    day = populated.planned_start
    drill = overseer_client.get(
        admin_url("visits.visit", "changelist") + f"?planned_start__year={day:%Y}"
    )
    assert drill.status_code == 200


@pytest.mark.parametrize(
    "label",
    [*VISIT_RECORDS, "schools.pupil", "schools.carer", "schools.membership", "auth.user"],
)
@pytest.mark.parametrize("who", ["superuser", "school admin"])
def test_changelist_queries_do_not_grow_with_rows(
    client, populated, label, who, school, office, visitor, partner, head, school_admin
):
    if who == "superuser":
        user = member(school, Role.OFFICE, username="trust-office", is_superuser=True)
    else:
        user = as_school_admin(school_admin)
    user.is_staff = True
    user.save()
    client.force_login(user)
    url = admin_url(label, "changelist")
    client.get(url)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as few:
        response = client.get(url)
        assert response.status_code == 200
    if who == "superuser" or label not in VISIT_RECORDS:
        assert response.context["cl"].result_count >= 1  # rows were listed, not none

    for _ in range(3):
        pupil = PupilFactory(school=school)
        CarerFactory(pupil=pupil)
        visit = make_visit(pupil=pupil, by=office, staff=[visitor, partner], submit=True)
        services.visit_authorise(
            visit=visit, by=head, expected_version=visit.version, confirmed=True
        )
        member(school, Role.VISITING_STAFF)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200

    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_pupil_and_carer_import_and_export_pages_render(admin_client, school):
    for label in ("schools.pupil", "schools.carer"):
        assert admin_client.get(admin_url(label, "import")).status_code == 200
        assert admin_client.get(admin_url(label, "export")).status_code == 200


# Visits are read-only in the admin: every change goes through visits/services.py.


def test_visit_admin_has_no_add_link_and_explains_why(overseer_client, populated):
    response = overseer_client.get(admin_url("visits.visit", "changelist"))
    content = response.content.decode()
    assert admin_url("visits.visit", "add") not in content
    assert escape(READ_ONLY_NOTE) in content
    assert "delete_selected" not in content

    page = overseer_client.get(admin_url("visits.visit", "change", populated.pk))
    assert READ_ONLY_NOTE in page.content.decode()  # fieldset descriptions are not escaped
    assert 'name="_save"' not in page.content.decode()


@pytest.mark.parametrize("label", VISIT_RECORDS)
@pytest.mark.parametrize("who", ["overseer", "superuser without a school role"])
def test_visit_records_refuse_add_change_and_delete(
    admin_client, overseer_client, populated, label, who
):
    if who == "overseer":
        admin_client = overseer_client
    model = apps.get_model(label)
    obj = model._default_manager.first()
    before = model._default_manager.count()

    assert admin_client.get(admin_url(label, "add")).status_code == 403
    assert admin_client.post(admin_url(label, "add"), {}).status_code == 403
    changed = admin_client.post(
        admin_url(label, "change", obj.pk), {"status": "closed", "message": "edited"}
    )
    assert changed.status_code == 403
    assert admin_client.get(admin_url(label, "delete", obj.pk)).status_code == 403
    assert admin_client.post(admin_url(label, "delete", obj.pk), {"post": "yes"}).status_code == 403

    assert model._default_manager.count() == before
    populated.refresh_from_db()
    assert populated.status == "authorised"


def test_visit_admin_post_leaves_visit_and_timeline_untouched(overseer_client, populated):
    events = VisitEvent.objects.filter(visit=populated).count()
    version = populated.version
    response = overseer_client.post(
        admin_url("visits.visit", "change", populated.pk),
        {"address": "Somewhere else", "status": "draft", "version": "1"},
    )
    assert response.status_code == 403
    populated.refresh_from_db()
    assert (populated.status, populated.version) == ("authorised", version)
    assert "Somewhere else" not in populated.address
    assert VisitEvent.objects.filter(visit=populated).count() == events


# A8 holds in the admin for everyone, superusers included.


def test_a8_superuser_without_a_school_role_sees_no_visit_in_the_admin(admin_client, populated):
    """The trust's superuser runs the schools admin but holds no role that needs a visit's
    details, so the admin shows none of them (A8), though the model's permissions are all theirs.
    """
    assert admin_client.get(reverse("admin:index")).status_code == 200
    for label in VISIT_RECORDS:
        response = admin_client.get(admin_url(label, "changelist"))
        assert response.status_code == 200
        assert response.context["cl"].result_count == 0, label
        assert "Poppy" not in response.content.decode(), label
        obj = apps.get_model(label)._default_manager.first()
        page = admin_client.get(admin_url(label, "change", obj.pk))
        assert page.status_code == 302, label  # the admin's "does not exist" redirect
        assert "Poppy" not in admin_client.get(page.url).content.decode()
    # The schools admin is still all theirs.
    for label in SCHOOL_RECORDS:
        response = admin_client.get(admin_url(label, "changelist"))
        assert response.context["cl"].result_count == apps.get_model(label).objects.count()


def test_oversight_staff_see_their_schools_visits_in_admin(client, populated, office):
    client.force_login(staff_with_view_perms(office))
    for label in VISIT_RECORDS:
        response = client.get(admin_url(label, "changelist"))
        assert response.status_code == 200
        assert response.context["cl"].result_count >= 1, label
    assert client.get(admin_url("visits.visit", "change", populated.pk)).status_code == 200


@pytest.mark.parametrize("person", ["outsider", "colleague"])
def test_view_permission_alone_does_not_show_other_visits_in_admin(
    client, populated, person, request
):
    client.force_login(staff_with_view_perms(request.getfixturevalue(person)))
    for label in VISIT_RECORDS:
        response = client.get(admin_url(label, "changelist"))
        assert response.status_code == 200
        assert response.context["cl"].result_count == 0, label
    page = client.get(admin_url("visits.visit", "change", populated.pk))
    assert page.status_code == 302  # the admin's "does not exist" redirect
    assert "Poppy" not in client.get(page.url).content.decode()


# People: roles at schools and the staff profile are given on the user's page.


def test_user_page_gives_roles_at_schools_in_one_place(admin_client, visitor, other_school):
    url = admin_url("auth.user", "change", visitor.pk)
    data = form_data(admin_client.get(url))
    data.update(
        {
            "staff_profile-0-mobile": "07700 900999",
            "memberships-TOTAL_FORMS": str(int(data["memberships-TOTAL_FORMS"]) + 1),
            "memberships-1-school": str(other_school.pk),
            "memberships-1-role": Role.OFFICE,
            "memberships-1-user": str(visitor.pk),
        }
    )
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context and [
        f.errors for f in response.context["inline_admin_formsets"][1].formset.forms
    ]

    assert Membership.objects.filter(user=visitor, school=other_school, role=Role.OFFICE).exists()
    visitor.refresh_from_db()
    assert str(visitor.staff_profile.mobile) == "+447700900999"  # kept in international form
    # The signal put them in the other school's oversight group (A8).
    assert visitor.groups.filter(pk=school_oversight_group(school=other_school).pk).exists()


def test_a8_membership_is_never_changed_neither_moved_nor_turned_into_another_role(
    admin_client, visitor, other_school
):
    """A role is given (or asked for) and taken away, never changed: moving it to someone else
    would leave the first person their access, and turning visiting staff into DSL would skip
    the second person's approval (A8). The page shows the role; nothing on it can be saved."""
    membership = Membership.objects.get(user=visitor)
    page = admin_client.get(admin_url("schools.membership", "change", membership.pk))
    assert page.status_code == 200
    assert not {"user", "school", "role"} & set(page.context["adminform"].form.fields)
    assert 'name="_save"' not in page.content.decode()

    changed = admin_client.post(
        admin_url("schools.membership", "change", membership.pk),
        {"user": visitor.pk, "school": other_school.pk, "role": Role.DSL},
    )

    assert changed.status_code == 403
    membership.refresh_from_db()
    assert (membership.school_id, membership.role) == (
        visitor.memberships.get().school_id,
        "visiting_staff",
    )
    assert not Membership.objects.filter(user=visitor, role=Role.DSL).exists()


def test_school_must_let_someone_authorise(admin_client, school):
    url = admin_url("schools.school", "change", school.pk)
    data = form_data(admin_client.get(url))
    for name in ("headteacher_may_authorise", "dsl_may_authorise", "slt_may_authorise"):
        data.pop(name, None)
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "Tick at least one role" in response.content.decode()

    data["dsl_may_authorise"] = "on"
    data["lone_visit_policy"] = "never"
    assert admin_client.post(url, data).status_code == 302
    school.refresh_from_db()
    assert (school.headteacher_may_authorise, school.dsl_may_authorise) == (False, True)
    assert school.lone_visit_policy == "never"


@pytest.mark.parametrize(
    "authorisers, policy, refused",
    [
        # Lone visits decided only by the DSL, who may not authorise: none could ever go ahead.
        (["headteacher_may_authorise", "slt_may_authorise"], "dsl", True),
        (["headteacher_may_authorise"], "dsl", True),
        (["dsl_may_authorise"], "dsl", False),
        (["headteacher_may_authorise"], "dsl_or_slt", False),
        (["slt_may_authorise"], "dsl_or_slt", False),
        (["headteacher_may_authorise"], "never", False),
    ],
)
def test_school_lone_visits_must_be_decidable_by_someone_who_authorises(
    admin_client, school, authorisers, policy, refused
):
    """P1 and P3: the lone decision is taken as the visit is authorised, so the roles that decide
    lone visits must include one that may authorise."""
    url = admin_url("schools.school", "change", school.pk)
    data = form_data(admin_client.get(url))
    for name in ("headteacher_may_authorise", "dsl_may_authorise", "slt_may_authorise"):
        data.pop(name, None)
    data.update(dict.fromkeys(authorisers, "on"))
    data["lone_visit_policy"] = policy

    response = admin_client.post(url, data)

    school.refresh_from_db()
    if refused:
        assert response.status_code == 200
        [message] = response.context["adminform"].form.non_field_errors()
        assert "(P1, P3)" in message
        assert "no lone visit could ever be authorised" in message
        assert "Designated safeguarding lead (DSL) or Deputy DSL" in message
        assert (school.lone_visit_policy, school.dsl_may_authorise) == ("dsl_or_slt", True)
    else:
        assert response.status_code == 302
        assert school.lone_visit_policy == policy
        assert school.dsl_may_authorise == ("dsl_may_authorise" in authorisers)


# CSV import of pupils.


def test_pupil_import_creates_pupils_reading_uk_and_iso_dates(school, other_school):
    result = import_csv(PupilResource, csv_file("pupils.csv"))

    assert not result.has_errors() and not result.has_validation_errors()
    assert result.totals["new"] == 4
    amara = Pupil.objects.get(school=school, upn="H801200001001")
    assert amara.date_of_birth == datetime.date(2017, 4, 3)  # 03/04/2017 is 3 April, not 4 March
    assert amara.address == "14 Heather Avenue\nManchester"
    assert (amara.has_animals, amara.previous_aggression) == (False, False)
    ben = Pupil.objects.get(upn="H801200001002")
    assert ben.date_of_birth == datetime.date(2016, 11, 23)
    assert ben.has_animals and ben.social_worker_name.startswith("Jo Smith")
    chloe = Pupil.objects.get(upn="H801200001003")
    assert chloe.date_of_birth == datetime.date(2018, 9, 21)
    assert (chloe.has_animals, chloe.previous_aggression) == (False, True)
    assert Pupil.objects.get(upn="S802300004001").school == other_school


def test_pupil_reimport_updates_rather_than_duplicates(school, other_school, head):
    import_csv(PupilResource, csv_file("pupils.csv"))
    amara = Pupil.objects.get(upn="H801200001001")
    amara.key_worker = head
    amara.save()

    again = import_csv(PupilResource, csv_file("pupils.csv"))
    assert again.totals["skip"] == 4 and again.totals["new"] == 0
    assert Pupil.objects.count() == 4

    moved_up = csv_file("pupils.csv").replace(
        "Amara,Okafor,03/04/2017,Year 2", "Amara,Okafor,03/04/2017,Year 3"
    )
    changed = import_csv(PupilResource, moved_up)
    assert (changed.totals["update"], changed.totals["new"]) == (1, 0)
    assert Pupil.objects.count() == 4
    amara.refresh_from_db()
    assert amara.year_group == "Year 3"
    assert amara.key_worker == head  # not in the file, so left alone


def test_same_upn_at_two_schools_is_two_pupils(school, other_school):
    text = (
        "school,upn,first_name,last_name,date_of_birth,address\n"
        "hai,X1,Ann,One,2017-01-01,1 Road\n"
        "sls,X1,Bob,Two,2017-01-01,2 Road\n"
    )
    assert import_csv(PupilResource, text).totals["new"] == 2
    assert Pupil.objects.get(school=school, upn="X1").first_name == "Ann"
    assert Pupil.objects.get(school=other_school, upn="X1").first_name == "Bob"


@pytest.mark.parametrize(
    "row, column, words",
    [
        ("hai,X1,Ann,One,04/31/2017,1 Road,no", "date_of_birth", "YYYY-MM-DD or DD/MM/YYYY"),
        ("hai,X1,Ann,One,2017-13-01,1 Road,no", "date_of_birth", "YYYY-MM-DD or DD/MM/YYYY"),
        ("nowhere,X1,Ann,One,2017-01-01,1 Road,no", "school", "no school with the short code"),
        (",X1,Ann,One,2017-01-01,1 Road,no", "school", "short code"),
        ("hai,,Ann,One,2017-01-01,1 Road,no", "upn", "UPN"),
        ("hai,X1,Ann,One,2017-01-01,1 Road,maybe", "has_animals", "not yes or no"),
        ("hai,X1,Ann,,2017-01-01,1 Road,no", "last_name", "blank"),
        ("hai,X1,Ann,One,2017-01-01,,no", "address", "blank"),
    ],
)
def test_bad_pupil_row_is_a_row_error_and_the_good_rows_import(school, row, column, words):
    text = (
        "school,upn,first_name,last_name,date_of_birth,address,has_animals\n"
        f"{row}\n"
        "hai,X2,Good,Row,2017-01-01,2 Road,yes\n"
    )
    result = import_csv(PupilResource, text)

    assert not result.has_errors()
    [invalid] = result.invalid_rows
    assert invalid.number == 1
    assert words in " ".join(invalid.error_dict[column])
    assert list(Pupil.objects.values_list("upn", flat=True)) == ["X2"]


def test_headers_and_cells_are_tidied_and_blank_lines_ignored(school):
    text = (
        "School,UPN,First Name,Last Name,Date of Birth,Address\n"
        ' hai , X1 ,Ann,One,1/2/2017,"1 Road\r\nTown "\n'
        ",,,,,\n"
    )
    result = import_csv(PupilResource, text)
    assert not result.has_errors() and not result.has_validation_errors()
    ann = Pupil.objects.get(upn="X1")
    assert (ann.date_of_birth, ann.address) == (datetime.date(2017, 2, 1), "1 Road\nTown")


def test_exported_pupils_reimport_unchanged(school, other_school):
    import_csv(PupilResource, csv_file("pupils.csv"))
    exported = PupilResource().export().csv
    assert "hai,H801200001001,Amara,Okafor,2017-04-03" in exported
    again = import_csv(PupilResource, exported)
    assert again.totals["skip"] == 4 and Pupil.objects.count() == 4


# CSV import of carers.


def test_carer_import_attaches_each_carer_to_the_pupil_at_the_named_school(school, other_school):
    import_csv(PupilResource, csv_file("pupils.csv"))
    # A pupil at the other school with the same UPN must not get Grace as a carer.
    namesake = PupilFactory(school=other_school, upn="H801200001001")

    result = import_csv(CarerResource, csv_file("carers.csv"))

    assert not result.has_errors() and not result.has_validation_errors()
    assert result.totals["new"] == 4
    grace = Carer.objects.get(name="Grace Okafor")
    assert grace.pupil == Pupil.objects.get(school=school, upn="H801200001001")
    assert not namesake.carers.exists()
    ben = Pupil.objects.get(upn="H801200001002")
    assert set(ben.carers.values_list("name", flat=True)) == {"Tom Whitfield", "Sue Whitfield"}
    tom = Carer.objects.get(name="Tom Whitfield")
    assert (tom.lives_with_pupil, tom.address) == (False, "31 Station Road\nManchester\nM20 1AB")
    sue = Carer.objects.get(name="Sue Whitfield")
    assert sue.parental_responsibility is False
    karen = Carer.objects.get(name="Karen Price")  # blank yes/no cells keep the defaults
    assert (karen.parental_responsibility, karen.lives_with_pupil) == (True, True)
    assert karen.pupil.school == other_school


def test_carer_reimport_updates_rather_than_duplicates(school, other_school):
    import_csv(PupilResource, csv_file("pupils.csv"))
    import_csv(CarerResource, csv_file("carers.csv"))

    again = import_csv(CarerResource, csv_file("carers.csv"))
    assert again.totals["skip"] == 4 and Carer.objects.count() == 4

    new_phone = csv_file("carers.csv").replace("07700 900201", "07700 900301")
    changed = import_csv(CarerResource, new_phone)
    assert (changed.totals["update"], changed.totals["new"]) == (1, 0)
    assert Carer.objects.count() == 4
    assert str(Carer.objects.get(name="Grace Okafor").phone) == "+447700900301"


@pytest.mark.parametrize(
    "row, column, words",
    [
        ("hai,NOSUCHUPN,Nobody Known,Mother", "pupil_upn", "no pupil with UPN 'NOSUCHUPN'"),
        # Dylan is at St Laurence's, not Heather Avenue: the school decides which pupil.
        ("hai,S802300004001,Nobody Known,Mother", "pupil_upn", "no pupil with UPN"),
        ("sls,,Nobody Known,Mother", "pupil_upn", "Give the UPN"),
        ("zzz,H801200001001,Nobody Known,Mother", "school", "no school"),
    ],
)
def test_carer_for_unknown_pupil_is_a_row_error_and_imports_nothing_of_it(
    school, other_school, row, column, words
):
    import_csv(PupilResource, csv_file("pupils.csv"))
    text = f"school,pupil_upn,name,relationship\nhai,H801200001001,Grace Okafor,Mother\n{row}\n"
    result = import_csv(CarerResource, text)

    assert not result.has_errors()
    [invalid] = result.invalid_rows
    assert invalid.number == 2
    assert words in " ".join(invalid.error_dict[column])
    assert list(Carer.objects.values_list("name", flat=True)) == ["Grace Okafor"]


# The admin's import flow: upload, check (a dry run), confirm.


def upload(client, label, name, text):
    return client.post(
        admin_url(label, "import"),
        {
            "resource": "0",
            "format": "0",
            "import_file": SimpleUploadedFile(name, text.encode("utf-8"), "text/csv"),
        },
    )


def confirm(client, label, checked):
    form = checked.context["confirm_form"]
    return client.post(admin_url(label, "process_import"), form.initial)


def test_admin_import_of_pupils_then_carers(admin_client, school, other_school):
    checked = upload(admin_client, "schools.pupil", "pupils.csv", csv_file("pupils.csv"))
    assert checked.status_code == 200
    assert checked.context["confirm_form"] is not None
    assert Pupil.objects.count() == 0  # only a dry run so far

    done = confirm(admin_client, "schools.pupil", checked)
    assert done.status_code == 302
    assert done.url == admin_url("schools.pupil", "changelist")
    assert Pupil.objects.count() == 4

    # The same file again through the admin: still four pupils.
    checked = upload(admin_client, "schools.pupil", "pupils.csv", csv_file("pupils.csv"))
    assert confirm(admin_client, "schools.pupil", checked).status_code == 302
    assert Pupil.objects.count() == 4

    checked = upload(admin_client, "schools.carer", "carers.csv", csv_file("carers.csv"))
    assert confirm(admin_client, "schools.carer", checked).status_code == 302
    assert Carer.objects.filter(pupil__upn="H801200001002").count() == 2


def test_admin_import_with_unknown_pupil_shows_the_row_error_and_saves_nothing(
    admin_client, school, other_school
):
    import_csv(PupilResource, csv_file("pupils.csv"))
    text = csv_file("carers.csv") + "hai,NOSUCHUPN,Nobody Known,Aunt,yes,,,,yes\n"

    checked = upload(admin_client, "schools.carer", "carers.csv", text)

    assert checked.status_code == 200
    assert "confirm_form" not in checked.context
    assert "no pupil with UPN &#x27;NOSUCHUPN&#x27;" in checked.content.decode()
    assert Carer.objects.count() == 0


def test_import_needs_add_and_change_permission(client, school, visitor):
    visitor.is_staff = True
    visitor.save()
    visitor.user_permissions.add(Permission.objects.get(codename="view_pupil"))
    client.force_login(visitor)

    changelist = client.get(admin_url("schools.pupil", "changelist"))
    assert changelist.status_code == 200
    assert admin_url("schools.pupil", "import") not in changelist.content.decode()
    assert client.get(admin_url("schools.pupil", "import")).status_code == 403
    assert upload(client, "schools.pupil", "pupils.csv", csv_file("pupils.csv")).status_code == 403
    assert Pupil.objects.count() == 0


# A school admin works on their own school only (not a superuser; the "School admins" group).


@pytest.fixture
def two_schools(populated, school, other_school, outsider, office, visitor):
    """School A (`school`, with the visit) and school B (`other_school`), each with a pupil and a
    carer, people with roles at each, a new starter with no role and the trust's superuser."""
    b_pupil = PupilFactory(school=other_school, first_name="Bella", last_name="Bee", upn="B1")
    CarerFactory(pupil=b_pupil, name="Brenda Bee")
    UserFactory(username="newstarter", first_name="Nina", last_name="New")
    UserFactory(username="trust", is_superuser=True, is_staff=True)
    return b_pupil


@pytest.fixture
def a_admin(school_admin):
    return as_school_admin(school_admin)


@pytest.fixture
def a_admin_client(client, a_admin):
    client.force_login(a_admin)
    return client


def listed(client, label, query=""):
    response = client.get(admin_url(label, "changelist") + query)
    assert response.status_code == 200, label
    return set(response.context["cl"].result_list)


def test_school_admin_sees_only_their_schools_records(
    a_admin_client, a_admin, two_schools, school, other_school, outsider, office, visitor
):
    b_pupil = two_schools
    assert listed(a_admin_client, "schools.school") == {school}
    assert listed(a_admin_client, "schools.pupil") == set(Pupil.objects.filter(school=school))
    assert b_pupil not in listed(a_admin_client, "schools.pupil")
    assert listed(a_admin_client, "schools.carer") == set(
        Carer.objects.filter(pupil__school=school)
    )
    assert listed(a_admin_client, "schools.membership") == set(
        Membership.objects.filter(school=school)
    )
    users = {user.username for user in listed(a_admin_client, "auth.user")}
    # A's people and the new starter with no role yet; not B's DSL, not the trust's superuser.
    assert {"schooladmin", "office", "visitor", "partner", "head", "newstarter"} <= users
    assert not users & {"outsider", "trust", "admin"}
    profiles = {p.user.username for p in listed(a_admin_client, "schools.staffprofile")}
    assert "office" in profiles and "outsider" not in profiles
    # Filtering on B by hand finds nothing of B either.
    assert b_pupil not in listed(
        a_admin_client, "schools.pupil", f"?school__id__exact={other_school.pk}"
    )


def test_school_admin_filters_offer_only_their_schools(a_admin_client, two_schools, other_school):
    response = a_admin_client.get(admin_url("schools.pupil", "changelist"))
    assert "Heather Avenue" in response.content.decode()
    assert "St Laurence" not in response.content.decode()
    users = a_admin_client.get(admin_url("auth.user", "changelist"))
    assert "St Laurence" not in users.content.decode()
    assert "is_superuser" not in users.content.decode()


def test_school_admin_gets_the_does_not_exist_redirect_for_other_schools_records(
    a_admin_client, two_schools, other_school, outsider
):
    b_pupil = two_schools
    records = {
        "schools.pupil": b_pupil,
        "schools.carer": b_pupil.carers.get(),
        "schools.school": other_school,
        "schools.membership": Membership.objects.filter(school=other_school).first(),
        "auth.user": outsider,
        "schools.staffprofile": outsider.staff_profile,
    }
    for label, obj in records.items():
        page = a_admin_client.get(admin_url(label, "change", obj.pk))
        assert page.status_code == 302, label
        assert "Bella" not in a_admin_client.get(page.url).content.decode()
    a_admin_client.post(admin_url("schools.pupil", "change", b_pupil.pk), {"first_name": "X"})
    b_pupil.refresh_from_db()
    assert b_pupil.first_name == "Bella"


def test_school_admin_may_not_add_or_delete_a_school(a_admin_client, two_schools, school):
    assert a_admin_client.get(admin_url("schools.school", "add")).status_code == 403
    assert a_admin_client.get(admin_url("schools.school", "delete", school.pk)).status_code == 403
    assert a_admin_client.get(admin_url("schools.school", "change", school.pk)).status_code == 200
    assert School.objects.count() == 2


def test_school_admin_cannot_give_a_role_at_another_school(
    a_admin_client, two_schools, school, other_school
):
    starter = get_user_model().objects.get(username="newstarter")
    url = admin_url("schools.membership", "add")
    form = a_admin_client.get(url).context["adminform"].form
    assert set(form.fields["school"].queryset) == {school}

    refused = a_admin_client.post(
        url, {"user": starter.pk, "school": other_school.pk, "role": Role.DSL}
    )
    assert refused.status_code == 200
    assert "school" in refused.context["adminform"].form.errors
    assert not Membership.objects.filter(user=starter).exists()

    given = a_admin_client.post(
        url, {"user": starter.pk, "school": school.pk, "role": Role.VISITING_STAFF}
    )
    assert given.status_code == 302
    assert Membership.objects.filter(user=starter, school=school).exists()


def test_school_admin_never_sees_or_sets_superuser_groups_or_permissions(
    a_admin_client, two_schools, visitor
):
    url = admin_url("auth.user", "change", visitor.pk)
    page = a_admin_client.get(url)
    assert page.status_code == 200
    fields = page.context["adminform"].form.fields
    assert not {"is_superuser", "groups", "user_permissions"} & set(fields)
    assert "is_superuser" not in page.content.decode()

    data = form_data(page)
    data.update({"is_superuser": "on", "groups": [str(school_admins_group().pk)]})
    data["first_name"] = "Victoria"
    assert a_admin_client.post(url, data).status_code == 302
    visitor.refresh_from_db()
    assert visitor.first_name == "Victoria"
    assert not visitor.is_superuser
    assert not visitor.groups.filter(name="School admins").exists()


def test_school_admin_may_only_view_someone_who_also_works_at_another_school(
    a_admin_client, two_schools, visitor, other_school
):
    """A password or email set here would reach the other school's visits too (A8)."""
    Membership.objects.create(user=visitor, school=other_school, role=Role.DSL)
    url = admin_url("auth.user", "change", visitor.pk)
    page = a_admin_client.get(url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert a_admin_client.post(url, {"first_name": "X"}).status_code == 403
    password = a_admin_client.get(admin_url("auth.user", "password_change", visitor.pk))
    assert password.status_code == 403
    # Only their roles at the admin's school are shown.
    roles = a_admin_client.get(admin_url("auth.user", "changelist")).content.decode()
    assert "at sls" not in roles


def test_school_admin_adds_a_new_starter_with_a_role_at_their_school_only(
    a_admin_client, two_schools, school, other_school
):
    def add(username, at):
        # A8: name, email and username, no password: the new person sets their own.
        return a_admin_client.post(
            admin_url("auth.user", "add"),
            {
                "username": username,
                "first_name": "Sam",
                "last_name": "Starter",
                "email": f"{username}@example.org",
                "staff_profile-TOTAL_FORMS": "0",
                "staff_profile-INITIAL_FORMS": "0",
                "memberships-TOTAL_FORMS": "1",
                "memberships-INITIAL_FORMS": "0",
                "memberships-0-school": str(at.pk),
                "memberships-0-role": Role.VISITING_STAFF,
            },
        )

    refused = add("starter-b", other_school)
    assert refused.status_code == 200
    [inline] = [
        f for f in refused.context["inline_admin_formsets"] if f.formset.prefix == "memberships"
    ]
    assert "school" in inline.formset.forms[0].errors
    assert not get_user_model().objects.filter(username="starter-b").exists()

    added = add("starter-a", school)
    assert added.status_code == 302
    starter = get_user_model().objects.get(username="starter-a")
    assert not starter.is_superuser
    assert not starter.has_usable_password()  # nobody but them will know it (A8)
    assert list(starter.memberships.values_list("school", "role")) == [
        (school.pk, Role.VISITING_STAFF)
    ]
    page = a_admin_client.get(admin_url("auth.user", "change", starter.pk))
    assert page.status_code == 200
    [inline] = [
        f for f in page.context["inline_admin_formsets"] if f.formset.prefix == "memberships"
    ]
    assert set(inline.formset.forms[0].fields["school"].queryset) == {school}


def test_school_admin_pupil_form_offers_only_their_school_and_its_staff(
    a_admin_client, two_schools, school, outsider, visitor
):
    form = a_admin_client.get(admin_url("schools.pupil", "add")).context["adminform"].form
    assert set(form.fields["school"].queryset) == {school}
    assert visitor in form.fields["key_worker"].queryset
    assert outsider not in form.fields["key_worker"].queryset
    carer_form = a_admin_client.get(admin_url("schools.carer", "add")).context["adminform"].form
    assert set(carer_form.fields["pupil"].queryset) == set(Pupil.objects.filter(school=school))


def test_school_admin_sees_no_visit_in_the_admin(a_admin_client, populated):
    """A8: the group's view permission on visits shows only visits their roles let them see;
    the school admin role alone lets them see none."""
    assert a_admin_client.get(reverse("admin:index")).status_code == 200
    for label in VISIT_RECORDS:
        assert listed(a_admin_client, label) == set(), label
    page = a_admin_client.get(admin_url("visits.visit", "change", populated.pk))
    assert page.status_code == 302


def test_superuser_still_sees_every_school_in_the_schools_admin(admin_client, two_schools):
    b_pupil = two_schools
    assert b_pupil in listed(admin_client, "schools.pupil")
    assert listed(admin_client, "schools.school") == set(School.objects.all())
    assert admin_client.get(admin_url("schools.pupil", "change", b_pupil.pk)).status_code == 200
    page = admin_client.get(
        admin_url("auth.user", "change", b_pupil.school.memberships.first().user.pk)
    )
    assert "is_superuser" in page.context["adminform"].form.fields


def test_school_admin_import_of_another_schools_row_is_a_row_error(
    a_admin_client, a_admin, school, other_school
):
    checked = upload(a_admin_client, "schools.pupil", "pupils.csv", csv_file("pupils.csv"))

    assert checked.status_code == 200
    assert "confirm_form" not in checked.context
    assert "You do not administer school &#x27;sls&#x27;" in checked.content.decode()
    assert Pupil.objects.count() == 0

    # Straight through the resource, as the admin builds it: B's row is refused, A's import.
    result = import_csv(PupilResource, csv_file("pupils.csv"), user=a_admin)
    [invalid] = result.invalid_rows
    assert invalid.number == 4
    assert "You do not administer school 'sls'" in " ".join(invalid.error_dict["school"])
    assert not Pupil.objects.filter(school=other_school).exists()
    assert Pupil.objects.filter(school=school).count() == 3


def test_school_admin_carer_import_for_another_school_saves_nothing_of_it(
    a_admin_client, a_admin, school, other_school
):
    import_csv(PupilResource, csv_file("pupils.csv"))
    text = "school,pupil_upn,name,relationship\nsls,S802300004001,Karen Price,Mother\n"

    checked = upload(a_admin_client, "schools.carer", "carers.csv", text)

    assert "confirm_form" not in checked.context
    assert "You do not administer school" in checked.content.decode()
    assert not Carer.objects.exists()


def test_school_admin_imports_their_own_schools_file(a_admin_client, school):
    text = "school,upn,first_name,last_name,date_of_birth,address\nhai,X1,Ann,One,2017-01-01,1 Rd\n"
    checked = upload(a_admin_client, "schools.pupil", "pupils.csv", text)
    assert checked.context["confirm_form"] is not None
    assert confirm(a_admin_client, "schools.pupil", checked).status_code == 302
    assert Pupil.objects.get(upn="X1").school == school


def test_school_admin_export_holds_only_their_schools_pupils(a_admin_client, two_schools):
    url = admin_url("schools.pupil", "export")
    form = a_admin_client.get(url).context["form"]
    columns = [name for name, field in form.fields.items() if hasattr(field, "resource_index")]
    response = a_admin_client.post(
        url, {"format": "0", "resource": "0", **dict.fromkeys(columns, "on")}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    content = response.content.decode()
    assert "Poppy" in content and "Bella" not in content


def test_a8_a_school_admin_can_take_away_the_role_of_someone_who_leaves(
    client, school, school_admin, office
):
    from schools.models import Membership

    client.force_login(as_school_admin(school_admin))
    membership = Membership.objects.get(user=office, school=school)

    response = client.post(
        admin_url("schools.membership", "delete", membership.pk), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert not office.groups.filter(name=f"school-{school.pk}-oversight").exists()


def test_every_installation_has_the_school_admins_group_after_migrate(db):
    from django.contrib.auth.models import Group

    from schools.services import SCHOOL_ADMINS_GROUP

    group = Group.objects.get(name=SCHOOL_ADMINS_GROUP)
    assert group.permissions.filter(codename="delete_membership").exists()
