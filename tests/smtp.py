"""A real SMTP server on localhost (aiosmtpd), in the test's own event loop, that keeps what arrives."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP

from bot.app import App
from bot.config import MailSettings
from bot.services.attachments import AttachmentFetcher
from bot.services.mail import MailWorker


@dataclass
class Received:
    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        body = self.message.get_body(("plain",))
        assert body is not None
        return str(body.get_content())


@dataclass
class SmtpServer:
    """Listens on a port chosen up front, so it can be stopped and started again on the same address."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    refused_senders: set[str] = field(default_factory=set)  # MAIL FROM these gets 550, as a server's policy says
    _server: asyncio.Server | None = None

    def __post_init__(self) -> None:
        if not self.port:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                self.port = probe.getsockname()[1]

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if address in self.refused_senders:
            return "550 5.7.1 Sender address rejected: not owned by this relay"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: SMTP(self, hostname="mail.test"), "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    server = SmtpServer()
    await server.start()
    yield server
    await server.stop()


def mail_worker(app: App, url: str, fetchers: Mapping[str, AttachmentFetcher] | None = None) -> MailWorker:
    """The mail worker of `mila run` against `url`, retrying quickly."""
    settings = MailSettings(SMTP_URL=url, SMTP_BACKOFF=0.2, SMTP_MAX_BACKOFF=0.5, SMTP_TIMEOUT=10)
    return MailWorker(app.deps.sessionmaker, settings, fetchers=fetchers)
