"""Viber's delivered / seen / failed receipts of campaign messages, onto their delivery rows.

The Viber channel keeps every receipt in Redis and calls a hook with it; this is that hook for campaigns. A receipt
is matched on the message token that `push` returned and the worker stored (`message_ref`); receipts of other
messages (conversation replies) match no row and change nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.base import utcnow
from bot.services.campaigns.store import record_receipt


class CampaignReceipts:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock

    async def record(self, channel: str, event: str, message_token: int, timestamp_ms: int) -> int:
        """Returns the rows updated (0 when the message was not a campaign's, or the receipt came before)."""
        at = datetime.fromtimestamp(timestamp_ms / 1000, UTC) if timestamp_ms > 0 else self.clock()
        async with self.sessionmaker() as db, db.begin():
            return await record_receipt(db, channel, event, str(message_token), at)
