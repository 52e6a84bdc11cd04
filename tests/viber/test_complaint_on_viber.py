"""A complaint with a picture, on Viber end to end: the picture's media URL reaches the ticket, and the e-mail to
the department carries the picture itself, fetched from that URL."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.db.models import Ticket
from bot.services.attachments import MAX_ATTACHMENT_BYTES, UrlFiles, fetch_attachment
from bot.services.demo import seed_demo
from tests.helpers import sms_code
from tests.smtp import SmtpServer, mail_worker
from tests.viber.conftest import ViberFactory

PICTURE = b"\x89PNG\r\n\x1a\n" + b"frozen-picture" * 50


async def test_a_complaint_with_a_picture_on_viber(make_viber: ViberFactory, smtp: SmtpServer) -> None:
    viber = await make_viber("rs")
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
    ana.expect("Hvala, Jelena!", "Na šta se odnosi vaš prigovor ili zahtev?")
    await ana.press("Fiksna mreža")
    await ana.say("Slika na mts TV se zamrzava svake večeri.")
    ana.expect("Ako imate fotografiju ili fajl")
    media = viber.api.host_media("p.jpg", PICTURE)
    await ana.send_picture(media, size=len(PICTURE))
    ana.expect("Hvala. Vaš zahtev je zaveden pod brojem R-", "Prilog je dodat zahtevu.")
    match = re.search(r"R-\d{8}", ana.text)
    assert match
    async with app.deps.sessionmaker() as db:
        ticket = (await db.execute(select(Ticket))).scalar_one()
    assert ticket.reference == match.group(0) and ticket.channel == "viber"
    assert (ticket.attachment_kind, ticket.attachment_ref) == ("photo", media)
    assert ticket.recipient == "info@telekom.rs"

    assert [a.delivered for a in await mail_worker(app, smtp.url, {"viber": UrlFiles()}).run_once()] == [True]
    [mail] = smtp.received
    [attached] = list(mail.message.iter_attachments())
    assert attached.get_filename() == "p.jpg" and attached.get_payload(decode=True) == PICTURE


async def test_a_picture_too_large_for_an_e_mail_stays_a_reference(make_viber: ViberFactory) -> None:
    viber = await make_viber("rs")
    media = viber.api.host_media("huge.jpg", b"x" * (MAX_ATTACHMENT_BYTES + 1))
    assert await fetch_attachment({"viber": UrlFiles()}, "viber", media, "huge.jpg") is None
    small = viber.api.host_media("small.jpg", PICTURE)
    fetched = await fetch_attachment({"viber": UrlFiles()}, "viber", small, None)
    assert fetched is not None and (fetched.file_name, fetched.mime_type) == ("small.jpg", "image/jpeg")
