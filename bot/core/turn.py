"""One turn of the conversation: what came in, who it is, their session, their language, what goes out.

Handlers receive a `Turn` and nothing else (like botbuilder's TurnContext), so they can be tested on the engine
without any messenger, and they never see a platform type.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import BotSettings
from bot.core.i18n import I18n, Translator
from bot.core.incoming import Incoming, UserRef
from bot.core.records import ConversationLog
from bot.core.replies import Button, Outbox, Reply, Text
from bot.core.session import Session, SessionStore
from bot.core.understanding.entities import Entities
from bot.db.uow import UnitOfWork
from bot.profiles import Profile

if TYPE_CHECKING:  # the types only: the core never loads a service (see the import-linter contracts)
    from bot.services.backend import BackendFactory
    from bot.services.code_quota import CodeQuota
    from bot.services.guard_events import GuardEvents
    from bot.services.identity import IdentityPolicy
    from bot.services.lockout import Lockout
    from bot.services.otp import OneTimeCodes
    from bot.services.sms import SmsGateway
    from bot.services.support.service import Support


@dataclass
class Deps:
    """Long-lived collaborators built once by the application factory (`bot.app.build_app`) and shared by every
    turn: a handler reaches them as `turn.deps.otp`, `turn.deps.support`…"""

    settings: BotSettings
    profile: Profile
    i18n: I18n
    sessionmaker: async_sessionmaker[AsyncSession]
    sessions: SessionStore
    clock: Callable[[], datetime]
    conversations: ConversationLog  # the analytics' record of each conversation, written after the turn
    backend: BackendFactory  # the operator's subscriber data, bound to a turn's session: `deps.backend(turn.db)`
    secret: bytes  # the deployment's key, for keyed hashes of what a user typed
    otp: OneTimeCodes
    lockout: Lockout  # identification failures: who is locked out, and for how long
    code_quota: CodeQuota  # one-time codes asked for, per number, per chat and in total
    guard_events: GuardEvents  # what the two guards above did, for `/metrics`
    sms: SmsGateway
    identity_policy: IdentityPolicy  # how long an identification lasts, and when it is fresh
    support: Support  # the handoff to human operators (`support.enabled` says whether it is configured)


CONFIRM_SLOT = "yn"  # session.extra: [yes payload, no payload] of the last confirmation asked


class Turn:
    def __init__(self, incoming: Incoming, session: Session, deps: Deps, uow: UnitOfWork) -> None:
        self.incoming = incoming
        self.session = session
        self.deps = deps
        self.uow = uow
        self.outbox = Outbox()
        self.now = deps.clock()
        self.payload = incoming.payload  # the payload being handled (also when chosen by typing)
        self.redirect_to: str | None = None
        self.t: Translator = deps.i18n.get(session.lang or deps.profile.default_language)
        # What the sentence this turn was read from named (a phone number, a customer code), for a step further on
        # that would ask for it, such as identification started by the flow the sentence asked for.
        self.named: Entities | None = None
        self.marks: list[str] = []  # what this turn did that the analytics count (bot.core.records.Mark)

    # --- who and where -------------------------------------------------------------------------------------
    @property
    def user(self) -> UserRef:
        return self.incoming.user

    @property
    def profile(self) -> Profile:
        return self.deps.profile

    def set_language(self, code: str) -> None:
        self.session.lang = code
        self.t = self.deps.i18n.get(code)

    # --- speaking --------------------------------------------------------------------------------------------
    def _(self, message: str) -> str:
        return self.t.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.t.ngettext(singular, plural, n)

    def content(self, localized: dict[str, str]) -> str:
        return self.t.content(localized)

    def money(self, amount: Decimal, currency: str | None = None) -> str:
        return self.t.money(amount, currency or self.profile.currency)

    def date(self, value: datetime) -> str:
        return self.t.date(value, self.profile.zone)

    def say(
        self,
        text: str,
        buttons: Iterable[Sequence[Button]] = (),
        *,
        share_phone: str | None = None,
        erase_after: int | None = None,
        sensitive: bool = False,
        again: str | None = None,
    ) -> None:
        rows = tuple(tuple(row) for row in buttons)
        self.outbox.add(Text(text=text, buttons=rows, share_phone=share_phone, erase_after=erase_after,
                             sensitive=sensitive, again=again))  # fmt: skip

    def confirm(self, question: str, yes: Button, no: Button, more: Iterable[Sequence[Button]] = ()) -> None:
        """Ask a yes/no question before something that costs money or cuts a service: "yes" and "no" buttons side by
        side, and the typed answers of `bot.core.answers` ("ne hvala", "gerek däl") pick them while they are shown."""
        self.session.extra[CONFIRM_SLOT] = [yes.payload, no.payload]
        self.say(question, [[yes, no], *more])

    def send(self, reply: Reply) -> None:
        self.outbox.add(reply)

    def mark(self, what: str) -> None:
        """Count something this turn did in the conversation's analytics (recorded once the turn succeeded)."""
        self.marks.append(what)

    # --- moving through a flow ----------------------------------------------------------------------------------
    def goto(self, state: str, **data: Any) -> None:
        """Enter a state; `data` replaces the flow data (pass nothing to keep none)."""
        self.session.state = state
        self.session.data = dict(data)

    def redirect(self, payload: str) -> None:
        """Continue this turn as if the user had pressed `payload` (e.g. back into a flow after identification)."""
        self.redirect_to = payload

    def finish(self) -> None:
        self.session.reset_flow()

    @property
    def arg(self) -> str:
        """The argument of the payload being handled: "acc:42" → "42"."""
        return self.payload.partition(":")[2]

    @property
    def db(self) -> AsyncSession:
        return self.uow.session
