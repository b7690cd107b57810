"""Transfer of a pupil's child-protection file to their next school (Keeping Children Safe in
Education: the DSL sends it within 5 school days of the pupil starting there, separately from
the main record, and obtains confirmation of receipt).

The DSL names the new school and their DSL's email; the outbox emails a one-time link that
expires (the school's retention schedule: 7 days by default). The link carries a random token
that is stored only as its SHA-256 and compared in constant time. The recipient has no account
here: they type their name and role to confirm receipt and download the zip once; who, when and
from what address is recorded. A link not yet used may be cancelled; once used, cancelled or
expired it is gone (410), and its words are taken out of the outbox.
"""

import datetime
import hashlib
import hmac
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from audit import services as audit
from audit.models import Action as AuditAction
from notifications.models import Channel, Notification
from notifications.services import messages_about, queue
from schools.selectors import display_name
from visits.rules import RuleBroken

from ..models import FileTransfer, RetentionSchedule
from ..models_records import TransferStatus
from .subject_access import record_zip

TOKEN_BYTES = 32
LINK_REMOVED = "(The link in this message has been used, cancelled or has expired.)"


class TransferGone(RuleBroken):
    """The link was used, cancelled or has expired: a 410."""


def token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def collect_url(transfer, token):
    return settings.SITE_URL + reverse("records-transfer-collect", args=[transfer.public_id, token])


def _clean_text(value, what, limit=200):
    value = " ".join((value or "").split())
    if not value:
        raise RuleBroken(f"Write {what}.")
    if len(value) > limit:
        raise RuleBroken(f"Shorten {what} to {limit} characters.")
    return value


def _email_body(transfer, link, by):
    school = transfer.school
    until = timezone.localtime(transfer.expires_at)
    return (
        f"{display_name(by)}, of {school}, is sending you the child-protection file of a pupil "
        f"joining {transfer.receiving_school} (Keeping Children Safe in Education).\n\n"
        f"Open this link to confirm you have received it and to download it. It works once, "
        f"until {until:%d %B %Y %H:%M}:\n{link}\n\n"
        f"If you were not expecting this file, do not open the link: tell {school} instead.\n"
    )


def _forget_link(transfer):
    """Take the link out of the outbox's copy of the email once it no longer works: the token
    is kept hashed, and the message's words should not outlive it. A row a sender is holding
    right now is left alone (it changes nothing: the link is dead)."""
    messages_about(transfer).filter(sending_since__isnull=True).update(body=LINK_REMOVED)


def _expire_stale(pupil, now):
    stale = FileTransfer.objects.filter(
        pupil=pupil, status=TransferStatus.WAITING, expires_at__lte=now
    )
    for transfer in stale:
        _forget_link(transfer)
    stale.update(status=TransferStatus.EXPIRED)


@transaction.atomic
def transfer_start(*, pupil, by, receiving_school, recipient_email, now=None, request=None):
    """KCSIE: send the new school's DSL a one-time link to the pupil's file. The caller checks
    who may (access.get_pupil_for_records). Returns the transfer."""
    now = now or timezone.now()
    receiving_school = _clean_text(receiving_school, "the name of the new school")
    recipient_email = (recipient_email or "").strip()
    try:
        validate_email(recipient_email)
    except ValidationError:
        raise RuleBroken("Write their DSL's email address, like name@school.org.uk.") from None
    _expire_stale(pupil, now)
    waiting = FileTransfer.objects.filter(pupil=pupil, status=TransferStatus.WAITING).first()
    if waiting is not None:
        raise RuleBroken(
            f"A link to this file is already out to {waiting.receiving_school}: cancel it "
            "before sending another."
        )
    schedule = RetentionSchedule.for_school(pupil.school)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    try:
        with transaction.atomic():
            transfer = FileTransfer.objects.create(
                school=pupil.school,
                pupil=pupil,
                token_hash=token_hash(token),
                receiving_school=receiving_school,
                recipient_email=recipient_email,
                created_by=by,
                created_at=now,
                expires_at=now + datetime.timedelta(days=schedule.transfer_link_days),
            )
    except IntegrityError:
        raise RuleBroken(
            "Someone else sent a link to this file at the same moment: reload the page."
        ) from None
    queue(
        [
            Notification.build(
                key=f"file-transfer:{transfer.public_id}",
                school=pupil.school,
                about=transfer,
                recipient=None,
                label=f"DSL of {receiving_school}",
                channel=Channel.EMAIL,
                address=recipient_email,
                subject=f"Child-protection file from {pupil.school}",
                body=_email_body(transfer, collect_url(transfer, token), by),
                now=now,
            )
        ]
    )
    until = timezone.localtime(transfer.expires_at)
    audit.record(
        AuditAction.TRANSFERRED,
        actor=by,
        school=pupil.school,
        target=transfer,
        pupil=pupil,
        detail=f"Link to the child-protection file sent to {recipient_email} "
        f"({receiving_school}); it works until {until:%d %b %Y %H:%M}",
        request=request,
    )
    return transfer


def transfer_for_link(public_id, token):
    """The transfer this link names, or None: a wrong token is no link at all."""
    transfer = (
        FileTransfer.objects.filter(public_id=public_id)
        .select_related("school", "pupil__school", "created_by")
        .first()
    )
    if transfer is None or not hmac.compare_digest(transfer.token_hash, token_hash(token)):
        return None
    return transfer


def require_open(transfer, now):
    if not transfer.is_open(now):
        raise TransferGone("This link has been used, cancelled or has expired.")


@transaction.atomic
def transfer_collect(*, transfer, name, role, address, now=None):
    """The new school's DSL confirms receipt and takes the file, once. Returns the RecordZip
    (a temporary file the caller streams and closes)."""
    now = now or timezone.now()
    require_open(transfer, now)
    name = _clean_text(name, "your name")
    role = _clean_text(role, "your role at your school")
    record = record_zip(
        pupil=transfer.pupil,
        by=transfer.created_by,
        now=now,
        purpose=f"for transfer to {transfer.receiving_school}",
        concern_note=f"Sent to {transfer.receiving_school} in a file transfer",
    )
    claimed = FileTransfer.objects.filter(
        pk=transfer.pk, status=TransferStatus.WAITING, expires_at__gt=now
    ).update(
        status=TransferStatus.COLLECTED,
        collected_at=now,
        collected_by_name=name,
        collected_by_role=role,
        collected_from=address,
    )
    if not claimed:
        record.file.close()
        raise TransferGone("This link has been used, cancelled or has expired.")
    _forget_link(transfer)
    audit.record(
        AuditAction.TRANSFERRED,
        actor_name=name[:150],
        school=transfer.school,
        target=transfer,
        pupil=transfer.pupil,
        detail=f"Receipt confirmed by {name} ({role}) of {transfer.receiving_school}, "
        f"from {address or 'an unknown address'}: {record.summary()}",
    )
    return record


@transaction.atomic
def transfer_cancel(*, transfer, by, now=None, request=None):
    """The DSL withdraws a link not yet used. A second cancel changes nothing."""
    now = now or timezone.now()
    current = FileTransfer.objects.select_for_update().get(pk=transfer.pk)
    if current.status == TransferStatus.CANCELLED:
        return current
    if current.status == TransferStatus.COLLECTED:
        raise RuleBroken("The new school has already received this file: it cannot be cancelled.")
    FileTransfer.objects.filter(pk=current.pk).update(
        status=TransferStatus.CANCELLED, cancelled_at=now, cancelled_by=by
    )
    _forget_link(current)
    audit.record(
        AuditAction.TRANSFERRED,
        actor=by,
        school=current.school,
        target=current,
        pupil=current.pupil,
        detail=f"Link to {current.receiving_school} cancelled before it was used",
        request=request,
    )
    current.refresh_from_db()
    return current


def transfers_expire(*, now):
    """Mark links past their time as expired and take them out of the outbox (nightly)."""
    stale = FileTransfer.objects.filter(status=TransferStatus.WAITING, expires_at__lte=now)
    count = 0
    for transfer in stale[:1000]:
        _forget_link(transfer)
        count += FileTransfer.objects.filter(pk=transfer.pk, status=TransferStatus.WAITING).update(
            status=TransferStatus.EXPIRED
        )
    return count


def transfers_of(pupil):
    return list(pupil.file_transfers.select_related("created_by", "cancelled_by"))
