"""Web Push: browsers subscribe, and alerts reach them through their push service.

Pushes go through pywebpush, unmocked, to a fake push service on loopback
(notifications/push/fakes.py) that checks what a real one checks (the VAPID token, the
encryption, the headers); each browser here is a key pair made in the test, so the test reads
what the phone would show by decrypting the push with it.
"""

import io
import json
import os

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.management import call_command
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from py_vapid import Vapid

from notifications import delivery
from notifications.models import Channel, Delivery, Notification, PushSubscription
from notifications.push import transport as push_transport
from notifications.push.fakes import FakePushService, decrypt
from notifications.push.keys import b64url_encode, new_vapid_pair, public_point
from notifications.push.services import MAX_DEVICES
from notifications.services import push_addresses

from .celery_procs import wait_until

SITE = "https://visits.example.org"
SUBJECT = "mailto:alerts@heather-avenue.example.org"
WEB_PUSH = "notifications.push.transport.WebPushTransport"
ALERT_BODY = f"Overdue (due 15:30): home visit.\nRecord what happened: {SITE}/board/alerts/7/"


class Browser:
    """A browser's side of a subscription: its keys, made here as a browser makes them."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth_secret = os.urandom(16)

    def to_json(self):
        """What `PushSubscription.toJSON()` gives in the browser."""
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {
                "p256dh": public_point(self.private_key.public_key()),
                "auth": b64url_encode(self.auth_secret),
            },
        }

    def subscribe_as(self, user):
        keys = self.to_json()["keys"]
        return PushSubscription.objects.create(
            user=user, endpoint=self.endpoint, p256dh=keys["p256dh"], auth=keys["auth"]
        )

    def read(self, push):
        return json.loads(decrypt(push, self.private_key, self.auth_secret))


@pytest.fixture
def vapid(settings):
    public, private = new_vapid_pair()
    settings.VAPID_PUBLIC_KEY = public
    settings.VAPID_PRIVATE_KEY = private
    settings.VAPID_SUBJECT = SUBJECT
    settings.SITE_URL = SITE
    settings.NOTIFICATION_TRANSPORTS = {**settings.NOTIFICATION_TRANSPORTS, "push": WEB_PUSH}
    return public


@pytest.fixture
def push_service(vapid):
    with FakePushService() as service:
        yield service


@pytest.fixture
def phone(push_service, vapid):
    """The visitor's phone, subscribed with this site's key."""
    return Browser(push_service.new_endpoint(application_server_key=vapid))


def _push(subscription, *, school, now, body=None, about=None):
    row = Notification.build(
        key=f"test:push:{subscription.pk}",
        school=school,
        about=about,
        recipient=subscription.user,
        label="Vic Visitor",
        channel=Channel.PUSH,
        address=f"push:{subscription.pk}",
        subject="Home visit overdue: phone the staff now (E1)",
        body=body
        or f"Overdue (due 15:30): home visit.\nRecord what happened: {SITE}/board/alerts/7/",
        now=now,
    )
    row.save()
    return row


def _deliver(now):
    return delivery.deliver_due(budget_seconds=5, now=now)


def _fresh(row):
    return Notification.objects.get(pk=row.pk)


# --- Subscribing -------------------------------------------------------------------------


def _post(client, name, data):
    body = data if isinstance(data, (str, bytes)) else json.dumps(data)
    return client.post(
        reverse(name), body, content_type="application/json", HTTP_USER_AGENT="Firefox on Android"
    )


def test_a_signed_in_person_subscribes_this_browser(client, visitor):
    browser = Browser("https://updates.push.services.mozilla.com/wpush/v2/gAAAAABn")
    client.force_login(visitor)

    response = _post(client, "push-subscribe", browser.to_json())

    assert response.status_code == 201
    [subscription] = PushSubscription.objects.all()
    assert subscription.user == visitor
    assert subscription.endpoint == browser.endpoint
    assert subscription.p256dh == browser.to_json()["keys"]["p256dh"]
    assert subscription.user_agent == "Firefox on Android"
    # The page sends it again on each load: still one row.
    assert _post(client, "push-subscribe", browser.to_json()).status_code == 200
    assert PushSubscription.objects.count() == 1


def test_a_browser_that_renews_its_keys_keeps_one_subscription(client, visitor):
    endpoint = "https://fcm.googleapis.com/fcm/send/abc:def"
    client.force_login(visitor)
    _post(client, "push-subscribe", Browser(endpoint).to_json())
    renewed = Browser(endpoint)

    assert _post(client, "push-subscribe", renewed.to_json()).status_code == 200

    [subscription] = PushSubscription.objects.all()
    assert subscription.p256dh == renewed.to_json()["keys"]["p256dh"]


@pytest.mark.parametrize("host", ["127.0.0.1:8123", "localhost:8123"])
def test_plain_http_is_taken_from_loopback_only(client, visitor, host):
    client.force_login(visitor)
    response = _post(client, "push-subscribe", Browser(f"http://{host}/push/abc").to_json())
    assert response.status_code == 201


def test_anonymous_is_sent_to_the_login_page(client, db):
    for name in ("push-subscribe", "push-unsubscribe"):
        response = _post(client, name, Browser("https://fcm.googleapis.com/x").to_json())
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    response = client.get(reverse("push-key"))
    assert response.status_code == 302
    assert PushSubscription.objects.count() == 0


def test_subscribing_needs_the_csrf_token(visitor):
    client = Client(enforce_csrf_checks=True)
    client.force_login(visitor)
    response = _post(client, "push-subscribe", Browser("https://fcm.googleapis.com/x").to_json())
    assert response.status_code == 403
    assert PushSubscription.objects.count() == 0


def _with(**changes):
    data = Browser("https://fcm.googleapis.com/send/abc").to_json()
    if "keys" in changes:
        keys = changes.pop("keys")
        merged = {**data["keys"], **(keys or {})}
        data["keys"] = None if keys is None else {k: v for k, v in merged.items() if v is not None}
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        ([], "an endpoint and its keys"),
        (_with(endpoint=None), "no endpoint"),
        (_with(endpoint=""), "no endpoint"),
        (_with(endpoint=42), "no endpoint"),
        (_with(endpoint="http://fcm.googleapis.com/send/abc"), "https://"),
        (_with(endpoint="ftp://fcm.googleapis.com/send/abc"), "not a web address"),
        (_with(endpoint="javascript:alert(1)"), "not a web address"),
        (_with(endpoint="https://fcm.googleapis.com:99999/x"), "not a web address"),
        (_with(endpoint="https://fcm.googleapis.com/a b"), "not a web address"),
        (_with(endpoint="https://user:pw@fcm.googleapis.com/x"), "user name or password"),
        (_with(endpoint="https://fcm.googleapis.com/" + "x" * 2000), "longer than 2000"),
        (_with(keys=None), "no keys"),
        (_with(keys={"p256dh": None}), "p256dh key is missing"),
        (_with(keys={"p256dh": "A" * 201}), "p256dh key is missing or too long"),
        (_with(keys={"p256dh": "not base64url!"}), "not a P-256 public key"),
        (_with(keys={"p256dh": b64url_encode(b"\x04" + b"\x01" * 64)}), "not a P-256"),
        (_with(keys={"p256dh": b64url_encode(b"\x02" + b"\x01" * 32)}), "not a P-256"),
        (_with(keys={"auth": ""}), "auth secret is missing"),
        (_with(keys={"auth": b64url_encode(b"short")}), "not 16 bytes"),
        (_with(keys={"auth": "a/b+c=="}), "not 16 bytes"),
        ("x" * 5000, "too long"),
    ],
)
def test_a_bad_subscription_is_refused_with_a_reason(client, visitor, body, reason):
    client.force_login(visitor)

    response = _post(client, "push-subscribe", body)

    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert PushSubscription.objects.count() == 0


def test_subscribing_is_a_post(client, visitor):
    client.force_login(visitor)
    assert client.get(reverse("push-subscribe")).status_code == 405


def test_a_browser_another_person_used_moves_to_whoever_subscribes_it(client, visitor, partner):
    browser = Browser("https://web.push.apple.com/QGuQyavXutnMsjQ")
    held = browser.subscribe_as(partner)
    PushSubscription.objects.filter(pk=held.pk).update(last_success_at=timezone.now())
    client.force_login(visitor)

    assert _post(client, "push-subscribe", browser.to_json()).status_code == 200

    [subscription] = PushSubscription.objects.all()
    assert (subscription.user, subscription.last_success_at) == (visitor, None)
    assert push_addresses(partner) == []


def test_a_person_keeps_their_newest_browsers_only(client, visitor):
    client.force_login(visitor)
    for n in range(MAX_DEVICES + 2):
        _post(client, "push-subscribe", Browser(f"https://fcm.googleapis.com/{n}").to_json())
    kept = set(PushSubscription.objects.values_list("endpoint", flat=True))
    assert len(kept) == MAX_DEVICES
    assert "https://fcm.googleapis.com/0" not in kept
    assert f"https://fcm.googleapis.com/{MAX_DEVICES + 1}" in kept


def test_a_person_unsubscribes_their_own_browser(client, visitor):
    browser = Browser("https://fcm.googleapis.com/mine")
    browser.subscribe_as(visitor)
    client.force_login(visitor)

    response = _post(client, "push-unsubscribe", {"endpoint": browser.endpoint})

    assert response.status_code == 200
    assert PushSubscription.objects.count() == 0
    assert _post(client, "push-unsubscribe", {"endpoint": browser.endpoint}).status_code == 404


def test_nobody_unsubscribes_another_persons_browser(client, visitor, outsider):
    browser = Browser("https://fcm.googleapis.com/theirs")
    browser.subscribe_as(visitor)
    client.force_login(outsider)

    response = _post(client, "push-unsubscribe", {"endpoint": browser.endpoint})

    assert response.status_code == 404
    assert PushSubscription.objects.get().user == visitor


@pytest.mark.parametrize(
    "endpoint", ["https://intranet.school.local/admin", "https://169.254.169.254/latest"]
)
def test_an_endpoint_that_is_not_a_browser_push_service_is_refused(client, visitor, endpoint):
    """The server posts to the endpoint: never to an address a signed-in person chose."""
    client.force_login(visitor)
    response = _post(client, "push-subscribe", Browser(endpoint).to_json())
    assert response.status_code == 400
    assert "not a known browser push service" in response.json()["error"]
    assert not PushSubscription.objects.exists()


def test_loopback_endpoints_only_where_the_fakes_run(client, visitor, settings):
    settings.PUSH_ALLOW_LOOPBACK = False
    client.force_login(visitor)
    response = _post(client, "push-subscribe", Browser("http://127.0.0.1:9/push/x").to_json())
    assert response.status_code == 400
    assert not PushSubscription.objects.exists()


@pytest.mark.parametrize("body", ["{", {}, {"endpoint": 7}, []])
def test_unsubscribing_without_an_endpoint_is_refused(client, visitor, body):
    client.force_login(visitor)
    response = _post(client, "push-unsubscribe", body)
    assert response.status_code == 400
    assert response.json()["error"]


def test_the_public_key_is_given_to_signed_in_people(client, visitor, vapid):
    client.force_login(visitor)
    response = client.get(reverse("push-key"))
    assert response.status_code == 200
    assert response.json() == {"publicKey": vapid}
    assert "no-store" in response["Cache-Control"]


def test_without_vapid_keys_there_is_no_public_key(client, visitor, settings):
    settings.VAPID_PUBLIC_KEY = settings.VAPID_PRIVATE_KEY = ""
    client.force_login(visitor)
    response = client.get(reverse("push-key"))
    assert response.status_code == 404
    assert "not set up" in response.json()["error"]


def test_push_addresses_name_each_of_a_persons_browsers(visitor, partner):
    first = Browser("https://fcm.googleapis.com/1").subscribe_as(visitor)
    second = Browser("https://fcm.googleapis.com/2").subscribe_as(visitor)
    Browser("https://fcm.googleapis.com/3").subscribe_as(partner)

    assert push_addresses(visitor) == [
        (Channel.PUSH, f"push:{first.pk}"),
        (Channel.PUSH, f"push:{second.pk}"),
    ]


# --- The service worker and the page ---------------------------------------------------


def test_the_service_worker_is_served_from_the_root_uncached(client):
    response = client.get("/sw.js")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/javascript"
    assert response["Service-Worker-Allowed"] == "/"
    assert "no-store" in response["Cache-Control"]
    script = response.content.decode()
    for needed in ('"push"', '"notificationclick"', "renotify", "requireInteraction", "vibrate"):
        assert needed in script


def test_the_push_button_partial_has_no_inline_script(rf, visitor):
    request = rf.get("/")
    request.user = visitor
    html = render_to_string("notifications/_push_button.html", request=request)

    assert '<button type="button"' in html
    assert "Get alerts on this device" in html
    assert 'role="status"' in html and 'aria-live="polite"' in html
    assert '<script src="/static/js/push.js" defer></script>' in html
    assert html.count("<script") == 1
    assert " on" + "click" not in html
    for name in ("push-key", "push-subscribe", "service-worker"):
        assert reverse(name) in html
    assert "csrfmiddlewaretoken" in html


def test_the_scripts_use_no_eval():
    for name in ("push.js", "sw.js"):
        with open(f"static/js/{name}") as script:
            text = script.read()
        assert "eval(" not in text and "new Function" not in text and "innerHTML" not in text


# --- Sending -----------------------------------------------------------------------------


def test_an_alert_reaches_the_phone_through_its_push_service(school, visitor, push_service, phone):
    subscription = phone.subscribe_as(visitor)
    now = timezone.now()
    row = _push(subscription, school=school, about=school, now=now)

    assert _deliver(now) == 1

    [push] = push_service.find(endpoint=phone.endpoint)
    assert phone.read(push) == {
        "title": "Home visit overdue: phone the staff now (E1)",
        "body": "Overdue (due 15:30): home visit.",
        "url": "/board/alerts/7/",
        "tag": f"schools.school:{school.pk}",
        "requireInteraction": True,
    }
    assert push["ttl"] == push_transport.TTL_SECONDS
    assert push["urgency"] == "high"
    assert push["topic"] == push_transport.topic(row)
    assert push["content_encoding"] == "aes128gcm"
    row = _fresh(row)
    assert (row.state, row.provider_ref) == (Delivery.SENT, push["id"])
    subscription.refresh_from_db()
    assert subscription.last_success_at is not None


def test_the_push_is_signed_with_a_valid_vapid_token(school, visitor, push_service, phone, vapid):
    now = timezone.now()
    _push(phone.subscribe_as(visitor), school=school, now=now)
    _deliver(now)

    [push] = push_service.messages
    claims = push["vapid"]
    # The fake checked the signature against `k`; the claims are this site's, for this origin.
    assert claims["k"] == vapid
    assert claims["aud"] == push_service.url
    assert claims["sub"] == SUBJECT
    assert now.timestamp() < claims["exp"] <= now.timestamp() + 24 * 3600


def _raw_push(push_service, endpoint, authorization):
    return requests.post(
        endpoint,
        data=b"x",
        headers={"TTL": "60", "Content-Encoding": "aes128gcm", "Authorization": authorization},
        timeout=2,
    )


def test_the_fake_push_service_refuses_a_forged_or_missing_vapid_token(push_service, vapid):
    endpoint = push_service.new_endpoint(application_server_key=vapid)
    forger = Vapid()
    forger.generate_keys()
    token = forger.sign({"sub": SUBJECT, "aud": push_service.url})["Authorization"]
    forged = token.rsplit("k=", 1)[0] + f"k={vapid}"  # signed by another key, claiming ours

    assert _raw_push(push_service, endpoint, forged).status_code == 403
    assert _raw_push(push_service, endpoint, token).status_code == 403  # not the subscribed key
    assert _raw_push(push_service, endpoint, "").status_code == 401
    assert push_service.messages == []


def test_a_push_to_a_browser_that_unsubscribed_deletes_it_and_fails(
    school, visitor, push_service, phone
):
    subscription = phone.subscribe_as(visitor)
    push_service.gone(phone.endpoint)
    now = timezone.now()
    row = _push(subscription, school=school, now=now)

    _deliver(now)

    assert not PushSubscription.objects.filter(pk=subscription.pk).exists()
    assert push_addresses(visitor) == []
    row = _fresh(row)
    assert (row.refusals, row.sending_since) == (1, None)
    assert "410" in row.last_error
    # The outbox gives a refused message its last tries, but the push service is not asked
    # again: the subscription is gone.
    while row.state == Delivery.PENDING:
        _deliver(row.next_attempt_at)
        row = _fresh(row)
    assert row.state == Delivery.FAILED
    assert len(push_service.requests) == 1


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_push_service_that_fails_is_tried_again(school, visitor, push_service, phone, status):
    subscription = phone.subscribe_as(visitor)
    push_service.behaviour.fail_next = [status]
    now = timezone.now()
    row = _push(subscription, school=school, now=now)

    _deliver(now)
    row = _fresh(row)
    assert (row.state, row.refusals, row.sending_since) == (Delivery.PENDING, 0, None)
    assert f"Push service {status}" in row.last_error

    _deliver(row.next_attempt_at)

    assert _fresh(row).state == Delivery.SENT
    assert len(push_service.messages) == 1
    assert PushSubscription.objects.filter(pk=subscription.pk).exists()


def test_a_push_the_service_refuses_counts_as_refused(school, visitor, push_service, phone):
    subscription = phone.subscribe_as(visitor)
    push_service.behaviour.fail_next = [400]
    now = timezone.now()
    row = _push(subscription, school=school, now=now)

    _deliver(now)

    row = _fresh(row)
    assert (row.state, row.refusals) == (Delivery.PENDING, 1)
    assert PushSubscription.objects.filter(pk=subscription.pk).exists()


def test_a_timed_out_push_is_sent_again_under_the_same_topic(school, visitor, push_service, phone):
    """A push service cannot be asked what it took: at least once, and the Topic lets it keep
    only the newest copy."""
    push_service.behaviour.delay = 2.5  # longer than OUTBOX_SEND_TIMEOUT (2 s)
    now = timezone.now()
    row = _push(phone.subscribe_as(visitor), school=school, now=now)

    _deliver(now)
    row = _fresh(row)
    assert row.state == Delivery.PENDING
    assert row.sending_since is not None  # it may have been taken
    assert "no answer" in row.last_error
    assert phone.endpoint.rsplit("/", 1)[-1] not in row.last_error  # the device is not named

    push_service.behaviour.delay = 0
    _deliver(row.next_attempt_at)

    assert _fresh(row).state == Delivery.SENT
    pushes = wait_until(
        lambda: push_service.find(endpoint=phone.endpoint)[1:] and push_service.messages,
        timeout=5,
        what="the late first copy and the second",
    )
    assert len(pushes) == 2
    assert {push["topic"] for push in pushes} == {push_transport.topic(row)}
    assert {phone.read(push)["tag"] for push in pushes} == {push_transport.tag(row)}


def test_a_push_to_a_forgotten_subscription_is_refused_without_a_request(
    school, visitor, push_service, phone
):
    subscription = phone.subscribe_as(visitor)
    now = timezone.now()
    row = _push(subscription, school=school, now=now)
    subscription.delete()

    _deliver(now)

    assert (_fresh(row).refusals, push_service.requests) == (1, [])


def test_vapid_keys_that_do_not_match_refuse_every_push(
    school, visitor, push_service, phone, settings
):
    settings.VAPID_PUBLIC_KEY = new_vapid_pair()[0]
    now = timezone.now()
    row = _push(phone.subscribe_as(visitor), school=school, now=now)

    _deliver(now)

    row = _fresh(row)
    assert row.refusals == 1
    assert "VAPID_PUBLIC_KEY is not the public key" in row.last_error
    assert push_service.requests == []


def test_vapid_keys_prints_a_pair_that_works(school, visitor, push_service, settings):
    out = io.StringIO()
    call_command("vapid_keys", stdout=out)
    printed = dict(line.split("=", 1) for line in out.getvalue().split())
    assert set(printed) == {"VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY"}
    settings.VAPID_PUBLIC_KEY = printed["VAPID_PUBLIC_KEY"]
    settings.VAPID_PRIVATE_KEY = printed["VAPID_PRIVATE_KEY"]
    # The browser subscribes with the public key as printed; the push service holds it to it.
    phone = Browser(push_service.new_endpoint(application_server_key=settings.VAPID_PUBLIC_KEY))
    now = timezone.now()
    row = _push(phone.subscribe_as(visitor), school=school, now=now)

    _deliver(now)

    assert _fresh(row).state == Delivery.SENT
    [push] = push_service.messages
    assert phone.read(push)["title"] == row.subject
    assert len(printed["VAPID_PUBLIC_KEY"]) == 87  # 65 bytes, unpadded base64url
    assert len(printed["VAPID_PRIVATE_KEY"]) == 43  # 32 bytes


# --- What the phone shows ----------------------------------------------------------------


def _payload(body, *, about=None, school=None, key="k"):
    row = Notification.build(
        key=key,
        school=school,
        about=about,
        recipient=None,
        label="",
        channel=Channel.PUSH,
        address="push:1",
        subject="S",
        body=body,
        now=timezone.now(),
    )
    return push_transport.payload(row)


def test_a_one_line_message_shows_its_words_and_opens_its_link(vapid):
    shown = _payload(f"Dee raised a safeguarding concern at 10:15. Read it: {SITE}/concerns/4/")
    assert shown["body"] == "Dee raised a safeguarding concern at 10:15. Read it:"
    assert shown["url"] == "/concerns/4/"


@pytest.mark.parametrize(
    "ending",
    ["", "https://elsewhere.example.com/x", f"{SITE}.evil.example/x", f"{SITE}//evil.example/x"],
)
def test_a_message_without_a_link_to_this_site_opens_the_home_page(vapid, ending):
    assert _payload(f"First line\nSecond {ending}")["url"] == "/"


def test_only_the_first_line_is_shown_and_a_long_one_is_cut(vapid):
    shown = _payload("x" * 3000 + "\nStaff: Vic Visitor 07700 900123")
    assert len(shown["body"]) == push_transport.BODY_CHARS
    assert "Staff" not in shown["body"]


def test_messages_about_nothing_in_particular_do_not_replace_each_other(vapid):
    assert _payload("a", key="one")["tag"] != _payload("a", key="two")["tag"]


def test_a_topic_is_short_base64url_and_one_per_message(vapid):
    topics = {push_transport.topic(Notification(key=f"esc{n}:step1:push:push:3")) for n in (1, 2)}
    assert len(topics) == 2
    for topic in topics:
        assert len(topic) == 32
        assert topic.replace("-", "").replace("_", "").isalnum()


# --- In a real browser -------------------------------------------------------------------

# The push service a browser subscribes through is its maker's (Google's for Chromium), out of
# reach here: the page's PushManager hands out a subscription to the fake push service instead,
# with keys the test holds. Everything else is the browser's own: the permission, the service
# worker, the page's script and the notification it shows.
STUB_PUSH_MANAGER = """
(() => {
  const sub = %s;
  let current = null;
  PushManager.prototype.getSubscription = () => Promise.resolve(current);
  PushManager.prototype.subscribe = function (options) {
    const key = new Uint8Array(options.applicationServerKey);
    window.subscribedWithKey = btoa(String.fromCharCode(...key))
      .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
    current = {
      endpoint: sub.endpoint,
      options: { applicationServerKey: key.buffer },
      toJSON: () => sub,
      unsubscribe: () => Promise.resolve(true),
    };
    return Promise.resolve(current);
  };
})();
"""


def _sign_in(page, base, user):
    from .browser import sign_in

    sign_in(page, base, user)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_button_subscribes_the_browser_and_its_worker_shows_the_alert(
    browser_page, live_server, school, visitor, push_service, phone, vapid
):
    page, base = browser_page, live_server.url
    page.context.grant_permissions(["notifications"], origin=base)
    page.context.add_init_script(STUB_PUSH_MANAGER % json.dumps(phone.to_json()))
    _sign_in(page, base, visitor)
    request = RequestFactory().get("/")
    request.user = visitor
    partial = render_to_string("notifications/_push_button.html", request=request)
    page.route(
        base + "/push-page/",
        lambda route: route.fulfill(
            content_type="text/html", body=f"<!doctype html><html><body>{partial}</body></html>"
        ),
    )
    errors = []
    page.on("pageerror", lambda error: errors.append(error))

    page.goto(base + "/push-page/")
    button = page.get_by_role("button", name="Get alerts on this device")
    button.click()
    page.get_by_text("Alerts on: this device will be told").wait_for()

    assert button.is_hidden()
    assert page.evaluate("window.subscribedWithKey") == vapid
    subscription = PushSubscription.objects.get(user=visitor)
    assert subscription.endpoint == phone.endpoint
    assert errors == []

    # The alert goes out through pywebpush to the push service, and on to the worker.
    now = timezone.now()
    _push(subscription, school=school, about=school, now=now)
    _deliver(now)
    [push] = push_service.messages
    # A push delivered before the worker is active is dropped by the browser, as a real phone
    # would only get it once the worker runs: wait for the active worker first.
    assert page.evaluate("navigator.serviceWorker.ready.then(r => r.active !== null)")
    cdp = page.context.new_cdp_session(page)
    registrations = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    # Playwright delivers CDP events while it waits, not while Python sleeps.
    wait_until(
        lambda: page.wait_for_timeout(100) or registrations,
        timeout=5,
        what="the service worker's registration",
    )
    live = [r for r in registrations if not r.get("isDeleted")] or registrations
    notifications = """navigator.serviceWorker.ready.then(r => r.getNotifications()).then(found =>
        found.map(n => ({title: n.title, body: n.body, tag: n.tag, url: n.data.url,
                         requireInteraction: n.requireInteraction})))"""
    # DevTools' push can be dropped while Chromium is still starting the worker; a push service
    # delivers again until the browser takes it, so this does too (same tag: one notification).
    shown = None
    for _ in range(3):
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {
                "origin": base,
                "registrationId": live[-1]["registrationId"],
                "data": decrypt(push, phone.private_key, phone.auth_secret),
            },
        )
        try:
            shown = wait_until(
                lambda: page.evaluate(notifications), timeout=4, what="the notification"
            )
            break
        except TimeoutError:
            continue
    assert shown == [
        {
            "title": "Home visit overdue: phone the staff now (E1)",
            "body": "Overdue (due 15:30): home visit.",
            "tag": f"schools.school:{school.pk}",
            "url": base + "/board/alerts/7/",
            "requireInteraction": True,
        }
    ]


def test_a_long_body_in_any_script_still_fits_in_a_push(school, visitor, push_service, phone):
    """Push services refuse more than 4096 bytes; names and places are not all ASCII."""
    now = timezone.now()
    body = "Siân Łukasz " + "🚨" * 1500
    row = _push(phone.subscribe_as(visitor), school=school, now=now, body=body)

    _deliver(now)

    assert _fresh(row).state == Delivery.SENT
    [push] = push_service.messages
    shown = phone.read(push)
    assert shown["body"].startswith("Siân Łukasz 🚨") and shown["body"].endswith("…")
    size = len(json.dumps(shown, ensure_ascii=False, separators=(",", ":")).encode())
    assert push_transport.MAX_PAYLOAD_BYTES - 4 <= size <= push_transport.MAX_PAYLOAD_BYTES
