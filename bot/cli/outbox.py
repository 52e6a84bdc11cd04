"""`mila outbox run`: deliver waiting orders to PROVISIONING_URL and complaint e-mails to SMTP_URL.

Both outboxes share one retry loop (bot.services.delivery); each runs only when its destination is configured,
otherwise its rows wait.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from bot.cli.common import settings_for
from bot.db.base import make_engine, make_sessionmaker
from bot.services.attachments import fetchers_for
from bot.services.delivery import Attempt
from bot.services.mail import MailWorker
from bot.services.outbox import OutboxWorker


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("outbox", help="deliver orders to the provisioning system and e-mails over SMTP")
    actions = parser.add_subparsers(dest="outbox_command", required=True, metavar="ACTION")
    job = actions.add_parser("run", help="deliver until stopped (Ctrl-C); on PostgreSQL several may run at once")
    job.add_argument("--once", action="store_true", help="one pass over what is due now, then exit")
    job.set_defaults(func=run)


def _delivered(attempts: list[Attempt]) -> int:
    return sum(1 for attempt in attempts if attempt.delivered)


def run(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    if settings.provisioning.url is None:
        print("PROVISIONING_URL is not set: orders wait in the outbox")
    if settings.mail.smtp_url is None:
        print("SMTP_URL is not set: complaint e-mails wait in the mail outbox")
    if settings.provisioning.url is None and settings.mail.smtp_url is None:
        return 0

    async def deliver() -> tuple[int, int]:
        engine = make_engine(settings.database.url)
        sessions = make_sessionmaker(engine)
        orders = OutboxWorker(sessions, settings.provisioning)
        mail = MailWorker(sessions, settings.mail, fetchers=fetchers_for(settings))
        try:
            if args.once:
                order_attempts, mail_attempts = await orders.run_once(), await mail.run_once()
                await orders.close()
                return _delivered(order_attempts), _delivered(mail_attempts)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError):
                    loop.add_signal_handler(sig, stop.set)
            await asyncio.gather(*(w.run_forever(stop) for w in (orders, mail) if w.enabled))
            return 0, 0
        finally:
            await engine.dispose()

    orders_sent, mails_sent = asyncio.run(deliver())
    if args.once:
        if settings.provisioning.url is not None:
            print(f"delivered {orders_sent} orders")
        if settings.mail.smtp_url is not None:
            print(f"delivered {mails_sent} e-mails")
    return 0
