"""`mila outbox run`: deliver waiting orders to PROVISIONING_URL (see bot.services.outbox)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from bot.cli.common import settings_for
from bot.db.base import make_engine, make_sessionmaker
from bot.services.outbox import OutboxWorker


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("outbox", help="deliver orders to the provisioning system")
    actions = parser.add_subparsers(dest="outbox_command", required=True, metavar="ACTION")
    job = actions.add_parser("run", help="deliver until stopped (Ctrl-C); on PostgreSQL several may run at once")
    job.add_argument("--once", action="store_true", help="one pass over what is due now, then exit")
    job.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    if settings.provisioning.url is None:
        print("PROVISIONING_URL is not set: orders wait in the outbox")
        return 0

    async def deliver() -> int:
        engine = make_engine(settings.database.url)
        worker = OutboxWorker(make_sessionmaker(engine), settings.provisioning)
        try:
            if args.once:
                attempts = await worker.run_once()
                await worker.close()
                return sum(1 for a in attempts if a.delivered)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError):
                    loop.add_signal_handler(sig, stop.set)
            await worker.run_forever(stop)
            return 0
        finally:
            await engine.dispose()

    delivered = asyncio.run(deliver())
    if args.once:
        print(f"delivered {delivered} orders")
    return 0
