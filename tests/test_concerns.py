"""Safeguarding concerns (A5, A8): raised by any member of staff, to the DSL at once, seen only
by the DSL, deputies, headteacher and the person who raised them."""

import pytest
from django.urls import reverse

from notifications.models import Notification
from safeguarding import services
from safeguarding.models import Concern, ConcernEvent, ConcernStatus
from schools.models import Membership
from visits.rules import RuleBroken

ACCOUNT = "Bruise on left cheek; Poppy said 'Dad was cross' when asked. Seen 10:20 at the door."


@pytest.fixture
def concern(pupil, visitor, dsl, deputy, head):
    return services.concern_raise(pupil=pupil, by=visitor, account=ACCOUNT)


def test_a5_a_concern_reaches_the_dsl_and_deputies_at_once_without_its_content(
    pupil, visitor, dsl, deputy, head, office
):
    concern = services.concern_raise(pupil=pupil, by=visitor, account=ACCOUNT)

    rows = list(Notification.objects.all())
    assert {row.recipient for row in rows} == {dsl, deputy}
    assert {row.channel for row in rows} == {"email", "sms"}
    for row in rows:
        assert "Bruise" not in row.body and "Poppy" not in row.body and "Poppy" not in row.subject
        assert reverse("concern-detail", args=[concern.pk]) in row.body


def test_a5_a_concern_with_nothing_written_is_refused(pupil, visitor):
    with pytest.raises(RuleBroken, match="what you saw or heard"):
        services.concern_raise(pupil=pupil, by=visitor, account="   ")
    assert not Concern.objects.exists()


def test_a5_the_form_keeps_the_pupil_when_the_account_is_missing(client, visitor, pupil):
    client.force_login(visitor)

    response = client.post(reverse("concern-create"), {"pupil": pupil.pk, "account": ""})

    assert response.status_code == 400
    assert f'value="{pupil.pk}" selected' in response.content.decode()


def test_a5_raised_from_a_visit_page_it_names_the_visit(client, visitor, authorised_visit):
    client.force_login(visitor)

    response = client.post(
        reverse("concern-create") + f"?visit={authorised_visit.pk}",
        {"pupil": authorised_visit.pupil_id, "account": ACCOUNT, "visit": authorised_visit.pk},
    )

    concern = Concern.objects.get()
    assert response.url == reverse("concern-detail", args=[concern.pk])
    assert concern.visit == authorised_visit and concern.raised_by == visitor


def test_another_schools_pupil_cannot_be_chosen(client, visitor, other_school):
    from .factories import PupilFactory

    theirs = PupilFactory(school=other_school)
    client.force_login(visitor)

    response = client.post(reverse("concern-create"), {"pupil": theirs.pk, "account": ACCOUNT})

    assert response.status_code == 400
    assert not Concern.objects.exists()


# Who sees it (A8) ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["dsl", "deputy", "head", "visitor"])
def test_a8_the_dsl_deputies_headteacher_and_raiser_read_the_concern(client, request, concern, who):
    client.force_login(request.getfixturevalue(who))

    response = client.get(reverse("concern-detail", args=[concern.pk]))

    assert response.status_code == 200
    assert "Bruise on left cheek" in response.content.decode()


@pytest.mark.parametrize(
    "who", ["office", "slt", "partner", "colleague", "school_admin", "outsider"]
)
@pytest.mark.parametrize("name", ["concern-detail", "concern-triage", "concern-close"])
def test_a8_everyone_else_gets_404_and_changes_nothing(client, request, concern, who, name):
    client.force_login(request.getfixturevalue(who))
    url = reverse(name, args=[concern.pk])

    response = (
        client.get(url)
        if name == "concern-detail"
        else client.post(url, {"category": "neglect", "referral": "none", "outcome": "x"})
    )

    assert response.status_code == 404
    concern.refresh_from_db()
    assert concern.status == ConcernStatus.RAISED


def test_a8_a_concern_is_not_in_a_colleagues_list_but_is_in_the_dsls(
    client, concern, colleague, dsl
):
    client.force_login(colleague)
    assert client.get(reverse("concern-list")).context["open"] == []
    client.force_login(dsl)
    assert client.get(reverse("concern-list")).context["open"] == [concern]


def test_a8_the_raiser_who_leaves_the_school_loses_sight_of_it(client, concern, visitor):
    Membership.objects.filter(user=visitor).delete()
    client.force_login(visitor)

    assert client.get(reverse("concern-detail", args=[concern.pk])).status_code == 404


def test_a8_every_reading_is_audited_and_the_audit_is_for_the_dsl_and_head(
    client, concern, head, visitor
):
    client.force_login(head)
    client.get(reverse("concern-detail", args=[concern.pk]))
    client.force_login(visitor)
    page = client.get(reverse("concern-detail", args=[concern.pk]))

    assert list(concern.events.values_list("kind", "by__username")) == [
        ("raised", "visitor"),
        ("viewed", "head"),
        ("viewed", "visitor"),
    ]
    assert page.context["audit"] is None  # the raiser does not see who else read it


def test_audit_rows_cannot_be_deleted_with_their_concern(concern):
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        concern.delete()
    assert ConcernEvent.objects.filter(concern=concern).exists()


# Triage and closing (the DSL) --------------------------------------------------------------


def test_the_dsl_triages_with_a_referral_and_its_reference_then_closes(client, concern, dsl):
    client.force_login(dsl)
    client.post(
        reverse("concern-triage", args=[concern.pk]),
        {
            "category": "physical",
            "referral": "childrens_social_care",
            "referral_reference": "CSC-77812",
            "note": "DSL to call the social worker today.",
        },
    )
    client.post(reverse("concern-close", args=[concern.pk]), {"outcome": "Strategy meeting held."})

    concern.refresh_from_db()
    assert concern.status == ConcernStatus.CLOSED
    assert (concern.category, concern.referral_reference) == ("physical", "CSC-77812")
    assert concern.triaged_by == dsl and concern.closed_by == dsl


def test_a_referral_without_its_reference_is_refused_on_the_form(client, concern, deputy):
    client.force_login(deputy)

    response = client.post(
        reverse("concern-triage", args=[concern.pk]),
        {"category": "neglect", "referral": "police", "note": "Called 101."},
    )

    assert response.status_code == 400
    assert "reference number" in response.content.decode()
    assert "Called 101." in response.content.decode()
    concern.refresh_from_db()
    assert concern.status == ConcernStatus.RAISED


def test_the_headteacher_reads_but_does_not_triage(client, concern, head):
    client.force_login(head)

    response = client.post(
        reverse("concern-triage", args=[concern.pk]), {"category": "neglect", "referral": "none"}
    )

    assert response.status_code == 400
    assert "DSL or a deputy DSL" in response.content.decode()
    concern.refresh_from_db()
    assert concern.status == ConcernStatus.RAISED


def test_a_concern_is_not_closed_before_it_is_triaged(concern, dsl):
    with pytest.raises(RuleBroken, match="Triage the concern"):
        services.concern_close(concern=concern, by=dsl, outcome="Nothing further.")


def test_a8_in_the_admin_only_the_dsl_deputies_and_head_see_concerns(client, concern, dsl, office):
    for person in (dsl, office):
        person.is_staff = person.is_superuser = True
        person.save()
        from .factories import enrol_totp

        enrol_totp(person)  # a superuser signs in with a second factor
    url = reverse("admin:safeguarding_concern_changelist")

    client.force_login(dsl)
    assert client.get(url).context["cl"].result_count == 1
    client.force_login(office)  # a superuser, but not one who may read concerns
    assert client.get(url).context["cl"].result_count == 0


# New concerns in the menu (A5: "notified at once, in the app") ---------------------------------


def _badge(client, user):
    client.force_login(user)
    page = client.get(reverse("my-actions")).content.decode()
    return page


def test_a5_the_dsl_and_deputies_see_a_new_concern_badge_until_they_open_it(
    client, concern, dsl, deputy
):
    page = _badge(client, dsl)
    assert 'data-testid="new-concerns"' in page
    assert client.get(reverse("concern-list")).context["new"] == 1

    client.get(reverse("concern-detail", args=[concern.pk]))

    assert 'data-testid="new-concerns"' not in _badge(client, dsl)
    # Each reader's own: the deputy has not opened it yet.
    assert 'data-testid="new-concerns"' in _badge(client, deputy)


def test_a5_the_badge_counts_only_concerns_awaiting_the_dsl(
    client, concern, pupil, visitor, dsl, deputy
):
    from safeguarding.services import concerns_unread

    services.concern_raise(pupil=pupil, by=visitor, account="Second concern.")
    assert concerns_unread(dsl).count() == 2
    services.concern_triage(concern=concern, by=deputy, category="neglect", referral="none")

    assert concerns_unread(dsl).count() == 1
    assert ">1<span" in _badge(client, dsl)


def test_a5_a_concern_the_dsl_raised_is_not_new_to_them(client, pupil, dsl, deputy):
    services.concern_raise(pupil=pupil, by=dsl, account=ACCOUNT)

    assert 'data-testid="new-concerns"' not in _badge(client, dsl)
    assert 'data-testid="new-concerns"' in _badge(client, deputy)


@pytest.mark.parametrize("who", ["visitor", "head", "office", "slt", "colleague", "outsider"])
def test_a5_a8_no_one_else_ever_sees_the_new_concern_badge(client, request, concern, who):
    page = _badge(client, request.getfixturevalue(who))

    assert 'data-testid="new-concerns"' not in page


def test_a5_the_concern_list_marks_each_new_concern_for_the_dsl(client, concern, pupil, dsl):
    other = services.concern_raise(pupil=pupil, by=dsl, account="Raised by the DSL.")
    client.force_login(dsl)

    response = client.get(reverse("concern-list"))

    marks = {c.pk: c.is_new for c in response.context["open"]}
    assert marks == {concern.pk: True, other.pk: False}
    assert "1 new" in response.content.decode()


def test_a5_the_menu_counts_cost_one_query_each_and_none_for_the_concerns_of_others(
    rf, dsl, visitor, concern, django_assert_num_queries
):
    from safeguarding.context_processors import records

    def menu(user):
        request = rf.get("/")
        request.user = type(user).objects.get(pk=user.pk)  # roles not cached yet
        return records(request)["records_menu"]

    dsl_menu, visitor_menu = menu(dsl), menu(visitor)
    with django_assert_num_queries(3):  # roles, new concerns, my overdue actions
        assert dsl_menu["new_concerns"] == 1
    with django_assert_num_queries(2) as captured:  # roles, my overdue actions
        assert visitor_menu["new_concerns"] == 0
    assert not any("safeguarding_concern" in q["sql"] for q in captured.captured_queries)


# The menu: my actions (A7) and monitoring (A9) ---------------------------------------------------


def test_a7_my_actions_is_in_the_menu_with_my_overdue_count(client, concern, dsl, colleague):
    import datetime

    from django.utils import timezone

    from safeguarding.models import Action

    client.force_login(colleague)
    page = client.get(reverse("concern-list")).content.decode()
    assert 'data-testid="nav-actions"' in page and 'data-testid="overdue-actions"' not in page

    for days in (1, 2):
        Action.objects.create(
            school=concern.school,
            pupil=concern.pupil,
            concern=concern,
            owner=colleague,
            created_by=dsl,
            description="Late",
            due_on=timezone.localdate() - datetime.timedelta(days=days),
        )
    page = client.get(reverse("concern-list")).content.decode()
    assert 'data-testid="overdue-actions"' in page and ">2<span" in page


def _with_monitoring():
    from django.http import HttpResponse
    from django.urls import path

    from homevisits.urls import urlpatterns

    return [*urlpatterns, path("monitoring-for-test/", HttpResponse, name="monitoring")]


urlpatterns = _with_monitoring()


@pytest.mark.urls("tests.test_concerns")
@pytest.mark.parametrize(
    "who, shown",
    [("head", True), ("dsl", True), ("deputy", True), ("slt", True)]
    + [("office", False), ("visitor", False), ("colleague", False), ("school_admin", False)],
)
def test_a9_monitoring_is_in_the_menu_for_head_dsl_deputies_and_slt(client, request, who, shown):
    client.force_login(request.getfixturevalue(who))

    page = client.get(reverse("my-actions")).content.decode()

    assert ('data-testid="nav-monitoring"' in page) is shown
