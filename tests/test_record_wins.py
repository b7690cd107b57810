"""The pupil's record wins over an old answer (issue 12, item 7): P5, P6, D4.

The last risk assessment is offered as the starting point (P5), but a flag on the pupil's record
(a dog at the home, previous aggression) is what the school knows now: it fills the answer, and a
"no" against it is refused unless, for animals, the planner says why.
"""

import datetime
import re

import pytest
from django.urls import reverse

from visits import services
from visits.models import RiskAssessment

from .conftest import make_visit
from .factories import RISK_ANSWERS

FLAGS = [
    # (the record's flag, the risk question, the rule the refusal names)
    ("has_animals", "animals", "D4"),
    ("previous_aggression", "previous_aggression", "P6"),
]


def _checked(content, name, value):
    """Whether the radio `name`=`value` is ticked on the page."""
    for tag in re.findall(r"<input[^>]*>", content):
        if f'name="{name}"' in tag and f'value="{value}"' in tag:
            return "checked" in tag
    raise AssertionError(f"No {name}={value} radio on the page.")


def _form(visit, **overrides):
    data = {
        name: ("yes" if value is True else "no" if value is False else value)
        for name, value in RISK_ANSWERS.items()
    }
    visit.refresh_from_db()
    data["version"] = visit.version
    data.update(overrides)
    return data


@pytest.fixture
def earlier_said_no(pupil, office, visitor, partner):
    """An earlier visit whose assessment said no animals and no aggression, then a new visit."""
    first = make_visit(pupil=pupil, by=office, staff=[visitor, partner])
    assert first.risk_assessment.animals is False
    assert first.risk_assessment.previous_aggression is False
    later = make_visit(pupil=pupil, by=office, staff=[visitor, partner], risk=False)
    return later


@pytest.mark.parametrize("flag, question, rule", FLAGS)
def test_record_flag_wins_over_the_last_assessments_no_on_first_display(
    client, office, pupil, earlier_said_no, flag, question, rule
):
    setattr(pupil, flag, True)
    pupil.save()
    client.force_login(office)

    response = client.get(reverse("visit-risk", args=[earlier_said_no.pk]))

    content = response.content.decode()
    assert "Started from the last assessment" in content  # P5: still offered
    assert _checked(content, question, "yes")
    assert not _checked(content, question, "no")


def test_d4_no_animals_typed_against_the_record_is_refused_and_what_was_typed_is_kept(
    client, office, pupil, earlier_said_no
):
    pupil.has_animals = True
    pupil.save()
    client.force_login(office)
    url = reverse("visit-risk", args=[earlier_said_no.pk])

    response = client.post(url, _form(earlier_said_no, animals="no", unknowns="Typed today."))

    assert response.status_code == 200
    content = response.content.decode()
    assert "The pupil&#x27;s record says there are animals at the home (D4)" in content
    assert "Typed today." in content
    assert _checked(content, "animals", "no")  # what was typed comes back, with the refusal
    assert not RiskAssessment.objects.filter(visit=earlier_said_no).exists()


def test_d4_no_animals_with_the_reason_written_is_accepted(client, office, pupil, earlier_said_no):
    pupil.has_animals = True
    pupil.save()
    client.force_login(office)

    response = client.post(
        reverse("visit-risk", args=[earlier_said_no.pk]),
        _form(earlier_said_no, animals="no", animals_details="The dog was rehomed in May."),
    )

    assert response.status_code == 302
    risk = RiskAssessment.objects.get(visit=earlier_said_no)
    assert risk.animals is False
    assert risk.animals_details == "The dog was rehomed in May."


def test_d4_explained_no_stays_when_the_visits_own_assessment_is_opened_again(
    client, office, pupil, earlier_said_no
):
    pupil.has_animals = True
    pupil.save()
    services.risk_assessment_record(
        visit=earlier_said_no,
        by=office,
        answers={**RISK_ANSWERS, "animals": False, "animals_details": "Dog rehomed in May."},
    )
    client.force_login(office)

    content = client.get(reverse("visit-risk", args=[earlier_said_no.pk])).content.decode()

    assert _checked(content, "animals", "no")


def test_d4_unexplained_no_saved_before_the_record_changed_shows_yes_when_reopened(
    client, office, pupil, earlier_said_no
):
    services.risk_assessment_record(visit=earlier_said_no, by=office, answers=RISK_ANSWERS)
    pupil.has_animals = True  # a dog is reported after the assessment was written
    pupil.save()
    client.force_login(office)

    content = client.get(reverse("visit-risk", args=[earlier_said_no.pk])).content.decode()

    assert _checked(content, "animals", "yes")


@pytest.mark.parametrize("details", ["", "They said it will not happen again."])
def test_p6_no_aggression_against_the_record_is_refused_even_with_a_reason(
    client, office, pupil, earlier_said_no, details
):
    pupil.previous_aggression = True
    pupil.save()
    client.force_login(office)

    response = client.post(
        reverse("visit-risk", args=[earlier_said_no.pk]),
        _form(earlier_said_no, previous_aggression="no", previous_aggression_details=details),
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert "previous contact led to anger or aggression (P5, P6): answer yes" in content
    assert not RiskAssessment.objects.filter(visit=earlier_said_no).exists()


def test_record_flag_answers_yes_when_the_form_comes_back_without_an_answer(
    client, office, pupil, earlier_said_no
):
    pupil.has_animals = True
    pupil.save()
    client.force_login(office)
    data = _form(earlier_said_no, known_about_family="")
    del data["animals"]

    response = client.post(reverse("visit-risk", args=[earlier_said_no.pk]), data)

    assert response.status_code == 200  # refused: what is known about the family is needed
    assert _checked(response.content.decode(), "animals", "yes")


def test_no_against_a_record_without_the_flag_is_still_accepted(client, office, earlier_said_no):
    client.force_login(office)

    response = client.post(reverse("visit-risk", args=[earlier_said_no.pk]), _form(earlier_said_no))

    assert response.status_code == 302
    assert RiskAssessment.objects.get(visit=earlier_said_no).animals is False


def test_p5_social_worker_on_the_record_fills_a_blank_old_answer(
    client, office, pupil, earlier_said_no
):
    RiskAssessment.objects.exclude(visit=earlier_said_no).update(
        other_professionals="", completed_at=datetime.datetime(2026, 1, 5, tzinfo=datetime.UTC)
    )
    pupil.social_worker_name = "Sally Worker"
    pupil.save()
    client.force_login(office)

    content = client.get(reverse("visit-risk", args=[earlier_said_no.pk])).content.decode()

    assert "Sally Worker" in content
