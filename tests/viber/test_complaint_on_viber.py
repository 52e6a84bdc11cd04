"""A complaint with a picture, on Viber end to end: the picture's media URL reaches the ticket and the e-mail."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.db.models import Ticket
from bot.services.demo import seed_demo
from tests.viber.conftest import ViberFactory


async def test_a_complaint_with_a_picture_on_viber(make_viber: ViberFactory) -> None:
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
    ana.expect("Hvala, Jelena!", "Na šta se odnosi vaš prigovor ili zahtev?")
    await ana.press("Fiksna mreža")
    await ana.say("Slika na mts TV se zamrzava svake večeri.")
    ana.expect("Ako imate fotografiju ili fajl")
    await ana.send_picture()
    ana.expect("Hvala. Vaš zahtev je zaveden pod brojem R-", "Prilog je priložen uz zahtev.")
    match = re.search(r"R-\d{8}", ana.text)
    assert match
    async with app.deps.sessionmaker() as db:
        ticket = (await db.execute(select(Ticket))).scalar_one()
    assert ticket.reference == match.group(0) and ticket.channel == "viber"
    assert (ticket.attachment_kind, ticket.attachment_ref) == ("photo", "https://media.example.com/p.jpg")
    assert ticket.recipient == "info@telekom.rs"
