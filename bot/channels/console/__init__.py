"""A chat with the bot in the terminal: buttons are numbered, chosen by number or by typing.

With a terminal it is interactive; when standard input is not a terminal it reads one message per line and prints
the replies, so scripts and tests can drive whole conversations. Special lines stand for what a messenger's own
buttons would send: `/phone +381641234567` shares your own number, `/contact NUMBER` someone else's contact,
`/sticker`, `/photo`, `/file` an attachment, `/quit` ends the chat.

A terminal proves nothing about whose number `/phone` names: it is taken as the sharer's own only in the demo
(`vouches_for_phone`: no SMS gateway, not production), where the terminal is the one trying the bot. Against an
operator's real data, `/phone` is a number like any typed one and gets the one-time code by SMS.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TextIO

from bot.config import Settings
from bot.core.engine import Engine
from bot.core.incoming import Attachment, Incoming, Kind, UserRef
from bot.core.replies import Document, Picture, Reply, Text
from bot.core.session import DatabaseDown, TurnNotRun
from bot.services.phones import mask_phone
from bot.services.sms import OutboxSmsGateway

CHANNEL = "console"


def vouches_for_phone(settings: Settings) -> bool:
    """Whether `/phone` counts as the messenger vouching for the number: only in the demo, with no SMS gateway
    (codes are shown in this terminal) and outside production."""
    return settings.identification.sms_gateway_url is None and settings.security.environment != "production"


def parse_line(user: UserRef, line: str, *, vouches: bool = False) -> Incoming | None:
    """One typed line → one event; None ends the chat. `vouches`: see `vouches_for_phone`."""
    stripped = line.strip()
    head, _, rest = stripped.partition(" ")
    command = head.lower()
    if command in ("/quit", "/exit"):
        return None
    if command == "/phone" and rest:
        return Incoming(user, Kind.CONTACT, phone=rest.strip(), phone_is_own=vouches)
    if command == "/contact" and rest:
        return Incoming(user, Kind.CONTACT, phone=rest.strip(), phone_is_own=False)
    if command in ("/sticker", "/voice", "/location", "/poll"):
        return Incoming(user, Kind.UNSUPPORTED, content_type=command[1:])
    if command in ("/photo", "/file"):
        kind = command[1:]
        name = rest.strip() or f"{kind}.jpg"
        return Incoming(user, Kind.ATTACHMENT, attachment=Attachment(kind, f"console:{name}", name), text="")
    return Incoming(user, Kind.TEXT, text=line.rstrip("\n"))


def render(reply: Reply, out: TextIO, downloads: Path) -> None:
    if isinstance(reply, Document):
        downloads.mkdir(parents=True, exist_ok=True)
        target = downloads / reply.file_name
        target.write_bytes(reply.content)
        out.write(f"📎 {reply.file_name} → {target}\n")
        if reply.caption:
            out.write(reply.caption + "\n")
        return
    if isinstance(reply, Picture):
        out.write(f"🖼 {reply.url}\n")
        reply = Text(reply.caption, reply.buttons)
    out.write(reply.text + "\n")
    number = 0
    for button in reply.all_buttons():
        if button.url:
            out.write(f"   🔗 {button.label}: {button.url}\n")
        else:
            number += 1
            out.write(f"   [{number}] {button.label}\n")
    if reply.share_phone:
        out.write(f"   {reply.share_phone}: /phone +…\n")


class ConsoleChat:
    def __init__(self, engine: Engine, user_id: str, out: TextIO, downloads: Path, *, vouches: bool = False) -> None:
        self.engine = engine
        self.user = UserRef(CHANNEL, user_id)
        self.out = out
        self.downloads = downloads
        self.vouches = vouches

    async def send(self, incoming: Incoming) -> None:
        try:
            replies = await self.engine.handle(incoming)
        except DatabaseDown:
            self.out.write("⚠ The database is not answering: nothing was done; please try again.\n")
            return
        except TurnNotRun:
            self.out.write("⚠ The session store is not answering; please try again.\n")
            return
        for reply in replies:
            render(reply, self.out, self.downloads)
        await self._show_sms()
        self.out.write("\n")
        self.out.flush()

    async def _show_sms(self) -> None:
        """The demo has no phone: what the SMS outbox would have delivered is shown here, and only here."""
        outbox = self.engine.deps.sms
        if not isinstance(outbox, OutboxSmsGateway):
            return
        await asyncio.sleep(0.05)  # codes are sent in the background, so the answer's timing tells nothing
        for phone, text in outbox.drain():
            self.out.write(f"📩 SMS → {mask_phone(phone)}: {text}\n")

    async def run(self, lines: TextIO, *, language: str | None, echo: bool) -> None:
        if language:
            await self.send(Incoming(self.user, Kind.BUTTON, payload=f"lang:{language}"))
        else:
            await self.send(Incoming(self.user, Kind.START))
        loop = asyncio.get_running_loop()
        while True:
            if not echo:
                self.out.write("› ")
                self.out.flush()
            line = await loop.run_in_executor(None, lines.readline)
            if not line:
                break
            if echo:
                self.out.write(f"> {line.rstrip()}\n")
            incoming = parse_line(self.user, line, vouches=self.vouches)
            if incoming is None:
                break
            await self.send(incoming)


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()
