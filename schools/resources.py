"""CSV import and export of pupils and carers (django-import-export, used by the admin).

Schools export these lists from their MIS. A pupil row names its school by the school's slug
and is keyed by (school, UPN); a carer row names its pupil by `pupil_upn` and the school's slug,
and is keyed by (pupil, carer's name). Importing the same file twice updates rather than
duplicates. A row that cannot be matched is reported as that row's error and nothing of it is
saved; it never stops the import with a server error.

The admin tells the resource who is importing (`user=`). Someone who is not a superuser imports
only rows for the schools where they are school admin: any other school's row is that row's
error. Without a user (the shell, a management command) every school may be named.
"""

from django.core.exceptions import MultipleObjectsReturned, ValidationError
from import_export import fields, resources, widgets

from homevisits.csv_safe import FORMULA_STARTS, csv_cell

from .models import Carer, Pupil, Role, School
from .phones import e164, is_dialable, uk
from .selectors import schools_for


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
