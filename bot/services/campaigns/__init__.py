"""Tariff news (marketing broadcasts): campaign files, recipient selection, delivery rows and their workers.

No messenger types here: messages are core replies, sent through the channels' `Pusher` interface.
"""
