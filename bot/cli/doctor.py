"""`mila doctor`: this deployment's configuration checked against the real services, one line per check.

Each line is ok, warning or error, with what to do; the exit status is 1 when any check is an error. Nothing is
sent to a subscriber (see bot.checks).
"""

from __future__ import annotations

import argparse
import asyncio

from bot.cli.common import add_profile_option, settings_for
from bot.health import Level


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("doctor", help="check this deployment against the real services")
    add_profile_option(parser)
    parser.add_argument(
        "--no-probe", action="store_true",
        help="do not send the provisioning endpoint and the SMS gateway a probe: only open a connection",
    )  # fmt: skip
    parser.set_defaults(func=doctor)


def doctor(args: argparse.Namespace) -> int:
    # Imported here: the checks load both channels' libraries (seconds), which no other command should pay for.
    from bot.checks import run_checks

    settings = settings_for(args)
    findings = asyncio.run(run_checks(settings, probe=settings.health.probes and not args.no_probe))
    for finding in findings:
        print(finding.line())
    errors = sum(1 for f in findings if f.level is Level.ERROR)
    warnings = sum(1 for f in findings if f.level is Level.WARNING)
    print(f"{errors} errors, {warnings} warnings")
    return 1 if errors else 0
