"""The Viber channel, end to end: signed callbacks into the webhook, messages out to a fake Viber API."""
