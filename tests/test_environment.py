"""A spawned `mila` gets none of the developer's own mila settings: the filter knows every name the settings read."""

from __future__ import annotations

from tests.environment import setting_names, without_mila_settings


def test_every_setting_of_every_section_is_known() -> None:
    names = setting_names()
    for name in (
        "SMS_GATEWAY_URL",
        "SUPPORT_CHAT_ID",
        "SMTP_URL",
        "PROVISIONING_URL",
        "DATABASE_URL",
        "REDIS_URL",
        "TELEGRAM_BOT_TOKEN",
        "VIBER_AUTH_TOKEN",
        "MILA_PROFILE",
        "HTTP_PORT",
        "ADMIN_PORT",
        "MAIL_FROM",
    ):
        assert name in names, name  # fmt: skip


def test_a_developers_gateway_and_desk_do_not_reach_a_spawned_mila() -> None:
    developer = {"PATH": "/usr/bin", "HOME": "/root", "TEST_REDIS_URL": "redis://x", "SMS_GATEWAY_URL": "https://sms",
                 "SUPPORT_CHAT_ID": "-100123", "SMTP_URL": "smtp://mail", "MILA_SECRET_KEY": "k"}  # fmt: skip
    assert without_mila_settings(developer) == {"PATH": "/usr/bin", "HOME": "/root", "TEST_REDIS_URL": "redis://x"}
