"""Telegram updates → `Incoming`, on the recorded samples of the platform reference and a few variations."""

from __future__ import annotations

from typing import Any

from aiogram.types import Update

from bot.channels.telegram.updates import normalize_phone, parse
from bot.core.incoming import Kind
from tests.telegram.service import sample_updates


def update(raw: dict[str, Any]) -> Update:
    return Update.model_validate(raw)


def test_the_recorded_samples() -> None:
    start, button, own_contact, kicked, other_contact = (parse(update(u)) for u in sample_updates())
    assert start is not None and start.incoming.kind is Kind.START and start.incoming.language_hint == "sr"
    assert start.incoming.user.channel == "telegram" and start.incoming.user.external_id == "111111111"
    assert button is not None and button.incoming.kind is Kind.BUTTON and button.incoming.payload == "confirm:yes"
    assert button.callback_id == "4382bfdwdsb323b2d9" and button.keyboard_message_id == 11
    assert own_contact is not None and own_contact.incoming.kind is Kind.CONTACT
    assert own_contact.incoming.phone == "+381641234567" and own_contact.incoming.phone_is_own
    assert kicked is not None and kicked.incoming.kind is Kind.UNSUBSCRIBED
    assert other_contact is not None and not other_contact.incoming.phone_is_own  # no user_id: not proven


def test_only_a_first_hand_contact_with_the_senders_id_is_their_own_number() -> None:
    own = sample_updates()[2]["message"]
    assert own["contact"]["user_id"] == own["from"]["id"]
    forwarded = {**own, "forward_origin": {"type": "user", "date": 1700000000, "sender_user": own["from"]}}
    via_bot = {**own, "via_bot": {"id": 777, "is_bot": True, "first_name": "Contacts", "username": "contacts_bot"}}
    for message in (forwarded, via_bot):
        parsed = parse(update({"update_id": 1, "message": message}))
        assert parsed is not None and parsed.incoming.kind is Kind.CONTACT
        assert parsed.incoming.phone == "+381641234567" and not parsed.incoming.phone_is_own
    first_hand = parse(update({"update_id": 1, "message": own}))
    assert first_hand is not None and first_hand.incoming.phone_is_own


def test_text_commands_stickers_and_attachments() -> None:
    base = sample_updates()[0]

    def message(**content: Any) -> dict[str, Any]:
        msg = {k: v for k, v in base["message"].items() if k not in ("text", "entities")}
        return {"update_id": 1, "message": {**msg, **content}}

    text = parse(update(message(text="Meni")))
    assert text is not None and text.incoming.kind is Kind.TEXT and text.incoming.text == "Meni"
    start = parse(update(message(text="/start@mila_bot promo")))
    assert start is not None and start.incoming.kind is Kind.START
    other = parse(update(message(text="/startup")))
    assert other is not None and other.incoming.kind is Kind.TEXT
    sticker = {"file_id": "s", "file_unique_id": "s", "type": "regular", "width": 1, "height": 1,
               "is_animated": False, "is_video": False}  # fmt: skip
    parsed = parse(update(message(sticker=sticker)))
    assert parsed is not None and parsed.incoming.kind is Kind.UNSUPPORTED and parsed.incoming.content_type == "sticker"
    location = parse(update(message(location={"latitude": 44.8, "longitude": 20.4})))
    assert location is not None and location.incoming.kind is Kind.UNSUPPORTED
    photo = [{"file_id": "small", "file_unique_id": "a", "width": 90, "height": 90},
             {"file_id": "big", "file_unique_id": "b", "width": 800, "height": 600, "file_size": 5000}]  # fmt: skip
    parsed = parse(update(message(photo=photo, caption="Reklamacija")))
    assert parsed is not None and parsed.incoming.kind is Kind.ATTACHMENT
    assert parsed.incoming.attachment is not None and parsed.incoming.attachment.file_ref == "big"
    assert parsed.incoming.text == "Reklamacija"
    document = {"file_id": "d", "file_unique_id": "d", "file_name": "racun.pdf", "file_size": 10}
    parsed = parse(update(message(document=document)))
    assert parsed is not None and parsed.incoming.attachment is not None
    assert parsed.incoming.attachment.file_name == "racun.pdf"


def test_what_the_bot_must_not_answer() -> None:
    base = sample_updates()[0]["message"]
    assert parse(update({"update_id": 1, "edited_message": {**base, "edit_date": 1700000009}})) is None
    group = {**base, "chat": {"id": -1001, "type": "supergroup", "title": "Podrška"}}
    assert parse(update({"update_id": 1, "message": group})) is None
    from_bot = {**base, "from": {"id": 5, "is_bot": True, "first_name": "Other"}}
    assert parse(update({"update_id": 1, "message": from_bot})) is None
    pinned = {k: v for k, v in base.items() if k not in ("text", "entities")} | {"pinned_message": {**base}}
    assert parse(update({"update_id": 1, "message": pinned})) is None


def test_unblocking_is_a_subscription() -> None:
    kicked = sample_updates()[3]
    member = dict(kicked["my_chat_member"])
    member["old_chat_member"], member["new_chat_member"] = (
        member["new_chat_member"],
        {k: v for k, v in member["old_chat_member"].items()},
    )
    parsed = parse(update({"update_id": 1, "my_chat_member": member}))
    assert parsed is not None and parsed.incoming.kind is Kind.SUBSCRIBED


def test_phone_numbers_are_normalized() -> None:
    assert normalize_phone("381641234567") == "+381641234567"
    assert normalize_phone("+381 64 123-45-67") == "+381641234567"
