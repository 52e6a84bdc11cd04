"""Rendering the core's replies as Viber messages: keyboards, markers, limits — checked against the fake's rules."""

from __future__ import annotations

import json
import string
import unicodedata
from typing import Any

import pytest

from bot.channels.viber.render import (
    ACTION_PREFIX,
    MAX_REQUEST_BYTES,
    FilePart,
    Sender,
    action_body,
    encoded_size,
    keyboard,
    payload_from_text,
    read_tracking_data,
    render_turn,
)
from bot.core.replies import Button, Text
from tests.fakes.viber_api import keyboard_problems, message_problems

SENDER = Sender("mts Srbija · Mila asistent", "https://static.example.com/mila.png")


def render(*parts: Text | FilePart) -> list[dict[str, Any]]:
    messages = render_turn(list(parts), sender=SENDER, receiver="u1==", ref="123")
    for message in messages:
        assert message_problems(message) == []
        assert encoded_size(message) <= MAX_REQUEST_BYTES
    return messages


def test_rows_become_a_six_column_grid() -> None:
    reply = Text(
        "Meni",
        (
            (Button("Uključenje na reč", "reconnect"),),
            (Button("🌐 Jezik", "language"), Button("❓ Pomoć", "help")),
            tuple(Button(f"B{n}", f"b:{n}") for n in range(4)),
        ),
    )
    board = keyboard(reply)
    assert board is not None and keyboard_problems(board.body) == []
    assert board.body["Type"] == "keyboard" and board.body["DefaultHeight"] is False
    assert [b["Columns"] for b in board.body["Buttons"]] == [6, 3, 3, 2, 2, 2, 6]
    assert all(b["Rows"] == 1 and b["ActionType"] == "reply" and b["Silent"] is True for b in board.body["Buttons"])
    assert board.body["Buttons"][0]["ActionBody"] == ACTION_PREFIX + "reconnect"
    assert board.min_api_version is None


def test_share_phone_and_url_buttons() -> None:
    reply = Text("Podelite broj", ((Button("Sajt", url="https://mts.rs"),),), share_phone="📱 Pošalji moj broj")
    (message,) = render(reply)
    share, url = message["keyboard"]["Buttons"]
    assert share["ActionType"] == "share-phone" and share["Text"] == "📱 Pošalji moj broj"
    assert message["min_api_version"] == 3
    assert url == {"Columns": 6, "Rows": 1, "ActionType": "open-url", "ActionBody": "https://mts.rs", "Text": "Sajt"}
    # The tracking data says nothing of the share-phone button: the client echoes it, so it would prove nothing.
    assert read_tracking_data(message["tracking_data"]) == {"v": 1, "ref": "123"}


def test_labels_are_escaped_and_cut_to_250_characters() -> None:
    reply = Text("x", ((Button("<b>R&D</b>", "a"),), (Button("&" * 300, "b"),), (Button("ž" * 400, "c"),)))
    labels = [b["Text"] for b in render(reply)[0]["keyboard"]["Buttons"]]
    assert labels[0] == "&lt;b&gt;R&amp;D&lt;/b&gt;"
    assert all(len(label) <= 250 for label in labels)
    assert labels[1].endswith("&amp;…") and labels[2] == "ž" * 249 + "…"


def test_text_is_split_at_7000_characters_and_the_keyboard_goes_on_the_last_message() -> None:
    long = "\n".join(f"Red {n}: " + "tekst " * 20 for n in range(200))  # ~25,000 characters
    first = Text("Prvo", ((Button("ne ovde", "x"),),))
    messages = render(first, Text(long, ((Button("⬅ Glavni meni", "menu"),),)))
    assert messages[0]["text"] == "Prvo"
    assert all(len(m["text"]) <= 7000 for m in messages)
    assert "".join(m["text"] for m in messages[1:]).replace("\n", "") == long.replace("\n", "")
    assert [("keyboard" in m) for m in messages] == [False] * (len(messages) - 1) + [True]
    assert [b["Text"] for b in messages[-1]["keyboard"]["Buttons"]] == ["⬅ Glavni meni"]
    assert all(m["sender"] == {"name": SENDER.name, "avatar": SENDER.avatar} for m in messages)
    assert all(m["receiver"] == "u1==" for m in messages)


def test_emoji_heavy_text_is_split_by_bytes_too() -> None:
    messages = render(Text("😀" * 7000))  # 7000 characters but 28,000 bytes
    assert len(messages) == 2 and "".join(m["text"] for m in messages) == "😀" * 7000
    messages = render(Text("a\u0001" * 3500))  # control characters take six bytes each in JSON
    assert len(messages) >= 2 and "".join(m["text"] for m in messages) == "a\u0001" * 3500


def test_a_keyboard_too_big_for_30_kb_loses_buttons_instead_of_failing() -> None:
    rows = tuple((Button("ш" * 120, f"b:{n}"),) for n in range(120))
    (message,) = render(Text("Izaberite", rows))  # first the labels are shortened
    assert len(message["keyboard"]["Buttons"]) == 120
    assert all(len(b["Text"]) <= 40 for b in message["keyboard"]["Buttons"])
    rows = tuple((Button("ш" * 120, f"b:{n}"),) for n in range(300))
    (message,) = render(Text("Izaberite", rows))  # then buttons are dropped from the end
    assert 0 < len(message["keyboard"]["Buttons"]) < 300
    assert message["keyboard"]["Buttons"][0]["ActionBody"].endswith("b:0")


def test_welcome_form_has_no_receiver_and_a_file_part_is_a_file_message() -> None:
    (welcome,) = render_turn([Text("Zdravo", ((Button("Srpski", "lang:sr"),),))], sender=SENDER, receiver=None)
    assert message_problems(welcome, welcome=True) == []
    file_message, _caption = render(FilePart("https://files.example.com/r.pdf", "racun.pdf", 2048), Text("Račun"))
    assert file_message["type"] == "file" and file_message["size"] == 2048


@pytest.mark.parametrize(
    "typed",
    ["menu", "lang:sr", "mila", "milamenu", "\u2063menu", "mila\u2063menu", " " + ACTION_PREFIX + "x", ACTION_PREFIX],
)
def test_typed_text_is_never_a_button(typed: str) -> None:
    assert payload_from_text(typed) is None


def test_the_marker_is_nothing_a_keyboard_types() -> None:
    assert payload_from_text(action_body("lang:sr")) == "lang:sr"
    invisible = [ch for ch in ACTION_PREFIX if ch not in string.ascii_letters]
    assert invisible and all(unicodedata.category(ch) == "Cf" for ch in invisible)  # format characters, no glyph
    # What phones' keyboards and auto-correction produce is normalized text; it never contains the marker.
    for form in ("NFC", "NFKC"):
        assert unicodedata.normalize(form, "mila menu") != ACTION_PREFIX + "menu"


def test_tracking_data_of_others_is_ignored() -> None:
    assert read_tracking_data("tracking data") == {}
    assert read_tracking_data(json.dumps({"sp": 1})) == {}
    assert read_tracking_data(None) == {}
