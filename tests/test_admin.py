"""The admin: every model's pages, read-only visits (every change goes through the services),
A8 in the admin, and CSV import of pupils and carers."""

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
from schools.models import Carer, Membership, Pupil, Role
from schools.resources import CarerResource, PupilResource
from schools.services import school_oversight_group
from visits import services
from visits.admin import READ_ONLY_NOTE
from visits.models import VisitEvent

from .conftest import make_visit
from .factories import CarerFactory, PupilFactory, member

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


def admin_url(label, view, *args):
    app_label, model_name = label.split(".")
    return reverse(f"admin:{app_label}_{model_name}_{view}", args=args)


def csv_file(name):
    return (FIXTURES / name).read_text(encoding="utf-8")


def dataset(text):
    return tablib.Dataset().load(text, format="csv")


def import_csv(resource_class, text):
    return resource_class().import_data(dataset(text), dry_run=False)


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
def test_changelist_and_change_page_render_for_superuser(admin_client, populated, label):
    model = apps.get_model(label)
    obj = model._default_manager.first()
    assert obj is not None

    changelist = admin_client.get(admin_url(label, "changelist"))
    assert changelist.status_code == 200
    assert changelist.context["cl"].result_count >= 1

    page = admin_client.get(admin_url(label, "change", obj.pk))
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
def test_changelist_search_and_filters_find_the_record(admin_client, populated, label, query):
    response = admin_client.get(admin_url(label, "changelist") + "?" + query)
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1


def test_visit_changelist_shows_local_start_staff_and_pairing(admin_client, populated):
    response = admin_client.get(admin_url("visits.visit", "changelist"))
    content = response.content.decode()
    assert "Vic Visitor, Pat Partner" in content
    assert "10:00" in content  # planned for 10:00 local time, whatever UTC says
    day = populated.planned_start
    drill = admin_client.get(
        admin_url("visits.visit", "changelist") + f"?planned_start__year={day:%Y}"
    )
    assert drill.status_code == 200


@pytest.mark.parametrize(
    "label",
    [*VISIT_RECORDS, "schools.pupil", "schools.carer", "schools.membership", "auth.user"],
)
def test_changelist_queries_do_not_grow_with_rows(
    admin_client, populated, label, school, office, visitor, partner, head
):
    url = admin_url(label, "changelist")
    admin_client.get(url)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(url).status_code == 200

    for _ in range(3):
        pupil = PupilFactory(school=school)
        CarerFactory(pupil=pupil)
        visit = make_visit(pupil=pupil, by=office, staff=[visitor, partner], submit=True)
        services.visit_authorise(
            visit=visit, by=head, expected_version=visit.version, confirmed=True
        )
        member(school, Role.VISITING_STAFF)
    with CaptureQueriesContext(connection) as many:
        assert admin_client.get(url).status_code == 200

    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_pupil_and_carer_import_and_export_pages_render(admin_client, school):
    for label in ("schools.pupil", "schools.carer"):
        assert admin_client.get(admin_url(label, "import")).status_code == 200
        assert admin_client.get(admin_url(label, "export")).status_code == 200


# Visits are read-only in the admin: every change goes through visits/services.py.


def test_visit_admin_has_no_add_link_and_explains_why(admin_client, populated):
    response = admin_client.get(admin_url("visits.visit", "changelist"))
    content = response.content.decode()
    assert admin_url("visits.visit", "add") not in content
    assert escape(READ_ONLY_NOTE) in content
    assert "delete_selected" not in content

    page = admin_client.get(admin_url("visits.visit", "change", populated.pk))
    assert READ_ONLY_NOTE in page.content.decode()  # fieldset descriptions are not escaped
    assert 'name="_save"' not in page.content.decode()


@pytest.mark.parametrize("label", VISIT_RECORDS)
def test_visit_records_refuse_add_change_and_delete(admin_client, populated, label):
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


def test_visit_admin_post_leaves_visit_and_timeline_untouched(admin_client, populated):
    events = VisitEvent.objects.filter(visit=populated).count()
    version = populated.version
    response = admin_client.post(
        admin_url("visits.visit", "change", populated.pk),
        {"address": "Somewhere else", "status": "draft", "version": "1"},
    )
    assert response.status_code == 403
    populated.refresh_from_db()
    assert (populated.status, populated.version) == ("authorised", version)
    assert "Somewhere else" not in populated.address
    assert VisitEvent.objects.filter(visit=populated).count() == events


# A8 holds in the admin for staff who are not superusers.


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
    assert visitor.staff_profile.mobile == "07700 900999"
    # The signal put them in the other school's oversight group (A8).
    assert visitor.groups.filter(pk=school_oversight_group(school=other_school).pk).exists()


def test_membership_user_cannot_be_moved_to_someone_else(admin_client, visitor):
    membership = Membership.objects.get(user=visitor)
    page = admin_client.get(admin_url("schools.membership", "change", membership.pk))
    assert page.status_code == 200
    assert "user" not in page.context["adminform"].form.fields
    assert "school" in page.context["adminform"].form.fields


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
    assert Carer.objects.get(name="Grace Okafor").phone == "07700 900301"


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
