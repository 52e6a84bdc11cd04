"""The callback signature: the shared vector, constant-time comparison, and agreement with viberbot's own maths."""

from __future__ import annotations

import json
from pathlib import Path

from viberbot import Api
from viberbot.api.bot_configuration import BotConfiguration

from bot.channels.viber.signature import sign, verify

VECTOR = json.loads((Path(__file__).parent.parent / "fixtures" / "viber" / "signature-vector.json").read_text())


def test_the_shared_vector_passes() -> None:
    body = VECTOR["body"].encode()
    assert sign(body, VECTOR["auth_token"]) == VECTOR["signature"]
    assert verify(body, VECTOR["signature"], VECTOR["auth_token"])
    assert verify(body, VECTOR["signature"].upper(), VECTOR["auth_token"])


def test_viberbot_computes_the_same_signature() -> None:
    api = Api(BotConfiguration(auth_token=VECTOR["auth_token"], name="Mila", avatar=None))
    body = VECTOR["body"].encode()
    assert api.verify_signature(body, sign(body, VECTOR["auth_token"]))


def test_anything_else_fails() -> None:
    body = VECTOR["body"].encode()
    token = VECTOR["auth_token"]
    assert not verify(body, None, token)
    assert not verify(body, "", token)
    assert not verify(body + b" ", VECTOR["signature"], token)  # one byte more in the body
    assert not verify(body, VECTOR["signature"][:-1], token)
    assert not verify(body, VECTOR["signature"], token + "x")  # another bot's token
    assert not verify(body, "ž" * 64, token)
