"""Every input bounded and cleaned (issue 11): one place that says what text may be stored.

- `clean_text` drops the characters that cannot be stored (NUL, in PostgreSQL) or that hide or
  disguise what is written (control characters, bidi overrides, invisible formatting), and
  makes line breaks "\\n" whatever the browser sent.
- `CleanInputMiddleware` applies it to every GET and POST field, and refuses a request with one
  field longer than MAX_FIELD_CHARS or with more than MAX_FIELDS fields, with a page that says
  why and shows back what was typed (nothing is lost; nothing is saved).
- `bounded` gives a form's free-text fields a limit in plain words, checked by the browser
  (maxlength) and by the form, so a long text comes back on the form with the error.
- `sending_rate` is what one person may cause to be sent (settings.SENDING_RATE).

JSON bodies (the minutes' autosave and signatures) are not form fields: their service cleans
each text with `clean_text` itself.
"""

import re

from django import forms
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, ValidationError
from django.http import HttpResponse, QueryDict
from django.utils.encoding import iri_to_uri
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme

# The longest single field a person could mean to send: the longest texts the forms keep
# (minutes, addenda, a concern's account) are 20,000 characters.
MAX_FIELD_CHARS = 20_000
# The biggest form here has under 60 fields; the admin's bulk actions post one per row shown.
MAX_FIELDS = 500
# Free text on a form without a limit of its own: notes, reasons, details.
NOTE_CHARS = 5_000
LONG_TEXT_CHARS = 20_000

# Kept exactly as sent: passwords are never shown, so nothing in them can disguise text, and
# changing a character would lock out someone who set it; they are still bounded in length.
UNTOUCHED_FIELDS = re.compile(r"password", re.IGNORECASE)
# Providers' callbacks are signed over the parameters as sent: cleaning them would break the
# signature check (notifications/twilio/views.py); they are bounded by Django's own limits.
UNTOUCHED_PATHS = ("/notifications/twilio/", "/notifications/notify/")

# C0 controls but tab, LF and CR (and NUL always); DEL; C1 controls.
_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
# Characters that change how text around them is shown, or show nothing at all: bidi embeddings,
# overrides and isolates, direction marks, zero-width space, word joiner and invisible operators,
# byte-order mark, soft hyphen, Mongolian vowel separator, interlinear annotation, shorthand and
# musical format controls, language tags. Zero-width joiner and non-joiner (U+200C, U+200D) are
# kept: Persian, Indic scripts and emoji need them.
_INVISIBLE = (
    "\u00ad\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
    "\ufff9-\ufffb\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
# The flags of England, Scotland and Wales are a black flag followed by tag characters: kept.
_TAG_FLAG = "\U0001f3f4[\U000e0020-\U000e007e]{1,8}\U000e007f"
_STRIP = re.compile(f"({_TAG_FLAG})|[{_CONTROLS}{_INVISIBLE}]")
_LINE_BREAKS = re.compile("\r\n?|[\u2028\u2029]")


def clean_text(value):
    """`value` without control, bidi or invisible formatting characters, line breaks as "\\n"."""
    if not isinstance(value, str):
        return value
    value = _LINE_BREAKS.sub("\n", value)
    return _STRIP.sub(lambda match: match.group(1) or "", value)


def too_long_message(limit, length):
    return (
        f"This can be at most {limit:,} characters, and it has {length:,}. "
        "Shorten it and send it again."
    )


class RequestRefused(Exception):
    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def _cleaned(query, *, touch):
    """A new QueryDict of `query`'s fields, each value cleaned; RequestRefused if too many or
    one is too long."""
    if sum(len(values) for values in query.lists()) > MAX_FIELDS:
        raise RequestRefused(f"The form sent more than {MAX_FIELDS:,} fields.")
    clean = QueryDict(mutable=True)
    for key, values in query.lists():
        kept = []
        for value in values:
            if touch and not UNTOUCHED_FIELDS.search(key):
                value = clean_text(value)
            if len(key) > 200:
                raise RequestRefused("The form sent a field with a name far too long.")
            if len(value) > MAX_FIELD_CHARS:
                raise RequestRefused(
                    f"One of the boxes has {len(value):,} characters; "
                    f"the most any box takes is {MAX_FIELD_CHARS:,}."
                )
            kept.append(value)
        clean.setlist(key, kept)
    clean._mutable = False
    return clean


def _refused_page(request, reason):
    """400: why, in plain words, and what was typed shown back so it can be copied."""
    typed = []
    try:
        post = request.POST if request.method == "POST" else QueryDict()
    except (RequestDataTooBig, TooManyFieldsSent):
        post = QueryDict()
    for key, values in list(post.lists())[:MAX_FIELDS]:
        if key == "csrfmiddlewaretoken" or UNTOUCHED_FIELDS.search(key):
            continue
        typed += [(key[:200], value) for value in values if value.strip()]
    shown = format_html_join(
        "",
        '<p class="mb-1"><strong>{}</strong></p>'
        '<textarea class="form-control mb-3" rows="4" readonly>{}</textarea>',
        typed,
    )
    body = format_html(
        '<!doctype html><html lang="en-GB"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Not sent · homevisits</title></head>"
        '<body><main class="container py-4"><h1>Not sent: nothing was saved</h1>'
        "<p>{} Go back, shorten it and send it again.</p>{}{}"
        '<p><a href="/">Back to the start</a></p></main></body></html>',
        reason,
        format_html("<p>What you typed, to copy before you go back:</p>") if typed else "",
        shown,
    )
    response = HttpResponse(body, status=400)
    # This page holds what was typed, perhaps about a child: no copy kept anywhere.
    response["Cache-Control"] = "private, no-store"
    return response


class CleanInputMiddleware:
    """Control and bidi characters out of every GET and POST field; a bound on each field's
    length and on how many fields a request sends. File uploads are left alone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(UNTOUCHED_PATHS):
            try:
                request.GET = _cleaned(request.GET, touch=True)
                if request.method == "POST":
                    request.POST = _cleaned(request.POST, touch=True)
            except RequestRefused as refusal:
                return _refused_page(request, refusal.reason)
            except TooManyFieldsSent:
                return _refused_page(request, "The form sent far too many fields.")
            except RequestDataTooBig:
                return _refused_page(request, "What was sent is far too big.")
        return self.get_response(request)


# --- Where to go next --------------------------------------------------------------------------


def local_next(request, value, default):
    """`value` if it is a path on this site to send the person back to, else `default`: never
    another site (an open redirect), never a header a newline would break (a 500)."""
    if (
        not isinstance(value, str)
        or not value.startswith("/")
        or value.startswith(("//", "/\\"))
        or len(value) > 2_000
        or any(ord(char) < 33 or char == "\x7f" for char in value)
    ):
        return default
    if not url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return default
    return iri_to_uri(value)


# --- Forms -------------------------------------------------------------------------------------


class TextLimit:
    """A length limit that says it in plain words, with the numbers as people write them."""

    code = "max_length"

    def __init__(self, limit):
        self.limit_value = limit

    def __call__(self, value):
        if isinstance(value, str) and len(value) > self.limit_value:
            raise ValidationError(too_long_message(self.limit_value, len(value)), code=self.code)

    def __eq__(self, other):
        return isinstance(other, TextLimit) and other.limit_value == self.limit_value

    def deconstruct(self):
        return ("homevisits.cleaning.TextLimit", (self.limit_value,), {})


# Fields whose cleaned value is the text typed. Others built on CharField (JSON, phone numbers,
# UUIDs) turn it into something else, which a length check must not be run on.
_TEXT_FIELDS = (forms.CharField, forms.EmailField, forms.URLField, forms.SlugField)


def bounded(form, limits=None, *, default=NOTE_CHARS):
    """Give every free-text field of `form` a limit: its own max_length if it has one, else
    `limits[name]`, else `default`; the browser stops typing there too (maxlength)."""
    limits = limits or {}
    for name, field in form.fields.items():
        if type(field) not in _TEXT_FIELDS:
            continue
        limit = limits.get(name) or field.max_length or default
        limit = min(limit, MAX_FIELD_CHARS)
        field.max_length = limit
        field.validators = [
            v for v in field.validators if getattr(v, "code", None) != "max_length"
        ] + [TextLimit(limit)]
        if isinstance(field.widget, (forms.TextInput, forms.Textarea)):
            field.widget.attrs["maxlength"] = str(limit)
    return form


class BoundedFormMixin:
    """`bounded` on every instance: set `text_limits` ({field: characters}) where a field needs
    more (or less) than `default_text_limit`."""

    text_limits = {}
    default_text_limit = NOTE_CHARS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bounded(self, self.text_limits, default=self.default_text_limit)


# --- Sending -------------------------------------------------------------------------------------


# One budget per person for everything that sends a text or an email on their word (a concern,
# an action given to someone, a drill); never for anything in an emergency.
SENDING = "sending"


def sending_rate(group, request):
    """django-ratelimit's rate for what one person may cause to be sent, read at each request so
    a change of settings (and a test's) takes effect."""
    return settings.SENDING_RATE
