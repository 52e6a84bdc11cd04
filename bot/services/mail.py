"""Sends the stored complaint e-mails over SMTP (`SMTP_URL`), through the shared retry loop.

A mail server that is down, refuses the connection or answers with an error only delays a message: it stays in
`mail_outbox` and is tried again with backoff, so nothing a subscriber filed is lost. Each message carries the
Message-ID fixed when it was stored, so a copy sent twice after a crash can be recognised downstream. A photo or
file the subscriber attached is fetched from their messenger and attached to the e-mail (see `attachments`), under
a name made safe for a header (a user chooses it: `invoice\n.pdf` must not break the message). A message that
cannot be composed at all is marked failed with the reason, and the others go on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_object_session, async_sessionmaker

from bot.config import MailSettings
from bot.db.base import utcnow
from bot.db.models import MailMessage, Ticket, TicketStatus
from bot.services.attachments import AttachmentFetcher, FetchedFile, fetch_attachment, safe_file_name
from bot.services.delivery import RetryingWorker, Undeliverable


def smtp_options(settings: MailSettings) -> dict[str, Any]:
    """How to reach the mail server of `SMTP_URL` (aiosmtplib's arguments): the sender and `mila doctor` alike.
    STARTTLS is used whenever the server offers it; `smtps://` is TLS from the start."""
    assert settings.smtp_url is not None
    url = urlsplit(settings.smtp_url.get_secret_value())
    return {
        "hostname": url.hostname or "localhost",
        "port": url.port or (465 if url.scheme == "smtps" else 25),
        "username": unquote(url.username) if url.username else None,
        "password": unquote(url.password) if url.password else None,
        "use_tls": url.scheme == "smtps",
        "timeout": settings.timeout_seconds,
    }


class MailWorker(RetryingWorker[MailMessage]):
    model = MailMessage
    what = "mail"

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: MailSettings,
        *,
        clock: Callable[[], datetime] = utcnow,
        fetchers: Mapping[str, AttachmentFetcher] | None = None,
    ) -> None:
        super().__init__(sessionmaker, settings, clock=clock)
        self.settings = settings
        self.fetchers = fetchers or {}

    @property
    def enabled(self) -> bool:
        return self.settings.smtp_url is not None

    def compose(self, row: MailMessage, attachment: FetchedFile | None = None) -> EmailMessage:
        """The e-mail of a row; `Undeliverable` when it cannot be written (a header that would break the message,
        such as an address with a line break in it: never sent, and never retried)."""
        try:
            return self._compose(row, attachment)
        except (ValueError, TypeError, LookupError) as exc:
            raise Undeliverable(f"cannot be composed: {type(exc).__name__}: {exc}"[:200]) from None

    def _compose(self, row: MailMessage, attachment: FetchedFile | None) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = row.recipient
        message["Subject"] = row.subject
        message["Message-ID"] = row.message_id
        message["Date"] = format_datetime(row.created_at)
        message.set_content(row.body)
        if attachment is not None:
            maintype, _, subtype = attachment.mime_type.partition("/")
            message.add_attachment(
                attachment.content, maintype=maintype, subtype=subtype or "octet-stream",
                filename=safe_file_name(attachment.file_name),
            )  # fmt: skip
        return message

    async def _attachment(self, row: MailMessage) -> FetchedFile | None:
        db = async_object_session(row)
        if row.ticket_id is None or db is None:
            return None
        ticket = await db.get(Ticket, row.ticket_id)
        if ticket is None or not ticket.attachment_ref:
            return None
        return await fetch_attachment(self.fetchers, ticket.channel, ticket.attachment_ref, ticket.attachment_name)

    async def send(self, row: MailMessage) -> str | None:
        message = self.compose(row, await self._attachment(row))
        try:
            await aiosmtplib.send(message, **smtp_options(self.settings))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return type(exc).__name__  # never the server's text: it may quote the message
        return None

    async def delivered(self, db: AsyncSession, row: MailMessage, at: datetime) -> None:
        if row.ticket_id is not None:
            await db.execute(
                update(Ticket)
                .where(Ticket.id == row.ticket_id, Ticket.status == TicketStatus.RECEIVED.value)
                .values(status=TicketStatus.FORWARDED.value, forwarded_at=at)
            )
