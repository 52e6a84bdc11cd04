"""The lasting profile of a messenger user: language, consents, reachability."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.incoming import UserRef
from bot.db.base import utcnow
from bot.db.models import ChannelUser


class UserDirectory:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def get(self, user: UserRef) -> ChannelUser | None:
        result = await self.db.execute(
            select(ChannelUser).where(ChannelUser.channel == user.channel, ChannelUser.external_id == user.external_id)
        )
        return result.scalar_one_or_none()

    async def ensure(self, user: UserRef) -> ChannelUser:
        """The user's row, created at first contact; `last_seen` moves once per session, not per turn."""
        row = await self.get(user)
        now = utcnow()
        if row is not None:
            row.last_seen = now
            return row
        row = ChannelUser(channel=user.channel, external_id=user.external_id, first_seen=now, last_seen=now)
        try:
            async with self.db.begin_nested():
                self.db.add(row)
        except IntegrityError:
            # Another process created it between our read and write.
            existing = await self.get(user)
            assert existing is not None
            return existing
        return row

    async def set_language(self, user: UserRef, code: str) -> None:
        row = await self.ensure(user)
        row.language = code

    async def set_marketing_consent(self, user: UserRef, consent: bool, when: datetime) -> bool:
        """Store the answer and its time; returns True when this was the user's first answer."""
        row = await self.ensure(user)
        first = row.marketing_consent is None
        row.marketing_consent = consent
        row.marketing_consent_at = when
        return first

    async def link_subscriber(self, user: UserRef, subscriber_id: int | None) -> None:
        """Remember (or, with None, drop) which subscriber this chat identified as, for its later sessions."""
        row = await self.ensure(user)
        row.subscriber_id = subscriber_id
