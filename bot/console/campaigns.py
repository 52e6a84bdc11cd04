"""`/campaigns`: every campaign with its state and its funnel (targeted → sent → delivered → seen, failed,
unreachable, opted out), per channel and language. Counts only: no recipient is ever shown."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import case, func, select

from bot.console import charts
from bot.console.app import ADMIN, MARKETING, allow, console_of, render
from bot.console.i18n import _
from bot.db.models import Campaign, CampaignDelivery, DeliveryStatus

LIMIT = 100
STEPS = ("targeted", "sent", "delivered", "seen", "failed", "unreachable", "opted_out")


def _state(value: str) -> str:
    names = {"draft": _("draft"), "sending": _("sending"), "paused": _("paused"), "cancelled": _("cancelled"),
             "done": _("done")}  # fmt: skip
    return names.get(value, value)


def _step(value: str) -> str:
    names = {"targeted": _("targeted"), "sent": _("sent"), "delivered": _("delivered"), "seen": _("seen"),
             "failed": _("failed"), "unreachable": _("unreachable"), "opted_out": _("opted out")}  # fmt: skip
    return names[value]


@allow(ADMIN, MARKETING)
async def listing(request: web.Request) -> web.Response:
    console = console_of(request)
    zone = console.app.deps.profile.zone
    d = CampaignDelivery
    sent = (DeliveryStatus.SENT.value,)
    funnel = (
        select(d.campaign_id, d.channel, d.language, func.count(),
               func.count(case((d.status.in_(sent), 1))), func.count(d.delivered_at), func.count(d.seen_at),
               func.count(case((d.status == DeliveryStatus.FAILED.value, 1))),
               func.count(case((d.status == DeliveryStatus.UNREACHABLE.value, 1))), func.count(d.opted_out_at))
        .group_by(d.campaign_id, d.channel, d.language)
        .order_by(d.campaign_id, d.channel, d.language)
    )  # fmt: skip
    async with console.sessionmaker() as db:
        campaigns = list((await db.execute(select(Campaign).order_by(Campaign.id.desc()).limit(LIMIT))).scalars())
        ids = [c.id for c in campaigns]
        rows = (await db.execute(funnel.where(d.campaign_id.in_(ids)))).all() if ids else []
    per: dict[int, list[tuple[str, str, list[int]]]] = {}
    for campaign_id, channel, language, *counts in rows:
        per.setdefault(campaign_id, []).append((channel, language, [int(n) for n in counts]))
    shown = []
    for c in campaigns:
        groups = per.get(c.id, [])
        total = [sum(g[2][i] for g in groups) for i in range(len(STEPS))]
        chart = charts.bars(
            f"funnel-{c.id}", _("Funnel: {name}").format(name=c.name), [_step(s) for s in STEPS],
            [(f"{channel} · {language}", counts) for channel, language, counts in groups],
        ) if groups else None  # fmt: skip
        shown.append({"id": c.id, "name": c.name, "status": _state(c.status), "status_value": c.status,
                      "starts": c.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"), "total": total,
                      "groups": groups, "chart": chart})  # fmt: skip
    return render(request, "campaigns.html", {"campaigns": shown, "steps": [_step(s) for s in STEPS]})


def routes(router: web.UrlDispatcher) -> None:
    router.add_get("/campaigns", listing)
