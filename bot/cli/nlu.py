"""`mila nlu report [--days N]` and `mila nlu test FILE`: the operator's learning loop for typed sentences.

`report` lists the masked messages the bot did not understand or asked about, most frequent first, with what it
guessed: the phrases worth adding to `locales/<lang>/phrases.yaml`. `test` scores a labelled file (the format of
tests/fixtures/understanding/eval_*.yaml) against the deployment's model: accuracy, wrong routes, a confusion
table; run it before and after changing the phrases to see the effect.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.cli.common import add_profile_option, database, fail, settings_for
from bot.db.base import utcnow
from bot.db.models import UnderstandingEvent, UnderstandingOutcome
from bot.profiles import load_profile

DEFAULT_DAYS = 30
DEFAULT_LIMIT = 40


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("nlu", help="what subscribers type: the messages not understood, scoring a file")
    actions = parser.add_subparsers(dest="nlu_command", required=True, metavar="ACTION")
    report = actions.add_parser("report", help="messages not understood or asked about, most frequent first")
    report.add_argument("--days", type=int, default=DEFAULT_DAYS, help=f"of the last N days (default {DEFAULT_DAYS})")
    report.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help=f"at most this many (default {DEFAULT_LIMIT})")
    add_profile_option(report)
    report.set_defaults(func=run_report)
    test = actions.add_parser("test", help="score a labelled file: accuracy, wrong routes, confusion table")
    test.add_argument("file", type=Path, help="intent: [messages] (YAML); 'message => step' names the step")
    add_profile_option(test)
    test.set_defaults(func=run_test)


def run_report(args: argparse.Namespace) -> int:
    if args.days < 1:
        return fail("--days must be at least 1")
    settings = settings_for(args)
    profile = load_profile(settings.bot.profile)
    since = utcnow() - timedelta(days=args.days)

    async def rows() -> list[UnderstandingEvent]:
        async with database(settings) as db:
            query = select(UnderstandingEvent).where(UnderstandingEvent.at >= since,
                                                     UnderstandingEvent.profile == profile.id)  # fmt: skip
            return list((await db.execute(query)).scalars())

    events = asyncio.run(rows())
    counts: Counter[str] = Counter()
    guesses: dict[str, Counter[str]] = {}
    outcomes: dict[str, Counter[str]] = {}
    for event in events:
        counts[event.text_masked] += 1
        guesses.setdefault(event.text_masked, Counter())[event.intent or "-"] += 1
        outcomes.setdefault(event.text_masked, Counter())[event.outcome] += 1
    not_understood = sum(1 for e in events if e.outcome == UnderstandingOutcome.NOT_UNDERSTOOD)
    print(f"{len(events)} messages in {args.days} days ({not_understood} not understood), {len(counts)} different")
    print(f"{'count':>5}  {'outcome':<15} {'guess':<22} message")
    for text, count in counts.most_common(args.limit if args.limit > 0 else None):
        guess = guesses[text].most_common(1)[0][0]
        outcome = outcomes[text].most_common(1)[0][0]
        print(f"{count:>5}  {outcome:<15} {guess:<22} {text}")
    return 0


def run_test(args: argparse.Namespace) -> int:
    from bot.core.engine import offered_intents
    from bot.core.understanding import model_for
    from bot.core.understanding.evaluate import load_labelled, report, score
    from handlers import build_router

    if not args.file.is_file():
        return fail(f"no such file: {args.file}")
    settings = settings_for(args)
    profile = load_profile(settings.bot.profile)
    try:
        labelled = load_labelled(args.file)
    except ValueError as exc:
        return fail(exc)
    model = model_for(profile, offered_intents(build_router(), profile))
    print(report(score(model, labelled, tuple(profile.languages))))
    return 0
