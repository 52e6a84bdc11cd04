"""`mila campaign …`: tariff news from a campaign file to the subscribers who agreed.

`create` validates the file and prints the dry run (recipients per channel and language, the Viber cost);
`test` sends it to a few admins; `send` selects the recipients once and follows the workers of `mila run` with a
progress bar; `pause`, `resume`, `cancel` steer it; `list` and `show` report.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import func, select

from bot.cli.common import add_profile_option, database, settings_for
from bot.config import Settings
from bot.db.base import utcnow
from bot.db.models import Campaign, CampaignDelivery, CampaignStatus, DeliveryStatus
from bot.profiles import Profile, load_profile
from bot.services.campaigns import spec as spec_file
from bot.services.campaigns import store
from bot.services.campaigns.store import CampaignError, DryRun, Totals

STALE_SENDING_SECONDS = 120.0  # a row "sending" this long after the last progress is taken as unknown


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("campaign", help="tariff news: create, test, send and follow campaigns")
    actions = parser.add_subparsers(dest="campaign_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="store a campaign file (YAML or TOML) and print its dry run")
    create.add_argument("file", type=Path)
    create.add_argument("--dry-run", action="store_true", help="only print who would get it and the Viber cost")
    create.set_defaults(func=create_campaign)
    listing = actions.add_parser("list", help="every campaign with its status and progress")
    listing.set_defaults(func=list_campaigns)
    show = actions.add_parser("show", help="a campaign's totals: sent, failed, delivered, seen, opt-outs")
    show.add_argument("id", type=int)
    show.set_defaults(func=show_campaign)
    test = actions.add_parser("test", help="send the campaign's message to admins (consent is not asked)")
    test.add_argument("id", type=int)
    test.add_argument("--to", action="append", required=True, metavar="CHANNEL:ID",
                      help="telegram:123456 or viber:<user id>; repeat for more admins")  # fmt: skip
    test.add_argument("--lang", help="language of the test message (default: the admin's, or the profile's)")
    test.set_defaults(func=test_campaign)
    send = actions.add_parser("send", help="select the recipients (once) and follow the sending")
    send.add_argument("id", type=int)
    send.add_argument("--detach", action="store_true", help="do not wait: the workers of `mila run` send it")
    send.set_defaults(func=send_campaign)
    for action in ("pause", "resume", "cancel"):
        step = actions.add_parser(action, help=f"{action} a campaign")
        step.add_argument("id", type=int)
        step.set_defaults(func=move_campaign, action=action)
    for sub in (create, listing, show, test, send):
        add_profile_option(sub)


def _profile(settings: Settings) -> Profile:
    return load_profile(settings.bot.profile)


def _local(value: datetime | None, profile: Profile) -> str:
    return value.astimezone(ZoneInfo(profile.timezone)).strftime("%Y-%m-%d %H:%M") if value else "-"


def _print_dry_run(result: DryRun) -> None:
    print("recipients (consent given, reachable, in the segment):")
    if not result.by_channel_language:
        print("  nobody")
    for (channel, language), count in sorted(result.by_channel_language.items()):
        print(f"  {channel:<9} {language:<8} {count:>9,}")
    print(f"  {'total':<18} {result.total:>9,}")
    print(f"Viber cost estimate: {result.viber_messages:,} messages × {result.viber_price} {result.currency} = "
          f"{result.viber_cost:.2f} {result.currency}")  # fmt: skip


def create_campaign(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    profile = _profile(settings)
    spec = spec_file.load(args.file)

    async def go() -> tuple[DryRun, int | None]:
        now = utcnow()
        async with database(settings) as db:
            if spec.profile != settings.bot.profile:
                raise CampaignError(f"the campaign is for profile {spec.profile!r}; this is {settings.bot.profile!r}")
            broadcast = settings.broadcast
            result = await store.dry_run(db, spec, profile.default_language, now, broadcast.viber_price,
                                         broadcast.viber_currency)  # fmt: skip
            if args.dry_run:
                return result, None
            campaign = await store.create(db, spec, profile=settings.bot.profile, timezone=profile.timezone, now=now)
            await db.commit()
            return result, campaign.id

    try:
        result, campaign_id = asyncio.run(go())
    except (CampaignError, spec_file.CampaignFileError) as exc:
        print(f"mila: {exc}")
        return 1
    _print_dry_run(result)
    if campaign_id is not None:
        print(f"campaign {campaign_id} created (draft): `mila campaign test {campaign_id} --to …`, then "
              f"`mila campaign send {campaign_id}`")  # fmt: skip
    return 0


def list_campaigns(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    profile = _profile(settings)

    async def fetch() -> list[tuple[Campaign, int, int]]:
        d = CampaignDelivery
        done = func.count(d.id).filter(d.status.not_in([DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value]))
        async with database(settings) as db:
            rows = await db.execute(
                select(Campaign, func.count(d.id), done).outerjoin(d, d.campaign_id == Campaign.id)
                .group_by(Campaign.id).order_by(Campaign.id)
            )  # fmt: skip
            return [(c, int(total), int(finished)) for c, total, finished in rows]

    rows = asyncio.run(fetch())
    print(f"{'id':>4}  {'status':<9}  {'starts':<16}  {'done':>15}  name")
    for campaign, total, finished in rows:
        print(f"{campaign.id:>4}  {campaign.status:<9}  {_local(campaign.starts_at, profile):<16}  "
              f"{f'{finished:,}/{total:,}':>15}  {campaign.name}")  # fmt: skip
    print(f"({len(rows)} campaigns, times in {profile.timezone})")
    return 0


def _print_totals(campaign: Campaign, totals: Totals, profile: Profile) -> None:
    spec = store.spec_of(campaign)
    print(f"campaign {campaign.id}: {campaign.name}")
    print(
        f"  status {campaign.status}; starts {_local(campaign.starts_at, profile)} ({profile.timezone})"
        f"{'; quiet hours ' + spec.quiet_hours if spec.quiet_hours else ''}; languages {', '.join(spec.languages())}"
    )
    print(f"  created {_local(campaign.created_at, profile)}; recipients selected "
          f"{_local(campaign.enqueued_at, profile)}; test sent {_local(campaign.test_sent_at, profile)}; "
          f"finished {_local(campaign.finished_at, profile)}")  # fmt: skip
    finished = campaign.status in (CampaignStatus.DONE.value, CampaignStatus.CANCELLED.value)
    print(f"  recipients {totals.total:,}")
    for status in DeliveryStatus:
        count = totals.by_status.get(status.value, 0)
        label = "unknown (was being sent when a worker stopped)" if status is DeliveryStatus.SENDING and finished \
            else status.value  # fmt: skip
        print(f"    {label:<12} {count:>9,}")
    print(f"  delivered {totals.delivered:,}; seen {totals.seen:,}; failed after sending {totals.receipt_failed:,} "
          f"(receipts: Viber only)")  # fmt: skip
    print(f"  opted out with the message's button {totals.opted_out:,}")
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
        print(f"mila: {exc}")
        return 1
    _print_totals(campaign, totals, profile)
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
        print(f"mila: {exc}")
        return 1
    print(f"campaign {args.id}: {status}")
    return 0


def test_campaign(args: argparse.Namespace) -> int:
    from bot.cli.campaign_test import send_test

    return send_test(args)


def send_campaign(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    profile = _profile(settings)

    async def enqueue() -> int:
        async with database(settings) as db:
            added = await store.enqueue(db, args.id, profile.default_language, utcnow())
            await db.commit()
            return added

    try:
        added = asyncio.run(enqueue())
    except CampaignError as exc:
        print(f"mila: {exc}")
        return 1
    print(f"campaign {args.id}: {added:,} recipients selected" if added else f"campaign {args.id}: sending")
    if args.detach:
        return 0
    return asyncio.run(follow(settings, args.id))


async def follow(settings: Settings, campaign_id: int, *, interval: float = 0.5) -> int:
    """A progress bar until nothing is left to send: sent, failed, unreachable, rate and time left."""
    console = Console()
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
                status = (await store.get(db, campaign_id)).status
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
                    rate=rate, description=f"campaign {campaign_id} ({status})",
                )  # fmt: skip
                if totals.done != last_done:
                    last_done, last_change = totals.done, now
                pending = totals.count(DeliveryStatus.PENDING)
                sending = totals.count(DeliveryStatus.SENDING)
                if status == CampaignStatus.CANCELLED.value:
                    break
                if pending == 0 and (sending == 0 or now - last_change > STALE_SENDING_SECONDS):
                    break
                await asyncio.sleep(interval)
    profile = load_profile(settings.bot.profile)
    async with database(settings) as db:
        _print_totals(await store.get(db, campaign_id), await store.totals(db, campaign_id), profile)
    return 0
