"""The outbox: one row per message to one address on one channel.

A row is written in the same transaction as the event that needs it, under a unique key, so a
step that runs twice writes no second message; the sender (delivery.py) sends it through the
channel's transport and records what the gateway said. This app knows people and addresses,
not visits: what a message is about is a generic reference (`about`), which the stages above
read back (an alert's messages, a concern's).
"""

import hashlib

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from schools.models import School


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    VOICE = "voice", "Phone call"
    PUSH = "push", "Push notification"


class Delivery(models.TextChoices):
    PENDING = "pending", "Waiting to send"
    SENT = "sent", "Sent"
    # The provider confirmed it: the text reached the phone, the call was answered.
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"

    @classmethod
    def final(cls):
        return {cls.DELIVERED, cls.FAILED}


def fit(text, length):
    """`text` cut to `length` characters, with an ellipsis where it was cut.

    A name or subject longer than its column must shorten the message, never stop it being
    queued: one long name once silenced every office alert of a school.
    """
    text = text or ""
    return text if len(text) <= length else text[: length - 1] + "…"


def fit_key(key):
    """A unique key that fits the column: a long one keeps its start and gains a digest of the
    whole, so two long keys that share their first 255 characters never collide."""
    if len(key) <= 255:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"{key[:222]}~{digest}"


class Notification(models.Model):
    key = models.CharField(max_length=255, unique=True)
    # Empty only for messages to the trust's own people (the watchdog's pages, test alerts).
    school = models.ForeignKey(
        School, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # What the message is about (an alert, a visit, a concern, an action), or nothing.
    about_type = models.ForeignKey(
        ContentType,
        verbose_name="about (kind of record)",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    about_id = models.PositiveBigIntegerField("about (record number)", null=True, blank=True)
    about = GenericForeignKey("about_type", "about_id")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipient_label = models.CharField("to", max_length=300)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    address = models.CharField(max_length=254)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    is_drill = models.BooleanField("drill", default=False)

    state = models.CharField(
        max_length=10, choices=Delivery.choices, default=Delivery.PENDING, db_index=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    # A sender claims a row by moving this forward (a lease, delivery.lease()); a crashed
    # sender's claim lapses and the row is picked up again.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # Set while an attempt is in flight and cleared when its outcome is known. Still set when the
    # row is claimed again means a sender died (or timed out) after handing the message over,
    # so the gateway is asked first whether it already has it (delivery.send_one).
    sending_since = models.DateTimeField(null=True, blank=True)
    # The sender (worker name) holding the row's lease; a sender that starts again takes back
    # what its dead self held (delivery.release_claims_of). Empty when no sender holds it.
    claimed_by = models.CharField("held by the sender", max_length=100, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Times the gateway refused it outright (a 4xx): given up after delivery.MAX_REFUSALS.
    refusals = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The gateway's own id for the message, once it accepted it.
    provider_ref = models.CharField("provider's reference", max_length=100, blank=True)
    last_error = models.TextField(blank=True)
    # What the provider last reported by its callback ("delivered", "no answer", ...), and when.
    provider_status = models.CharField("provider's last report", max_length=60, blank=True)
    status_at = models.DateTimeField("reported at", null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # The message's own link to answer it (/a/<token>), for messages that ask for an answer:
    # random, so a link cannot be guessed from another, and used once (answered_at).
    answer_token = models.CharField(max_length=32, null=True, blank=True, unique=True)
    # Someone answered through this very message (its link, a key press on the call): once.
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_how = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            # Read by every sender (delivery.claim_next).
            models.Index(
                fields=["channel", "next_attempt_at"],
                name="notification_due",
                condition=models.Q(state="pending"),
            ),
            models.Index(fields=["about_type", "about_id"], name="notification_about"),
            models.Index(fields=["provider_ref"], name="notification_provider_ref"),
        ]

    def __str__(self):
        return f"{self.get_channel_display()} to {self.recipient_label}: {self.subject}"

    @classmethod
    def build(
        cls,
        *,
        key,
        school,
        about,
        recipient,
        label,
        channel,
        address,
        subject,
        body,
        now,
        is_drill=False,
        answer_token=None,
    ):
        """An unsaved outbox row, every value cut to fit its column."""
        return cls(
            answer_token=answer_token,
            key=fit_key(key),
            school=school,
            about_type=ContentType.objects.get_for_model(about) if about is not None else None,
            about_id=about.pk if about is not None else None,
            recipient=recipient,
            recipient_label=fit(label, 300),
            channel=channel,
            address=address,
            subject=fit(subject, 200),
            body=body,
            is_drill=is_drill,
            created_at=now,
            next_attempt_at=now,
        )


class PushSubscription(models.Model):
    """A browser that asked for push notifications (the board, a senior's or staff member's
    phone): where the push service takes them, and the keys to encrypt them for it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.URLField(max_length=2000, unique=True)
    p256dh = models.CharField("browser's public key", max_length=200)
    auth = models.CharField("browser's secret", max_length=100)
    # What the browser said it is, to tell one device from another on the person's page.
    user_agent = models.CharField("browser", max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_success_at = models.DateTimeField("last delivered at", null=True, blank=True)

    class Meta:
        ordering = ["user", "created_at"]

    def __str__(self):
        return f"Push to {self.user} ({self.user_agent[:40] or 'a browser'})"
