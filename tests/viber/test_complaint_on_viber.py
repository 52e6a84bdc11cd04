"""A complaint with a picture, on Viber end to end: the picture's media URL reaches the ticket, and the e-mail to
the department carries the picture itself, fetched from that URL — but only from Viber's media hosts, never from
inside the network: the URL is the sender's client's to write, and the e-mail leaves the company."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from sqlalchemy import select

from bot.app import App
from bot.db.models import Ticket
from bot.metrics import Metrics
from bot.server import build_web_app
from bot.services.attachments import MAX_ATTACHMENT_BYTES, UrlFiles, fetch_attachment
from bot.services.demo import seed_demo
from bot.services.safe_fetch import FetchRefused
from tests.fakes.viber_api import FakeViberApi
from tests.helpers import sms_code
from tests.smtp import SmtpServer, mail_worker
from tests.telegram.service import free_port
from tests.viber.conftest import Viber, ViberFactory

PICTURE = b"\x89PNG\r\n\x1a\n" + b"frozen-picture" * 50
LOOPBACK = [ipaddress.ip_network("127.0.0.1/32")]  # the fake CDN listens there: the one exemption the tests make


def media_files(api: FakeViberApi, *extra_hosts: str, names: dict[str, str] | None = None) -> UrlFiles:
    """The Viber fetcher of `mila run`, allowed to fetch from the fake CDN (by its name) and nothing else."""
    hosts = ",".join((api.media_host, *extra_hosts))
    return UrlFiles(hosts, resolver=api.media_resolver(names), allowed_networks=LOOPBACK)


async def file_complaint(viber: Viber, media: str) -> str:
    """Jelena files a complaint on Viber with a picture at `media`; returns its reference."""
    app = viber.app
    async with app.deps.sessionmaker() as db:
        await seed_demo(db, app.deps.profile, app.settings.security.key())
        await db.commit()
    ana = viber.user(language="sr")
    await ana.open()
    await ana.press("Srpski (latinica)")
    await ana.press("Ne, hvala")
    await ana.press("Prigovori i zahtevi")
    await ana.press("Novi prigovor ili zahtev")
    await ana.press("Brojem telefona")
    await ana.share_phone("381652345678")
    ana.expect("Poslala sam jednokratni kod SMS porukom na +381 65 ••• •• 78.")  # Viber proves no number: a code
    await ana.say(await sms_code(app))
    ana.expect("Identifikovani ste kao Jelena.", "Na šta se odnosi vaš prigovor ili zahtev?")
    await ana.press("Fiksna mreža")
    await ana.say("Slika na mts TV se zamrzava svake večeri.")
    ana.expect("Ako imate fotografiju ili fajl")
    await ana.send_picture(media, size=len(PICTURE))
    ana.expect("Hvala. Vaš zahtev je zaveden pod brojem R-", "Prilog je dodat zahtevu.")
    match = re.search(r"R-\d{8}", ana.text)
    assert match
    return match.group(0)


async def test_a_complaint_with_a_picture_on_viber(make_viber: ViberFactory, smtp: SmtpServer) -> None:
    viber = await make_viber("rs")
    media = viber.api.host_media("p.jpg", PICTURE)
    reference = await file_complaint(viber, media)
    async with viber.app.deps.sessionmaker() as db:
        ticket = (await db.execute(select(Ticket))).scalar_one()
    assert ticket.reference == reference and ticket.channel == "viber"
    assert (ticket.attachment_kind, ticket.attachment_ref) == ("photo", media)
    assert ticket.recipient == "info@telekom.rs"

    worker = mail_worker(viber.app, smtp.url, {"viber": media_files(viber.api)})
    assert [a.delivered for a in await worker.run_once()] == [True]
    [mail] = smtp.received
    [attached] = list(mail.message.iter_attachments())
    assert attached.get_filename() == "p.jpg" and attached.get_payload(decode=True) == PICTURE


async def test_a_picture_too_large_for_an_e_mail_stays_a_reference(make_viber: ViberFactory) -> None:
    viber = await make_viber("rs")
    files = {"viber": media_files(viber.api)}
    media = viber.api.host_media("huge.jpg", b"x" * (MAX_ATTACHMENT_BYTES + 1))
    assert await fetch_attachment(files, "viber", media, "huge.jpg") is None
    small = viber.api.host_media("small.jpg", PICTURE)
    fetched = await fetch_attachment(files, "viber", small, None)
    assert fetched is not None and (fetched.file_name, fetched.mime_type) == ("small.jpg", "image/jpeg")
    big = viber.api.host_media("big.jpg", PICTURE * 3000)  # 2 MB: read to its end, not just what arrived first
    fetched = await fetch_attachment(files, "viber", big, None)
    assert fetched is not None and fetched.content == PICTURE * 3000


MilaServer = Callable[[App], Awaitable[tuple[str, list[str]]]]


@pytest.fixture
async def mila_http() -> AsyncIterator[MilaServer]:
    """mila's own HTTP server (/healthz, /metrics) on loopback, recording every request it gets."""
    runners: list[web.AppRunner] = []

    async def start(app: App) -> tuple[str, list[str]]:
        seen: list[str] = []

        @web.middleware
        async def record(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> (
            web.StreamResponse
        ):  # fmt: skip
            seen.append(request.path)
            return await handler(request)

        web_app = build_web_app(app, Metrics(), [])
        web_app.middlewares.append(record)
        runner = web.AppRunner(web_app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runners.append(runner)
        return f"127.0.0.1:{port}", seen

    yield start
    for runner in runners:
        await runner.cleanup()


async def test_a_media_url_redirected_to_mila_s_own_metrics_is_never_fetched(
    make_viber: ViberFactory, smtp: SmtpServer, mila_http: MilaServer
) -> None:
    viber = await make_viber("rs")
    mila, seen = await mila_http(viber.app)
    media = viber.api.redirect_media("p.jpg", f"http://{mila}/metrics")
    reference = await file_complaint(viber, media)

    worker = mail_worker(viber.app, smtp.url, {"viber": media_files(viber.api)})
    assert [a.delivered for a in await worker.run_once()] == [True]  # the e-mail goes, with the reference only
    [mail] = smtp.received
    assert reference in mail.subject and list(mail.message.iter_attachments()) == []
    assert "mila_updates" not in mail.text and seen == []  # /metrics was never asked


@pytest.mark.parametrize(
    ("hosts", "names", "target", "reason"),
    [
        # mila's own port, named by its address: not a Viber host
        ((), {}, "http://{mila}/metrics", "a host that is not on the allow-list"),
        # allowed by name, but an address inside the network (the tests' exemption is 127.0.0.1 only)
        (("127.0.0.2:{mila_port}",), {}, "http://127.0.0.2:{mila_port}/metrics", "an address inside the network"),
        (("[::ffff:127.0.0.2]:{mila_port}",), {}, "http://[::ffff:127.0.0.2]:{mila_port}/metrics",
         "an address inside the network"),
        # an allowed name that resolves inside the network (DNS that points home)
        (("cdn.viber.test:{mila_port}",), {"cdn.viber.test": "127.0.0.2"}, "http://cdn.viber.test:{mila_port}/metrics",
         "the host resolves to an address inside the network"),
        (("*.viber.test",), {"meta.viber.test": "169.254.169.254"}, "http://meta.viber.test/latest/meta-data/",
         "the host resolves to an address inside the network"),
        (("*.viber.test",), {"lan.viber.test": "10.0.0.7"}, "http://lan.viber.test/", "the host resolves to an "
         "address inside the network"),
        ((), {}, "file:///etc/passwd", "not an http(s) URL"),
    ],
)  # fmt: skip
async def test_a_redirect_inside_the_network_is_refused_hop_by_hop(
    make_viber: ViberFactory,
    mila_http: MilaServer,
    hosts: tuple[str, ...],
    names: dict[str, str],
    target: str,
    reason: str,
) -> None:
    """Each target refused when the URL names it and when the fake CDN (an allowed host) redirects to it."""
    viber = await make_viber("rs")
    mila, seen = await mila_http(viber.app)
    port = mila.split(":")[1]
    files = media_files(viber.api, *(h.format(mila_port=port) for h in hosts), names=names)
    direct = target.format(mila=mila, mila_port=port)
    redirected = viber.api.redirect_media("p.jpg", direct)
    for url in (direct, redirected):
        with pytest.raises(FetchRefused) as refused:
            await files.fetch(url, None)
        assert str(refused.value) == reason
    assert seen == []
    assert await fetch_attachment({"viber": files}, "viber", redirected, "p.jpg") is None  # left as the reference


async def test_mila_s_own_address_is_refused_without_the_tests_exemption(
    make_viber: ViberFactory, mila_http: MilaServer
) -> None:
    viber = await make_viber("rs")
    mila, seen = await mila_http(viber.app)
    host, port = mila.split(":")
    strict = UrlFiles(f"{mila},[::ffff:{host}]:{port}")
    for url in (f"http://{mila}/metrics", f"http://[::ffff:{host}]:{port}/metrics"):
        with pytest.raises(FetchRefused, match=r"^an address inside the network$"):
            await strict.fetch(url, None)
    assert seen == []


async def test_the_fake_cdn_itself_is_reached_only_by_its_allowed_name(make_viber: ViberFactory) -> None:
    """The loopback exemption of these tests does not let anything else through: the same server by its address,
    or an allowed name with the exemption withdrawn, is refused."""
    viber = await make_viber("rs")
    media = viber.api.host_media("p.jpg", PICTURE)
    assert (await media_files(viber.api).fetch(media, None)).content == PICTURE
    by_address = media.replace(viber.api.media_host.split(":")[0], "127.0.0.1")
    with pytest.raises(FetchRefused, match="not on the allow-list"):
        await media_files(viber.api).fetch(by_address, None)
    strict = UrlFiles(viber.api.media_host, resolver=viber.api.media_resolver())
    with pytest.raises(FetchRefused, match="resolves to an address inside the network"):
        await strict.fetch(media, None)
    with pytest.raises(FetchRefused, match="not on the allow-list"):
        await UrlFiles().fetch(media, None)  # the default: Viber's own hosts only
