"""manage.py retention [--school SLUG] [--dry-run]: the retention schedule by hand.

With --dry-run it prints what is due now and changes nothing. Without, it runs the nightly step
(safeguarding.tasks.records_retention) for the school(s): what a report listed long enough ago
is removed, and what has newly fallen due is reported to the DSL. It never removes anything
that has not been reported first.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from safeguarding.services import retention
from schools.models import School


class Command(BaseCommand):
    help = "Print what the retention schedule removes next; without --dry-run, run it."

    def add_arguments(self, parser):
        parser.add_argument(
            "--school", help="The school's short code (slug); every school if left out."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Only print what is due; change nothing."
        )

    def handle(self, *args, school=None, dry_run=False, **options):
        schools = School.objects.order_by("name")
        if school:
            schools = schools.filter(slug=school)
            if not schools.exists():
                raise CommandError(f"No school has the short code {school!r}.")
        now = timezone.now()
        for each in schools:
            self._print_plan(each, retention.retention_plan(each, now))
            if dry_run:
                continue
            result = retention.retention_cycle(each, now)
            if result.removal is not None:
                self.stdout.write(f"  Removed: {self._counts(result.removal.counts)}")
            if result.report is not None:
                who = result.report.reported_to or "nobody (no DSL or headteacher with an email)"
                self.stdout.write(f"  Reported to {who}: {self._counts(result.report.counts)}")
            if result.removal is None and result.report is None:
                self.stdout.write("  Nothing removed or reported this time.")

    def _print_plan(self, school, plan):
        self.stdout.write(f"{school.name} ({school.slug}): due now")
        for label, count, more in plan.rows():
            self.stdout.write(f"  {label}: {count}{' (more next run)' if more else ''}")
        for pupil in plan.pupils():
            self.stdout.write(f"    {pupil} (born {pupil.date_of_birth:%d/%m/%Y})")

    @staticmethod
    def _counts(counts):
        return ", ".join(f"{name}: {n}" for name, n in counts.items() if n) or "nothing"
