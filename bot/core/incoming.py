"""What a user did, in terms every channel can produce.

Adapters translate Telegram updates, Viber callbacks and console lines into `Incoming`; nothing past this point
knows which messenger it came from, except through `UserRef.channel` (for keys and capabilities).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True, slots=True)
class UserRef:
    """A user of one channel. External ids are strings on every channel (Telegram's ints are rendered)."""

    channel: str
    external_id: str

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.external_id}"


class Kind(Enum):
    START = "start"  # /start, Viber conversation_started, a first contact
    TEXT = "text"
    BUTTON = "button"  # a button press carrying one of our payloads
    CONTACT = "contact"  # a phone number shared through the messenger
    ATTACHMENT = "attachment"  # a picture or file the flows may accept (complaints)
    UNSUPPORTED = "unsupported"  # sticker, voice, location, poll…: nothing the bot reads
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"  # the user blocked the bot or unsubscribed


@dataclass(frozen=True, slots=True)
class Attachment:
    kind: str  # "photo" | "file"
    file_ref: str  # the channel's own file id or URL
    file_name: str | None = None
    size: int | None = None


@dataclass(frozen=True, slots=True)
class Incoming:
    user: UserRef
    kind: Kind
    text: str = ""
    payload: str = ""
    phone: str | None = None
    # True only when the messenger proves that the shared number is the sender's own (Telegram: a contact shared
    # first-hand whose user_id == from.id; the console of `mila chat`, in the demo only: the person at the
    # terminal). Never on Viber: a contact card from the address book arrives exactly like the share-phone button's
    # reply.
    phone_is_own: bool = False
    content_type: str = ""  # for UNSUPPORTED: "sticker", "voice", …
    attachment: Attachment | None = None
    language_hint: str | None = None  # Telegram language_code / Viber user.language
