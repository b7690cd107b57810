"""Every input bounded and cleaned (issue 11, item 8): what is stored is what people can see,
long or odd input gets a reason and never a 500, opening a page changes nothing, a signature is
a real picture, and nobody can make the school send a flood of messages, while "I need help"
always works (E3)."""

import datetime
import io
import json
import unicodedata

import pytest
import time_machine
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from PIL import Image, PngImagePlugin

from escalation.models import Escalation
from homevisits.cleaning import MAX_FIELD_CHARS, NOTE_CHARS, clean_text
from notifications.models import Notification
from safeguarding import services as concern_services
from safeguarding.models import Action, Concern, Minutes, MinutesEvent, Signature
from safeguarding.services import minutes as minutes_services
from safeguarding.services.actions import action_add_for_concern
from visits import services
from visits.models import Status, Visit

from .test_views import plan_form

# Bidi overrides and isolates, direction marks, invisible characters and controls: the ways a
# reported "evil" text hid what it said on the screen of the person reading it.
DISGUISED = "Mum said \u202ethe opposite\u202c \u2066ok\u2069\u200b\u200f here\x07\x1b[31m\x85."
SHOWN = "Mum said the opposite ok here[31m."


def _png(size=(120, 40), *, text=None):
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    image.putpixel((3, 4), (10, 20, 30, 255))
    info = None
    if text:
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", text)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def _pixels(data):
    with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
        return image.size, list(image.convert("RGBA").getdata())


@pytest.fixture
def done_visit(on_site_visit, visitor, start):
    services.visit_leave(visit=on_site_visit, by=visitor, now=start + datetime.timedelta(hours=1))
    on_site_visit.refresh_from_db()
    return on_site_visit


# --- Cleaning text ---------------------------------------------------------------------------


def test_clean_text_drops_controls_bidi_and_invisible_characters_and_keeps_what_is_written():
    assert clean_text(DISGUISED) == SHOWN
    assert clean_text("line one\r\nline two\rthree\u2028four") == "line one\nline two\nthree\nfour"
    assert clean_text("tab\tkept, NUL\x00 not") == "tab\tkept, NUL not"
    # Scripts and emoji that need the joiners keep them; the flag of Wales keeps its tags.
    for kept in (
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
        "👩\u200d👧",
        "🏴\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f",
    ):
        assert clean_text(kept) == kept
    # Tag characters alone hide text ("ASCII smuggling"): dropped.
    assert clean_text("ok\U000e0069\U000e0067\U000e006e") == "ok"


def test_every_invisible_formatting_character_but_the_joiners_is_dropped():
    kept = {"\u200c", "\u200d", *"\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890\u0891"}
    kept |= {"\u08e2", "\U000110bd", "\U000110cd"}
    formatting = [
        chr(code)
        for code in range(0x110000)
        if unicodedata.category(chr(code)) == "Cf"
        and chr(code) not in kept
        and not 0x13430 <= code <= 0x1345F  # Egyptian hieroglyph format controls: shown
    ]
    assert clean_text("".join(formatting)) == ""
    controls = "".join(chr(c) for c in [*range(0, 32), *range(127, 160)] if chr(c) not in "\t\n\r")
    assert clean_text(controls) == ""


def test_a5_a_concern_is_stored_as_it_shows_without_control_or_bidi_characters(
    client, visitor, pupil
):
    client.force_login(visitor)
    response = client.post(reverse("concern-create"), {"pupil": pupil.pk, "account": DISGUISED})
    assert response.status_code == 302
    assert Concern.objects.get().account == SHOWN


def test_a1_minutes_autosave_stores_text_without_control_or_bidi_characters(
    client, visitor, done_visit
):
    client.force_login(visitor)
    body = {"changes": {"discussed": {"base": "", "value": DISGUISED}}}
    response = client.post(
        reverse("minutes-save", args=[done_visit.pk]), json.dumps(body), "application/json"
    )
    assert response.status_code == 200
    assert Minutes.objects.get(visit=done_visit).discussed == SHOWN


def test_a_visit_note_is_stored_without_control_or_bidi_characters(client, office, visit):
    client.force_login(office)
    response = client.post(reverse("visit-cancel", args=[visit.pk]), {"reason": DISGUISED})
    assert response.status_code == 302
    assert Visit.objects.get(pk=visit.pk).cancel_reason == SHOWN


def test_a_password_is_passed_on_as_typed(rf):
    """Passwords are never shown, so nothing in them disguises text; changing one would lock
    out the person who set it."""
    from homevisits.cleaning import CleanInputMiddleware

    seen = {}

    def view(request):
        seen.update(request.POST.dict())
        return None

    request = rf.post("/accounts/login/", {"login": "a\u202eb", "password": "p\u202ew\x07"})
    CleanInputMiddleware(view)(request)
    assert seen == {"login": "ab", "password": "p\u202ew\x07"}


# --- Long text -------------------------------------------------------------------------------


def test_a_100000_character_field_is_refused_with_a_reason_and_what_was_typed_shown(
    client, visitor, partner, pupil
):
    client.force_login(visitor)
    data = plan_form(
        pupil=pupil, staff=[visitor, partner], purpose_detail="x" * 100_000, address="7 Elm Row"
    )
    response = client.post(reverse("visit-create"), data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Not sent: nothing was saved" in page
    assert f"the most any box takes is {MAX_FIELD_CHARS:,}" in page
    assert "7 Elm Row" in page and "Ring the office on arrival" in page  # the rest, kept
    assert response["Cache-Control"] == "private, no-store"
    assert not Visit.objects.exists()


def test_a_note_over_its_limit_comes_back_on_the_form_with_the_words_and_the_limit(
    client, office, visit
):
    client.force_login(office)
    form = client.get(reverse("visit-cancel", args=[visit.pk])).content.decode()
    assert f'maxlength="{NOTE_CHARS}"' in form  # the browser stops there too
    typed = "The family moved away last week. " + "y" * 6_000
    response = client.post(reverse("visit-cancel", args=[visit.pk]), {"reason": typed})
    page = response.content.decode()
    assert f"at most {NOTE_CHARS:,} characters, and it has {len(typed):,}" in page
    assert typed in page
    assert Visit.objects.get(pk=visit.pk).status == Status.SUBMITTED


def test_a_concern_as_long_as_minutes_is_accepted(client, visitor, pupil):
    """The account of a concern is not cut at a note's length (A5)."""
    client.force_login(visitor)
    account = "She said " + "z" * 15_000
    response = client.post(reverse("concern-create"), {"pupil": pupil.pk, "account": account})
    assert response.status_code == 302
    assert Concern.objects.get().account == account


def test_a_request_with_an_absurd_number_of_fields_is_refused_with_a_reason(client, visitor):
    client.force_login(visitor)
    response = client.post(reverse("concern-create"), {f"f{i}": "1" for i in range(600)})
    assert response.status_code == 400
    assert "more than 500 fields" in response.content.decode()


# --- Dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed, error",
    [
        ("3 years ahead", "at most 1 year from today"),
        ("2 years ago", "at most 1 year ago"),
        ("0001-01-01T10:00", "between 1900 and 2200"),
        ("0000-01-01T10:00", "valid date"),
        ("99999-01-01T10:00", "valid date"),
        ("9999-12-31T23:59", "between 1900 and 2200"),
    ],
)
def test_p7_a_visit_years_away_or_off_the_calendar_is_a_form_error(
    client, visitor, partner, pupil, typed, error
):
    client.force_login(visitor)
    days = {"3 years ahead": 3 * 365, "2 years ago": -2 * 365}.get(typed)
    data = plan_form(pupil=pupil, staff=[visitor, partner])
    if days is not None:
        moment = timezone.localtime() + datetime.timedelta(days=days)
        typed = moment.strftime("%Y-%m-%dT10:00")
        data["expected_end"] = moment.strftime("%Y-%m-%dT11:00")
    data["planned_start"] = typed
    response = client.post(reverse("visit-create"), data)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Visit.objects.exists()


def test_a7_an_action_due_years_ahead_is_a_form_error(client, dsl, visitor, pupil):
    concern = concern_services.concern_raise(pupil=pupil, by=visitor, account="Seen.")
    client.force_login(dsl)
    for due, error in (("2040-01-01", "at most 5 years from today"), ("0001-01-01", "1900")):
        response = client.post(
            reverse("concern-action-add", args=[concern.pk]),
            {"description": "Call the GP", "owner": visitor.pk, "due_on": due},
        )
        assert response.status_code == 400
        assert error in response.content.decode()
    assert not Action.objects.exists()


@pytest.mark.parametrize("held_at", ["0001-01-01T10:00", "9999-12-31T23:59", "99999-01-01T00:00"])
def test_a6_a_debrief_time_off_the_calendar_is_a_form_error(client, dsl, done_visit, held_at):
    client.force_login(dsl)
    response = client.post(
        reverse("debrief-record", args=[done_visit.pk]),
        {"led_as": "dsl", "held_at": held_at, "agreed": "Agreed a follow-up call."},
    )
    assert response.status_code == 400
    assert "Agreed a follow-up call." in response.content.decode()


@pytest.mark.parametrize("called_at", ["0001-01-01T10:00", "9999-12-31T23:59"])
def test_e2_a_police_call_time_off_the_calendar_is_a_form_error(client, office, overdue, called_at):
    client.force_login(office)
    response = client.post(
        reverse("escalation-police-called", args=[overdue.pk]),
        {"called_at": called_at, "reference": "INC-42"},
    )
    assert response.status_code == 400
    assert Escalation.objects.get(pk=overdue.pk).police_called_at is None


def test_a_pupils_date_of_birth_in_the_future_is_refused():
    from django.core.exceptions import ValidationError

    from schools.validators import validate_pupil_date_of_birth

    validate_pupil_date_of_birth(timezone.localdate() - datetime.timedelta(days=9 * 365))
    for day in (timezone.localdate() + datetime.timedelta(days=1), datetime.date(1950, 1, 1)):
        with pytest.raises(ValidationError):
            validate_pupil_date_of_birth(day)


# --- Signatures (A3) -------------------------------------------------------------------------


@pytest.fixture
def attendance_visit(pupil, office, head, visitor, partner):
    from .conftest import make_visit

    visit = make_visit(
        pupil=pupil,
        by=office,
        staff=[visitor, partner],
        details={"purpose": "attendance"},
        submit=True,
    )
    services.visit_authorise(visit=visit, by=head, expected_version=visit.version, confirmed=True)
    services.visit_arrive(visit=visit, by=visitor, now=visit.planned_start)
    return visit


def _sign(client, visit, image):
    body = {"signer_role": "carer", "signer_name": "Mary Pupil", "image": image}
    return client.post(
        reverse("minutes-sign", args=[visit.pk]), json.dumps(body), "application/json"
    )


def _data_url(data):
    import base64

    return "data:image/png;base64," + base64.b64encode(data).decode()


@pytest.mark.parametrize(
    "image",
    [
        b"\x89PNG\r\n\x1a\n" + b"<script>alert(1)</script>" * 10,  # the right first 8 bytes only
        _png()[:60],  # cut short
        _png((5_000, 10)),  # wider than any signature box
        b"GIF89a" + _png()[6:],
    ],
    ids=["png-magic-then-junk", "truncated", "too-wide", "not-png"],
)
def test_a3_a_signature_that_is_not_a_whole_png_drawing_is_refused(
    client, visitor, attendance_visit, image
):
    client.force_login(visitor)
    response = _sign(client, attendance_visit, _data_url(image))
    assert response.status_code == 400
    assert "signature" in response.json()["error"]
    assert not Signature.objects.exists()


def test_a3_a_signature_too_big_to_be_a_drawing_is_refused_before_decoding(
    client, visitor, attendance_visit
):
    client.force_login(visitor)
    response = _sign(client, attendance_visit, _data_url(b"\x89PNG\r\n\x1a\n" + b"\0" * 400_000))
    assert response.status_code == 400
    assert "300 KB" in response.json()["error"]


def test_a3_a_signature_that_is_not_a_png_data_url_is_refused(client, visitor, attendance_visit):
    client.force_login(visitor)
    image = _data_url(_png()).replace("image/png", "text/html")
    assert _sign(client, attendance_visit, image).status_code == 400
    assert not Signature.objects.exists()


def test_a3_a_good_signature_is_kept_as_its_pixels_only(client, visitor, attendance_visit):
    sent = _png(text="hidden words in a chunk")
    client.force_login(visitor)
    response = _sign(client, attendance_visit, _data_url(sent))
    assert response.status_code == 200
    stored = bytes(Signature.objects.get().image)
    assert stored != sent and b"hidden words" not in stored
    assert _pixels(stored) == _pixels(sent)


# --- Opening a page changes nothing ----------------------------------------------------------


def test_a1_opening_the_minutes_form_writes_nothing_and_its_button_starts_them(
    client, visitor, done_visit
):
    client.force_login(visitor)
    address = reverse("minutes-edit", args=[done_visit.pk])
    for _ in range(3):
        response = client.get(address)
        assert response.status_code == 200
        assert "Start the minutes" in response.content.decode()
    assert not Minutes.objects.exists() and not MinutesEvent.objects.exists()

    assert client.post(address).url == address
    assert client.post(address).url == address  # a second tap starts nothing more
    minutes = Minutes.objects.get()
    assert minutes.events.count() == 1
    revision = minutes.revision
    assert client.get(address).status_code == 200
    assert Minutes.objects.get().revision == revision
    assert MinutesEvent.objects.count() == 1


def test_a1_minutes_before_arrival_are_neither_offered_nor_started(client, visitor, visit):
    client.force_login(visitor)
    address = reverse("minutes-edit", args=[visit.pk])
    assert client.get(address).status_code == 400
    response = client.post(address)
    assert response.status_code == 400
    assert "once staff have arrived" in response.content.decode()
    assert not Minutes.objects.exists()


def test_a1_submitting_before_anything_is_typed_lists_what_is_missing(client, visitor, done_visit):
    client.force_login(visitor)
    response = client.post(reverse("minutes-submit", args=[done_visit.pk]))
    assert response.status_code == 400
    assert "Say who was present" in response.content.decode()


# --- Crafted values that used to give a 500 --------------------------------------------------


@pytest.mark.parametrize("crafted", ["\u00b2", "9" * 40, "-1", "", "1.5", ["1", "2"]], ids=str)
def test_a_crafted_school_for_a_drill_is_refused_not_a_500(client, head, crafted):
    client.force_login(head)
    response = client.post(reverse("drill-start"), {"school": crafted})
    assert 400 <= response.status_code < 500
    assert not Escalation.objects.exists()


def test_a_drill_at_a_school_the_person_is_not_at_is_not_found(client, head, other_school):
    client.force_login(head)
    response = client.post(reverse("drill-start"), {"school": other_school.pk})
    assert response.status_code == 404
    assert not Escalation.objects.exists()


@pytest.fixture
def open_action(pupil, visitor, dsl):
    concern = concern_services.concern_raise(pupil=pupil, by=visitor, account="Seen.")
    return action_add_for_concern(
        concern=concern,
        by=dsl,
        description="Call the GP",
        owner=visitor,
        due_on=timezone.localdate() + datetime.timedelta(days=3),
    )


@pytest.mark.parametrize(
    "after",
    [
        "/actions/\r\nSet-Cookie: a=b",
        "/actions/\nx",
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "/" + "a" * 5_000,
        ["/concerns/", "//evil.example"],
    ],
    ids=["crlf", "lf", "scheme-relative", "other-site", "backslash", "js", "long", "list"],
)
def test_a7_a_crafted_next_after_marking_an_action_done_goes_to_my_actions(
    client, visitor, open_action, after
):
    client.force_login(visitor)
    response = client.post(
        reverse("action-done", args=[open_action.pk]), {"outcome": "Done.", "next": after}
    )
    assert response.status_code == 302
    assert response.url == reverse("my-actions")


def test_a7_a_local_next_is_followed(client, visitor, open_action):
    client.force_login(visitor)
    after = reverse("concern-detail", args=[open_action.concern_id]) + "?tab=actions"
    response = client.post(
        reverse("action-done", args=[open_action.pk]), {"outcome": "Done.", "next": after}
    )
    assert response.url == after


# --- What one person can cause to be sent ----------------------------------------------------


def test_a5_concerns_beyond_the_sending_rate_keep_what_was_typed_and_send_nothing(
    client, settings, visitor, partner, pupil, dsl
):
    settings.SENDING_RATE = "2/h"
    client.force_login(visitor)
    for number in range(2):
        account = f"Concern number {number}"
        response = client.post(reverse("concern-create"), {"pupil": pupil.pk, "account": account})
        assert response.status_code == 302
    sent = Notification.objects.count()

    response = client.post(
        reverse("concern-create"), {"pupil": pupil.pk, "account": "A third, typed in full."}
    )
    assert response.status_code == 429
    page = response.content.decode()
    assert "A third, typed in full." in page  # nothing typed is lost
    assert "a lot of messages in a short time" in page and "999" in page
    assert Concern.objects.count() == 2
    assert Notification.objects.count() == sent

    # Per person: the partner's concern still goes.
    client.force_login(partner)
    response = client.post(reverse("concern-create"), {"pupil": pupil.pk, "account": "Mine."})
    assert response.status_code == 302


def test_a7_actions_beyond_the_sending_rate_come_back_on_the_concern(
    client, settings, dsl, visitor, pupil
):
    settings.SENDING_RATE = "1/h"
    concern = concern_services.concern_raise(pupil=pupil, by=visitor, account="Seen.")
    client.force_login(dsl)
    due = (timezone.localdate() + datetime.timedelta(days=3)).isoformat()
    address = reverse("concern-action-add", args=[concern.pk])
    first = {"description": "Call the GP", "owner": visitor.pk, "due_on": due}
    assert client.post(address, first).status_code == 302
    second = {"description": "Write to the social worker", "owner": visitor.pk, "due_on": due}
    response = client.post(address, second)
    assert response.status_code == 429
    assert "Write to the social worker" in response.content.decode()
    assert Action.objects.count() == 1


def test_drills_beyond_the_sending_rate_get_the_too_many_page(client, settings, head, school):
    settings.SENDING_RATE = "1/h"
    client.force_login(head)
    assert client.post(reverse("drill-start"), {"school": school.pk}).status_code == 302
    response = client.post(reverse("drill-start"), {"school": school.pk})
    assert response.status_code == 429
    assert "Too many in a short time" in response.content.decode()
    assert Escalation.objects.count() == 1


def test_e3_i_need_help_works_however_often_it_is_pressed_after_the_limit(
    client, settings, visitor, pupil, on_site_visit
):
    settings.SENDING_RATE = "1/h"
    client.force_login(visitor)
    client.post(reverse("concern-create"), {"pupil": pupil.pk, "account": "First."})
    limited = client.post(reverse("concern-create"), {"pupil": pupil.pk, "account": "Second."})
    assert limited.status_code == 429  # this person is over the limit

    for _ in range(25):
        response = client.post(reverse("visit-help", args=[on_site_visit.pk]))
        assert response.status_code == 302
        assert response.url == reverse("visit-on", args=[on_site_visit.pk])
    esc = Escalation.objects.get(visit=on_site_visit)
    assert esc.at_police_step  # E3: the police step, at once
    assert "Help is on its way" in client.get(response.url).content.decode()


def _over_the_limit(client, person, pupil):
    client.force_login(person)
    for account in ("First.", "Second."):
        response = client.post(reverse("concern-create"), {"pupil": pupil.pk, "account": account})
    assert response.status_code == 429


def test_e3_check_ins_and_the_code_word_are_never_limited(
    client, settings, office, visitor, pupil, on_site_visit
):
    settings.SENDING_RATE = "1/h"
    # During the visit, with the clock still; a day idle would sign anyone out.
    with time_machine.travel(on_site_visit.planned_start + datetime.timedelta(minutes=40)):
        _over_the_limit(client, visitor, pupil)
        response = client.post(reverse("visit-check-in", args=[on_site_visit.pk, "leave"]))
        assert response.status_code == 302
        assert Visit.objects.get(pk=on_site_visit.pk).status == Status.COMPLETED

        _over_the_limit(client, office, pupil)
        for _ in range(5):
            response = client.post(reverse("visit-code-word", args=[on_site_visit.pk]))
            assert response.status_code == 302
        assert Escalation.objects.get(visit=on_site_visit).at_police_step


# --- Garbage everywhere ----------------------------------------------------------------------

# The areas this work covers; pupils' pages and the records' panel are swept by their own tests.
SWEPT_MODULES = {
    "visits.views",
    "escalation.views",
    "safeguarding.views.actions",
    "safeguarding.views.concerns",
    "safeguarding.views.exports",
    "safeguarding.views.minutes",
    "safeguarding.views.monitoring",
    "safeguarding.views.pupil_file",
}
# Every field name the forms of these areas read, so garbage reaches each one.
FIELD_NAMES = """pupil account visit school next reason note text decision version confirmed
lone_visit_reason planned_start expected_end purpose purpose_detail parent_could_come_to_school
why_not_in_school reporting_arrangements address visit_type announced parent_told_how
parent_told_at unannounced_reason la_told la_contact la_told_at la_confirmed_at staff_1
staff_1_mobile staff_2 staff_2_mobile joint_professional vehicle_description
vehicle_registration code_word takes_id_badge takes_charged_mobile takes_school_numbers
resources_note known_about_family unknowns little_known other_professionals
joint_visit_considered joint_visit_notes previous_aggression previous_aggression_details
contentious_issues contentious_details animals animals_details parking_and_valuables
vehicle_insured minutes lat lng accuracy outcome whereabouts until called_at reference category
referral referral_reference description owner due_on led_as held_at agreed recipient
recipient_name method sent_at signer_role signer_name image day term date_from date_to from to
""".split()  # noqa: SIM905 (a list of words, read as words)
GARBAGE = {
    "long": "\u202e" + "w" * (MAX_FIELD_CHARS - 10),
    "nul": "a\x00b\x00",
    "list": ["1", "2", "\x00"],
    "not-a-number": "\u00b2\u0663x",
    "bad-date": "99999-13-45T25:61",
}


def _routes(patterns=None, prefix=""):
    patterns = get_resolver().url_patterns if patterns is None else patterns
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern))
        elif (
            isinstance(entry, URLPattern)
            and entry.name
            and entry.callback.__module__ in SWEPT_MODULES
            and entry.name != "healthz"  # not a form; 503 while the test has no broker
        ):
            yield entry.name, list(entry.pattern.converters), prefix + str(entry.pattern)


def _address(name, params, route, ids):
    kwargs = {}
    for param in params:
        if param != "pk":
            kwargs[param] = {"action": "arrive", "version": "redacted", "role": "staff"}[param]
        elif route.startswith("board/alerts/"):
            kwargs[param] = ids["esc"]
        elif route.startswith("concerns/"):
            kwargs[param] = ids["concern"]
        elif route.startswith("actions/"):
            kwargs[param] = ids["action"]
        elif route.startswith("pupils/"):
            kwargs[param] = ids["pupil"]
        else:
            kwargs[param] = ids["visit"]
    return reverse(name, kwargs=kwargs)


@pytest.mark.parametrize("who", ["dsl", "visitor", "office", "head"])
def test_garbage_sent_to_every_form_of_every_area_never_gives_a_500(
    client, request, who, overdue, open_action, pupil, visitor
):
    minutes = minutes_services.minutes_start(visit=overdue.visit, by=visitor)
    ids = {
        "visit": overdue.visit_id,
        "esc": overdue.pk,
        "concern": open_action.concern_id,
        "action": open_action.pk,
        "pupil": pupil.pk,
        "minutes": minutes.pk,
    }
    client.force_login(request.getfixturevalue(who))
    routes = list(_routes())
    assert len(routes) > 30  # the sweep reaches the areas it names
    seen = set()
    for name, params, route in routes:
        address = _address(name, params, route, ids)
        if address in seen:
            continue
        seen.add(address)
        query = dict.fromkeys(FIELD_NAMES, GARBAGE["bad-date"])
        response = client.get(address, query)
        assert response.status_code < 500, (address, "GET")
        for kind, value in GARBAGE.items():
            data = dict.fromkeys(FIELD_NAMES, value)
            response = client.post(address, data)
            assert response.status_code < 500, (address, kind)
