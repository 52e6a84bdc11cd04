"""Settings, one section per concern, read from the environment and `.env`.

The variable names are a contract with operators (see the README), so each section reads flat names such as
`DATABASE_URL` or `TELEGRAM_BOT_TOKEN` rather than nested ones. Secrets are `SecretStr` so they never end up in a
log line or a traceback by accident. Nothing imports a global instance: `load_settings()` is called once by the
application factory and the result is passed down.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class _Section(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True)


class BotSettings(_Section):
    """What the conversation core needs."""

    # A built-in profile (`rs`, `tm`) or the path of an operator's own profile file (`/etc/mila/xx.yaml`).
    profile: str = Field("rs", validation_alias="MILA_PROFILE")
    locales_dir: Path = Field(PROJECT_ROOT / "locales", validation_alias="MILA_LOCALES_DIR")
    idle_timeout_seconds: int = Field(30 * 60, ge=10, validation_alias="MILA_IDLE_TIMEOUT")
    session_ttl_seconds: int = Field(24 * 3600, ge=60, validation_alias="MILA_SESSION_TTL")
    max_text_length: int = Field(4000, ge=100, validation_alias="MILA_MAX_TEXT_LENGTH")

    @field_validator("profile")
    @classmethod
    def _profile(cls, value: str) -> str:
        if value in ("rs", "tm") or value.endswith((".yaml", ".yml")):
            return value
        raise ValueError("use rs, tm or the path of a profile file ending in .yaml")


class DatabaseSettings(_Section):
    url: str = Field(f"sqlite+aiosqlite:///{PROJECT_ROOT / 'var' / 'mila.sqlite3'}", validation_alias="DATABASE_URL")
    echo: bool = Field(False, validation_alias="DATABASE_ECHO")

    @field_validator("url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value.split(":///", 1)[1]
        if not (value.startswith("postgresql+asyncpg://") or value.startswith("sqlite+aiosqlite://")):
            raise ValueError("use postgresql+asyncpg://… or sqlite+aiosqlite:///…")
        return value


class RedisSettings(_Section):
    url: str | None = Field(None, validation_alias="REDIS_URL")
    prefix: str = Field("mila:", validation_alias="REDIS_PREFIX")

    @field_validator("url")
    @classmethod
    def _scheme(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("use redis://host:port/db")
        return value


class TelegramSettings(_Section):
    bot_token: SecretStr | None = Field(None, validation_alias="TELEGRAM_BOT_TOKEN")
    api_base: str = Field("https://api.telegram.org", validation_alias="TELEGRAM_API_BASE")
    webhook_url: str | None = Field(None, validation_alias="TELEGRAM_WEBHOOK_URL")
    webhook_secret: SecretStr | None = Field(None, validation_alias="TELEGRAM_WEBHOOK_SECRET")
    poll_timeout: int = Field(25, ge=0, le=50, validation_alias="TELEGRAM_POLL_TIMEOUT")
    # Per-chat pace: Telegram allows about one message a second in a chat, with short bursts.
    chat_rate: float = Field(1.0, gt=0, validation_alias="TELEGRAM_CHAT_RATE")
    chat_burst: int = Field(5, ge=1, validation_alias="TELEGRAM_CHAT_BURST")
    # The bot's own rate for every message it sends (replies and broadcasts share it): Telegram's ~30 a second.
    send_rate: float = Field(30.0, gt=0, le=1000, validation_alias="TELEGRAM_SEND_RATE")

    @field_validator("webhook_url", "webhook_secret", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value


# The hosts Viber serves users' pictures and files from (`dl-media.viber.com`, `media-direct.cdn.viber.com`, …).
DEFAULT_VIBER_MEDIA_HOSTS = "*.viber.com"


class ViberSettings(_Section):
    auth_token: SecretStr | None = Field(None, validation_alias="VIBER_AUTH_TOKEN")
    api_base: str = Field("https://chatapi.viber.com/pa", validation_alias="VIBER_API_BASE")
    webhook_url: str | None = Field(None, validation_alias="VIBER_WEBHOOK_URL")
    bot_name: str = Field("Mila", max_length=28, validation_alias="VIBER_BOT_NAME")
    bot_avatar: str | None = Field(None, validation_alias="VIBER_BOT_AVATAR")
    # The bot's own rate for every message it sends on Viber (replies and broadcasts share it; the contract's).
    send_rate: float = Field(30.0, gt=0, le=1000, validation_alias="VIBER_SEND_RATE")
    # Where a media URL in a callback may point (comma-separated; `*.example.com`: any name under it, `host:port`
    # for a port other than the scheme's): the only hosts the mail worker fetches attachments from.
    media_hosts: str = Field(DEFAULT_VIBER_MEDIA_HOSTS, validation_alias="VIBER_MEDIA_HOSTS")

    @field_validator("media_hosts")
    @classmethod
    def _hosts(cls, value: str) -> str:
        for entry in value.split(","):
            host, _, port = entry.strip().rpartition(":") if entry.count(":") == 1 else (entry.strip(), "", "")
            name = host.removeprefix("*.")
            if not name or "/" in name or "*" in name or (port and not port.isdigit()):
                raise ValueError("use host names separated by commas, e.g. *.viber.com or media.example.com:8443")
        return value


class HttpSettings(_Section):
    host: str = Field("127.0.0.1", validation_alias="HTTP_HOST")
    port: int = Field(8080, ge=1, le=65535, validation_alias="HTTP_PORT")


class AdminSettings(_Section):
    """The web console's own listener: never the webhook port, and on loopback unless the operator says otherwise."""

    enabled: bool = Field(True, validation_alias="ADMIN_ENABLED")
    host: str = Field("127.0.0.1", validation_alias="ADMIN_HOST")
    port: int = Field(8081, ge=1, le=65535, validation_alias="ADMIN_PORT")
    # A console session ends after this long without a request.
    session_idle_seconds: int = Field(30 * 60, ge=60, le=24 * 3600, validation_alias="ADMIN_SESSION_IDLE")
    # Cookies marked Secure even on plain http (they always are when the request came over https).
    secure_cookies: bool = Field(False, validation_alias="ADMIN_SECURE_COOKIES")
    # Login attempts per name and per client address within the window; the next ones are refused until it ends.
    lockout_failures: int = Field(5, ge=1, le=100, validation_alias="ADMIN_LOCKOUT_FAILURES")
    lockout_address_failures: int = Field(20, ge=1, le=10000, validation_alias="ADMIN_LOCKOUT_ADDRESS_FAILURES")
    lockout_seconds: int = Field(15 * 60, ge=10, le=24 * 3600, validation_alias="ADMIN_LOCKOUT_SECONDS")
    # A one-time link for a new user (`mila admin add-user --link`) works this long, and once.
    link_seconds: int = Field(24 * 3600, ge=60, le=7 * 24 * 3600, validation_alias="ADMIN_LINK_TTL")
    # The console's address as its users reach it (behind a proxy), for the links printed; else the listener's.
    public_url: str | None = Field(None, validation_alias="ADMIN_PUBLIC_URL")


class HealthSettings(_Section):
    """The checks of `mila doctor` and of `mila run` at start (bot.checks).

    A probe is a signed POST the provisioning endpoint and the SMS gateway answer without acting on it (see the
    README); `MILA_PROBES=false` only opens a connection to them. A part stopped by a failed check whose cause lies
    outside mila (the support group's settings, the mail server, the provisioning endpoint) is checked again every
    `MILA_RECHECK_SECONDS` and starts when the check passes.
    """

    probes: bool = Field(True, validation_alias="MILA_PROBES")
    recheck_seconds: float = Field(30.0, gt=0, le=3600, validation_alias="MILA_RECHECK_SECONDS")


class SupportSettings(_Section):
    """The operators' desk: Telegram supergroup(s) with topics, the relay's pace, when a quiet ticket closes.

    Telegram lets a bot post about 20 messages a minute into one group; the relay keeps to `relay_rate` per
    `relay_window` seconds in each group, shared by every process.
    """

    chat_ids: str | None = Field(None, validation_alias="SUPPORT_CHAT_ID")
    silence_timeout_seconds: int = Field(30 * 60, ge=5, validation_alias="SUPPORT_SILENCE_TIMEOUT")
    relay_rate: int = Field(20, ge=1, validation_alias="SUPPORT_RELAY_RATE")
    relay_window_seconds: float = Field(60.0, gt=0, validation_alias="SUPPORT_RELAY_WINDOW")
    wait_per_ticket_seconds: int = Field(5 * 60, ge=10, validation_alias="SUPPORT_WAIT_PER_TICKET")
    tick_seconds: float = Field(1.0, gt=0, le=60, validation_alias="SUPPORT_TICK")
    # The public HTTPS address of `mila run`'s HTTP server: an operator's photo or file reaches a Viber user as a
    # link to `/support/media/…` there (Viber takes media by URL only). Unset: the user is told it can't be shown.
    media_url: str | None = Field(None, validation_alias="SUPPORT_MEDIA_URL")

    @field_validator("chat_ids")
    @classmethod
    def _groups(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        for part in value.split(","):
            if not part.strip().lstrip("-").isdigit():
                raise ValueError("use the group's numeric id (-100…), several separated by commas")
        return value

    @field_validator("media_url")
    @classmethod
    def _media(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not value.startswith(("http://", "https://")):
            raise ValueError("use https://host (the public address of mila's HTTP server)")
        return value.rstrip("/")

    @property
    def groups(self) -> list[int]:
        """The configured support groups, in the order given."""
        if not self.chat_ids:
            return []
        return [int(part.strip()) for part in self.chat_ids.split(",") if part.strip()]


# The key used when MILA_SECRET_KEY is unset outside production: it makes `make demo` and the tests work with no
# setup, and its name says what it is. Anything keyed with it (phone and passport lookups) is demo data only.
DEMO_SECRET_KEY = "mila-demo-secret-key-not-for-production"  # noqa: S105 - a documented, deliberate demo default


class SecuritySettings(_Section):
    """Keys and retention for personal data.

    `MILA_SECRET_KEY` keys the HMACs that index phone numbers and passports: a plain hash of a short number is
    brute-forced in seconds, a keyed one is not without the key. Changing the key makes every stored lookup
    hash useless, so a re-import is needed after rotating it. In production (`MILA_ENV=production`) the key must
    be set; elsewhere the demo key is used so that a newcomer needs no configuration.
    """

    environment: Literal["development", "test", "production"] = Field("development", validation_alias="MILA_ENV")
    secret_key: SecretStr | None = Field(None, validation_alias="MILA_SECRET_KEY")
    retention_days: int = Field(180, ge=1, le=3650, validation_alias="MILA_RETENTION_DAYS")

    @field_validator("secret_key", mode="after")
    @classmethod
    def _usable(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            value = None
        if value is None and info.data.get("environment") == "production":
            raise ValueError("MILA_SECRET_KEY must be set when MILA_ENV=production")
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("use at least 32 random characters, e.g. from `openssl rand -hex 32`")
        return value

    def key(self) -> bytes:
        """The HMAC key: the configured one, or the demo key outside production."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        return DEMO_SECRET_KEY.encode()


class ProvisioningSettings(_Section):
    """Where orders go: the operator's provisioning system, as signed JSON POSTs. Unset URL: orders wait."""

    url: str | None = Field(None, validation_alias="PROVISIONING_URL")
    secret: SecretStr | None = Field(None, validation_alias="PROVISIONING_SECRET")
    timeout_seconds: float = Field(10.0, gt=0, validation_alias="PROVISIONING_TIMEOUT")
    backoff_seconds: float = Field(5.0, gt=0, validation_alias="PROVISIONING_BACKOFF")
    max_backoff_seconds: float = Field(3600.0, gt=0, validation_alias="PROVISIONING_MAX_BACKOFF")
    max_attempts: int = Field(50, ge=1, validation_alias="PROVISIONING_MAX_ATTEMPTS")

    @field_validator("url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not value.startswith(("http://", "https://")):
            raise ValueError("use http(s)://host/path")
        return value


class MailSettings(_Section):
    """Where complaint and request e-mails go out: an SMTP server. Unset `SMTP_URL`: they wait in the mail outbox.

    `SMTP_URL` is `smtp://[user:password@]host:port` (STARTTLS when the server offers it) or `smtps://…` (TLS from
    the start); it is a secret because it may carry the password.
    """

    smtp_url: SecretStr | None = Field(None, validation_alias="SMTP_URL")
    sender: str = Field("mila@localhost", validation_alias="MAIL_FROM")
    timeout_seconds: float = Field(30.0, gt=0, validation_alias="SMTP_TIMEOUT")
    backoff_seconds: float = Field(30.0, gt=0, validation_alias="SMTP_BACKOFF")
    max_backoff_seconds: float = Field(3600.0, gt=0, validation_alias="SMTP_MAX_BACKOFF")
    max_attempts: int = Field(200, ge=1, validation_alias="SMTP_MAX_ATTEMPTS")

    @field_validator("smtp_url", mode="after")
    @classmethod
    def _smtp(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not value.get_secret_value().startswith(("smtp://", "smtps://")):
            raise ValueError("use smtp://host:port or smtps://host:port")
        return value


class IdentificationSettings(_Section):
    """How long identification lasts, one-time codes, the guards against guessing and against sending codes
    without end, and the SMS gateway."""

    idle_seconds: int = Field(30 * 60, ge=60, validation_alias="MILA_IDENT_IDLE")
    max_age_seconds: int = Field(12 * 3600, ge=300, validation_alias="MILA_IDENT_MAX_AGE")
    step_up_seconds: int = Field(10 * 60, ge=30, validation_alias="MILA_STEP_UP_AGE")
    otp_ttl_seconds: int = Field(5 * 60, ge=60, le=600, validation_alias="MILA_OTP_TTL")
    otp_tries: int = Field(3, ge=1, le=10, validation_alias="MILA_OTP_TRIES")
    lockout_failures: int = Field(5, ge=2, validation_alias="MILA_LOCKOUT_FAILURES")
    lockout_window_seconds: int = Field(15 * 60, ge=60, validation_alias="MILA_LOCKOUT_WINDOW")
    lockout_seconds: int = Field(15 * 60, ge=60, validation_alias="MILA_LOCKOUT_SECONDS")
    lockout_chat_daily: int = Field(20, ge=2, validation_alias="MILA_LOCKOUT_CHAT_DAILY")
    lockout_total: int = Field(500, ge=10, validation_alias="MILA_LOCKOUT_TOTAL")  # an alarm, never a lock
    codes_per_number: int = Field(3, ge=1, validation_alias="MILA_CODES_PER_NUMBER")
    codes_per_chat: int = Field(5, ge=1, validation_alias="MILA_CODES_PER_CHAT")
    codes_total: int = Field(1000, ge=10, validation_alias="MILA_CODES_TOTAL")
    codes_window_seconds: int = Field(15 * 60, ge=60, validation_alias="MILA_CODES_WINDOW")
    sms_gateway_url: str | None = Field(None, validation_alias="SMS_GATEWAY_URL")
    sms_gateway_token: SecretStr | None = Field(None, validation_alias="SMS_GATEWAY_TOKEN")


class BroadcastSettings(_Section):
    """Tariff news: how fast the campaign workers of `mila run` send, shared by every process through Redis.

    Telegram allows about 30 messages a second to different chats for one bot; with paid broadcasts
    (`allow_paid_broadcast`, charged in Stars) up to 1000. Viber's rate is the operator's contract. The margin keeps
    the sends a little under the limit, because the platform counts them when they arrive, after network jitter;
    a worker that was held up drops the slots it missed rather than catching up (see the limiter), so the margin
    only has to cover the network and the platform's own clock.
    """

    telegram_rate: float = Field(30.0, gt=0, le=1000, validation_alias="TELEGRAM_BROADCAST_RATE")
    telegram_paid: bool = Field(False, validation_alias="TELEGRAM_PAID_BROADCAST")
    viber_rate: float = Field(30.0, gt=0, le=1000, validation_alias="VIBER_BROADCAST_RATE")
    margin: float = Field(0.03, ge=0, le=0.5, validation_alias="BROADCAST_RATE_MARGIN")
    batch: int = Field(50, ge=1, le=1000, validation_alias="BROADCAST_BATCH")
    max_attempts: int = Field(5, ge=1, validation_alias="BROADCAST_MAX_ATTEMPTS")
    poll_seconds: float = Field(1.0, gt=0, validation_alias="BROADCAST_POLL")
    viber_price: Decimal = Field(Decimal("0"), ge=0, validation_alias="VIBER_MESSAGE_PRICE")
    viber_currency: str = Field("EUR", min_length=3, max_length=3, validation_alias="VIBER_PRICE_CURRENCY")
    enabled: bool = Field(True, validation_alias="BROADCAST_WORKER")

    @model_validator(mode="after")
    def _paid_above_30(self) -> BroadcastSettings:
        if self.telegram_rate > 30 and not self.telegram_paid:
            raise ValueError("TELEGRAM_BROADCAST_RATE above 30 messages/s needs TELEGRAM_PAID_BROADCAST=true")
        return self


class Settings(BaseSettings):
    """All sections together; each section reads its own variables."""

    bot: BotSettings = Field(default_factory=BotSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    viber: ViberSettings = Field(default_factory=ViberSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    admin: AdminSettings = Field(default_factory=AdminSettings)
    health: HealthSettings = Field(default_factory=HealthSettings)
    support: SupportSettings = Field(default_factory=SupportSettings)
    identification: IdentificationSettings = Field(default_factory=IdentificationSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    provisioning: ProvisioningSettings = Field(default_factory=ProvisioningSettings)
    mail: MailSettings = Field(default_factory=MailSettings)
    broadcast: BroadcastSettings = Field(default_factory=BroadcastSettings)


class ConfigError(Exception):
    """A setting has a wrong value; the message is one line an operator can act on."""


def load_settings(**overrides: object) -> Settings:
    """Read every section; turn pydantic's report into one line naming the variable."""
    try:
        settings = Settings()
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    for dotted, value in overrides.items():
        section, _, name = dotted.partition("__")
        setattr(getattr(settings, section), name, value)
    return settings


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    # The alias (the environment variable's name) is the last element of the location.
    variable = str(first["loc"][-1]) if first["loc"] else "?"
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"configuration error: {variable}: {message}"
