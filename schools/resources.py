"""CSV import and export of pupils and carers (django-import-export, used by the admin), and
the reading of a staff CSV (at the end: people and their roles, saved by roles.staff_import).

Schools export these lists from their MIS. A pupil row names its school by the school's slug
and is keyed by (school, UPN); a carer row names its pupil by `pupil_upn` and the school's slug,
and is keyed by (pupil, carer's name). Importing the same file twice updates rather than
duplicates. A row that cannot be matched is reported as that row's error and nothing of it is
saved; it never stops the import with a server error.

The admin tells the resource who is importing (`user=`). Someone who is not a superuser imports
only rows for the schools where they are school admin: any other school's row is that row's
error. Without a user (the shell, a management command) every school may be named.
"""

import csv
import io
import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from django.contrib.auth import get_user_model
from django.core.exceptions import MultipleObjectsReturned, ValidationError
from django.core.validators import validate_email
from import_export import fields, resources, widgets

from homevisits.csv_safe import FORMULA_STARTS, csv_cell

from .models import APPROVAL_ROLES, Carer, Pupil, Role, School
from .phones import e164, is_dialable, uk
from .roles import RoleRefused, check_role_give
from .selectors import display_name, schools_for

User = get_user_model()


class UKDateWidget(widgets.DateWidget):
    """A date written YYYY-MM-DD or DD/MM/YYYY, as UK school systems export them.

    Without this the widget falls back on Django's DATE_INPUT_FORMATS, which read 03/04/2017 the
    American way (4 March); a date of birth must never be silently swapped like that.
    """

    INPUT_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")

    def __init__(self):
        super().__init__(format=self.INPUT_FORMATS[0])
        self.formats = self.INPUT_FORMATS

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, str):
            value = value.strip()
        try:
            return super().clean(value, row=row, **kwargs)
        except ValueError:
            raise ValueError(
                f"{value!r} is not a date: write it as YYYY-MM-DD or DD/MM/YYYY."
            ) from None


class YesNoWidget(widgets.BooleanWidget):
    """yes/no, y/n, true/false or 1/0; a blank cell means `blank`. Anything else is an error."""

    YES = frozenset({"yes", "y", "true", "t", "1"})
    NO = frozenset({"no", "n", "false", "f", "0"})

    def __init__(self, blank=False):
        super().__init__()
        self.blank = blank

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, bool):
            return value
        text = "" if value is None else str(value).strip().lower()
        if text == "":
            return self.blank
        if text in self.YES:
            return True
        if text in self.NO:
            return False
        raise ValueError(f"{value!r} is not yes or no.")

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return "yes" if value else "no"


class PhoneWidget(widgets.CharWidget):
    """A phone number typed the UK's way or internationally, kept in international form, so
    that importing the same file again finds it unchanged; written out in UK form."""

    def clean(self, value, row=None, **kwargs):
        text = "" if value is None else str(value).strip()
        if not text:
            return ""
        if not is_dialable(text):
            raise ValueError(f"{text!r} is not a phone number that can be dialled.")
        return e164(text)

    def render(self, value, obj=None, **kwargs):
        return uk(value) if value else ""


class PupilByUPNWidget(widgets.ForeignKeyWidget):
    """The pupil with this UPN at the school named in the row's `school` column."""

    def __init__(self):
        super().__init__(Pupil, field="upn")

    def get_queryset(self, value, row, *args, **kwargs):
        return Pupil.objects.filter(school__slug=(row or {}).get("school", ""))


def _unescaped(text):
    """A cell this app exported (quoted by csv_cell, because it would run as a formula) reads
    back as it was, so an exported file imports unchanged."""
    if text.startswith("'") and text[1:].lstrip(" ").startswith(FORMULA_STARTS):
        return text[1:]
    return text


def _normalise_header(header):
    return str(header or "").strip().lower().replace(" ", "_")


class _SchoolFileResource(resources.ModelResource):
    """Shared handling of the files schools send: tidy headers and cells, check the school."""

    def __init__(self, user=None, **kwargs):
        super().__init__(**kwargs)
        self._schools = {}
        # The slugs of the schools this user may import into; None: any school.
        self._allowed_slugs = None
        if user is not None and not user.is_superuser:
            self._allowed_slugs = set(
                schools_for(user, roles=[Role.SCHOOL_ADMIN]).values_list("slug", flat=True)
            )

    def before_import(self, dataset, **kwargs):
        # Spreadsheets say "UPN" or "School " as often as "upn" or "school".
        if dataset.headers:
            dataset.headers = [_normalise_header(h) for h in dataset.headers]
        # Trailing empty lines from spreadsheets are not rows to import.
        for index in reversed(range(len(dataset))):
            if all(cell is None or str(cell).strip() == "" for cell in dataset[index]):
                del dataset[index]

    def before_import_row(self, row, **kwargs):
        for key, value in row.items():
            if isinstance(value, str):
                row[key] = _unescaped(value.replace("\r\n", "\n").strip())
        self.school_for(row)

    def export_field(self, field, instance, **kwargs):
        # Every cell a spreadsheet would run as a formula starts with a quote (OWASP CSV
        # injection). IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT alone catches only a leading "=",
        # and drops it, so "+", "-", "@", tab and the rest ran as formulas in a pupil's known
        # risks, a carer's name or address.
        value = super().export_field(field, instance, **kwargs)
        return csv_cell(value) if isinstance(value, str) else value

    def school_for(self, row):
        slug = row.get("school") or ""
        if not slug:
            raise ValidationError({"school": "Give the school's short code (its slug)."})
        if self._allowed_slugs is not None and slug not in self._allowed_slugs:
            raise ValidationError(
                {
                    "school": f"You do not administer school {slug!r}: import only the pupils "
                    "and carers of your own schools."
                }
            )
        if slug not in self._schools:
            self._schools[slug] = School.objects.filter(slug=slug).first()
        if self._schools[slug] is None:
            raise ValidationError({"school": f"There is no school with the short code {slug!r}."})
        return self._schools[slug]

    def get_instance(self, instance_loader, row):
        try:
            return super().get_instance(instance_loader, row)
        except MultipleObjectsReturned:
            raise ValidationError(
                "More than one record already matches this row; fix them in the admin first."
            ) from None


class PupilResource(_SchoolFileResource):
    school = fields.Field(
        attribute="school", column_name="school", widget=widgets.ForeignKeyWidget(School, "slug")
    )
    date_of_birth = fields.Field(
        attribute="date_of_birth", column_name="date_of_birth", widget=UKDateWidget()
    )
    has_animals = fields.Field(
        attribute="has_animals", column_name="has_animals", widget=YesNoWidget(blank=False)
    )
    previous_aggression = fields.Field(
        attribute="previous_aggression",
        column_name="previous_aggression",
        widget=YesNoWidget(blank=False),
    )

    class Meta:
        model = Pupil
        # The key worker is a member of staff chosen in the admin; an MIS file does not know them.
        fields = (
            "school",
            "upn",
            "first_name",
            "last_name",
            "date_of_birth",
            "year_group",
            "address",
            "postcode",
            "social_worker_name",
            "social_worker_contact",
            "has_animals",
            "previous_aggression",
            "known_risks",
        )
        import_id_fields = ("school", "upn")
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True

    def before_import_row(self, row, **kwargs):
        super().before_import_row(row, **kwargs)
        if not row.get("upn"):
            raise ValidationError({"upn": "Give the pupil's UPN."})

    def get_queryset(self):
        return super().get_queryset().select_related("school")


class CarerResource(_SchoolFileResource):
    school = fields.Field(attribute="pupil__school__slug", column_name="school", readonly=True)
    pupil = fields.Field(attribute="pupil", column_name="pupil_upn", widget=PupilByUPNWidget())
    parental_responsibility = fields.Field(
        attribute="parental_responsibility",
        column_name="parental_responsibility",
        widget=YesNoWidget(blank=True),
    )
    lives_with_pupil = fields.Field(
        attribute="lives_with_pupil", column_name="lives_with_pupil", widget=YesNoWidget(blank=True)
    )
    phone = fields.Field(attribute="phone", column_name="phone", widget=PhoneWidget())

    class Meta:
        model = Carer
        fields = (
            "school",
            "pupil",
            "name",
            "relationship",
            "parental_responsibility",
            "phone",
            "email",
            "address",
            "lives_with_pupil",
        )
        import_id_fields = ("pupil", "name")
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True

    def before_import_row(self, row, **kwargs):
        super().before_import_row(row, **kwargs)
        school = self.school_for(row)
        upn = row.get("pupil_upn") or ""
        if not upn:
            raise ValidationError({"pupil_upn": "Give the UPN of the carer's pupil."})
        if not Pupil.objects.filter(school=school, upn=upn).exists():
            raise ValidationError(
                {
                    "pupil_upn": f"There is no pupil with UPN {upn!r} at {school}. Import the "
                    "pupils first, or check the UPN and the school."
                }
            )
        if not row.get("name"):
            raise ValidationError({"name": "Give the carer's name."})

    def get_queryset(self):
        return super().get_queryset().select_related("pupil__school")


# Staff and their roles (issue 12, item 8: "60 staff means 60 forms"). Not django-import-export:
# a row here is a person, a staff profile and several roles, each role given (or asked for) by
# schools/roles.py, so the admin's page (schools/admin.py UserAdmin.staff_import_view) reads the
# file with staff_file_read, shows every row's problems or what will happen, and saves with
# roles.staff_import only when no row has a problem.

STAFF_COLUMNS = (
    ("first_name", "First name. Needed."),
    ("last_name", "Last name. Needed."),
    ("email", "Their own work email: the link to set their password goes there. Needed."),
    ("username", "What they sign in with. Leave blank to make it from the email."),
    ("job_title", "As the school says it, e.g. Teaching assistant."),
    ("mobile", "The mobile they carry on visits, e.g. 07700 900123 (P13)."),
    (
        "roles",
        "One or more of: office; visiting staff; SLT; school admin; DSL; deputy DSL; "
        "headteacher. Separate them with ; or ,. DSL, deputy DSL and headteacher read "
        "safeguarding records: they are asked for and wait for approval (A8). Needed.",
    ),
)
STAFF_HEADER = tuple(name for name, _ in STAFF_COLUMNS)
STAFF_EXAMPLE = (
    "Jo",
    "Bloggs",
    "jo.bloggs@example.org",
    "",
    "Teaching assistant",
    "07700 900123",
    "visiting staff; office",
)
# Other ways spreadsheets head the same columns.
_STAFF_HEADER_WORDS = {
    "forename": "first_name",
    "firstname": "first_name",
    "surname": "last_name",
    "lastname": "last_name",
    "email_address": "email",
    "e-mail": "email",
    "user_name": "username",
    "job": "job_title",
    "mobile_number": "mobile",
    "mobile_phone": "mobile",
    "role": "roles",
    "role(s)": "roles",
}
_STAFF_NEEDED = ("first_name", "last_name", "email", "roles")
# A school's staff, with room to spare; more is not a staff list.
STAFF_MAX_ROWS = 1000
STAFF_MAX_BYTES = 1_000_000


def _role_words():
    words = {}
    for value, label in Role.choices:
        words[value] = value
        words[value.replace("_", " ")] = value
        words[label.lower()] = value
    words.update(
        {
            "head": Role.HEADTEACHER,
            "principal": Role.HEADTEACHER,
            "designated safeguarding lead": Role.DSL,
            "deputy designated safeguarding lead": Role.DEPUTY_DSL,
            "senior leadership team": Role.SLT,
            "visitor": Role.VISITING_STAFF,
            "visiting": Role.VISITING_STAFF,
            "admin": Role.SCHOOL_ADMIN,
        }
    )
    return words


ROLE_WORDS = _role_words()


class StaffFileError(ValueError):
    """The file as a whole cannot be read: the message says why and what to do."""


@dataclass
class StaffRow:
    """One row of the file: who, what roles, and what is wrong with it."""

    number: int  # as a spreadsheet shows it: the header is row 1
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    username: str = ""
    job_title: str = ""
    mobile: str = ""  # international form (E.164)
    roles: list = dataclass_field(default_factory=list)
    person: object = None  # their account, if they have one already
    problems: list = dataclass_field(default_factory=list)

    @property
    def name(self):
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def mobile_uk(self):
        return uk(self.mobile) if self.mobile else ""

    def roles_given(self):
        return [Role(role).label for role in self.roles if role not in APPROVAL_ROLES]

    def roles_asked(self):
        return [Role(role).label for role in self.roles if role in APPROVAL_ROLES]


def staff_file_text(data):
    """The text of an uploaded staff CSV (bytes), as UTF-8 or, from older Excel, Windows-1252."""
    if isinstance(data, str):
        return data
    if len(data) > STAFF_MAX_BYTES:
        raise StaffFileError(
            "The file is larger than 1 MB: a staff list is smaller. Check it is the right file."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel's "CSV" (not "CSV UTF-8") is Windows-1252.
        return data.decode("cp1252", errors="replace")


def _staff_header(header):
    names = []
    for cell in header:
        name = _normalise_header(cell)
        names.append(_STAFF_HEADER_WORDS.get(name, name))
    missing = [name for name in _STAFF_NEEDED if name not in names]
    if missing:
        raise StaffFileError(
            "The first row must name the columns. Missing: "
            + ", ".join(name.replace("_", " ") for name in missing)
            + ". Download the Staff CSV template to see them."
        )
    return names


def _roles_of(text):
    roles, unknown = [], []
    for word in re.split(r"[;,]", text):
        word = " ".join(word.split()).lower()
        if not word:
            continue
        role = ROLE_WORDS.get(word)
        if role is None:
            unknown.append(word)
        elif role not in roles:
            roles.append(role)
    return roles, unknown


def _username_from(email, taken):
    base = re.sub(r"[^\w.@+-]", "", email.split("@")[0]).lower()[:140] or "staff"
    username, number = base, 1
    while username.lower() in taken or User.objects.filter(username__iexact=username).exists():
        number += 1
        username = f"{base}{number}"
    return username


def staff_file_read(data, *, school, by):
    """The rows of a staff CSV for `school`, each with its problems (none saved).

    Raises StaffFileError when the file as a whole cannot be read."""
    text = staff_file_text(data)
    if "\x00" in text:
        # PostgreSQL cannot keep a NUL: it would fail on saving, after the check said yes.
        raise StaffFileError(
            "This is not a CSV file (it has NUL characters): save the spreadsheet as CSV."
        )
    try:
        lines = list(csv.reader(io.StringIO(text)))
    except csv.Error as error:
        raise StaffFileError(f"This file cannot be read as a CSV ({error}).") from None
    while lines and not any(cell.strip() for cell in lines[0]):
        lines.pop(0)
    if not lines:
        raise StaffFileError("The file is empty: the first row names the columns, then a row each.")
    header = _staff_header(lines[0])
    if len(lines) - 1 > STAFF_MAX_ROWS:
        raise StaffFileError(f"The file has more than {STAFF_MAX_ROWS} rows: split it in two.")
    rows, emails, usernames = [], {}, {}
    for number, cells in enumerate(lines[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        values = {name: _unescaped(cell.strip()) for name, cell in zip(header, cells, strict=False)}
        row = _staff_row(number, values)
        _check_person(row, emails, usernames)
        for role in row.roles:
            try:
                check_role_give(user=row.person, school=school, role=role, by=by)
            except RoleRefused as refusal:
                for message in refusal.messages:
                    if message not in row.problems:
                        row.problems.append(message)
        rows.append(row)
    if not rows:
        raise StaffFileError("The file names the columns but has no staff rows.")
    return rows


def _staff_row(number, values):
    row = StaffRow(number=number)
    problems = row.problems
    for name, words, limit in (
        ("first_name", "first name", 150),
        ("last_name", "last name", 150),
        ("email", "email", 254),
        ("username", "username", 150),
        ("job_title", "job title", 100),
    ):
        value = values.get(name, "")
        if len(value) > limit:
            problems.append(f"The {words} is longer than {limit} characters.")
            value = value[:limit]
        setattr(row, name, value)
    for name, words in (("first_name", "first name"), ("last_name", "last name")):
        if not getattr(row, name):
            problems.append(f"Give the {words}.")
    # allauth keeps and looks up addresses in lower case: a "Jo.Bloggs@..." kept as typed
    # would never be found by the reset link, which would then go to "Unknown Account".
    row.email = row.email.lower()
    if not row.email:
        problems.append("Give their email: the link to set their password goes there.")
    else:
        try:
            validate_email(row.email)
        except ValidationError:
            problems.append(f"{row.email!r} is not an email address.")
    if row.username:
        try:
            User.username_validator(row.username)
        except ValidationError:
            problems.append(
                f"The username {row.username!r} may have only letters, digits and @ . + - _."
            )
    mobile = values.get("mobile", "")
    if mobile:
        if is_dialable(mobile):
            row.mobile = e164(mobile)
        else:
            problems.append(
                f"{mobile!r} is not a mobile the office can dial: write it like 07700 900123 (P13)."
            )
    row.roles, unknown = _roles_of(values.get("roles", ""))
    for word in unknown:
        problems.append(
            f"{word!r} is not a role here. The roles are: office, visiting staff, SLT, school "
            "admin, DSL, deputy DSL, headteacher."
        )
    if not row.roles and not unknown:
        problems.append("Give at least one role, e.g. visiting staff.")
    return row


def _check_person(row, emails, usernames):
    """The row against the accounts there are and the rows before it."""
    if row.email:
        key = row.email.lower()
        if key in emails:
            row.problems.append(
                f"Row {emails[key]} has the same email: each person signs in with their own."
            )
        emails.setdefault(key, row.number)
        people = list(User.objects.filter(email__iexact=row.email)[:2])
        if len(people) > 1:
            row.problems.append(
                "More than one account has this email: the trust's admin must sort them out first."
            )
        elif people:
            row.person = people[0]
    if row.person is not None:
        if row.username and row.username.lower() != row.person.username.lower():
            row.problems.append(
                f"{display_name(row.person)} already has an account with this email, with the "
                f"username {row.person.username!r}: leave the username blank or write that one."
            )
        row.username = row.person.username
        return
    if row.username:
        key = row.username.lower()
        if key in usernames:
            row.problems.append(f"Row {usernames[key]} has the same username.")
        elif User.objects.filter(username__iexact=row.username).exists():
            row.problems.append(
                f"Someone already has the username {row.username!r}: choose another, or leave it "
                "blank to make one from the email."
            )
    elif row.email:
        row.username = _username_from(row.email, usernames)
    if row.username:
        usernames.setdefault(row.username.lower(), row.number)
