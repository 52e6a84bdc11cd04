"""mila: a self-care bot for telecom subscribers on Telegram and Viber."""
