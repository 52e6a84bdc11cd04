"""Messages outside a turn (broadcasts, an operator's answer) through the Viber channel's `push`."""

from __future__ import annotations

from sqlalchemy import select

from bot.channels.viber import ViberClient
from bot.core.incoming import UserRef
from bot.core.push import Delivery, Pusher
from bot.core.replies import Button, Picture, Text
from bot.db.models import ChannelUser
from tests.service import free_port
from tests.viber.conftest import TOKEN, Viber


async def test_push_sends_a_picture_with_a_keyboard_and_returns_the_tokens(viber: Viber) -> None:
    assert isinstance(viber.channel, Pusher)
    ana = UserRef("viber", "pushAna01==")
    news = Picture(
        "https://static.example.com/tarifa.jpg",
        "Nova tarifa",
        ((Button("Saznaj više", url="https://mts.rs/tarife"),), (Button("Odjavi novosti", payload="news:off"),)),
    )
    result = await viber.channel.push(ana, [Text("Dobar dan!"), news], purpose="test")
    assert result.delivery is Delivery.SENT and len(result.message_ids) == 2
    hello, picture = viber.api.messages("pushAna01==")
    assert hello["type"] == "text" and hello["text"] == "Dobar dan!" and "keyboard" not in hello
    assert picture["type"] == "picture" and picture["media"].endswith("tarifa.jpg") and picture["text"] == "Nova tarifa"
    kinds = [(b["ActionType"], b["Text"]) for b in picture["keyboard"]["Buttons"]]
    assert kinds == [("open-url", "Saznaj više"), ("reply", "Odjavi novosti")]

    long_caption = Picture("https://static.example.com/t.jpg", "y" * 900)
    await viber.channel.push(ana, [long_caption], purpose="test")
    alone, text = viber.api.messages("pushAna01==")[2:]
    assert alone["type"] == "picture" and alone["text"] == "" and text["text"] == "y" * 900


async def test_push_statuses_unreachable_and_slow_down(viber: Viber) -> None:
    gone = UserRef("viber", "pushGone1==")
    viber.api.answer(6)
    result = await viber.channel.push(gone, [Text("Novosti")], purpose="test")
    assert result.delivery is Delivery.UNREACHABLE
    async with viber.app.deps.sessionmaker() as session:
        row = (await session.execute(select(ChannelUser).where(ChannelUser.external_id == "pushGone1=="))).scalar_one()
    assert row.unreachable

    busy = UserRef("viber", "pushBusy1==")
    viber.api.answer(12, times=10)  # more than the client's own retries
    result = await viber.channel.push(busy, [Text("Prva"), Text("Druga")], purpose="test")
    assert result.delivery is Delivery.RETRY_LATER and result.message_ids == ()
    assert viber.api.messages("pushBusy1==") == []


async def test_push_without_an_answer_is_unknown(viber: Viber) -> None:
    """Nothing listens at the API address: Viber may or may not have the message, and push says so."""
    answering = viber.channel.client
    viber.channel.client = ViberClient(TOKEN, f"http://127.0.0.1:{free_port()}/pa", timeout=1)
    try:
        result = await viber.channel.push(UserRef("viber", "pushLost1=="), [Text("Novosti")], purpose="test")
    finally:
        await viber.channel.client.close()
        viber.channel.client = answering
    assert result.delivery is Delivery.UNKNOWN and result.message_ids == ()


async def test_the_echo_of_a_campaigns_link_button_is_not_answered_and_the_same_link_typed_elsewhere_is(
    viber: Viber,
) -> None:
    """Pressing an open-url button opens the page, and Viber sends the button's URL back as a text message from the
    user: the user said nothing, so nothing is answered ("not understood" would be). Only the exact URL of a button
    the bot sent this user is taken for that echo."""
    ana = viber.user()
    await ana.open()
    await ana.press("Srpski (latinica)")
    await ana.press("Ne, hvala")
    news = Text("Nova tarifa", ((Button("Saznaj više", url="https://mts.rs/tarife?c=7"),),))
    result = await viber.channel.push(UserRef("viber", ana.id), [news], purpose="campaign")
    assert result.delivery is Delivery.SENT
    ana.look()  # the campaign's keyboard is on screen

    assert await ana.press("Saznaj više") == 200  # the echo: text "https://mts.rs/tarife?c=7"
    assert ana.replies == []
    assert await ana.say("meni") == 200  # the conversation goes on as before
    ana.expect("Kako mogu da vam pomognem?")

    other = viber.user()  # the same link from someone who was never sent it: text like any other
    await other.open()
    await other.press("Srpski (latinica)")
    await other.press("Ne, hvala")
    assert await other.say("https://mts.rs/tarife?c=7") == 200
    assert other.replies
    assert await ana.say("https://mts.rs/tarife") == 200  # not the URL of a button she was sent
    assert ana.replies
