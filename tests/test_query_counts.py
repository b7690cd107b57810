"""The list pages cost the same number of queries with 3 visits as with 30 (no N+1)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from visits import services

from .conftest import make_visit
from .factories import next_weekday_at


def _add_visits(count, *, pupil, by, staff, head=None):
    for index in range(count):
        start = next_weekday_at(9, days_ahead=1) + datetime.timedelta(minutes=15 * index)
        visit = make_visit(
            pupil=pupil,
            by=by,
            staff=staff,
            details={"planned_start": start, "expected_end": start + datetime.timedelta(hours=1)},
            submit=True,
        )
        if head is not None and index % 2:
            services.visit_authorise(
                visit=visit, by=head, expected_version=visit.version, confirmed=True
            )


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    "who, url",
    [
        ("office", lambda pupil: reverse("schedule") + "?day=" + _tomorrow()),
        ("head", lambda pupil: reverse("queue")),
        ("visitor", lambda pupil: reverse("my-visits")),
        ("office", lambda pupil: reverse("pupil-detail", args=[pupil.pk])),
    ],
    ids=["schedule", "queue", "my-visits", "pupil-detail"],
)
def test_list_pages_do_not_grow_queries_with_visits(
    client, request, who, url, pupil, office, head, visitor, partner
):
    client.force_login(request.getfixturevalue(who))
    _add_visits(3, pupil=pupil, by=office, staff=[visitor, partner], head=head)
    few = _queries(client, url(pupil))
    _add_visits(27, pupil=pupil, by=office, staff=[visitor, partner], head=head)
    many = _queries(client, url(pupil))
    assert many <= few, f"{few} queries with 3 visits but {many} with 30"


def _tomorrow():
    return (next_weekday_at(9, days_ahead=1)).date().isoformat()
