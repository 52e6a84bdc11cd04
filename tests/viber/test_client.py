"""The asynchronous client against the fake Viber API: the auth header, status 12 retried, 5/6/7 not, timeouts."""

from __future__ import annotations

import logging

import pytest

from bot.channels.viber.client import ViberClient, ViberError, ViberRateLimited, ViberUnavailable, ViberUnreachable
from tests.fakes.viber_api import FakeViberApi
from tests.viber.conftest import TOKEN

MESSAGE = {"receiver": "u1==", "sender": {"name": "Mila"}, "type": "text", "text": "Zdravo"}


def client(api: FakeViberApi, **options: object) -> ViberClient:
    return ViberClient(TOKEN, api.url, retry_delays=(0.01, 0.02, 0.04), **options)  # type: ignore[arg-type]


async def test_sends_with_the_token_in_the_header_and_returns_the_message_token(viber_api: FakeViberApi) -> None:
    api = client(viber_api)
    try:
        token = await api.send_message(MESSAGE)
    finally:
        await api.close()
    (call,) = viber_api.calls
    assert call.headers["X-Viber-Auth-Token"] == TOKEN and "auth_token" not in call.body
    assert isinstance(token, int) and viber_api.messages("u1==") == [MESSAGE]


async def test_status_12_is_retried_then_delivered(viber_api: FakeViberApi) -> None:
    viber_api.answer(12, times=2)
    api = client(viber_api)
    try:
        assert await api.send_message(MESSAGE) is not None
    finally:
        await api.close()
    assert [c.status for c in viber_api.calls] == [12, 12, 0]


async def test_status_12_retries_are_bounded(viber_api: FakeViberApi) -> None:
    viber_api.answer(12, times=10)
    api = client(viber_api)
    try:
        with pytest.raises(ViberRateLimited):
            await api.send_message(MESSAGE)
    finally:
        await api.close()
    assert len(viber_api.calls) == 4  # the first attempt and three retries


@pytest.mark.parametrize("status", [5, 6, 7])
async def test_unreachable_receivers_are_not_retried(viber_api: FakeViberApi, status: int) -> None:
    viber_api.answer(status)
    api = client(viber_api)
    try:
        with pytest.raises(ViberUnreachable) as raised:
            await api.send_message(MESSAGE)
    finally:
        await api.close()
    assert raised.value.status == status and len(viber_api.calls) == 1


async def test_other_statuses_are_logged_with_the_purpose_and_no_content(
    viber_api: FakeViberApi, caplog: pytest.LogCaptureFixture
) -> None:
    viber_api.answer(13)
    api = client(viber_api)
    caplog.set_level(logging.INFO, logger="mila.viber.api")
    try:
        with pytest.raises(ViberError) as raised:
            await api.send_message(MESSAGE, purpose="reply 2/3")
    finally:
        await api.close()
    assert type(raised.value) is ViberError and raised.value.status == 13
    assert "reply 2/3" in caplog.text and "13" in caplog.text
    assert "Zdravo" not in caplog.text and "u1==" not in caplog.text


async def test_a_wrong_token_is_status_2(viber_api: FakeViberApi) -> None:
    api = ViberClient("not-the-token", viber_api.url)
    try:
        with pytest.raises(ViberError) as raised:
            await api.send_message(MESSAGE)
    finally:
        await api.close()
    assert raised.value.status == 2


async def test_a_slow_api_times_out(viber_api: FakeViberApi) -> None:
    viber_api.delay = 1.0
    api = client(viber_api, timeout=0.2)
    try:
        with pytest.raises(ViberUnavailable):
            await api.send_message(MESSAGE)
    finally:
        await api.close()


async def test_nobody_listening_is_unavailable() -> None:
    api = ViberClient(TOKEN, "http://127.0.0.1:9/pa", timeout=2.0)
    try:
        with pytest.raises(ViberUnavailable):
            await api.send_message(MESSAGE)
    finally:
        await api.close()
