"""Rendering replies as Bot API calls: keyboards, splitting, escaping, editing — checked against the fake's rules."""

from __future__ import annotations

import pytest
from aiogram.methods import EditMessageText, SendDocument, SendMessage
from aiogram.types import InlineKeyboardMarkup, ReplyKeyboardMarkup

from bot.channels.telegram.render import MAX_TEXT, Call, escape, render
from bot.core.replies import Button, Document, Text
from tests.fakes.telegram_api import ApiError, parse_html

CHAT = 42


def sends(calls: list[Call]) -> list[SendMessage]:
    return [c.method for c in calls if isinstance(c.method, SendMessage)]


def test_every_dynamic_value_is_escaped_and_reads_back_unchanged() -> None:
    text = "Račun <b>12</b> & 3 < 4 > 2 \"quoted\" 'single' &amp; <script>"
    (call,) = render([Text(text)], CHAT)
    assert isinstance(call.method, SendMessage) and call.method.parse_mode == "HTML"
    assert parse_html(call.method.text) == text  # Telegram's parser accepts it and shows exactly the text


@pytest.mark.parametrize("raw", ["a < b", "R&D", "<b>bold", "<b>x</i>", "<blink>x</blink>", "x > y"])
def test_the_fake_refuses_what_telegram_cannot_parse(raw: str) -> None:
    with pytest.raises(ApiError, match="can't parse entities"):
        parse_html(raw)
    assert parse_html(escape(raw)) == raw


def test_buttons_become_an_inline_keyboard_one_per_row_unless_grouped() -> None:
    reply = Text(
        "Meni",
        (
            (Button("Jedan", "one"),),
            (Button("Dva", "two"), Button("Tri", "three")),
            (Button("Sajt", url="https://mts.rs"),),
        ),
    )
    (call,) = render([reply], CHAT)
    assert isinstance(call.method, SendMessage)
    markup = call.method.reply_markup
    assert isinstance(markup, InlineKeyboardMarkup)
    rows = [[(b.text, b.callback_data, b.url) for b in row] for row in markup.inline_keyboard]
    assert rows == [
        [("Jedan", "one", None)],
        [("Dva", "two", None), ("Tri", "three", None)],
        [("Sajt", None, "https://mts.rs")],
    ]


def test_a_payload_longer_than_64_bytes_cannot_be_made() -> None:
    with pytest.raises(ValueError, match="64"):
        Button("Türkmençe", "lang:" + "ž" * 30)


def test_share_phone_is_a_one_time_reply_keyboard_with_request_contact() -> None:
    (call,) = render([Text("Podelite broj", share_phone="📱 Podeli moj broj")], CHAT)
    assert isinstance(call.method, SendMessage)
    markup = call.method.reply_markup
    assert isinstance(markup, ReplyKeyboardMarkup) and markup.one_time_keyboard
    assert markup.keyboard[0][0].request_contact and markup.keyboard[0][0].text == "📱 Podeli moj broj"
    # With inline buttons as well, the share-phone keyboard comes in a message of its own.
    calls = render([Text("Podelite broj", ((Button("Nazad", "menu"),),), share_phone="Podeli")], CHAT)
    first, second = (call.method for call in calls)
    assert isinstance(first, SendMessage) and isinstance(first.reply_markup, InlineKeyboardMarkup)
    assert isinstance(second, SendMessage) and isinstance(second.reply_markup, ReplyKeyboardMarkup)


def test_long_text_is_split_at_line_boundaries_with_the_buttons_on_the_last_part() -> None:
    lines = [f"Stavka {n}: " + "x" * 90 for n in range(100)]  # about 10,200 characters
    text = "\n".join(lines)
    calls = render([Text(text, ((Button("Meni", "menu"),),))], CHAT)
    messages = sends(calls)
    assert len(messages) == 3
    shown = [parse_html(m.text) for m in messages]
    assert all(0 < len(part) <= MAX_TEXT for part in shown)
    assert all(part.startswith("Stavka") for part in shown), "cut between lines, not inside one"
    assert "\n".join(shown) == text
    assert [m.reply_markup is not None for m in messages] == [False, False, True]


def test_a_long_line_without_breaks_is_cut_at_spaces_and_escaping_does_not_count() -> None:
    text = " ".join(["<&>"] * 3000)  # 11,999 characters that escape to almost three times as many
    parts = [parse_html(m.text) for m in sends(render([Text(text)], CHAT))]
    assert all(len(p) <= MAX_TEXT for p in parts) and len(parts) == 3


def test_a_single_text_answer_to_a_button_edits_the_pressed_message() -> None:
    (call,) = render([Text("Izaberite jezik.", ((Button("Srpski", "lang:sr"),),))], CHAT, edit_message_id=7)
    assert isinstance(call.method, EditMessageText) and call.method.message_id == 7
    assert isinstance(call.fallback, SendMessage) and call.fallback.text == call.method.text
    # Two texts (a notice and the menu), or a share-phone request, are sent as new messages.
    assert all(isinstance(c.method, SendMessage) for c in render([Text("a"), Text("b")], CHAT, edit_message_id=7))
    (share,) = render([Text("broj?", share_phone="Podeli")], CHAT, edit_message_id=7)
    assert isinstance(share.method, SendMessage)


def test_documents() -> None:
    (call,) = render([Document("racun.pdf", b"%PDF-1.4", caption="Račun <mart>")], CHAT)
    document = call.method
    assert isinstance(document, SendDocument) and document.caption == "Račun &lt;mart&gt;"


def test_an_empty_text_is_never_sent() -> None:
    (call,) = render([Text("  ")], CHAT)
    assert isinstance(call.method, SendMessage)
    assert parse_html(call.method.text).strip()
