"""What a browser may run and keep of this site (issue 11): no page carries an inline script
without the response's nonce, an on*= handler, a javascript: link or a style attribute (the
Content-Security-Policy would block them, so the page would silently not work), and every page
says so in its headers; nothing with personal data is kept in the browser's cache."""

import json
import re
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from notifications.models import Notification
from safeguarding.services import minutes as minutes_services
from safeguarding.services.concerns import concern_raise
from visits import services

from .factories import enrol_totp, visit_details, write_minutes
from .test_minutes_views import _done_visit

pytestmark = pytest.mark.django_db

# Scripts the browser reads as data, never runs (json_script): the policy lets them be.
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href"}


class _PageScan(HTMLParser):
    """Everything in a page that the Content-Security-Policy would block."""

    def __init__(self, nonce):
        super().__init__(convert_charrefs=True)
        self.nonce = nonce
        self.problems = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        where = f"<{tag} {' '.join(f'{k}={v!r}' for k, v in attrs)[:120]}>"
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"handler {name}= in {where}")
            if name == "style":
                self.problems.append(f"style attribute in {where}")
            if name in URL_ATTRIBUTES and re.match(r"\s*javascript:", value or "", re.I):
                self.problems.append(f"javascript: URL in {where}")
        if tag == "style" and attributes.get("nonce") != self.nonce:
            self.problems.append(f"<style> element without the nonce: {where}")
        if tag == "script":
            self.scripts += 1
            src = attributes.get("src")
            kind = (attributes.get("type") or "").lower()
            if src is not None:
                if re.match(r"\s*(https?:)?//", src):
                    self.problems.append(f"script from elsewhere: {where}")
            elif kind not in DATA_SCRIPT_TYPES and attributes.get("nonce") != self.nonce:
                self.problems.append(f"inline script without the nonce: {where}")


def policy_problems(response):
    """The page's violations of the policy, empty when it has none."""
    csp = response.get("Content-Security-Policy", "")
    nonce = re.search(r"'nonce-([^']+)'", csp)
    scan = _PageScan(nonce.group(1) if nonce else None)
    scan.feed(response.content.decode())
    scan.close()
    return scan.problems


def test_the_scan_finds_each_kind_of_inline_code(rf):
    """The scanner itself: a page with each forbidden thing is caught, a clean one passes."""
    from django.http import HttpResponse

    def page(body, nonce="abc"):
        response = HttpResponse(f"<html><body>{body}</body></html>")
        response["Content-Security-Policy"] = f"script-src 'self' 'nonce-{nonce}'"
        return response

    assert policy_problems(page('<script src="/static/js/x.js"></script>')) == []
    assert policy_problems(page('<script nonce="abc">go()</script>')) == []
    assert policy_problems(page('<script type="application/json" id="d">{}</script>')) == []
    assert policy_problems(page("<script>go()</script>"))
    assert policy_problems(page('<script nonce="other">go()</script>'))
    assert policy_problems(page('<button onclick="go()">Go</button>'))
    assert policy_problems(page('<form onsubmit="return confirm(1)"></form>'))
    assert policy_problems(page('<a href=" JavaScript:go()">Go</a>'))
    assert policy_problems(page('<div style="color: red">x</div>'))
    assert policy_problems(page("<style>p { color: red }</style>"))
    assert policy_problems(page('<script src="https://cdn.example/x.js"></script>'))


# The school's day, with something on every page -------------------------------------------


@pytest.fixture
def world(
    settings, tmp_path, school, pupil, office, head, dsl, visitor, partner, overdue, on_site_visit
):
    """A visit overdue (the board, the alert, the police sheet), a visit done this morning with
    its minutes written and one still being written, a concern, and the demo's phones."""
    done = _done_visit(pupil=pupil, office=office, head=head, staff=[visitor, partner])
    minutes = write_minutes(done, visitor)
    writing = _done_visit(pupil=pupil, office=office, head=head, staff=[visitor, partner])
    minutes_services.minutes_start(visit=writing, by=visitor)
    concern = concern_raise(
        pupil=pupil, by=visitor, account="Bruise on the left arm, said she fell.", visit=done
    )
    planned = services.visit_create(
        pupil=pupil,
        by=office,
        details=visit_details(),
        staff=[(visitor, visitor.staff_profile.mobile), (partner, partner.staff_profile.mobile)],
    )
    inbox = tmp_path / "inbox.json"
    inbox.write_text(
        json.dumps(
            {
                "phones": {
                    "+447700900123": {
                        "texts": [{"status": "delivered", "body": "Overdue:\nring the office"}],
                        "calls": [{"status": "answered", "heard": ["A home visit is overdue."]}],
                    }
                },
                "emails": [{"subject": "Overdue", "to": ["o@example.org"], "body": "Ring\nnow"}],
            }
        )
    )
    settings.DEMO_INBOX_URL = inbox.as_uri()
    notification = Notification.objects.filter(answer_token__isnull=False).first()
    return {
        "escalation": overdue,
        "overdue_visit": on_site_visit,
        "done": done,
        "minutes": minutes,
        "writing": writing,
        "concern": concern,
        "planned": planned,
        "answer_token": notification.answer_token if notification else None,
    }


def _pages(world, who):
    """(url, expected status) of the main pages of each person."""
    esc, done, writing = world["escalation"], world["done"], world["writing"]
    overdue_visit, planned = world["overdue_visit"], world["planned"]
    pupil_pk = done.pupil_id
    common = [
        (reverse("home"), {200, 302}),
        (reverse("my-profile"), {200}),
        ("/no-such-page/", {404}),
    ]
    by_person = {
        "office": [
            (reverse("board"), {200}),
            (reverse("board-rows"), {200}),
            (reverse("schedule"), {200}),
            (reverse("visit-detail", args=[overdue_visit.pk]), {200}),
            (reverse("visit-detail", args=[planned.pk]), {200}),
            (reverse("visit-create"), {200}),
            (reverse("visit-edit", args=[planned.pk]), {200}),
            (reverse("visit-risk", args=[planned.pk]), {200}),
            (reverse("escalation-detail", args=[esc.pk]), {200}),
            (reverse("escalation-police", args=[esc.pk]), {200}),
            (reverse("pupil-list"), {200}),
            (reverse("pupil-detail", args=[pupil_pk]), {200}),
            (reverse("concern-create") + f"?visit={done.pk}", {200}),
            (reverse("demo-phones"), {200}),
            # A8: the office does not read minutes; the refusal page is checked too.
            (reverse("minutes-detail", args=[done.pk]), {403, 404}),
        ],
        "visitor": [
            (reverse("my-visits"), {200}),
            (reverse("visit-detail", args=[overdue_visit.pk]), {200}),
            (reverse("visit-on", args=[overdue_visit.pk]), {200}),
            (reverse("visit-help", args=[overdue_visit.pk]), {200}),
            (reverse("minutes-edit", args=[writing.pk]), {200}),
            (reverse("minutes-detail", args=[done.pk]), {200}),
            (reverse("minutes-summary", args=[done.pk]), {200}),
            (reverse("concern-create"), {200}),
            (reverse("my-actions"), {200}),
            (reverse("board"), {403, 404}),
        ],
        "dsl": [
            (reverse("concern-list"), {200}),
            (reverse("concern-detail", args=[world["concern"].pk]), {200}),
            (reverse("minutes-detail", args=[done.pk]), {200}),
            (reverse("debrief-record", args=[done.pk]), {200}),
            (reverse("pupil-file", args=[pupil_pk]), {200}),
            (reverse("monitoring"), {200}),
            (reverse("queue"), {200}),
            (reverse("my-actions"), {200}),
        ],
        "head": [
            (reverse("queue"), {200}),
            (reverse("visit-decide", args=[planned.pk]), {200, 302, 404}),
            (reverse("schedule"), {200}),
            (reverse("board"), {200}),
            (reverse("monitoring"), {200}),
            (reverse("rota-home"), {200, 302}),
            (reverse("calendar-home"), {200, 302}),
            (reverse("pupil-file", args=[pupil_pk]), {200}),
        ],
    }
    return common + by_person[who]


@pytest.mark.parametrize("who", ["office", "visitor", "dsl", "head"])
def test_no_page_of_any_role_carries_inline_code_or_styles(client, request, world, who):
    client.force_login(request.getfixturevalue(who))
    checked = 0
    for url, expected in _pages(world, who):
        response = client.get(url)
        assert response.status_code in expected, (url, response.status_code)
        if response.status_code == 302:
            continue
        assert policy_problems(response) == [], url
        checked += 1
    assert checked >= 4


def test_the_pages_nobody_signs_in_for_carry_no_inline_code(client, world):
    """The answer page of a text's link, the sign-in page and the server-error page."""
    assert world["answer_token"], "the overdue alert sent a message with a link"
    for url in (
        reverse("message-answer", args=[world["answer_token"]]),
        reverse("account_login"),
        "/a/not-a-token/",
    ):
        response = client.get(url)
        assert response.status_code in (200, 404), url
        assert policy_problems(response) == [], url


def test_the_server_error_page_needs_no_inline_style():
    from django.http import HttpResponse
    from django.template.loader import render_to_string

    assert policy_problems(HttpResponse(render_to_string("500.html"))) == []


def _admin_pages(school, world):
    """The admin's index, a changelist, change forms with inlines (the user with their profile
    and roles, the pupil with their carers) and a form with date widgets (a term)."""
    pupil = world["done"].pupil
    return [
        reverse("admin:index"),
        reverse("admin:visits_visit_changelist"),
        reverse("admin:auth_user_change", args=[min(world["done"].staff_user_ids())]),
        reverse("admin:schools_pupil_change", args=[pupil.pk]),
        reverse("admin:schools_term_add"),
        reverse("admin:schools_school_change", args=[school.pk]),
    ]


def test_the_admin_pages_carry_no_inline_code(client, school, world):
    admin = get_user_model().objects.create_superuser("root", "root@example.org", "pw")
    enrol_totp(admin)
    client.force_login(admin)
    for url in _admin_pages(school, world):
        response = client.get(url)
        assert response.status_code == 200, url
        assert policy_problems(response) == [], url


def _not_kept(response):
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    return "no-store" in directives


# Headers -----------------------------------------------------------------------------------


def test_every_page_says_what_the_browser_may_run_use_and_send(client, office, world):
    client.force_login(office)
    response = client.get(reverse("visit-detail", args=[world["overdue_visit"].pk]))
    csp = response["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert directives["script-src"][0] == "'self'"
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    assert "geolocation=(self)" in response["Permissions-Policy"]
    assert "camera=()" in response["Permissions-Policy"]
    assert response["Referrer-Policy"] == "same-origin"


def test_the_policy_names_the_nonce_as_django_csp_expects(client, office):
    """A server-written script would need the request's nonce in the header. django-csp 4 puts
    it there for csp.constants.NONCE (and leaves it out when no page used it); the plain string
    "'nonce'" goes out as it is, an invalid source that browsers ignore with a console error."""
    client.force_login(office)
    csp = client.get(reverse("schedule"))["Content-Security-Policy"]
    assert "'nonce'" not in csp


def test_a_page_with_json_data_still_has_no_inline_script(client, dsl, world):
    """Monitoring draws its charts from a json_script blob, read by static/js/monitoring.js."""
    client.force_login(dsl)
    page = client.get(reverse("monitoring")).content.decode()
    assert 'id="monitoring-chart-data" type="application/json"' in page
    assert "js/monitoring.js" in page


@pytest.mark.parametrize(
    "who,url_name",
    [
        ("office", "board"),
        ("office", "schedule"),
        ("office", "pupil-list"),
        ("visitor", "my-visits"),
        ("dsl", "monitoring"),
        ("dsl", "concern-list"),
    ],
)
def test_pages_with_personal_data_are_not_kept_by_the_browser(client, request, who, url_name):
    client.force_login(request.getfixturevalue(who))
    response = client.get(reverse(url_name))
    assert response.status_code == 200
    assert _not_kept(response)
    assert response["Pragma"] == "no-cache"


def test_a_visit_page_and_its_csv_are_not_kept(client, dsl, office, world):
    client.force_login(office)
    response = client.get(reverse("visit-detail", args=[world["overdue_visit"].pk]))
    assert _not_kept(response)
    client.force_login(dsl)
    response = client.get(reverse("minutes-cpoms-csv", args=[world["done"].pk]))
    assert response.status_code == 200
    assert _not_kept(response)


def test_pages_for_people_not_signed_in_are_not_kept_either(client):
    response = client.get(reverse("account_login"))
    assert _not_kept(response)
    # A redirect to sign in, to someone who is not signed in: nothing personal in it.
    assert client.get(reverse("schedule")).status_code == 302


def test_a_redirect_to_a_signed_in_person_is_not_kept(client, office):
    client.force_login(office)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert _not_kept(response)


def test_static_files_and_the_health_check_keep_their_own_caching(client, office, settings):
    # WhiteNoise serves from the source folders here, as in development (no collectstatic).
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    client.force_login(office)
    response = client.get("/static/css/homevisits.css")
    assert response.status_code == 200
    assert not _not_kept(response)
    # The health check says what it says (never_cache) and nothing is added to it.
    response = client.get(reverse("healthz"))
    assert "Pragma" not in response
