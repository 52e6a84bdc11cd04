"""What the engine records of each conversation for the analytics, as the core sees it: the marks a turn sets and
the `ConversationLog` the application factory hands the engine (`bot.services.analytics.ConversationRecords`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.incoming import UserRef
from bot.db.models import UnderstandingEvent


class Mark(StrEnum):
    """Something a turn did that the analytics count."""

    HANDED_OFF = "handed_off"  # a human operator was asked for (a support ticket opened)
    IDENTIFIED = "identified"  # the subscriber proved who they are
    ID_FAILURE = "id_failure"  # a wrong code word, passport or one-time code
    ID_LOCKOUT = "id_lockout"  # identification was refused for a while: too many failures
    FORGOTTEN = "forgotten"  # the chat user was erased in this turn: nothing more is recorded of it


class ConversationLog(Protocol):
    """The analytics' conversation rows and the learning loop's events, written in the session given."""

    async def start(
        self, db: AsyncSession, *, at: datetime, profile: str, channel: str, language: str, external_id: str | None
    ) -> int:
        """A new conversation; returns its id."""
        ...

    async def update(
        self, db: AsyncSession, conversation: int, *, at: datetime, language: str | None = None,
        marks: Iterable[Mark] = (),
    ) -> bool:  # fmt: skip
        """A turn's marks and language; False when the conversation is gone."""
        ...

    async def understanding(self, db: AsyncSession, user: UserRef, event: UnderstandingEvent) -> None:
        """A sentence not understood outright, for the learning loop; the chat user is linked here."""
        ...
