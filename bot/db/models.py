"""Tables. Each model says what it keeps and why; personal data is kept only as the flows need it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, UtcDateTime, utcnow


class ChannelUser(Base):
    """A person on one messenger: what they chose (language, consents) outlives the Redis session."""

    __tablename__ = "channel_users"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_channel_users_channel_external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(8))
    marketing_consent: Mapped[bool | None] = mapped_column(Boolean)
    marketing_consent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
