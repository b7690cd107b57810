"""Thin Celery tasks for the record after a visit: call a service, return what it did."""

from celery import shared_task

from .services import reminders


@shared_task(acks_late=True, ignore_result=True)
def records_remind():
    """A7: chase late minutes, overdue actions and missing debriefs. Beat runs it every few
    minutes; a second run the same day sends nothing (the outbox keys name the day)."""
    return reminders.reminders_send()
