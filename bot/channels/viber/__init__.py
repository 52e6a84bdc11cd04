"""Viber: the webhook, the renderer and an asynchronous client of the Viber REST Bot API.

Contract with the HTTP server of `mila run` (which owns the process, the server and the other routes):

    if ViberChannel.configured(app.settings.viber):  # VIBER_AUTH_TOKEN is set
        channel = ViberChannel.from_app(app)      # or ViberChannel(engine, settings.viber, redis=…, redis_prefix=…)
        web_app.add_routes(channel.routes())       # POST /webhook/viber → channel.handle
    …start the server (AppRunner/TCPSite) so that it listens…
        await channel.start()                      # set_webhook(VIBER_WEBHOOK_URL, the event types handled)
    …
        await channel.close()                      # on shutdown, before App.close()

- `handle(request)` is a complete aiohttp handler: it reads the raw body, checks `X-Viber-Content-Signature`
  (403 when missing or wrong, nothing processed), parses with viberbot, dedupes on the message token in Redis,
  runs the engine and sends the replies through `ViberClient` before answering. 200: processed (or a duplicate,
  or an event the bot ignores); 400: a signed body that is not a Viber callback; 503: not processed now, Viber
  will retry it; 500: a bug (logged, also retried). For `conversation_started` the 200 carries the welcome message.
- `start()` must be called only after the server listens: Viber calls the URL at once with a signed `webhook`
  event and fails `set_webhook` unless it gets 200. It raises `ConfigError` without `VIBER_WEBHOOK_URL` and a
  `ViberError` when Viber refuses.
- It needs `VIBER_AUTH_TOKEN` (the constructor raises `ConfigError` without it); `VIBER_API_BASE`,
  `VIBER_BOT_NAME` (≤ 28 characters) and `VIBER_BOT_AVATAR` come from `ViberSettings`.
- Optional: `on_receipt` is awaited once for each new delivered/seen/failed receipt (an exception in it is logged;
  the receipts are kept in Redis anyway, as fields `{event}:{user_id}` → timestamp of the hash
  `{REDIS_PREFIX}viber:receipt:{message_token}` for a week, and counted per day in
  `{REDIS_PREFIX}viber:receipts:{YYYYMMDD}`);
  `documents` publishes a document's bytes at a URL so it can go out as a Viber `file` message.

Only this package imports viberbot.
"""

from __future__ import annotations

from bot.channels.viber.channel import (
    CHANNEL,
    EVENT_TYPES,
    WEBHOOK_PATH,
    DocumentStore,
    Receipt,
    ReceiptHook,
    ViberChannel,
)
from bot.channels.viber.client import ViberClient, ViberError, ViberRateLimited, ViberUnavailable, ViberUnreachable

__all__ = [
    "CHANNEL",
    "EVENT_TYPES",
    "WEBHOOK_PATH",
    "DocumentStore",
    "Receipt",
    "ReceiptHook",
    "ViberChannel",
    "ViberClient",
    "ViberError",
    "ViberRateLimited",
    "ViberUnavailable",
    "ViberUnreachable",
]
