"""The `mila` command. Each sub-command lives in its own module and registers itself here."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from bot.config import ConfigError
from bot.profiles import ProfileError


def build_parser() -> argparse.ArgumentParser:
    from bot.cli import (
        admin,
        campaign,
        chat,
        db,
        doctor,
        forget,
        import_data,
        nlu,
        orders,
        outbox,
        profile,
        retention,
        run,
        tickets,
    )  # fmt: skip

    parser = argparse.ArgumentParser(prog="mila", description="Self-care bot for telecom subscribers.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (chat, run, doctor, profile, db, import_data, orders, outbox, tickets, campaign, forget, retention,
                   nlu, admin):  # fmt: skip
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    try:
        result: int = args.func(args)
    except (ConfigError, ProfileError) as exc:
        print(f"mila: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return result
