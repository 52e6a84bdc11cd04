"""Handing a conversation to a human operator: tickets, the relay queue to the desk, working hours, the worker.

Nothing here knows a messenger: the desk is reached through `DeskPoster` (the Telegram support group implements
it) and users through the channels' `Pusher`s.
"""
