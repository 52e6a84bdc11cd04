"""`/analytics`: the figures of `bot.services.analytics.dashboard` over a chosen period, for a channel, language
and profile or all of them, as charts (conversations, containment and handoffs also per channel and per language)
and tables, each table exportable as CSV. Aggregates only (typed messages masked as recorded), so
marketing may see it."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web
from markupsafe import Markup

from bot.console import charts
from bot.console.app import ADMIN, MARKETING, allow, console_of, render
from bot.console.i18n import _
from bot.console.periods import CHANNELS, LANGUAGES, Period, period_of
from bot.core.i18n import N_
from bot.profiles import PROFILE_DIR
from bot.services.analytics import Dashboard, Slice, Table, dashboard, to_csv

TABLE_TITLES = {
    "conversations": N_("Conversations per day"),
    "by_channel": N_("Conversations per channel"),
    "days_by_channel": N_("Conversations per day and channel"),
    "by_language": N_("Conversations per language"),
    "days_by_language": N_("Conversations per day and language"),
    "identification": N_("Identification"),
    "intents": N_("What people asked for"),
    "not_understood": N_("Not understood (masked)"),
    "orders": N_("Orders per kind and state"),
    "promises_refused": N_("Reconnection promises refused by rule"),
    "queue": N_("Operator queue"),
    "ratings": N_("Ratings"),
}
HEADERS = {
    "day": N_("day"), "conversations": N_("conversations"), "contained": N_("without a human"),
    "handed_off": N_("handed to an operator"), "identified": N_("identified"), "failures": N_("failures"),
    "lockouts": N_("lockouts"), "success_rate": N_("success rate"), "intent": N_("intent"), "asked": N_("asked"),
    "clarified": N_("asked back"), "text": N_("text"), "count": N_("count"), "kind": N_("kind"),
    "total": N_("total"), "pending": N_("pending"), "sent": N_("sent"), "done": N_("done"), "failed": N_("failed"),
    "cancelled": N_("cancelled"), "reason": N_("reason"), "tickets": N_("tickets"),
    "after_hours": N_("after hours"), "taken": N_("taken"), "answered": N_("answered"), "closed": N_("closed"),
    "avg_wait_s": N_("average wait (s)"), "avg_first_response_s": N_("average first response (s)"),
    "avg_close_s": N_("average time to close (s)"), "rating": N_("rating"), "channel": N_("channel"),
    "language": N_("language"), "containment": N_("containment"), "handoff_rate": N_("handoff rate"),
}  # fmt: skip
TOP_CHART = 15


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def _share(value: float | None) -> float | None:
    """A share as the charts show it: percent, one decimal."""
    return None if value is None else round(value * 100, 1)


def _sliced(name: str, title: str, shares: str, days: list[str], slices: tuple[Slice, ...]) -> list[Markup]:
    """Conversations per day, a series per channel (or language); containment and handoffs of each, in percent."""
    keys = [s.key for s in slices]
    return [
        charts.bars(f"conversations_by_{name}", title, days,
                    [(s.key, [p.conversations for p in s.days]) for s in slices], stacked=True),
        charts.bars(f"containment_by_{name}", shares, keys,
                    [(_("without a human"), [_share(s.containment) for s in slices]),
                     (_("handed to an operator"), [_share(s.handoff_rate) for s in slices])]),
    ]  # fmt: skip


def _charts(board: Dashboard) -> list[Markup]:
    conv, ident, und, orders, queue = (board.conversations, board.identification, board.understanding,
                                       board.orders, board.queue)  # fmt: skip
    days = [d.day.strftime("%d.%m.") for d in conv.days]
    intents = und.intents[:TOP_CHART]
    missed = und.not_understood[:TOP_CHART]
    kinds = [k for k in orders.kinds if k.total]
    states = sorted({s for k in orders.kinds for s, n in k.states.items() if n})
    return [
        charts.bars("conversations", _("Conversations per day"), days,
                    [(_("without a human"), [d.contained for d in conv.days]),
                     (_("handed to an operator"), [d.handed_off for d in conv.days])], stacked=True),
        charts.pie("containment", _("Containment and handoffs"),
                   [(_("without a human"), conv.contained), (_("handed to an operator"), conv.handed_off)]),
        *_sliced("channel", _("Conversations per day and channel"), _("Containment and handoffs per channel (%)"),
                 days, conv.channels),
        *_sliced("language", _("Conversations per day and language"), _("Containment and handoffs per language (%)"),
                 days, conv.languages),
        charts.bars("intents", _("What people asked for"), [i.intent for i in intents],
                    [(_("asked"), [i.asked for i in intents])], horizontal=True),
        charts.bars("not_understood", _("Not understood (masked)"), [m.text for m in missed],
                    [(_("count"), [m.count for m in missed])], horizontal=True),
        charts.bars("orders", _("Orders per kind and state"), [k.kind for k in kinds],
                    [(_(HEADERS.get(s, s)), [k.states[s] for k in kinds]) for s in states], stacked=True),
        charts.bars("identification", _("Identification"), [_("identified"), _("failures"), _("lockouts")],
                    [(_("count"), [ident.identified, ident.failures, ident.lockouts])]),
        charts.bars("queue", _("Operator queue (minutes)"),
                    [_("waiting"), _("first response"), _("time to close")],
                    [(_("average"), [_minutes(queue.wait_seconds), _minutes(queue.first_response_seconds),
                                      _minutes(queue.close_seconds)])]),
        charts.bars("ratings", _("Ratings"), ["1", "2", "3", "4", "5"],
                    [(_("tickets"), [board.ratings.counts[n] for n in range(1, 6)])]),
    ]  # fmt: skip


def profiles(own: str) -> list[str]:
    """The profiles a page may filter by: the built-in ones and this process's own."""
    return sorted({file.stem for file in PROFILE_DIR.glob("*.yaml")} | {own})


async def _board(request: web.Request) -> tuple[Period, Dashboard]:
    console = console_of(request)
    profile = console.app.deps.profile
    period = period_of(request, profile.zone, console.app.deps.clock(), profiles(profile.id))
    board = await dashboard(console.sessionmaker, since=period.since, until=period.until, channel=period.channel,
                            language=period.language, profile=period.profile, zone=profile.zone)  # fmt: skip
    return period, board


def _shown(table: Table) -> dict[str, object]:
    return {"name": table.name, "title": _(TABLE_TITLES.get(table.name, table.name)),
            "columns": [_(HEADERS.get(c, c)) for c in table.columns], "rows": table.rows}  # fmt: skip


@allow(ADMIN, MARKETING)
async def page(request: web.Request) -> web.Response:
    period, board = await _board(request)
    conv = board.conversations
    summary = [
        (_("Conversations"), str(conv.total)),
        (_("Containment"), _percent(conv.containment)),
        (_("Handoff rate"), _percent(conv.handoff_rate)),
        (_("Identification success"), _percent(board.identification.success_rate)),
        (_("Average rating"), "–" if board.ratings.average is None else f"{board.ratings.average:.2f}"),
    ]
    return render(request, "analytics.html", {
        "period": period, "summary": summary, "charts": _charts(board), "tables": [_shown(t) for t in board.tables()],
        "channels": CHANNELS, "languages": LANGUAGES, "until_last": period.last - timedelta(days=0),
        "profiles": profiles(console_of(request).app.deps.profile.id),
    })  # fmt: skip


@allow(ADMIN, MARKETING)
async def export(request: web.Request) -> web.Response:
    period, board = await _board(request)
    try:
        table = board.table(request.query.get("table", ""))
    except KeyError:
        raise web.HTTPNotFound() from None
    name = f"{table.name}-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return web.Response(body=to_csv(table).encode(), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


def routes(router: web.UrlDispatcher) -> None:
    router.add_get("/analytics", page)
    router.add_get("/analytics/export.csv", export)
