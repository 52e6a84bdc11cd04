"""What the bot answers, in terms every channel can render.

Buttons carry short opaque payloads (never labels): Telegram limits callback data to 64 bytes and a Cyrillic or
Turkmen label can exceed that. Channels degrade what they cannot show (no editing on Viber, numbered lists in the
console) using their capability table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_PAYLOAD_BYTES = 64


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    payload: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if (self.payload is None) == (self.url is None):
            raise ValueError("a button has either a payload or a URL")
        if self.payload is not None and not 0 < len(self.payload.encode()) <= MAX_PAYLOAD_BYTES:
            raise ValueError(f"payload {self.payload!r} must be 1–{MAX_PAYLOAD_BYTES} bytes")


@dataclass(frozen=True, slots=True)
class Text:
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    share_phone: str | None = None  # label of a "share my phone number" button, when asked for
    # A secret shown once (a PUK): the channel removes the message from the chat this many seconds after sending it,
    # where it can (`capabilities(channel).can_delete`); elsewhere the text asks the user to delete it.
    erase_after: int | None = None
    # A secret (a PUK): never stored anywhere for a later re-delivery. Where it could not be delivered, the user is
    # told so instead and offered `again` (the payload of the button that shows it once more, after its checks).
    sensitive: bool = False
    again: str | None = None

    def all_buttons(self) -> list[Button]:
        return [button for row in self.buttons for button in row]


@dataclass(frozen=True, slots=True)
class Document:
    file_name: str
    content: bytes
    caption: str = ""
    mime_type: str = "application/pdf"


@dataclass(frozen=True, slots=True)
class Picture:
    """A picture the platform fetches from an HTTPS URL (both Telegram and Viber take a URL), with an optional caption
    and buttons. Used for pushed messages (tariff news, an operator's photo); a turn rarely needs one."""

    url: str
    caption: str = ""
    buttons: tuple[tuple[Button, ...], ...] = ()


Reply = Text | Document | Picture


@dataclass(slots=True)
class Outbox:
    """Replies collected during one turn, in order."""

    items: list[Reply] = field(default_factory=list)

    def add(self, reply: Reply) -> None:
        self.items.append(reply)


class TurnReplies(list[Reply]):
    """A turn's replies with the turn's number in the user's conversation (`Session.turns`).

    The number is given inside the user's session lock, so it follows the order the turns ran in; the channel sends
    the replies after the lock is released, and the outbound path (`bot.core.outbound.TurnOrder`) uses the number
    to keep one user's replies in that order whichever process sends them. None: not from a turn."""

    def __init__(self, replies: list[Reply], turn: int | None = None) -> None:
        super().__init__(replies)
        self.turn = turn
