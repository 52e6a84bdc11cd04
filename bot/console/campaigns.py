"""`/campaigns`: every campaign with its state and its funnel (targeted → sent → delivered → seen, failed,
unreachable, opted out), per channel and language. Counts only: no recipient is ever shown.

`/campaigns/new`: a draft from a form, the same campaign a file given to `mila campaign create` makes (the form
is turned into the file's fields and checked by the same rules): the text per language, the Serbian Cyrillic
generated from the Latin text shown (and replaceable), the recipients it would reach now per channel and
language and the Viber cost.

`/campaigns/{id}`: one campaign, steered as `mila campaign` steers it (start = `send`, pause, resume, cancel: the
same service functions, so the same transitions), each step audited; its progress (sent, failed, unreachable, rate,
time left) from `/campaigns/{id}/progress`, polled by the page's own script."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy import case, func, select

from bot.app import App
from bot.console import charts
from bot.console.app import ADMIN, MARKETING, allow, console_of, render
from bot.console.i18n import _
from bot.core.i18n import LANGUAGES
from bot.core.push import BROADCAST_CHANNELS, Pusher
from bot.core.replies import Picture, Text
from bot.core.text import latin_to_cyrillic
from bot.db.models import Campaign, CampaignDelivery, CampaignStatus, DeliveryStatus
from bot.services.campaigns import store, testing
from bot.services.campaigns.message import compose
from bot.services.campaigns.spec import CampaignFileError, CampaignSpec, base_language, parse
from bot.services.campaigns.store import CampaignError

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


def _bases(languages: list[str]) -> list[str]:
    """The languages a text is written in (Serbian Cyrillic comes from the Latin text)."""
    return list(dict.fromkeys(base_language(code) for code in languages))


def _field(form: MultiDictProxy[Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _definition(form: MultiDictProxy[Any], profile: str, bases: list[str], cyrillic: bool) -> dict[str, Any]:
    """The form as the fields of a campaign file."""
    raw: dict[str, Any] = {"name": _field(form, "name"), "profile": profile,
                           "text": {code: _field(form, f"text_{code}") for code in bases}}  # fmt: skip
    raw["text"] = {code: text for code, text in raw["text"].items() if text}
    written = _field(form, "text_sr-Cyrl")
    # Kept only when changed by hand: the Cyrillic shown after a preview is the generated one.
    if cyrillic and written and written != latin_to_cyrillic(raw["text"].get("sr", "")):
        raw["text"]["sr-Cyrl"] = written
    if _field(form, "picture"):
        raw["picture"] = _field(form, "picture")
    url = _field(form, "button_url")
    labels = {code: _field(form, f"button_label_{code}") for code in bases}
    if url or any(labels.values()):
        # Checked as a file's button is: an https:// URL and a label in every language the campaign is written in.
        raw["button"] = {"url": url, "label": {code: label for code, label in labels.items() if label}}
    if _field(form, "start"):
        try:
            raw["start"] = datetime.fromisoformat(_field(form, "start")).replace(tzinfo=None).isoformat()
        except ValueError:
            raw["start"] = _field(form, "start")
    if _field(form, "quiet_hours"):
        raw["quiet_hours"] = _field(form, "quiet_hours")
    channels = [c for c in form.getall("channel", []) if c in BROADCAST_CHANNELS]
    languages = [code for code in form.getall("language", []) if code in LANGUAGES]
    segment: dict[str, Any] = {}
    if channels:
        segment["channels"] = channels
    if languages:
        segment["languages"] = languages
    if segment:
        raw["segment"] = segment
    return raw


# Where each platform cuts a message: Telegram's caption of a picture and its text, Viber's text.
LIMITS = {"telegram": (1024, 4096), "viber": (7000, 7000)}


def _looks(spec: CampaignSpec, code: str, translator: Any) -> list[dict[str, Any]]:
    """The message as each platform shows it: the same replies the workers send (`compose`), drawn per channel
    (Telegram: the buttons under the message; Viber: the keyboard under the chat), with the length each allows."""
    (reply,) = compose(spec, 0, translator)
    assert isinstance(reply, Picture | Text)  # what compose makes
    picture = reply.url if isinstance(reply, Picture) else None
    text = reply.caption if isinstance(reply, Picture) else reply.text
    rows = [[(button.label, button.url) for button in row] for row in reply.buttons]
    shown = []
    for channel in ("telegram", "viber"):
        limit = LIMITS[channel][0 if picture else 1]
        shown.append({"channel": channel, "text": text, "picture": picture, "rows": rows, "length": len(text),
                      "limit": limit, "too_long": len(text) > limit})  # fmt: skip
    return shown


@allow(ADMIN, MARKETING)
async def new(request: web.Request) -> web.Response:
    console = console_of(request)
    profile = console.app.deps.profile
    bases = _bases(profile.languages)
    cyrillic = "sr-Cyrl" in profile.languages
    context: dict[str, Any] = {"bases": bases, "cyrillic": cyrillic, "channels": BROADCAST_CHANNELS,
                               "languages": profile.languages, "form": {}, "chosen_channels": list(BROADCAST_CHANNELS),
                               "chosen_languages": list(profile.languages), "errors": [], "preview": None}  # fmt: skip
    if request.method == "GET":
        return _with_script(render(request, "campaign_new.html", context))
    form = await request.post()
    context["form"] = {key: _field(form, key) for key in form if key != "csrf"}
    context["chosen_channels"] = form.getall("channel", [])
    context["chosen_languages"] = form.getall("language", [])
    try:
        spec: CampaignSpec = parse(_definition(form, profile.id, bases, cyrillic))
    except CampaignFileError as exc:
        context["errors"] = str(exc).splitlines()
        return _with_script(render(request, "campaign_new.html", context, status=400))
    now = console.app.deps.clock()
    broadcast = console.app.settings.broadcast
    async with console.sessionmaker() as db:
        counts = await store.dry_run(db, spec, profile.default_language, now, broadcast.viber_price,
                                     broadcast.viber_currency)  # fmt: skip
        if _field(form, "action") == "create":
            campaign = await store.create(db, spec, profile=profile.id, timezone=profile.timezone, now=now)
            await db.commit()
            await console.record(request, "create_campaign", f"campaign {campaign.id}", name=spec.name,
                                 recipients=counts.total)  # fmt: skip
            raise web.HTTPSeeOther(f"/campaigns#campaign-{campaign.id}")
    context["preview"] = {
        "texts": [(code, spec.text_for(code)) for code in spec.languages()],
        "phones": [(code, _looks(spec, code, console.app.deps.i18n.get(code))) for code in spec.languages()],
        "button": [(code, spec.button_label(code)) for code in spec.languages()] if spec.button else [],
        "button_url": spec.button.url if spec.button else "",
        "counts": sorted(counts.by_channel_language.items()), "total": counts.total,
        "viber_cost": f"{counts.viber_cost:.2f} {counts.currency}" if counts.viber_price else None,
    }  # fmt: skip
    if cyrillic and "sr" in spec.text and not context["form"].get("text_sr-Cyrl"):
        context["form"]["text_sr-Cyrl"] = spec.text_for("sr-Cyrl")
    return _with_script(render(request, "campaign_new.html", context))


def _with_script(response: web.Response) -> web.Response:
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


STATIC = Path(__file__).resolve().parent / "static"
RATE_WINDOW = timedelta(seconds=60)
MAX_TEST_TARGETS = 10
# The campaign page runs one script, the console's own: nothing from elsewhere.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")  # fmt: skip
# What each button may do now (the service decides again, under a row lock).
ACTIONS = {
    "start": (CampaignStatus.DRAFT,),
    "pause": (CampaignStatus.SENDING,),
    "resume": (CampaignStatus.PAUSED,),
    "cancel": (CampaignStatus.DRAFT, CampaignStatus.SENDING, CampaignStatus.PAUSED),
}


def _action(value: str) -> str:
    names = {"start": _("Start sending"), "pause": _("Pause"), "resume": _("Resume"), "cancel": _("Cancel")}
    return names[value]


def _campaign_id(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound() from None


async def progress_of(db: Any, campaign: Campaign, now: datetime) -> dict[str, Any]:
    """The numbers of the progress bar: what `mila campaign send` shows while it follows a campaign."""
    totals = await store.totals(db, campaign.id)
    recent = (
        await db.execute(
            select(func.count()).where(CampaignDelivery.campaign_id == campaign.id,
                                       CampaignDelivery.sent_at >= now - RATE_WINDOW)
        )
    ).scalar_one()  # fmt: skip
    rate = int(recent) / RATE_WINDOW.total_seconds()
    left = totals.count(DeliveryStatus.PENDING, DeliveryStatus.SENDING)
    running = campaign.status == CampaignStatus.SENDING.value
    seconds_left = round(left / rate) if rate > 0 and left and running else None
    return {"status": campaign.status, "status_name": _state(campaign.status), "total": totals.total,
            "done": totals.done, "sent": totals.count(DeliveryStatus.SENT),
            "failed": totals.count(DeliveryStatus.FAILED), "unreachable": totals.count(DeliveryStatus.UNREACHABLE),
            "pending": left, "rate": round(rate, 2), "seconds_left": seconds_left,
            "time_left": _duration(seconds_left) if seconds_left is not None else "–",
            "finished": campaign.status in (CampaignStatus.DONE.value, CampaignStatus.CANCELLED.value)}  # fmt: skip


def _duration(seconds: int) -> str:
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}:{minute:02d}:{second:02d}" if hours else f"{minute}:{second:02d}"


async def _page(request: web.Request, campaign_id: int, extra: dict[str, Any] | None = None, status: int = 200
                ) -> web.Response:  # fmt: skip
    console = console_of(request)
    profile = console.app.deps.profile
    async with console.sessionmaker() as db:
        try:
            campaign = await store.get(db, campaign_id)
        except CampaignError:
            raise web.HTTPNotFound() from None
        progress = await progress_of(db, campaign, console.app.deps.clock())
    spec = store.spec_of(campaign)
    actions = [(name, _action(name)) for name, states in ACTIONS.items() if CampaignStatus(campaign.status) in states]
    local = "%Y-%m-%d %H:%M"
    context = {"c": campaign, "status": _state(campaign.status), "actions": actions, "progress": progress,
               "starts": campaign.starts_at.astimezone(profile.zone).strftime(local),
               "tested": campaign.test_sent_at.astimezone(profile.zone).strftime(local) if campaign.test_sent_at
               else None, "texts": [(code, spec.text_for(code)) for code in spec.languages()],
               "languages": profile.languages, "test": None, "test_to": "", "test_error": ""}  # fmt: skip
    context.update(extra or {})
    response = render(request, "campaign.html", context, status=status)
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


@allow(ADMIN, MARKETING)
async def show(request: web.Request) -> web.Response:
    return await _page(request, _campaign_id(request))


@asynccontextmanager
async def open_senders(app: App) -> AsyncIterator[Mapping[str, Pusher]]:
    """The channels this process's settings configure, opened for a test send and closed after it, as `mila campaign
    test` does."""
    from bot.metrics import Metrics
    from bot.server import build_channels, pushers

    channels = build_channels(app, Metrics())
    try:
        yield pushers(channels)
    finally:
        for channel in channels:
            await channel.close()


@allow(ADMIN, MARKETING)
async def test_send(request: web.Request) -> web.Response:
    """`mila campaign test ID --to … [--lang …]`: the same addresses, the same service."""
    console = console_of(request)
    campaign_id = _campaign_id(request)
    form = await request.post()
    written = _field(form, "to")
    language = _field(form, "lang") or None
    targets = [t for t in written.replace(",", "\n").splitlines() if t.strip()]
    admins = [testing.parse_target(t) for t in targets]
    wrong = [t.strip() for t, admin in zip(targets, admins, strict=True) if admin is None]
    error = ""
    if not targets:
        error = _("Give at least one address.")
    elif wrong:
        error = _("Write each address as telegram:<chat id> or viber:<user id>: {addresses}").format(
            addresses=", ".join(wrong))  # fmt: skip
    elif len(targets) > MAX_TEST_TARGETS:
        error = _("At most {n} addresses for a test.").format(n=MAX_TEST_TARGETS)
    elif language is not None and language not in console.app.deps.profile.languages:
        error = _("Choose one of the languages offered.")
    if error:
        return await _page(request, campaign_id, {"test_error": error, "test_to": written}, status=400)
    chosen = [admin for admin in admins if admin is not None]
    deps = console.app.deps
    async with console.sessionmaker() as db, open_senders(console.app) as senders:
        try:
            campaign, outcomes = await testing.send_test(db, campaign_id, chosen, senders, deps.i18n,
                                                         deps.profile.default_language, deps.clock(),
                                                         language=language)  # fmt: skip
        except CampaignError:
            raise web.HTTPNotFound() from None
        await db.commit()
    sent = sum(outcome.sent for outcome in outcomes)
    await console.record(request, "test_campaign", f"campaign {campaign.id}", addresses=len(outcomes), sent=sent)
    shown = [{"to": f"{o.admin.channel}:{o.admin.external_id}", "language": o.language or "–",
              "result": _delivery(o.delivery) if o.language else _("channel not configured"), "sent": o.sent}
             for o in outcomes]  # fmt: skip
    return await _page(request, campaign_id, {"test": shown, "test_to": written})


def _delivery(value: str | None) -> str:
    names = {"sent": _("sent"), "unreachable": _("unreachable"), "failed": _("failed"),
             "retry_later": _("try again later"), "unknown": _("unknown")}  # fmt: skip
    return names.get(value or "", value or "–")


@allow(ADMIN, MARKETING)
async def steer(request: web.Request) -> web.Response:
    """start / pause / resume / cancel: `mila campaign send` (without following) and `pause`/`resume`/`cancel`."""
    console = console_of(request)
    campaign_id = _campaign_id(request)
    action = request.match_info["action"]
    if action not in ACTIONS:
        raise web.HTTPNotFound()
    now = console.app.deps.clock()
    async with console.sessionmaker() as db:
        try:
            if action == "start":
                added = await store.enqueue(db, campaign_id, console.app.deps.profile.default_language, now)
                detail: dict[str, Any] = {"recipients": added}
            else:
                await store.move(db, campaign_id, action, now)
                detail = {}
            status = (await store.get(db, campaign_id)).status
            await db.commit()
        except CampaignError as exc:
            await db.rollback()
            if "no campaign" in str(exc):
                raise web.HTTPNotFound() from None
            message = _("This campaign is {state} now: it cannot be changed so.")
            try:
                state = _state((await store.get(db, campaign_id)).status)
            except CampaignError:
                state = "?"
            context = {"title": _("Not possible"), "message": message.format(state=state)}
            return render(request, "error.html", context, status=409)
    await console.record(request, f"{action}_campaign", f"campaign {campaign_id}", status=status, **detail)
    raise web.HTTPSeeOther(f"/campaigns/{campaign_id}")


@allow(ADMIN, MARKETING)
async def progress(request: web.Request) -> web.Response:
    console = console_of(request)
    campaign_id = _campaign_id(request)
    async with console.sessionmaker() as db:
        try:
            campaign = await store.get(db, campaign_id)
        except CampaignError:
            raise web.HTTPNotFound() from None
        return web.json_response(await progress_of(db, campaign, console.app.deps.clock()))


SCRIPTS = ("campaign.js", "campaign_new.js")


@allow(ADMIN, MARKETING)
async def script(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in SCRIPTS:
        raise web.HTTPNotFound()
    return web.FileResponse(STATIC / name, headers={"Content-Type": "text/javascript; charset=utf-8"})


def routes(router: web.UrlDispatcher) -> None:
    router.add_get("/campaigns", listing)
    router.add_get("/campaigns/new", new)
    router.add_post("/campaigns/new", new)
    router.add_get("/campaigns/{id:\\d+}", show)
    router.add_get("/campaigns/{id:\\d+}/progress", progress)
    router.add_post("/campaigns/{id:\\d+}/test", test_send)
    router.add_post("/campaigns/{id:\\d+}/{action}", steer)
    router.add_get("/static/{name}", script)
