"""Append-only tables: every timeline and audit table refuses an UPDATE or a DELETE.

On PostgreSQL a trigger of the database itself does it (django-pgtrigger's Protect), so neither
a queryset, the admin, a shell nor raw SQL changes what happened. The triggers are registered
here, on the other apps' models, and installed by `manage.py migrate`
(PGTRIGGER_INSTALL_ON_MIGRATE): no migration of another app carries them. SQLite has no such
triggers; there Python refuses a second save or a delete (the models' own guard, or the signal
receivers below).

Every trigger is named "append_only". The retention schedule (safeguarding) is the one thing
that may remove or anonymise such rows, inside `pgtrigger.ignore("<app>.<Model>:append_only")`;
the Python guards below let through what that block lets through.

Left out on purpose, because their rows legitimately change: notifications.Notification (the
outbox: its delivery state moves on), escalation.Escalation and WatchdogOutage (answered,
resolved, paged), visits.Authorisation (withdrawn_at is set when details change, P2),
safeguarding.Minutes, Signature, Debrief and Action (drafts, re-signing, actions marked done).
"""

import pgtrigger
from django.apps import apps
from django.db.models import QuerySet
from django.db.models.signals import pre_delete, pre_save

TRIGGER_NAME = "append_only"

# Every table that records what happened (the brief of issue 11, item 5).
APPEND_ONLY_MODELS = (
    "visits.VisitEvent",  # the visit's timeline, the escalation's events included
    "safeguarding.ConcernEvent",
    "safeguarding.MinutesEvent",
    "safeguarding.Addendum",
    "safeguarding.CopySent",
    "schools.CalendarChange",
    "audit.AuditEvent",
)

# Models with no Python guard of their own (safeguarding's AppendOnly and AuditEvent have one).
GUARDED_BY_SIGNALS = ("visits.VisitEvent", "schools.CalendarChange")


def uri(label):
    return f"{label}:{TRIGGER_NAME}"


def register_triggers():
    """Called once, from AuditConfig.ready()."""
    registered = {f"{m._meta.label}:{trigger.name}" for m, trigger in pgtrigger.registered()}
    for label in APPEND_ONLY_MODELS:
        model = apps.get_model(label)
        if uri(label) in registered:
            continue
        pgtrigger.register(
            pgtrigger.Protect(name=TRIGGER_NAME, operation=pgtrigger.Update | pgtrigger.Delete)
        )(model)
    for label in GUARDED_BY_SIGNALS:
        model = apps.get_model(label)
        pre_save.connect(_refuse_change, sender=model, dispatch_uid=f"append_only_save:{label}")
        pre_delete.connect(_refuse_delete, sender=model, dispatch_uid=f"append_only_delete:{label}")


def is_ignored(model):
    """Whether the model's trigger is switched off here by `pgtrigger.ignore` (retention)."""
    label = model._meta.label
    try:
        return pgtrigger.is_ignored(uri(label))
    except (KeyError, IndexError):
        return False


def refusal(model):
    return ValueError(f"{model.__name__} rows are append-only: what happened stays on record.")


def _refuse_change(sender, instance, raw=False, **kwargs):
    if raw or instance._state.adding or is_ignored(sender):
        return
    raise refusal(sender)


def _refuse_delete(sender, instance, origin=None, **kwargs):
    # A delete aimed at these rows (row.delete(), Model.objects...delete()) is refused here. A
    # cascade from a deleted visit or school is refused by PostgreSQL's trigger.
    aimed_here = isinstance(origin, sender) or (
        isinstance(origin, QuerySet) and origin.model is sender
    )
    if aimed_here and not is_ignored(sender):
        raise refusal(sender)
