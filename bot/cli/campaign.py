"""`mila campaign …`: tariff news from a campaign file to the subscribers who agreed.

`create` validates the file and prints the dry run (recipients per channel and language, the Viber cost);
`test` sends it to a few admins; `send` selects the recipients once and follows the workers of `mila run` with a
progress bar; `pause`, `resume`, `cancel` steer it; `list` and `show` report.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import add_profile_option, database, fail, settings_for
from bot.config import Settings
from bot.db.base import utcnow
from bot.db.models import Campaign, CampaignDelivery, CampaignStatus, DeliveryStatus
from bot.profiles import Profile, load_profile
from bot.services.campaigns import spec as spec_file
from bot.services.campaigns import store
from bot.services.campaigns.spec import CampaignSpec
from bot.services.campaigns.store import CampaignError, DryRun, Totals

STALE_SENDING_SECONDS = 120.0  # a row "sending" this long after the last progress is taken as unknown
ID_HELP = "the campaign's number (see `mila campaign list`)"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "campaign", help="tariff news: create, test, send and follow campaigns",
        description="Tariff news to the subscribers who agreed to it: `create` checks a campaign file and stores it "
        "as a draft, `test` sends it to admins, `send` selects the recipients and follows the workers of `mila run`, "
        "which do the sending; `pause`, `resume` and `cancel` steer it; `list` and `show` report.",
    )  # fmt: skip
    actions = parser.add_subparsers(dest="campaign_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="store a campaign file (YAML or TOML) and print its dry run")
    create.add_argument("file", type=Path, help="the campaign file: .yaml, .yml or .toml (see the README)")
    create.add_argument("--dry-run", action="store_true", help="only print who would get it and the Viber cost")
    create.add_argument("--force", action="store_true",
                        help="create it even if a campaign of the same name exists (and is not cancelled)")  # fmt: skip
    create.set_defaults(func=create_campaign)
    listing = actions.add_parser("list", help="every campaign with its status and the rows sent")
    listing.set_defaults(func=list_campaigns)
    show = actions.add_parser("show", help="a campaign's message and segment, and its totals: sent, failed, "
                              "delivered, seen, opt-outs")  # fmt: skip
    show.add_argument("id", type=int, help=ID_HELP)
    show.set_defaults(func=show_campaign)
    test = actions.add_parser("test", help="send the campaign's message to admins (consent is not asked)")
    test.add_argument("id", type=int, help=ID_HELP)
    test.add_argument("--to", action="append", required=True, metavar="CHANNEL:ID",
                      help="telegram:123456 or viber:<user id>; repeat for more admins")  # fmt: skip
    test.add_argument("--lang", help="language of the test message, one of the profile's (sr, sr-Cyrl, tk; "
                      "default: the admin's, or the profile's)")  # fmt: skip
    test.set_defaults(func=test_campaign)
    send = actions.add_parser("send", help="select the recipients (once) and follow the sending until it is done; "
                              "the workers of `mila run` send it, so Ctrl-C only stops following")  # fmt: skip
    send.add_argument("id", type=int, help=ID_HELP)
    send.add_argument("--detach", action="store_true", help="do not wait: the workers of `mila run` send it")
    send.set_defaults(func=send_campaign)
    steps = {
        "pause": "pause a campaign: the workers take no new rows until `resume`",
        "resume": "resume a paused campaign",
        "cancel": "cancel a campaign: every row still pending is skipped (rows being sent finish); cannot be undone",
    }
    for action, help_text in steps.items():
        step = actions.add_parser(action, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        step.add_argument("id", type=int, help=ID_HELP)
        step.set_defaults(func=move_campaign, action=action)
        add_profile_option(step)
    for choice in actions._choices_actions:  # the one-line help of each action, also atop its own --help
        actions.choices[choice.dest].description = actions.choices[choice.dest].description or choice.help
    for sub in (create, listing, show, test, send):
        add_profile_option(sub)


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _profile(settings: Settings) -> Profile:
    return load_profile(settings.bot.profile)


def _local(value: datetime | None, profile: Profile) -> str:
    return value.astimezone(ZoneInfo(profile.timezone)).strftime("%Y-%m-%d %H:%M") if value else "-"


def _money(amount: Decimal) -> str:
    """Two decimals, or as many as a small amount needs (0.0624, not 0.06)."""
    cents = amount.quantize(Decimal("0.01"))
    return f"{cents:,.2f}" if cents == amount else f"{amount.normalize():,f}"


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


def _print_dry_run(result: DryRun, *, price_set: bool) -> None:
    print("recipients (consent given, reachable, in the segment):")
    if not result.by_channel_language:
        print("  nobody")
    for (channel, language), count in sorted(result.by_channel_language.items()):
        print(f"  {channel:<9} {language:<8} {count:>9,}")
    print(f"  {'total':<18} {result.total:>9,}")
    messages = _plural(result.viber_messages, "message")
    if not price_set:
        print(f"Viber cost estimate: {messages} × price not set (VIBER_MESSAGE_PRICE)")
        return
    print(f"Viber cost estimate: {messages} × {result.viber_price} {result.currency} = "
          f"{_money(result.viber_cost)} {result.currency}")  # fmt: skip


def _file_warnings(spec: CampaignSpec, profile: Profile, now: datetime) -> list[str]:
    """What the file allows but marketing most likely did not mean: a start gone by, languages left without a text."""
    warnings = []
    if spec.start is not None and spec.starts_at(profile.timezone, now) < now:
        start = f"{spec.start:%Y-%m-%d %H:%M}"
        warnings.append(f"start {start} is in the past: the campaign goes out as soon as it is sent")
    if not spec.segment.languages:
        missing = [code for code in profile.languages if code not in spec.languages()]
        if missing:
            bases = sorted({spec_file.base_language(code) for code in missing})
            warnings.append(f"no text in {', '.join(bases)}: the readers of {', '.join(missing)} get nothing")
    return warnings


async def _database_warnings(db: AsyncSession, spec: CampaignSpec) -> list[str]:
    warnings = []
    for tariff, meant in (await store.unknown_tariffs(db, spec.segment.tariffs or [])).items():
        hint = f" (did you mean {meant!r}? tariffs are matched exactly)" if meant else ""
        warnings.append(f"segment.tariffs: no account has the tariff {tariff!r}{hint}")
    return warnings


def create_campaign(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    profile = _profile(settings)
    now = utcnow()
    try:
        spec = spec_file.load(args.file)
    except spec_file.CampaignFileError as exc:
        return fail(exc)
    if spec.profile != profile.id:
        return fail(f"the campaign is for profile {spec.profile!r}; this is {profile.id!r}")

    async def go() -> tuple[DryRun, int | None, list[str]]:
        async with database(settings) as db:
            broadcast = settings.broadcast
            result = await store.dry_run(db, spec, profile.default_language, now, broadcast.viber_price,
                                         broadcast.viber_currency)  # fmt: skip
            warnings = _file_warnings(spec, profile, now) + await _database_warnings(db, spec)
            existing = await store.same_name(db, spec.name)
            if existing:
                ids = ", ".join(f"{c.id} ({c.status})" for c in existing)
                already = f"a campaign named {spec.name!r} exists: {ids}"
                if not args.dry_run and not args.force:
                    raise CampaignError(f"{already}; to create another one anyway, add --force")
                warnings.append(already + ("" if args.force else "; `create` will ask for --force"))
            if args.dry_run:
                return result, None, warnings
            campaign = await store.create(db, spec, profile=profile.id, timezone=profile.timezone, now=now)
            await db.commit()
            return result, campaign.id, warnings

    try:
        result, campaign_id, warnings = asyncio.run(go())
    except CampaignError as exc:
        return fail(exc)
    _print_dry_run(result, price_set="viber_price" in settings.broadcast.model_fields_set)
    for warning in warnings:
        warn(warning)
    if campaign_id is not None:
        print(f"campaign {campaign_id} created (draft): `mila campaign test {campaign_id} --to …`, then "
              f"`mila campaign send {campaign_id}`")  # fmt: skip
    return 0


def list_campaigns(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    profile = _profile(settings)

    async def fetch() -> list[tuple[Campaign, int, int]]:
        d = CampaignDelivery
        sent = func.count(d.id).filter(d.status == DeliveryStatus.SENT.value)
        async with database(settings) as db:
            rows = await db.execute(
                select(Campaign, func.count(d.id), sent).outerjoin(d, d.campaign_id == Campaign.id)
                .group_by(Campaign.id).order_by(Campaign.id)
            )  # fmt: skip
            return [(c, int(total), int(n)) for c, total, n in rows]

    rows = asyncio.run(fetch())
    print(f"{'id':>4}  {'status':<9}  {'starts':<16}  {'sent/recipients':>15}  name")
    for campaign, total, sent in rows:
        print(f"{campaign.id:>4}  {campaign.status:<9}  {_local(campaign.starts_at, profile):<16}  "
              f"{f'{sent:,}/{total:,}':>15}  {campaign.name}")  # fmt: skip
    print(f"({_plural(len(rows), 'campaign')}, times in {profile.timezone}; `show ID` for failed and skipped rows)")
    return 0


def _print_message(spec: CampaignSpec) -> None:
    """What the recipients get, per language (the Cyrillic as generated), and who they are."""
    print("  message:")
    for code in spec.languages():
        print(f"    [{code}] {spec.text_for(code)}".replace("\n", "\n" + " " * (7 + len(code))))
        label = spec.button_label(code)
        if spec.button is not None and label is not None:
            print(f"      button {label!r} → {spec.button.url}")
    print(f"    picture {spec.picture or '-'}")
    segment = spec.segment.model_dump(exclude_none=True, mode="json")
    if not segment:
        print("  segment: everybody who agreed and can be reached")
        return
    print("  segment: " + "; ".join(
        f"{key} {', '.join(str(v) for v in value) if isinstance(value, list) else value}"
        for key, value in segment.items()
    ))  # fmt: skip


def _sending_label(campaign: Campaign) -> str:
    if campaign.status in (CampaignStatus.DONE.value, CampaignStatus.CANCELLED.value):
        return "unknown (was being sent when a worker stopped)"
    return "being sent"


def _print_totals(campaign: Campaign, totals: Totals, profile: Profile, *, message: bool = False) -> None:
    spec = store.spec_of(campaign)
    print(f"campaign {campaign.id}: {campaign.name}")
    print(
        f"  status {campaign.status}; starts {_local(campaign.starts_at, profile)} ({profile.timezone})"
        f"; quiet hours {spec.quiet_hours or '-'}; languages {', '.join(spec.languages())}"
    )
    if message:
        _print_message(spec)
    print(f"  created {_local(campaign.created_at, profile)}; recipients selected "
          f"{_local(campaign.enqueued_at, profile)}; test sent {_local(campaign.test_sent_at, profile)}; "
          f"finished {_local(campaign.finished_at, profile)}")  # fmt: skip
    print(f"  recipients {totals.total:,}")
    labels = {status: _sending_label(campaign) if status is DeliveryStatus.SENDING else status.value
              for status in DeliveryStatus}  # fmt: skip
    width = max(len(label) for label in labels.values())
    for status, label in labels.items():
        print(f"    {label:<{width}} {totals.by_status.get(status.value, 0):>9,}")
    print(f"  delivered {totals.delivered:,}; seen {totals.seen:,}; failed after sending {totals.receipt_failed:,} "
          f"(receipts: Viber only)")  # fmt: skip
    print(f"  opted out with the message's button {totals.opted_out:,}")
    if totals.by_channel_language:
        print("  recipients per channel and language:")
    for (channel, language), count in sorted(totals.by_channel_language.items()):
        print(f"    {channel:<9} {language:<8} {count:>9,}")


def show_campaign(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    profile = _profile(settings)

    async def fetch() -> tuple[Campaign, Totals]:
        async with database(settings) as db:
            return await store.get(db, args.id), await store.totals(db, args.id)

    try:
        campaign, totals = asyncio.run(fetch())
    except CampaignError as exc:
        return fail(exc)
    _print_totals(campaign, totals, profile, message=True)
    return 0


def move_campaign(args: argparse.Namespace) -> int:
    settings = settings_for(args)

    async def go() -> str:
        async with database(settings) as db:
            campaign = await store.move(db, args.id, args.action, utcnow())
            await db.commit()
            return campaign.status

    try:
        status = asyncio.run(go())
    except CampaignError as exc:
        return fail(exc)
    print(f"campaign {args.id}: {status}")
    return 0


def test_campaign(args: argparse.Namespace) -> int:
    from bot.cli.campaign_test import send_test

    return send_test(args)


FOLLOW_HINT = (
    "the workers of `mila run` send it (BROADCAST_WORKER, on by default); this command only follows "
    "the progress: Ctrl-C stops following, not the sending (`mila campaign pause {id}` does)"
)


def waiting_for(campaign: Campaign, profile: Profile, now: datetime) -> str | None:
    """Why nothing goes out now although rows are pending: paused, the start not reached, the quiet hours."""
    if campaign.status == CampaignStatus.PAUSED.value:
        return f"paused: `mila campaign resume {campaign.id}` carries on"
    if campaign.starts_at > now:
        return f"waiting for start at {_local(campaign.starts_at, profile)}"
    until = spec_file.quiet_until(store.spec_of(campaign).quiet_hours, profile.timezone, now)
    if until is not None:
        return f"quiet hours until {_local(until, profile)}"
    return None


def send_campaign(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    profile = _profile(settings)

    async def enqueue() -> tuple[int, str | None]:
        async with database(settings) as db:
            now = utcnow()
            added = await store.enqueue(db, args.id, profile.default_language, now)
            await db.commit()
            return added, waiting_for(await store.get(db, args.id), profile, now)

    try:
        added, waiting = asyncio.run(enqueue())
    except CampaignError as exc:
        return fail(exc)
    print(f"campaign {args.id}: {_plural(added, 'recipient')} selected" if added else f"campaign {args.id}: sending")
    if waiting:
        print(f"campaign {args.id}: {waiting} ({profile.timezone})")
    print(FOLLOW_HINT.format(id=args.id))
    if args.detach:
        return 0
    return asyncio.run(follow(settings, args.id))


async def follow(settings: Settings, campaign_id: int, *, interval: float = 0.5) -> int:
    """A progress bar until nothing is left to send: sent, failed, unreachable, rate and time left."""
    console = Console()
    profile = load_profile(settings.bot.profile)
    columns = (
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("sent {task.fields[sent]:,} · failed {task.fields[failed]:,} · unreachable "
                   "{task.fields[unreachable]:,} · {task.fields[rate]:.1f}/s"),
        TimeRemainingColumn(),
    )  # fmt: skip
    last_change = time.monotonic()
    last_done = -1
    rate_window: list[tuple[float, int]] = []
    async with database(settings) as db:
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task(f"campaign {campaign_id}", total=None, sent=0, failed=0, unreachable=0, rate=0.0)
            while True:
                campaign = await store.get(db, campaign_id)
                status = campaign.status
                waiting = waiting_for(campaign, profile, utcnow())
                totals = await store.totals(db, campaign_id)
                await db.rollback()  # a fresh snapshot next time
                now = time.monotonic()
                sent = totals.count(DeliveryStatus.SENT)
                rate_window = [(t, n) for t, n in rate_window if now - t <= 10.0] + [(now, sent)]
                first_t, first_n = rate_window[0]
                rate = (sent - first_n) / (now - first_t) if now > first_t else 0.0
                progress.update(
                    task, total=totals.total, completed=totals.done, sent=sent,
                    failed=totals.count(DeliveryStatus.FAILED), unreachable=totals.count(DeliveryStatus.UNREACHABLE),
                    rate=rate, description=f"campaign {campaign_id} ({waiting or status})",
                )  # fmt: skip
                if totals.done != last_done or waiting:
                    last_done, last_change = totals.done, now
                pending = totals.count(DeliveryStatus.PENDING)
                sending = totals.count(DeliveryStatus.SENDING)
                if status == CampaignStatus.CANCELLED.value:
                    break
                if pending == 0 and (sending == 0 or now - last_change > STALE_SENDING_SECONDS):
                    break
                await asyncio.sleep(interval)
    async with database(settings) as db:
        _print_totals(await store.get(db, campaign_id), await store.totals(db, campaign_id), profile)
    return 0
