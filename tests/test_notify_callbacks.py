"""GOV.UK Notify's delivery receipts: posted by the fake Notify as Notify posts them (JSON, a
bearer token), they move a text from sent to delivered or failed, on the alert's timeline; a
failed text moves the alert on; a wrong token is refused and changes nothing."""

import pytest

from notifications import delivery
from notifications.models import Channel, Delivery
from notifications.notify.fakes import API_KEY, FakeNotify
from visits.models import EventKind

from .conftest import NOTIFY_SMS_TEMPLATE

TOKEN = "a-callback-token-for-tests"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def notify(settings, live_server):
    with FakeNotify(
        callback_url=live_server.url + "/notifications/notify/status/", callback_token=TOKEN
    ) as fake:
        settings.NOTIFY_API_KEY, settings.NOTIFY_BASE_URL = API_KEY, fake.url
        settings.NOTIFY_SMS_TEMPLATE_ID, settings.NOTIFY_CALLBACK_TOKEN = NOTIFY_SMS_TEMPLATE, TOKEN
        settings.NOTIFICATION_TRANSPORTS = {
            **settings.NOTIFICATION_TRANSPORTS,
            "sms": "notifications.notify.transport.NotifySMSTransport",
        }
        yield fake


def _sent_text(overdue, notify):
    delivery.deliver_due(budget_seconds=5, now=overdue.raised_at)
    [message] = notify.messages
    sms = overdue.notifications.get(channel=Channel.SMS, key__contains=":step1:")
    assert sms.state == Delivery.SENT
    return message, sms


def test_a_delivered_receipt_lands_on_the_alerts_timeline(overdue, notify):
    message, sms = _sent_text(overdue, notify)

    assert notify.report(message, "delivered") == 204

    sms.refresh_from_db()
    assert (sms.state, sms.provider_status) == (Delivery.DELIVERED, "delivered")
    assert overdue.events.filter(kind=EventKind.NOTIFICATION_DELIVERED).exists()
    assert notify.report(message, "delivered") == 204  # again: nothing more
    assert overdue.events.filter(kind=EventKind.NOTIFICATION_DELIVERED).count() == 1


def test_a_failed_text_moves_the_alert_on_to_the_next_people(overdue, notify, head):
    message, sms = _sent_text(overdue, notify)

    notify.report(message, "permanent-failure")

    sms.refresh_from_db()
    assert (sms.state, sms.provider_status) == (Delivery.FAILED, "the number is not in use")
    assert overdue.notifications.filter(key__contains=":step1-c2:", recipient=head).exists()


def test_a_receipt_with_the_wrong_token_is_refused(overdue, notify):
    message, sms = _sent_text(overdue, notify)
    notify.callback_token = "not-the-token"

    assert notify.report(message, "delivered") == 403

    sms.refresh_from_db()
    assert sms.state == Delivery.SENT


def test_with_no_token_set_every_receipt_is_refused(overdue, notify, settings):
    message, _ = _sent_text(overdue, notify)
    settings.NOTIFY_CALLBACK_TOKEN = ""
    notify.callback_token = ""
    assert notify.report(message, "delivered") == 403


def test_a_receipt_still_on_its_way_or_not_json_changes_nothing(client, overdue, notify):
    message, sms = _sent_text(overdue, notify)
    assert notify.report(message, "sending") == 204
    bad = client.post(
        "/notifications/notify/status/",
        data=b"{",
        content_type="application/json",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert bad.status_code == 400
    sms.refresh_from_db()
    assert sms.state == Delivery.SENT
