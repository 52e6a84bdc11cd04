"""Reconnection on promise on Telegram, end to end: `mila run` as a subprocess (polling and webhook) and the fake
Bot API server; the user shares their own number with the share-phone button and gets their line back."""

from __future__ import annotations

from tests.fakes.telegram_api import FakeTelegram
from tests.helpers import seed_database
from tests.service import orders
from tests.telegram.service import Mila
from tests.telegram.test_service import choose_serbian


async def test_reconnect_on_promise_through_telegram(mila: Mila, fake_telegram: FakeTelegram) -> None:
    fake = fake_telegram
    await seed_database(mila.database_url, "rs")
    petar = fake.user(640000001, first_name="Petar", language_code="sr")

    mark = len(fake.calls)
    await choose_serbian(fake, petar)

    fake.press(petar, "Uključenje na reč")
    await fake.wait_text(petar, "Kako želite da se identifikujete?", since=mark)
    fake.press(petar, "Brojem telefona")
    await fake.wait_text(petar, "Podelite svoj broj dugmetom ispod", since=mark)
    fake.share_contact(petar, "381641234567", own=True)  # Telegram's share-phone button: the sender's own number
    await fake.wait_text(petar, "Hvala! Identifikovani ste kao Petar.", since=mark)
    await fake.wait_text(petar, "Izaberite račun sa statusom", since=mark)

    fake.press(petar, "1234567/1")
    await fake.wait_text(petar, "Dug: 2.340,50 RSD", since=mark)
    await fake.wait_text(petar, "Da li želite uključenje na reč?", since=mark)
    fake.press(petar, "DA")
    shown = await fake.wait_text(petar, "Izdat je nalog za uključenje usluga (račun 1234567/1).", since=mark)
    [order] = await orders(mila.database_url)
    assert order.kind == "reconnect_on_promise" and any(order.number in text for text in shown)


async def test_a_contact_that_is_not_the_senders_gets_a_code(mila: Mila, fake_telegram: FakeTelegram) -> None:
    fake = fake_telegram
    await seed_database(mila.database_url, "rs")
    someone = fake.user(640000002, language_code="sr")
    mark = len(fake.calls)
    await choose_serbian(fake, someone)
    fake.send_text(someone, "/reconnect")
    await fake.wait_text(someone, "Kako želite da se identifikujete?", since=mark)
    fake.press(someone, "Brojem telefona")
    await fake.wait_text(someone, "Podelite svoj broj", since=mark)
    fake.share_contact(someone, "+381641234567", own=False)  # Petar's card, forwarded: no user_id
    await fake.wait_text(someone, "Poslala sam jednokratni kod SMS porukom na +381 64 ••• •• 67.", since=mark)
    assert not any("Identifikovani ste" in text for text in fake.shown_since(someone, mark))
