"""Analytics for the web console: what the bot records about conversations, and the figures drawn from it.

`recording` is the write side (the engine's hooks); `dashboard` the read side (`dashboard(db, since=…, until=…)`
and `to_csv`). Nothing here holds personal data: see bot.db.models.Conversation.
"""

from bot.services.analytics.queries import (
    Conversations,
    Dashboard,
    DayPoint,
    Identification,
    IntentCount,
    MessageCount,
    OrderCount,
    Orders,
    Queue,
    Ratings,
    Slice,
    Table,
    Understanding,
    dashboard,
    tables_csv,
    to_csv,
)
from bot.services.analytics.recording import (
    ConversationRecords,
    Mark,
    rebuild_stats,
    retain_stats,
    start_conversation,
    update_conversation,
)

__all__ = [
    "ConversationRecords",
    "Conversations",
    "Dashboard",
    "DayPoint",
    "Identification",
    "IntentCount",
    "Mark",
    "MessageCount",
    "OrderCount",
    "Orders",
    "Queue",
    "Ratings",
    "Slice",
    "Table",
    "Understanding",
    "dashboard",
    "rebuild_stats",
    "retain_stats",
    "start_conversation",
    "tables_csv",
    "to_csv",
    "update_conversation",
]
