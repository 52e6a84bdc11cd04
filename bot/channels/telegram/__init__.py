"""The Telegram channel (aiogram). Nothing outside this package imports aiogram."""

from bot.channels.telegram.channel import TelegramChannel
from bot.channels.telegram.updates import CHANNEL

__all__ = ["CHANNEL", "TelegramChannel"]
