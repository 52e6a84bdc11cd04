"""What `mila run` needs from a messenger channel: HTTP routes, start, stop, close.

Kept free of any SDK so the server can run whichever channels are configured without importing the others. What a
channel offers the services for messages outside a turn (`Pusher`, `PushResult`) is the core's: `bot.core.push`.
"""

from __future__ import annotations

from typing import Protocol

from aiohttp import web


class UpdateNotProcessed(Exception):
    """An update could not be processed now (Redis down, the user's turn busy, being handled elsewhere).

    The platform must deliver it again: webhooks answer non-2xx, polling does not confirm it.
    """


class Channel(Protocol):
    name: str

    def routes(self) -> list[web.RouteDef]:
        """Webhook routes, mounted before `start` (a platform may call the webhook while it is being set)."""
        ...

    async def start(self) -> None:
        """Register with the platform (webhook, commands) and begin taking updates."""
        ...

    async def stop(self) -> None:
        """Take no new updates; return when the ones in progress are finished."""
        ...

    async def close(self) -> None:
        """Release connections; called after `stop`."""
        ...
