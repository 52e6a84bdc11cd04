"""Conversation flows. They import the core, the services, the profiles and the database models: never a channel or a
messenger SDK."""

from __future__ import annotations

from bot.core.router import Router


def build_router() -> Router:
    """Every flow's router, merged; a command, payload, state, intent or gate registered twice fails at start-up."""
    from handlers import (
        account,
        complaints,
        consent,
        consultations,
        help,
        identify,
        language,
        menu,
        privacy,
        reconnect,
        services,
        start,
        support,
        talk,
    )

    router = Router()
    for module in (start, language, consent, menu, help, identify, account, reconnect, services, complaints,
                   consultations, support, privacy, talk):  # fmt: skip
        router.include(module.router)
    return router
