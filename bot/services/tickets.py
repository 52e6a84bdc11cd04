"""Complaints and written requests: stored with a public reference, e-mailed to the operator's department.

The ticket and its e-mail (in `mail_outbox`) are written in the caller's transaction, so a request the chat
confirmed with a reference is always on its way (the mail worker retries until the server takes it), and a
request that was not stored was never confirmed. When the e-mails keep failing, the subscriber is told the truth:
forwarding is delayed (or, given up, they should call with the reference), and the reference keeps working. The
e-mail is written in the operator's language (the profile's default), whatever language the subscriber chatted
in, because the department reads it.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.i18n import N_, Translator
from bot.core.incoming import Attachment, UserRef
from bot.db.base import utcnow
from bot.db.models import AuditEntry, ChannelUser, MailMessage, Segment, Ticket
from bot.profiles import ComplaintCategory, Profile
from bot.services.backend import AccountInfo, SubscriberInfo

REFERENCE_PREFIX = "R-"
REFERENCE_DIGITS = 8
_TYPED_REFERENCE = re.compile(r"^R?-?(\d{8})$")

# The e-mail to the department, in the operator's language.
MAIL_SUBJECT = N_("Complaint/request {reference}: {category}")
MAIL_SUBJECT_CORPORATE = N_("Corporate customer: complaint/request {reference}: {category}")
MAIL_INTRO = N_("A complaint or request was filed in the chat by an identified subscriber.")
MAIL_CORPORATE = N_("The customer is a legal entity: for the department that works with corporate customers.")
MAIL_FIELDS = {
    "reference": N_("Reference"),
    "category": N_("Category"),
    "filed": N_("Filed"),
    "customer": N_("Customer code"),
    "name": N_("Name"),
    "accounts": N_("Accounts"),
    "channel": N_("Messenger"),
    "language": N_("Language of the chat"),
    "attachment": N_("Attachment"),
    "callback": N_("Callback number"),
}
# What the messengers send, named in the e-mail in the operator's language.
ATTACHMENT_KINDS = {"photo": N_("photo"), "file": N_("file")}
MAIL_DESCRIPTION = N_("Description")
MAIL_NO_ATTACHMENT = N_("none")
MAIL_ATTACHMENT = N_("{kind} “{name}”, kept by the messenger under the reference {ref}")


# An e-mail still not accepted after this many attempts means forwarding is delayed: the subscriber is told so.
FORWARDING_DELAYED_AFTER = 3


class Forwarding(StrEnum):
    """How the request's e-mail to the department is doing, as the subscriber is told."""

    ON_TIME = "on_time"  # sent, or on its way
    DELAYED = "delayed"  # the mail server keeps refusing or does not answer: it is still being tried
    FAILED = "failed"  # given up (see `mila outbox list`): the subscriber should call, quoting the reference


@dataclass(frozen=True, slots=True)
class TicketInfo:
    reference: str
    category: str
    status: str
    created_at: datetime
    forwarded_at: datetime | None
    corporate: bool
    forwarding: Forwarding = Forwarding.ON_TIME
    recipient: str = ""  # the department's address the e-mail goes to


def normalize_reference(typed: str) -> str | None:
    """'r-12345678', 'R 12345678', '12345678' → 'R-12345678'; anything else → None."""
    cleaned = "".join(typed.split()).upper()
    match = _TYPED_REFERENCE.match(cleaned)
    return REFERENCE_PREFIX + match.group(1) if match else None


def _reference() -> str:
    return REFERENCE_PREFIX + "".join(secrets.choice("0123456789") for _ in range(REFERENCE_DIGITS))


def _info(row: Ticket, mail: MailMessage | None = None) -> TicketInfo:
    return TicketInfo(row.reference, row.category, row.status, row.created_at, row.forwarded_at, row.corporate,
                      _forwarding(mail), row.recipient or "")  # fmt: skip


def _forwarding(mail: MailMessage | None) -> Forwarding:
    if mail is None or mail.delivered_at is not None:
        return Forwarding.ON_TIME
    if mail.failed_at is not None:
        return Forwarding.FAILED
    return Forwarding.DELAYED if mail.attempts >= FORWARDING_DELAYED_AFTER else Forwarding.ON_TIME


async def forwarding_delayed(db: AsyncSession) -> bool:
    """Whether e-mails to the departments are held up right now (one still waiting after several attempts): a new
    request is then told that forwarding it is delayed."""
    stuck = await db.scalar(
        select(MailMessage.id)
        .where(MailMessage.delivered_at.is_(None), MailMessage.failed_at.is_(None),
               MailMessage.attempts >= FORWARDING_DELAYED_AFTER)
        .limit(1)
    )  # fmt: skip
    return stuck is not None


async def file_ticket(
    db: AsyncSession,
    profile: Profile,
    staff: Translator,
    *,
    subscriber: SubscriberInfo,
    accounts: list[AccountInfo],
    category: ComplaintCategory,
    description: str,
    attachment: Attachment | None,
    user: UserRef,
    language: str,
    now: datetime | None = None,
    callback: str | None = None,
) -> TicketInfo:
    """Store a ticket and its e-mail in the caller's transaction; the mail worker sends it."""
    assert profile.complaints is not None
    now = now or utcnow()
    corporate = subscriber.segment == Segment.CORPORATE.value
    recipient = (profile.complaints.corporate_email if corporate else None) or category.email
    channel_user_id = (
        await db.execute(
            select(ChannelUser.id).where(
                ChannelUser.channel == user.channel, ChannelUser.external_id == user.external_id
            )
        )
    ).scalar_one_or_none()
    for _ in range(5):
        ticket = Ticket(
            reference=_reference(),
            category=category.code,
            description=description,
            attachment_kind=attachment.kind if attachment else None,
            attachment_ref=attachment.file_ref[:512] if attachment else None,
            attachment_name=(attachment.file_name or "")[:200] or None if attachment else None,
            subscriber_id=subscriber.id,
            channel_user_id=channel_user_id,
            channel=user.channel,
            language=language,
            corporate=corporate,
            recipient=recipient,
            created_at=now,
        )
        try:
            async with db.begin_nested():
                db.add(ticket)
                await db.flush()
        except IntegrityError:
            continue  # the random reference was taken: draw another
        subject, body = _mail(profile, staff, ticket, subscriber, accounts, category, callback)
        db.add(
            MailMessage(
                ticket_id=ticket.id,
                recipient=recipient,
                subject=subject,
                body=body,
                message_id=f"<{ticket.reference}.{secrets.token_hex(6)}@mila.{profile.id}>",
                next_attempt_at=now,
                created_at=now,
            )
        )
        db.add(
            AuditEntry(
                at=now,
                action="ticket",
                outcome="ok",
                channel_user_id=channel_user_id,
                subscriber_id=subscriber.id,
                detail={"category": category.code, "corporate": corporate},
            )
        )
        await db.flush()
        return _info(ticket)
    raise RuntimeError("could not draw a free ticket reference")


def _mail(
    profile: Profile,
    staff: Translator,
    ticket: Ticket,
    subscriber: SubscriberInfo,
    accounts: list[AccountInfo],
    category: ComplaintCategory,
    callback: str | None = None,
) -> tuple[str, str]:
    title = staff.content(category.title)
    subject = staff.gettext(MAIL_SUBJECT_CORPORATE if ticket.corporate else MAIL_SUBJECT).format(
        reference=ticket.reference, category=title
    )
    if ticket.attachment_kind:
        attachment = staff.gettext(MAIL_ATTACHMENT).format(
            kind=staff.gettext(ATTACHMENT_KINDS[ticket.attachment_kind])
            if ticket.attachment_kind in ATTACHMENT_KINDS
            else ticket.attachment_kind,
            name=ticket.attachment_name or "-",
            ref=ticket.attachment_ref,
        )
    else:
        attachment = staff.gettext(MAIL_NO_ATTACHMENT)
    values = {
        "reference": ticket.reference,
        "category": title,
        "filed": staff.datetime(ticket.created_at, profile.zone),
        "customer": subscriber.customer_code,
        "name": subscriber.full_name,
        "accounts": ", ".join(a.number for a in accounts) or "-",
        "channel": ticket.channel,
        "language": ticket.language,
        "attachment": attachment,
        "callback": callback or "-",
    }
    lines = [staff.gettext(MAIL_INTRO)]
    if ticket.corporate:
        lines.append(staff.gettext(MAIL_CORPORATE))
    lines.append("")
    lines.extend(f"{staff.gettext(MAIL_FIELDS[key])}: {value}" for key, value in values.items())
    lines += ["", staff.gettext(MAIL_DESCRIPTION) + ":", ticket.description]
    return subject, "\n".join(lines)


async def find_ticket(db: AsyncSession, reference: str, subscriber_id: int) -> TicketInfo | None:
    """The ticket with this reference, only if the given subscriber filed it (others' tickets are not found)."""
    found = (
        await db.execute(
            select(Ticket, MailMessage)
            .outerjoin(MailMessage, MailMessage.ticket_id == Ticket.id)
            .where(Ticket.reference == reference, Ticket.subscriber_id == subscriber_id)
        )
    ).first()
    return _info(*found) if found else None


async def recent_tickets(db: AsyncSession, subscriber_id: int, limit: int = 5) -> list[TicketInfo]:
    rows = (
        await db.execute(
            select(Ticket, MailMessage)
            .outerjoin(MailMessage, MailMessage.ticket_id == Ticket.id)
            .where(Ticket.subscriber_id == subscriber_id)
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .limit(limit)
        )
    ).all()
    return [_info(ticket, mail) for ticket, mail in rows]
