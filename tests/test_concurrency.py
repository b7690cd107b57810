"""P1/P2: two authorisers acting at the same moment; exactly one decision wins.

Real threads on real connections: only PostgreSQL has the row locks this relies on, so the test
runs there (CI runs it) and says why it skips on SQLite.
"""

import threading

import pytest
from django.db import connection, connections

from visits import services
from visits.models import Authorisation, Status
from visits.rules import RuleBroken

pytestmark = pytest.mark.django_db(transaction=True)


def test_p1_two_authorisers_at_once_one_wins_the_other_is_told(visit, head, deputy):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks (SELECT ... FOR UPDATE); CI runs it there")
    start = threading.Barrier(2)
    outcomes = {}

    def decide(user):
        try:
            start.wait()
            services.visit_authorise(
                visit=visit, by=user, expected_version=visit.version, confirmed=True
            )
            outcomes[user.username] = "authorised"
        except RuleBroken as error:
            outcomes[user.username] = " ".join(error.messages)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=decide, args=(u,)) for u in (head, deputy)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["deputy", "head"]
    winners = [name for name, outcome in outcomes.items() if outcome == "authorised"]
    assert len(winners) == 1
    loser = "deputy" if winners == ["head"] else "head"
    winner_user = head if winners == ["head"] else deputy
    assert "already decided" in outcomes[loser]
    assert winner_user.get_full_name() in outcomes[loser]
    assert Authorisation.objects.filter(visit=visit).count() == 1
    visit.refresh_from_db()
    assert visit.status == Status.AUTHORISED
