"""Messenger adapters: the only code that knows Telegram, Viber or the terminal."""
