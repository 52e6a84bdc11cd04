"""The subscriber's accounts — what they have, in what state, what they owe — and what the help desk does with them.

After identification: the overview, the composition of the amount owed, and the seed's account actions, each an
order through the backend's order/outbox path confirmed with its number: unblocking a line blocked for
inactivity, temporary suspension (with the day to resume) and resumption, the favourite number, the discount
package; the invoice for advance payment as a PDF in the chat; and PIN/PUK: the instructions for anyone, the PUK
of a line only after a fresh identification (step-up), shown once and kept nowhere (not in the session, not in a
log). Every account id in a payload is re-checked with `identity.owned_account`.

One module per action; this package's router merges theirs.
"""

from __future__ import annotations

from bot.core.router import Router
from handlers.account import (
    composition,
    discount,
    favourite,
    invoice,
    orders,
    overview,
    pin,
    suspend,
    unblock,
)
from handlers.account.lines import account_line, say_waiting
from handlers.account.pin import PUK_VISIBLE_SECONDS

__all__ = ["PUK_VISIBLE_SECONDS", "account_line", "router", "say_waiting"]

router = Router()
for module in (overview, composition, orders, unblock, suspend, favourite, discount, pin, invoice):
    router.include(module.router)
