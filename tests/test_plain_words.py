"""Plain words (issue 12, item 5): the admin and the screens speak the school's words. Rule IDs
(P1, D4, E2, A8...) belong in help text and refusal messages, never on a button, a heading or a
label; model and field names in the admin read as the school says them, not as code."""

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings

PLAIN_APPS = ["schools", "visits", "escalation", "notifications"]

# What reads as code rather than as the school's words in the admin's headings and labels.
CODE_LIKE = [
    (re.compile(r"_"), "an underscore"),
    (re.compile(r"\b(dsl|slt|upn|la|sms|id|ref)\b"), "an abbreviation in lower case"),
    (re.compile(r"step ?[0-9]", re.I), "a step number"),
    (re.compile(r"^is "), "a yes/no column name"),
    (re.compile(r"[a-z][0-9]|[0-9][a-z]", re.I), "letters and digits run together"),
]


def code_like(label):
    return [why for pattern, why in CODE_LIKE if pattern.search(str(label))]


def _labels():
    for app in PLAIN_APPS:
        for model in apps.get_app_config(app).get_models():
            opts = model._meta
            yield f"{opts.label} (model)", opts.verbose_name
            yield f"{opts.label} (model, plural)", opts.verbose_name_plural
            for field in opts.get_fields():
                if field.auto_created or not hasattr(field, "verbose_name"):
                    continue
                yield f"{opts.label}.{field.name}", field.verbose_name


def test_model_and_field_names_in_the_admin_are_the_schools_words():
    bad = {where: (label, code_like(label)) for where, label in _labels() if code_like(label)}

    assert bad == {}


@pytest.mark.parametrize(
    "label, plain",
    [
        ("dsl may authorise", False),
        ("escalation step2 minutes", False),
        ("deadline_kind", False),
        ("is drill", False),
        ("The DSL may authorise", True),
        ("Minutes before the police step", True),
    ],
)
def test_the_check_itself_tells_code_from_words(label, plain):
    assert (not code_like(label)) is plain


@pytest.mark.parametrize(
    "model, field, label",
    [
        ("schools.School", "dsl_may_authorise", "the DSL may authorise"),
        ("schools.School", "escalation_step2_minutes", "minutes before the police step"),
        ("schools.Pupil", "upn", "UPN (unique pupil number)"),
    ],
)
def test_p1_e2_school_settings_read_as_the_school_says_them(model, field, label):
    assert apps.get_model(model)._meta.get_field(field).verbose_name == label


def test_a8_roles_at_schools_are_called_that_in_the_admin():
    """The README calls memberships "roles at schools"; the admin does too."""
    opts = apps.get_model("schools.Membership")._meta

    assert (opts.verbose_name, opts.verbose_name_plural) == ("role at a school", "roles at schools")


# Screens -----------------------------------------------------------------------------------------

SCREEN_DIRS = [
    "visits",
    "escalation",
    "schools",
    "notifications",
    "safeguarding",
    "account",
    "audit",
]
# A rule ID as the first words of a button, heading, summary, link, label, table header,
# description term or card header: people read these, so they say what they are in words.
RULE_ID_ON_A_LABEL = re.compile(
    r"<(?P<tag>button|h[1-6]|summary|a|label|th|dt|legend|caption|div|span)\b(?P<attrs>[^>]*)>"
    r"[^<]*\((?:P|D|E|A)[0-9]+"
)


def _rule_ids_on_labels(path):
    text = path.read_text()
    for match in RULE_ID_ON_A_LABEL.finditer(text):
        tag, attrs = match.group("tag"), match.group("attrs")
        # A div or span is only a heading when it is a card's header.
        if tag in ("div", "span") and "card-header" not in attrs:
            continue
        line = text.count("\n", 0, match.start()) + 1
        yield f"{path.relative_to(settings.BASE_DIR)}:{line}: {match.group(0)[:80]}"


def test_p_d_e_a_rule_ids_are_not_on_buttons_headings_or_labels():
    templates = Path(settings.BASE_DIR) / "templates"
    found = [
        hit
        for folder in SCREEN_DIRS
        for path in sorted((templates / folder).rglob("*.html"))
        for hit in _rule_ids_on_labels(path)
    ]

    assert found == []
