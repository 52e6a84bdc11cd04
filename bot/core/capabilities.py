"""What each messenger can do, for the few flows whose wording depends on it.

Renderers degrade on their own (no editing on Viber: a new message). A flow asks here only when it must tell the
user something different — "this message disappears in a minute" is true on Telegram and false on Viber.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Capabilities:
    can_delete: bool = False  # the bot can remove a message it sent
    share_phone: bool = False  # a button that sends the user's number (a convenience: proof only where the channel
    # sets `Incoming.phone_is_own`, i.e. Telegram's contact.user_id == from.id; Viber never proves it)
    call_links: bool = False  # a button can open the phone's dialler (a `tel:` URL). Viber's open-url buttons can;
    # Telegram's URL buttons take only http(s) and tg:// (anything else fails the whole message with 400
    # "Unsupported URL protocol"), and its apps make a number in the text tappable on their own.


_CHANNELS = {
    "telegram": Capabilities(can_delete=True, share_phone=True),
    "viber": Capabilities(share_phone=True, call_links=True),
}


def capabilities(channel: str) -> Capabilities:
    """Unknown channels (the console, tests) can do none of it."""
    return _CHANNELS.get(channel, Capabilities())
