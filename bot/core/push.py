"""Messages outside a turn — broadcasts, an operator's answer, a closed ticket — as the services ask a channel for
them: the channels implement `Pusher`, the services use it and never know which messenger they push to."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, get_args, runtime_checkable

from bot.core.incoming import UserRef
from bot.core.outbound import RateLimiter
from bot.core.replies import Reply

BroadcastChannel = Literal["telegram", "viber"]
"""The channels that can receive broadcasts (tariff news): a user who once talked to the bot there can be messaged
later by the channel's `Pusher`. The console of `mila chat` cannot: its users are never campaign recipients."""
BROADCAST_CHANNELS: tuple[str, ...] = get_args(BroadcastChannel)


class Delivery(enum.Enum):
    SENT = "sent"
    UNREACHABLE = "unreachable"  # blocked the bot / unsubscribed: marked in the user's profile, never retried
    FAILED = "failed"  # the platform refused this message (logged with its purpose); retrying will not help
    RETRY_LATER = "retry_later"  # the platform asked to slow down: the message was not taken, it can go again
    UNKNOWN = "unknown"  # no usable answer (timeout, network, 5xx): it may have arrived; sending again may repeat it


@dataclass(frozen=True, slots=True)
class PushResult:
    delivery: Delivery
    message_ids: tuple[str, ...] = ()  # the platform's ids of what was sent (Viber: message tokens, for receipts)
    retry_after: float | None = None  # with RETRY_LATER: seconds the platform asked to wait, when it said

    @property
    def sent(self) -> bool:
        return self.delivery is Delivery.SENT


@runtime_checkable
class Pusher(Protocol):
    """A channel that can message a user outside a turn: broadcasts, an operator's answer, a closed ticket.

    `push` sends the replies in order within the platform's limits (Telegram's 429 pauses every process and is
    waited out inside), stops at the first message that cannot be sent and says why. It never raises for what the
    platform answers; the caller decides what a RETRY_LATER means for its own work.

    `paid_broadcast` asks the platform for its paid bulk rate where it has one (Telegram's `allow_paid_broadcast`,
    up to 1000 messages/s, charged in Stars); a platform without one ignores it.

    `bulk`: a broadcast's limiter (`BULK` priority, on the channel's shared schedule), whose slot the caller took for
    this message; a retry after a 429 takes another from it. Without it the message goes as a reply would.
    """

    name: str

    async def push(
        self,
        user: UserRef,
        replies: Sequence[Reply],
        *,
        purpose: str,
        paid_broadcast: bool = False,
        bulk: RateLimiter | None = None,
    ) -> PushResult: ...
