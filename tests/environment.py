"""The environment a spawned `mila` process gets: this one without any setting mila reads.

A developer's own `SMS_GATEWAY_URL` or `SUPPORT_CHAT_ID` must not reach a test's `mila run`: the list of names to
drop is read from the settings classes themselves, so a setting added later is dropped too, with no list to keep.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping

from pydantic_settings import BaseSettings

import bot.config  # noqa: F401  (defines the settings classes that setting_names() walks)


def _sections(cls: type[BaseSettings]) -> Iterator[type[BaseSettings]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _sections(sub)


def setting_names() -> frozenset[str]:
    """Every environment variable a mila settings class reads."""
    names: set[str] = set()
    for section in _sections(BaseSettings):
        if not section.__module__.startswith("bot."):
            continue
        for field in section.model_fields.values():
            if isinstance(field.validation_alias, str):
                names.add(field.validation_alias)
    return frozenset(names)


def without_mila_settings(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """`environ` (default: this process's) with every variable mila reads removed."""
    drop = setting_names()
    return {k: v for k, v in (os.environ if environ is None else environ).items() if k not in drop}
