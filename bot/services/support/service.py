"""The handoff to a human operator: the state machine (bot → waiting → with operator → closed → bot), what the
user and the operators are told at each step, and the flag in the user's session that keeps the bot silent.

Turns (the user's side) call `open`, `relay_in` and `cancel` with the turn's own database session and change the
turn's own session. The desk and the worker (outside any turn) call `take`, `close`, `transfer`, `note` and
`operator_said`: they commit, then change the user's session under the user's lock (so it never lands in the
middle of a turn) and message the user through their channel's `Pusher`. The flag in the session is a cache of
the ticket's status, kept so that a turn outside a handoff costs nothing extra; a turn inside one checks the
ticket in the database, so a flag left behind by a crash only costs one query.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import SupportSettings
from bot.core.engine import pseudonym
from bot.core.i18n import LANGUAGES, N_, I18n, Translator
from bot.core.incoming import Attachment, UserRef
from bot.core.push import Delivery, Pusher, PushResult
from bot.core.replies import Button, Reply, Text
from bot.core.session import Session, SessionBusy, SessionStore, SessionStoreDown
from bot.db.models import OPEN_SUPPORT_STATUSES, Subscriber, SupportMessage, SupportStatus, SupportTicket
from bot.db.uow import UnitOfWork
from bot.profiles import Profile
from bot.services.phones import mask_phone
from bot.services.support import tickets
from bot.services.support.hours import WorkingHours
from bot.services.support.relay import Backlog, Item, RelayQueue

log = logging.getLogger("mila.support")

HANDOFF_SLOT = "handoff"  # session.extra: {"t": ticket id} while a ticket holds the conversation
RATE_PAYLOAD = "sup"  # sup:cancel, sup:leave, sup:rate:<ticket>:<1–5>
DESK_PAYLOAD = "dk"  # dk:take:<ticket>, dk:close:<ticket> on the operators' card
MAX_TOPIC = 200
MAX_TITLE = 128  # Telegram's limit for a topic name
PUSH_RETRIES = 3
MAX_PUSH_WAIT = 10.0

# --- what the user is told (in their language) ----------------------------------------------------------------
OPERATOR_JOINED = N_("{name} from customer support has joined. Write here and your messages go to them.")
OPERATOR_SAYS = N_("{name} (operator):")
CLOSED_BY_OPERATOR = N_("The operator has ended the conversation. From now on the bot answers you again.")
CLOSED_FOR_SILENCE = N_(
    "The conversation with the operator has ended because nobody wrote for a while. From now on the bot answers "
    "you again."
)
RATE_QUESTION = N_("How would you rate the help you got? Choose from 1 (poor) to 5 (excellent).")
QUEUE_POSITION = N_("You are number {position} in the queue.")
CANCEL_BUTTON = N_("✖ Back to the bot")
NOT_DELIVERED = N_("⚠ Not delivered to the user: {reason}")

# --- what the operators see (in the profile's language) ---------------------------------------------------------
CARD_TITLE = N_("Ticket #{ticket} · {channel} · {language}")
CARD_IDENTIFIED = N_("Identified: {phone}, customer code {code}")
CARD_ANONYMOUS = N_("Not identified")
CARD_ASKED = N_("Asked: {question}")
CARD_AFTER_HOURS = N_("Left outside working hours.")
CARD_RECENT = N_("The bot's last answers:")
CARD_BACKLOG = N_("Relay to this group: {pending} waiting, {seconds} s behind.")
CARD_UP_TO_DATE = N_("Relay to this group: up to date.")
TAKE_BUTTON = N_("✋ Take")
CLOSE_BUTTON = N_("✅ Close")
DESK_TAKEN = N_("{name} took the ticket.")
DESK_RELEASED = N_("{name} put the ticket back in the queue: anyone can take it.")
DESK_CLOSED = N_("The ticket was closed by {name}.")
DESK_CLOSED_SILENCE = N_("The ticket was closed: nobody wrote for {minutes} min.")
DESK_CANCELLED = N_("The user went back to the bot; the ticket is closed.")
DESK_USER_LEFT = N_("The user left the chat (blocked the bot or unsubscribed); the ticket is closed.")
DESK_TRANSFERRED_OUT = N_("{name} transferred the ticket to another group.")
DESK_TRANSFERRED_IN = N_("Transferred from another group by {name}.")
DESK_RATED = N_("The user rated the help: {rating}/5.")
DESK_ATTACHMENT = N_("[attachment: {name}]")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an operator's action did, for the answer in the group."""

    ok: bool
    ticket: SupportTicket | None = None


@dataclass
class Support:
    settings: SupportSettings
    profile: Profile
    i18n: I18n
    sessionmaker: async_sessionmaker[AsyncSession]
    sessions: SessionStore
    relay: RelayQueue
    redis: Redis
    prefix: str
    clock: Callable[[], datetime]
    enabled: bool  # groups configured and a Telegram bot to post there
    pushers: dict[str, Pusher] = field(default_factory=dict)  # set by `mila run` once the channels exist

    @property
    def hours(self) -> WorkingHours:
        return WorkingHours(self.profile.support_hours, self.profile.zone)

    @property
    def desk(self) -> Translator:
        return self.i18n.get(self.profile.default_language)

    @property
    def groups(self) -> list[int]:
        return self.settings.groups

    # --- the user's side, inside a turn --------------------------------------------------------------------------
    async def open(
        self,
        db: AsyncSession,
        *,
        user: UserRef,
        language: str,
        question: str,
        attachment: Attachment | None,
        after_hours: bool,
        recent: Sequence[str],
        subscriber_id: int | None,
        channel_user_id: int | None,
    ) -> SupportTicket:
        now = self.clock()
        group = await tickets.least_busy_group(db, await self.relay.usable_groups(self.groups))  # a working one
        ticket = SupportTicket(
            channel=user.channel, external_id=user.external_id, channel_user_id=channel_user_id,
            subscriber_id=subscriber_id, language=language, status=SupportStatus.WAITING.value,
            after_hours=after_hours, topic=(question or self._attachment_label(attachment))[:MAX_TOPIC],
            group_chat_id=group, created_at=now, last_activity_at=now,
        )  # fmt: skip
        db.add(ticket)
        await db.flush()
        db.add(self._message(ticket, "in", None, question, attachment, now))
        await self.relay.push(group, ticket.id, self._open_item(ticket, await self._card(db, ticket, question, recent)))
        if attachment is not None:
            await self.relay.push(group, ticket.id, Item("user", attachment=_attachment_dict(attachment)))
        await self.positions_changed()
        return ticket

    async def relay_in(self, db: AsyncSession, ticket: SupportTicket, text: str, attachment: Attachment | None) -> None:
        """A message of the user during the handoff: kept, and queued for the ticket's topic."""
        now = self.clock()
        db.add(self._message(ticket, "in", None, text, attachment, now))
        ticket.last_activity_at = now
        assert ticket.group_chat_id is not None
        item = Item("user", text=text, attachment=_attachment_dict(attachment) if attachment else None)
        await self.relay.push(ticket.group_chat_id, ticket.id, item)

    async def cancel(self, db: AsyncSession, ticket: SupportTicket, *, left: bool = False) -> None:
        """The user went back to the bot, or `left` the chat (the turn clears its own session flag)."""
        self._closed(ticket, "user")
        await self._to_desk(ticket, self.desk.gettext(DESK_USER_LEFT if left else DESK_CANCELLED), close_topic=True)
        await self.positions_changed()

    async def rate(self, db: AsyncSession, ticket: SupportTicket, rating: int) -> None:
        ticket.rating = rating
        ticket.rated_at = self.clock()
        await self._to_desk(ticket, self.desk.gettext(DESK_RATED).format(rating=rating))

    def queue_notice(self, t: Translator, position: int) -> str:
        minutes = max(1, position * self.settings.wait_per_ticket_seconds // 60)
        wait = t.ngettext("Estimated wait: about {minutes} minute.", "Estimated wait: about {minutes} minutes.",
                          minutes).format(minutes=minutes)  # fmt: skip
        return t.gettext(QUEUE_POSITION).format(position=position) + " " + wait

    @staticmethod
    def cancel_button(t: Translator) -> Button:
        return Button(t.gettext(CANCEL_BUTTON), f"{RATE_PAYLOAD}:cancel")

    # --- the operators' side, outside any turn ---------------------------------------------------------------
    async def take(self, ticket_id: int, operator_id: str, name: str, *, group: int | None = None) -> Outcome:
        """`group`: where the operator pressed or typed it; a ticket of another group is refused (a forged button)."""
        async with UnitOfWork(self.sessionmaker) as uow:
            ticket = await uow.session.get(SupportTicket, ticket_id)
            if ticket is None or ticket.status == SupportStatus.CLOSED.value or _elsewhere(ticket, group):
                return Outcome(False, ticket)
            if ticket.status == SupportStatus.WITH_OPERATOR.value and ticket.operator_id == operator_id:
                return Outcome(True, ticket)
            self._taken(ticket, operator_id, name)
            await self._to_desk(ticket, self.desk.gettext(DESK_TAKEN).format(name=name))
        await self._hold(ticket)
        t = self.i18n.get(ticket.language)
        await self.push(ticket, [Text(t.gettext(OPERATOR_JOINED).format(name=name), ((self.cancel_button(t),),))],
                        purpose="support joined")  # fmt: skip
        await self.positions_changed()
        return Outcome(True, ticket)

    async def release(self, ticket_id: int, name: str) -> Outcome:
        """Back in the queue for another operator (transfer within the group)."""
        async with UnitOfWork(self.sessionmaker) as uow:
            ticket = await uow.session.get(SupportTicket, ticket_id)
            if ticket is None or ticket.status == SupportStatus.CLOSED.value:
                return Outcome(False, ticket)
            ticket.status = SupportStatus.WAITING.value
            ticket.operator_id = ticket.operator_name = None
            ticket.told_position = None
            await self._to_desk(ticket, self.desk.gettext(DESK_RELEASED).format(name=name))
        await self.positions_changed()
        return Outcome(True, ticket)

    async def transfer(self, ticket_id: int, group: int, name: str) -> Outcome:
        """To another support group: a new topic and card there, the old topic closed."""
        if group not in self.groups:
            return Outcome(False)
        async with UnitOfWork(self.sessionmaker) as uow:
            db = uow.session
            ticket = await db.get(SupportTicket, ticket_id)
            if ticket is None or ticket.status == SupportStatus.CLOSED.value or ticket.group_chat_id == group:
                return Outcome(False, ticket)
            old = ticket.group_chat_id
            assert old is not None
            await self._to_desk(
                ticket,
                self.desk.gettext(DESK_TRANSFERRED_OUT).format(name=name),
                close_topic=True,
                thread=ticket.thread_id,
            )
            ticket.status = SupportStatus.WAITING.value
            ticket.operator_id = ticket.operator_name = None
            ticket.group_chat_id, ticket.thread_id = group, None
            first = await tickets.messages_of(db, ticket.id)
            question = first[0].text if first else ticket.topic
            card = self.desk.gettext(DESK_TRANSFERRED_IN).format(name=name) + "\n"
            card += await self._card(db, ticket, question, [])
            # The old group's pending posts (the notice, the closing) stay in its queue; what comes next goes here.
            await self.relay.push(group, ticket.id, self._open_item(ticket, card))
        await self.positions_changed()
        return Outcome(True, ticket)

    async def close(
        self, ticket_id: int, by: str, name: str = "", *, group: int | None = None, only_waiting: bool = False
    ) -> Outcome:
        """Closed by an operator (`by="operator"`, in `group`) or for silence: the user is told, gets the bot back
        and a rating question. `only_waiting`: refused once an operator has taken it (the web console's close)."""
        async with UnitOfWork(self.sessionmaker) as uow:
            ticket = await uow.session.get(SupportTicket, ticket_id)
            if ticket is None or ticket.status == SupportStatus.CLOSED.value or _elsewhere(ticket, group):
                return Outcome(False, ticket)
            if only_waiting and ticket.status != SupportStatus.WAITING.value:
                return Outcome(False, ticket)
            self._closed(ticket, by)
            minutes = max(1, self.settings.silence_timeout_seconds // 60)
            notice = (self.desk.gettext(DESK_CLOSED).format(name=name) if by == "operator"
                      else self.desk.gettext(DESK_CLOSED_SILENCE).format(minutes=minutes))  # fmt: skip
            await self._to_desk(ticket, notice, close_topic=True)
        t = self.i18n.get(ticket.language)
        rating = tuple(Button(str(n), f"{RATE_PAYLOAD}:rate:{ticket.id}:{n}") for n in range(1, 6))
        await self._release_user(ticket, rating)
        said = CLOSED_BY_OPERATOR if by == "operator" else CLOSED_FOR_SILENCE
        await self.push(ticket, [Text(t.gettext(said)), Text(t.gettext(RATE_QUESTION), (rating,))],
                        purpose="support closed")  # fmt: skip
        await self.positions_changed()
        return Outcome(True, ticket)

    async def note(self, ticket_id: int, author: str, text: str) -> Outcome:
        async with UnitOfWork(self.sessionmaker) as uow:
            ticket = await uow.session.get(SupportTicket, ticket_id)
            if ticket is None:
                return Outcome(False)
            uow.session.add(self._message(ticket, "note", author, text, None, self.clock()))
        return Outcome(True, ticket)

    async def operator_said(
        self,
        ticket_id: int,
        operator_id: str,
        name: str,
        text: str,
        attachment: Attachment | None,
        replies: Sequence[Reply],
    ) -> PushResult | None:
        """An operator's message in the topic: kept, the ticket taken if nobody had it, and pushed to the user.

        None when the ticket is closed (nothing is sent)."""  # fmt: skip
        joined = False
        async with UnitOfWork(self.sessionmaker) as uow:
            ticket = await uow.session.get(SupportTicket, ticket_id)
            if ticket is None or ticket.status == SupportStatus.CLOSED.value:
                return None
            if ticket.status == SupportStatus.WAITING.value:
                self._taken(ticket, operator_id, name)
                await self._to_desk(ticket, self.desk.gettext(DESK_TAKEN).format(name=name))
                joined = True
            now = self.clock()
            ticket.last_activity_at = now
            ticket.first_response_at = ticket.first_response_at or now  # the queue's "first response"
            uow.session.add(self._message(ticket, "out", name, text, attachment, now))
        if joined:
            await self._hold(ticket)
            await self.positions_changed()
        result = await self.push(ticket, replies, purpose="support answer")
        if not result.sent:
            await self._to_desk_now(ticket, self.desk.gettext(NOT_DELIVERED).format(reason=result.delivery.value))
        return result

    def operator_text(self, ticket: SupportTicket, name: str, text: str) -> Text:
        t = self.i18n.get(ticket.language)
        return Text(t.gettext(OPERATOR_SAYS).format(name=name) + "\n" + text)

    # --- the worker ---------------------------------------------------------------------------------------------
    async def positions_changed(self) -> None:
        """Ask the worker to tell waiting users their new place in the queue."""
        try:
            await self.redis.set(f"{self.prefix}support:positions-dirty", "1")
        except RedisError:
            log.warning("queue positions not announced: Redis unavailable")

    async def announce_positions(self, *, force: bool = False) -> int:
        """Tell every waiting user whose place changed; one process at a time. Returns how many were told."""
        dirty = await self.redis.getdel(f"{self.prefix}support:positions-dirty")
        if not dirty and not force:
            return 0
        if not await self.redis.set(f"{self.prefix}support:positions-lock", "1", nx=True, px=30_000):
            await self.positions_changed()  # another process is at it; look again next time
            return 0
        told = 0
        try:
            async with UnitOfWork(self.sessionmaker) as uow:
                queue = await tickets.waiting(uow.session)
                for position, ticket in enumerate(queue, start=1):
                    if ticket.after_hours or ticket.told_position == position:
                        continue
                    t = self.i18n.get(ticket.language)
                    text = Text(self.queue_notice(t, position), ((self.cancel_button(t),),))
                    result = await self.push(ticket, [text], purpose="support queue")
                    if result.sent or result.delivery is Delivery.UNREACHABLE:
                        ticket.told_position = position
                        told += 1
        finally:
            await self.redis.delete(f"{self.prefix}support:positions-lock")
        return told

    async def close_silent(self) -> int:
        before = self.clock() - timedelta(seconds=self.settings.silence_timeout_seconds)
        async with UnitOfWork(self.sessionmaker) as uow:
            quiet = [t.id for t in await tickets.silent_since(uow.session, before)]
        closed = 0
        for ticket_id in quiet:
            if (await self.close(ticket_id, "silence")).ok:
                closed += 1
        return closed

    def backlog_line(self, backlog: Backlog) -> str:
        if backlog.pending <= 0:
            return self.desk.gettext(CARD_UP_TO_DATE)
        return self.desk.gettext(CARD_BACKLOG).format(pending=backlog.pending, seconds=round(backlog.behind_seconds))

    async def set_thread(self, ticket_id: int, group: int, thread: int) -> None:
        async with UnitOfWork(self.sessionmaker) as uow:
            ticket = await uow.session.get(SupportTicket, ticket_id)
            if ticket is not None and ticket.group_chat_id == group:
                ticket.thread_id = thread

    async def topic_of(self, ticket_id: int) -> tuple[int | None, int | None] | None:
        """(group, thread) of a ticket; None when there is no such ticket."""
        async with self.sessionmaker() as db:
            ticket = await db.get(SupportTicket, ticket_id)
            return None if ticket is None else (ticket.group_chat_id, ticket.thread_id)

    # --- talking to the user outside a turn ---------------------------------------------------------------------
    async def push(self, ticket: SupportTicket, replies: Sequence[Reply], *, purpose: str) -> PushResult:
        pusher = self.pushers.get(ticket.channel)
        if pusher is None:
            log.error("no channel to reach a support user", extra={"channel": ticket.channel, "purpose": purpose})
            return PushResult(Delivery.FAILED)
        user = UserRef(ticket.channel, ticket.external_id)
        result = await pusher.push(user, replies, purpose=purpose)
        for attempt in range(PUSH_RETRIES):
            # The platform asked to slow down before anything went out: a person is waiting, so a few short tries
            # (a partly sent answer is not sent again: the operator is told and decides).
            # No answer at all (UNKNOWN) is tried again too: an operator's answer twice beats none.
            if result.delivery not in (Delivery.RETRY_LATER, Delivery.UNKNOWN) or result.message_ids:
                break
            await asyncio.sleep(min(result.retry_after or 2.0**attempt, MAX_PUSH_WAIT))
            result = await pusher.push(user, replies, purpose=purpose)
        if not result.sent:
            log.warning(
                "support message not delivered",
                extra={"user": pseudonym(user.key), "delivery": result.delivery.value, "purpose": purpose},
            )
        return result  # fmt: skip

    async def _hold(self, ticket: SupportTicket) -> None:
        """The user's messages go to the operator from now on."""

        def hold(session: Session) -> None:
            session.reset_flow()
            session.buttons = []
            session.extra[HANDOFF_SLOT] = {"t": ticket.id}

        await self._change_session(ticket, hold)

    async def _release_user(self, ticket: SupportTicket, rating: tuple[Button, ...]) -> None:
        """The bot answers again; the rating buttons count as shown (so typing "5" picks the fifth)."""

        def release(session: Session) -> None:
            if session.extra.get(HANDOFF_SLOT, {}).get("t") == ticket.id:
                session.extra.pop(HANDOFF_SLOT, None)
            session.buttons = [[b.payload or "", b.label] for b in rating]

        await self._change_session(ticket, release)

    async def _change_session(self, ticket: SupportTicket, change: Callable[[Session], None]) -> None:
        user = UserRef(ticket.channel, ticket.external_id)
        try:
            async with self.sessions.locked(user) as session:
                change(session)
        except (SessionBusy, SessionStoreDown):
            # The ticket in the database is the truth; the next turn of the user checks it.
            log.warning("support flag not updated in the session", extra={"user": pseudonym(user.key)})

    # --- helpers ------------------------------------------------------------------------------------------------
    def _taken(self, ticket: SupportTicket, operator_id: str, name: str) -> None:
        now = self.clock()
        ticket.status = SupportStatus.WITH_OPERATOR.value
        ticket.operator_id, ticket.operator_name = operator_id[:32], name[:64]
        ticket.taken_at = ticket.taken_at or now
        ticket.last_activity_at = now

    def _closed(self, ticket: SupportTicket, by: str) -> None:
        ticket.status = SupportStatus.CLOSED.value
        ticket.closed_at = self.clock()
        ticket.closed_by = by

    async def _to_desk(
        self, ticket: SupportTicket, text: str, *, close_topic: bool = False, thread: int | None = None
    ) -> None:
        if ticket.group_chat_id is None:
            return
        await self.relay.push(ticket.group_chat_id, ticket.id, Item("sys", text=text, thread=thread))
        if close_topic:
            await self.relay.push(ticket.group_chat_id, ticket.id, Item("close", thread=thread))

    async def _to_desk_now(self, ticket: SupportTicket, text: str) -> None:
        try:
            await self._to_desk(ticket, text)
        except RedisError:
            log.warning("desk notice lost: Redis unavailable")

    def _message(
        self,
        ticket: SupportTicket,
        direction: str,
        author: str | None,
        text: str,
        attachment: Attachment | None,
        at: datetime,
    ) -> SupportMessage:
        return SupportMessage(
            ticket_id=ticket.id, direction=direction, author=author, text=text, created_at=at,
            attachment_kind=attachment.kind if attachment else None,
            attachment_ref=attachment.file_ref[:512] if attachment else None,
            attachment_name=(attachment.file_name or "")[:200] or None if attachment else None,
        )  # fmt: skip

    def _attachment_label(self, attachment: Attachment | None) -> str:
        if attachment is None:
            return ""
        return self.desk.gettext(DESK_ATTACHMENT).format(name=attachment.file_name or attachment.kind)

    def _title(self, ticket: SupportTicket) -> str:
        """The ticket's name: its topic's name and the card's first line."""
        return self.desk.gettext(CARD_TITLE).format(
            ticket=ticket.id, channel=ticket.channel.capitalize(), language=LANGUAGES[ticket.language].native_name
        )

    def _open_item(self, ticket: SupportTicket, card: str) -> Item:
        """A new topic for the ticket, and its card with the take and close buttons."""
        t = self.desk
        buttons = [[t.gettext(TAKE_BUTTON), f"{DESK_PAYLOAD}:take:{ticket.id}"],
                   [t.gettext(CLOSE_BUTTON), f"{DESK_PAYLOAD}:close:{ticket.id}"]]  # fmt: skip
        return Item("open", text=card, title=self._title(ticket)[:MAX_TITLE], buttons=buttons)

    async def _card(self, db: AsyncSession, ticket: SupportTicket, question: str, recent: Sequence[str]) -> str:
        t = self.desk
        lines = [self._title(ticket)]
        subscriber = await db.get(Subscriber, ticket.subscriber_id) if ticket.subscriber_id else None
        if subscriber is not None:
            phone = mask_phone(subscriber.contact_phone) if subscriber.contact_phone else "–"
            lines.append("👤 " + t.gettext(CARD_IDENTIFIED).format(phone=phone, code=subscriber.customer_code))
        else:
            lines.append("👤 " + t.gettext(CARD_ANONYMOUS))
        if ticket.after_hours:
            lines.append("🌙 " + t.gettext(CARD_AFTER_HOURS))
        lines.append("❓ " + t.gettext(CARD_ASKED).format(question=question or ticket.topic))
        if recent:
            lines.append("🤖 " + t.gettext(CARD_RECENT))
            lines.extend("• " + line for line in recent)
        return "\n".join(lines)


def _elsewhere(ticket: SupportTicket, group: int | None) -> bool:
    return group is not None and ticket.group_chat_id != group


def _attachment_dict(attachment: Attachment) -> dict[str, str]:
    return {"kind": attachment.kind, "ref": attachment.file_ref, "name": attachment.file_name or ""}


__all__ = ["DESK_PAYLOAD", "HANDOFF_SLOT", "OPEN_SUPPORT_STATUSES", "RATE_PAYLOAD", "Outcome", "Support"]
