"""Tables. Each model says what it keeps and why; personal data is kept only as the flows need it.

Subscribers, their accounts and services are mila's copy of the operator's billing data, loaded and refreshed
by `mila import`; orders are what the chat asked the operator to do, delivered through the outbox. Phone numbers
and passports are found through keyed hashes (`*_hmac`), code words are kept only as salted password hashes.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db.base import Base, UtcDateTime, utcnow


class Segment(StrEnum):
    PRIVATE = "private"
    CORPORATE = "corporate"


class AccountKind(StrEnum):
    MOBILE = "mobile"
    FIXED = "fixed"
    TV = "tv"
    INTERNET = "internet"
    BOX = "box"  # a bundle (mts BOX: phone, TV and internet on one bill)


class AccountStatus(StrEnum):
    ACTIVE = "active"
    DISCONNECTED = "disconnected"
    SUSPENDED = "suspended"  # suspended at the subscriber's request (temporary blocking)


class DisconnectReason(StrEnum):
    """Why a disconnected account is off: reconnection on promise is only for debt."""

    DEBT = "debt"
    REQUEST = "request"
    INACTIVITY = "inactivity"
    OTHER = "other"


class OrderKind(StrEnum):
    RECONNECT_ON_PROMISE = "reconnect_on_promise"
    SERVICE_ON = "service_on"
    SERVICE_OFF = "service_off"
    SUSPEND = "suspend"
    RESUME = "resume"
    UNBLOCK = "unblock"
    FAVOURITE_NUMBER = "favourite_number"
    DISCOUNT_PACKAGE = "discount_package"
    INVOICE = "invoice"
    PUK = "puk"


class OrderStatus(StrEnum):
    PENDING = "pending"  # written, waiting for the outbox worker
    SENT = "sent"  # the provisioning system acknowledged it
    DONE = "done"  # the provisioning system reported it carried out
    FAILED = "failed"  # gave up delivering or the provisioning system refused it
    CANCELLED = "cancelled"


def _values(enum: type[StrEnum]) -> str:
    return ", ".join(f"'{member.value}'" for member in enum)


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
    # The subscriber this chat identified as, when the flows link it for later sessions; cleared if the
    # subscriber disappears from the operator's data.
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="SET NULL"), index=True, default=None
    )


class Subscriber(Base):
    """A customer of the operator: a person or a company, with one customer code and any number of accounts."""

    __tablename__ = "subscribers"
    __table_args__ = (CheckConstraint(f"segment IN ({_values(Segment)})", name="segment"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_code: Mapped[str] = mapped_column(String(32), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    segment: Mapped[str] = mapped_column(String(16), default=Segment.PRIVATE.value)
    contact_phone: Mapped[str | None] = mapped_column(String(16))  # E.164
    contact_phone_hmac: Mapped[str | None] = mapped_column(String(64), index=True)
    code_word_hash: Mapped[str | None] = mapped_column(String(160))  # scrypt$N$r$p$salt$hash, never the word
    passport_hmac: Mapped[str | None] = mapped_column(String(64))  # checked, never searched: no index
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    accounts: Mapped[list[Account]] = relationship(
        back_populates="subscriber", cascade="all, delete-orphan", passive_deletes=True, order_by="Account.number"
    )


class Account(Base):
    """One billed contract: a mobile line, a fixed line, TV, internet or a bundle. Debt is what is owed now."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_values(AccountKind)})", name="kind"),
        CheckConstraint(f"status IN ({_values(AccountStatus)})", name="status"),
        CheckConstraint(
            f"disconnect_reason IS NULL OR disconnect_reason IN ({_values(DisconnectReason)})", name="disconnect_reason"
        ),
        CheckConstraint("debt >= 0", name="debt_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)  # "1234567/1": customer code / sequence
    kind: Mapped[str] = mapped_column(String(16))
    phone: Mapped[str | None] = mapped_column(String(16))  # E.164 of the line, where there is one
    phone_hmac: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default=AccountStatus.ACTIVE.value)
    disconnect_reason: Mapped[str | None] = mapped_column(String(16))
    debt: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    currency: Mapped[str] = mapped_column(String(3))
    tariff: Mapped[str | None] = mapped_column(String(64))
    # The PUK of a mobile line's SIM card, sealed under the server secret (`personal_data.seal_sim_code`).
    puk_sealed: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    subscriber: Mapped[Subscriber] = relationship(back_populates="accounts")
    services: Mapped[list[AccountService]] = relationship(
        back_populates="account", cascade="all, delete-orphan", passive_deletes=True, order_by="AccountService.code"
    )


class AccountService(Base):
    """A service of the profile's catalogue on one account, on or off."""

    __tablename__ = "account_services"
    __table_args__ = (UniqueConstraint("account_id", "code", name="uq_account_services_account_id_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(24))
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)

    account: Mapped[Account] = relationship(back_populates="services")


class Bill(Base):
    """An unpaid bill of an account, as the operator's data holds it: what the debt is made of, bill by bill."""

    __tablename__ = "bills"
    __table_args__ = (
        UniqueConstraint("account_id", "period", name="uq_bills_account_id_period"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    period: Mapped[str] = mapped_column(String(7))  # "2026-11": the month billed
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    due_on: Mapped[date] = mapped_column(Date)


class Order(Base):
    """Something the chat asked the operator to do. Kept as the law requires, even after the chat is forgotten.

    `account_number` is copied so an order still says what it was for when the account is later removed by an
    import; `idempotency_key` makes placing the same order twice (a double tap, a retried update) a no-op and is
    sent to the provisioning system so it can do the same.
    """

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_values(OrderKind)})", name="kind"),
        CheckConstraint(f"status IN ({_values(OrderStatus)})", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)  # what the user is told: "N-48213907"
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.PENDING.value)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    account_number: Mapped[str] = mapped_column(String(32))
    subscriber_id: Mapped[int | None] = mapped_column(ForeignKey("subscribers.id", ondelete="SET NULL"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("channel_users.id", ondelete="SET NULL"), index=True)
    # The messenger and the language it was asked in, copied like the account number (the console's counts).
    channel: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(8))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # e.g. the day a promise to pay falls due
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class DeliveryState:
    """When a row waiting to be delivered elsewhere (an order's POST, a complaint's e-mail) was tried and how it went.

    One set of columns for every outbox, so one retry loop (bot.services.delivery) serves them all.
    """

    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # gave up after the last attempt
    last_error: Mapped[str | None] = mapped_column(String(200))


class OutboxMessage(DeliveryState, Base):
    """An order waiting to be delivered to the provisioning system, written in the order's own transaction.

    Writing both at once means an order is never lost (the chat said "done" and nothing was sent) nor sent
    without being recorded; the worker delivers at least once and the idempotency key lets the receiver dedupe.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "delivered_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(128))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class TicketStatus(StrEnum):
    RECEIVED = "received"  # stored; its e-mail to the department waits in the mail outbox
    FORWARDED = "forwarded"  # the e-mail was accepted by the operator's mail server


class Ticket(Base):
    """A complaint or written request made in the chat, kept as the operator must keep them.

    Only identified subscribers file one (anonymous requests are not processed, per the operator's rules). The
    public `reference` is what the user quotes to ask for the status; it is random, like order numbers.
    `recipient` is the department's address chosen at filing time (by category, or the corporate department).
    An attachment is kept as the messenger's own file reference: the bytes stay with the messenger.
    """

    __tablename__ = "tickets"
    __table_args__ = (CheckConstraint(f"status IN ({_values(TicketStatus)})", name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    category: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16), default=TicketStatus.RECEIVED.value)
    description: Mapped[str] = mapped_column(Text)
    attachment_kind: Mapped[str | None] = mapped_column(String(8))
    attachment_ref: Mapped[str | None] = mapped_column(String(512))
    attachment_name: Mapped[str | None] = mapped_column(String(200))
    subscriber_id: Mapped[int | None] = mapped_column(ForeignKey("subscribers.id", ondelete="SET NULL"), index=True)
    channel_user_id: Mapped[int | None] = mapped_column(ForeignKey("channel_users.id", ondelete="SET NULL"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    corporate: Mapped[bool] = mapped_column(Boolean, default=False)
    recipient: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    forwarded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class MailMessage(DeliveryState, Base):
    """A ticket's e-mail to the department, written in the ticket's transaction and sent by the mail worker.

    The text is rendered when the ticket is filed, so a retry days later sends exactly what was stored; the
    `message_id` is fixed too, so a mail server or the department can drop a copy sent twice after a crash.
    """

    __tablename__ = "mail_outbox"
    __table_args__ = (Index("ix_mail_outbox_pending", "delivered_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class AuditEntry(Base):
    """Every identification attempt and every order: who (which chat), what, how it went. Never a secret.

    Entries outlive a forgotten chat (the link is cleared) so that failed attempts still count against the
    subscriber they targeted; the retention job deletes them after `MILA_RETENTION_DAYS`.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(32))  # identify, verify_code_word, verify_passport, order
    outcome: Mapped[str] = mapped_column(String(16))  # ok, not_found, mismatch, duplicate
    channel_user_id: Mapped[int | None] = mapped_column(ForeignKey("channel_users.id", ondelete="SET NULL"), index=True)
    subscriber_id: Mapped[int | None] = mapped_column(ForeignKey("subscribers.id", ondelete="SET NULL"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # method, order kind…; no personal data


class SupportStatus(StrEnum):
    """bot → waiting → with operator → closed → bot."""

    WAITING = "waiting"
    WITH_OPERATOR = "with_operator"
    CLOSED = "closed"


OPEN_SUPPORT_STATUSES = (SupportStatus.WAITING.value, SupportStatus.WITH_OPERATOR.value)


class SupportTicket(Base):
    """A conversation handed to a human operator (not a complaint: those are `tickets`).

    The desk is a topic of a Telegram support group (`group_chat_id`, `thread_id`, set once the topic exists).
    `told_position` is the queue position the user was last told, so a change is announced once. `after_hours`
    tickets were left as a message while the desk was closed: their users are not held in the handoff.
    """

    __tablename__ = "support_tickets"
    __table_args__ = (
        CheckConstraint(f"status IN ({_values(SupportStatus)})", name="status"),
        CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating"),
        Index("ix_support_tickets_status_created", "status", "created_at"),
        Index("ix_support_tickets_user", "channel", "external_id"),
        Index("ix_support_tickets_topic", "group_chat_id", "thread_id"),
        Index("ix_support_tickets_created_at", "created_at"),  # the console's queue figures over a period
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    channel_user_id: Mapped[int | None] = mapped_column(ForeignKey("channel_users.id", ondelete="SET NULL"))
    subscriber_id: Mapped[int | None] = mapped_column(ForeignKey("subscribers.id", ondelete="SET NULL"))
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default=SupportStatus.WAITING.value)
    after_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    topic: Mapped[str] = mapped_column(String(200))  # what the user asked, shortened
    group_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    thread_id: Mapped[int | None] = mapped_column(BigInteger)
    operator_id: Mapped[str | None] = mapped_column(String(32))
    operator_name: Mapped[str | None] = mapped_column(String(64))
    told_position: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    taken_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_activity_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_by: Mapped[str | None] = mapped_column(String(16))  # operator, user, silence
    # The first message an operator wrote to the user: the queue's "first response" (taking a ticket is not one).
    first_response_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    rating: Mapped[int | None] = mapped_column(Integer)
    rated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class SupportMessage(Base):
    """One message of a support conversation: from the user (`in`), an operator (`out`), or an operators' note
    the user never sees (`note`). Attachments are the messenger's own file reference, as for complaints."""

    __tablename__ = "support_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("support_tickets.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(8))
    author: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text, default="")
    attachment_kind: Mapped[str | None] = mapped_column(String(8))
    attachment_ref: Mapped[str | None] = mapped_column(String(512))
    attachment_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class CampaignStatus(StrEnum):
    DRAFT = "draft"  # created; a dry run and test sends only
    SENDING = "sending"  # recipients enqueued; workers deliver from its start time on, outside quiet hours
    PAUSED = "paused"  # workers take no new rows until resumed
    CANCELLED = "cancelled"  # rows still pending are skipped
    DONE = "done"  # no row left to send


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for a worker
    SENDING = "sending"  # claimed and committed before the platform call; found so after a crash: never resent
    SENT = "sent"  # the platform accepted the message
    FAILED = "failed"  # the platform refused it (or kept asking to wait until the attempts ran out)
    UNREACHABLE = "unreachable"  # blocked the bot / unsubscribed: marked on the user, never retried
    SKIPPED = "skipped"  # consent withdrawn, unreachable or cancelled by the time it was its turn


class Campaign(Base):
    """A piece of tariff news for the subscribers who agreed: its texts, picture, button and segment.

    `definition` is the validated campaign file (bot.services.campaigns.spec), kept whole so what was sent can be
    shown later exactly as it was approved; the columns are what workers and listings filter on.
    """

    __tablename__ = "campaigns"
    __table_args__ = (CheckConstraint(f"status IN ({_values(CampaignStatus)})", name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    profile: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=CampaignStatus.DRAFT.value, index=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    enqueued_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # recipients selected (once)
    test_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class CampaignDelivery(Base):
    """One recipient of one campaign: at most one message, whatever crashes (see bot.services.campaigns.worker).

    `channel` and `language` are copied at selection time for the per-channel and per-language counts;
    `message_ref` is the platform's id of the last message sent (Viber's token), which receipts are matched on.
    """

    __tablename__ = "campaign_deliveries"
    __table_args__ = (
        UniqueConstraint("campaign_id", "channel_user_id", name="uq_campaign_deliveries_campaign_id"),
        CheckConstraint(f"status IN ({_values(DeliveryStatus)})", name="status"),
        Index("ix_campaign_deliveries_queue", "campaign_id", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    channel_user_id: Mapped[int] = mapped_column(ForeignKey("channel_users.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    message_ids: Mapped[str | None] = mapped_column(String(200))
    message_ref: Mapped[str | None] = mapped_column(String(32), index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    receipt_failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    opted_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # the one-tap opt-out of this message
    error: Mapped[str | None] = mapped_column(String(200))


class UnderstandingOutcome(StrEnum):
    ROUTED = "routed"  # understood: the flow ran (`intent`, `confidence`)
    CLARIFIED = "clarified"  # two close candidates: the bot asked which one was meant (`intent` is the best guess)
    NOT_UNDERSTOOD = "not_understood"  # nothing fitted well enough (`intent` is the best guess, if any)
    OTHER_LANGUAGE = "other_language"  # understood in another of the profile's languages: a switch was offered


class UnderstandingEvent(Base):
    """A typed message the understanding step read: what it guessed and what the bot did with it.

    For the operator's learning loop (`mila nlu report`) and the console's analytics. The text is kept only masked
    (digits and whatever looks like a phone number, a code or a name replaced), never as typed; the row goes with the
    chat user on erasure and after `MILA_RETENTION_DAYS`.
    """

    __tablename__ = "understanding_events"
    __table_args__ = (
        CheckConstraint(f"outcome IN ({_values(UnderstandingOutcome)})", name="outcome"),
        # The console's "not understood, most frequent first", read from the index alone.
        Index(
            "ix_understanding_events_not_understood",
            "at",
            "text_masked",
            postgresql_where=text("outcome = 'not_understood'"),
            sqlite_where=text("outcome = 'not_understood'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    channel_user_id: Mapped[int | None] = mapped_column(ForeignKey("channel_users.id", ondelete="CASCADE"), index=True)
    profile: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    outcome: Mapped[str] = mapped_column(String(16), index=True)  # an UnderstandingOutcome
    intent: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float | None] = mapped_column(Float)
    text_masked: Mapped[str] = mapped_column(String(200))


class Conversation(Base):
    """One conversation with the bot (one session, from its first message until it expires), for the analytics.

    Only what the console counts: where (profile, channel, the language spoken last), when, and what happened as
    numbers and flags: handed to a human, identified, failed identification tries, lockouts. Never a text, number,
    name or code. The row goes with the chat user on erasure (`channel_user_id` cascades) and after
    `MILA_RETENTION_DAYS`; the hourly counts in `conversation_stats` are anonymous and follow retention only.
    """

    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_started_at", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    channel_user_id: Mapped[int | None] = mapped_column(ForeignKey("channel_users.id", ondelete="CASCADE"), index=True)
    profile: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    handed_off: Mapped[bool] = mapped_column(Boolean, default=False)
    identified: Mapped[bool] = mapped_column(Boolean, default=False)
    id_failures: Mapped[int] = mapped_column(Integer, default=0)
    id_lockouts: Mapped[int] = mapped_column(Integer, default=0)


class ConversationStats(Base):
    """Hourly counts of `conversations` per profile, channel and language, kept as they are recorded.

    The console's figures over a month read a few thousand of these instead of a million conversations; an hour
    (UTC) is fine enough for days in any of the profiles' time zones. `bot.services.analytics.rebuild_stats`
    recomputes them from the conversations.
    """

    __tablename__ = "conversation_stats"
    __table_args__ = (UniqueConstraint("hour", "profile", "channel", "language", name="uq_conversation_stats_hour"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hour: Mapped[datetime] = mapped_column(UtcDateTime())
    profile: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    conversations: Mapped[int] = mapped_column(Integer, default=0)
    handed_off: Mapped[int] = mapped_column(Integer, default=0)
    identified: Mapped[int] = mapped_column(Integer, default=0)
    id_failures: Mapped[int] = mapped_column(Integer, default=0)
    id_lockouts: Mapped[int] = mapped_column(Integer, default=0)


class UnderstandingStats(Base):
    """Hourly counts of `understanding_events` per profile, channel, language, outcome and intent ('' for none).

    Kept by the database itself (a trigger on each insert, see migration 0008), so every writer of typed messages
    is counted without knowing of it; anonymous, removed with their hours by retention.
    """

    __tablename__ = "understanding_stats"
    __table_args__ = (
        UniqueConstraint(
            "hour", "profile", "channel", "language", "outcome", "intent", name="uq_understanding_stats_hour"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hour: Mapped[datetime] = mapped_column(UtcDateTime())
    profile: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    outcome: Mapped[str] = mapped_column(String(16))
    intent: Mapped[str] = mapped_column(String(64), default="")
    messages: Mapped[int] = mapped_column(Integer, default=0)


class OrderStats(Base):
    """Hourly counts of `orders` per channel and language ('' when unknown), kind and delivery state, as they are now.

    Kept by the database itself (triggers on insert, update and delete, see migration 0008): an order moves from
    `pending` to `sent` to `done` in the outbox worker, and the count moves with it. Orders are kept as the law
    requires, and so are these anonymous counts.
    """

    __tablename__ = "order_stats"
    __table_args__ = (UniqueConstraint("hour", "channel", "language", "kind", "status", name="uq_order_stats_hour"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hour: Mapped[datetime] = mapped_column(UtcDateTime())
    channel: Mapped[str] = mapped_column(String(16), default="")
    language: Mapped[str] = mapped_column(String(8), default="")
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    orders: Mapped[int] = mapped_column(Integer, default=0)


class RefusalStats(Base):
    """Hourly counts of reconnection promises refused by rule (`audit_log`: `promise`, `refused`) per channel,
    language (of the chat user when it happened, '' when unknown) and reason.

    Kept by the database (a trigger on each audit entry, see migration 0008); removed with their hours by retention,
    like the audit entries they count.
    """

    __tablename__ = "refusal_stats"
    __table_args__ = (UniqueConstraint("hour", "channel", "language", "reason", name="uq_refusal_stats_hour"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hour: Mapped[datetime] = mapped_column(UtcDateTime())
    channel: Mapped[str] = mapped_column(String(16), default="")
    language: Mapped[str] = mapped_column(String(8), default="")
    reason: Mapped[str] = mapped_column(String(32))
    refusals: Mapped[int] = mapped_column(Integer, default=0)


class ConsoleRole(StrEnum):
    """What a web console user may see: admin everything; marketing aggregates and campaigns, never a
    subscriber's personal data; support the operators' tickets, numbers masked as on the desk."""

    ADMIN = "admin"
    MARKETING = "marketing"
    SUPPORT = "support"


class ConsoleUser(Base):
    """A person who logs in to the web console (`mila admin add-user`). The password is kept only as an Argon2id
    hash (bot.console.passwords); the name is the login."""

    __tablename__ = "console_users"
    __table_args__ = (CheckConstraint(f"role IN ({_values(ConsoleRole)})", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ConsoleAudit(Base):
    """Who did what in the console, and when: logins (and refused ones), a ticket closed, users added or removed
    from the command line (`actor` "cli"). `detail` never holds a password or a subscriber's number."""

    __tablename__ = "console_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
