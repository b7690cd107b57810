"""Bad input on the record's pages gets a clear 4xx, never a 500, and changes nothing stored
(found by review: digits that are not ASCII, nested JSON, dates at the calendar's end, NUL)."""

import pytest

from safeguarding.models import Minutes, Signature
from safeguarding.services import minutes as minutes_services
from visits import services
from visits.rules import RuleBroken


@pytest.fixture
def draft(authorised_visit, visitor):
    services.visit_arrive(visit=authorised_visit, by=visitor, now=authorised_visit.planned_start)
    minutes = minutes_services.minutes_start(visit=authorised_visit, by=visitor)
    minutes_services.minutes_save_draft(
        minutes=minutes, by=visitor, changes={"discussed": {"base": "", "value": "Kept."}}
    )
    return minutes


@pytest.mark.parametrize(
    "body",
    [
        '{"changes": {"action_plan": {"base": [], "value": '
        '[{"description": "x", "owner": "\\u00b2", "due_on": ""}]}}}',
        '{"changes": {"action_plan": {"base": [], "value": '
        '[{"description": "x", "owner": "' + "9" * 5000 + '", "due_on": ""}]}}}',
        '{"changes": {"action_plan": {"base": [], "value": '
        '[{"description": "x", "owner": 1e400, "due_on": ""}]}}}',
        '{"changes": {"further_visit_on": {"base": null, "value": "9999-12-31"}}}',
        '{"changes": {"discussed": {"base": "Kept.", "value": "nul \\u0000 here"}}}',
        "[" * 100_000 + "]" * 100_000,
    ],
    ids=["superscript-owner", "huge-owner", "float-owner", "year-9999", "nul", "nested"],
)
def test_a_bad_autosave_is_a_400_with_a_reason_and_keeps_the_draft(client, visitor, draft, body):
    client.force_login(visitor)
    response = client.post(
        f"/visits/{draft.visit_id}/minutes/save/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]
    assert Minutes.objects.get(pk=draft.pk).discussed == "Kept."


@pytest.mark.parametrize(
    "url",
    [
        "/pupils/{pupil}/file/?date_to=9999-12-31",
        "/monitoring/?term=custom&date_from=2026-01-01&date_to=9999-12-31",
        "/monitoring/export.csv?term=custom&date_from=2026-01-01&date_to=9999-12-31",
        "/minutes/cpoms.csv?from=2026-01-01&to=9999-12-31",
        "/monitoring/?school=%C2%B2",
        "/concerns/new/?visit=%C2%B2",
    ],
)
def test_dates_at_the_calendars_end_and_odd_ids_are_refused_not_a_500(client, dsl, pupil, url):
    client.force_login(dsl)
    response = client.get(url.format(pupil=pupil.pk))
    assert response.status_code < 500


def test_a_signer_name_with_nul_is_refused(draft, visitor):
    with pytest.raises(RuleBroken, match="cannot be stored"):
        minutes_services.minutes_sign(
            minutes=draft,
            by=visitor,
            signer_role="carer",
            signer_name="Mary\x00",
            png=b"\x89PNG\r\n\x1a\n" + b"\x00" * 10,
        )
    assert not Signature.objects.exists()
