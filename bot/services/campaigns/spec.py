"""The campaign file: what marketing writes, validated before anything is stored.

YAML (or TOML, by the file's extension). Texts are per base language (`sr`, `tk`); Serbian Cyrillic is generated
from the Latin text with the core's transliteration, so marketing writes Serbian once. Where the generated Cyrillic
is not right (a word to keep in Latin, a better spelling), an `sr-Cyrl` text, or `sr-Cyrl` button label, written by
hand is used instead of it. Times are the profile's
local time (its `timezone`): the start, and the quiet hours during which nothing is sent (e.g. `21:00-09:00`).

    name: Nova tarifa Start
    profile: rs
    start: 2026-12-01 10:00
    quiet_hours: "21:00-09:00"
    text:
      sr: "Nova tarifa Start: 20 GB za 990 RSD mesečno."
      tk: "Täze Start tarifi: aýda 20 GB."
    picture: https://static.example.com/start.jpg
    button:
      url: https://mts.rs/start
      label: {sr: Saznaj više, tk: Giňişleýin}
    segment:
      channels: [telegram, viber]
      languages: [sr, sr-Cyrl]
      identified: true
      account_kinds: [mobile]
      tariffs: [Postpaid S, Postpaid M]
      active_days: 90
"""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, get_args
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from bot.core.i18n import LANGUAGES
from bot.core.push import BroadcastChannel
from bot.core.text import latin_to_cyrillic
from bot.db.models import AccountKind

MAX_TEXT = 4000  # a Telegram message is 4096 characters; room for what a renderer adds
_QUIET = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class CampaignFileError(ValueError):
    """The file cannot be used; the message names the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def base_language(code: str) -> str:
    """The language a text is written in: Serbian Cyrillic is generated from the Latin text."""
    return LANGUAGES[code].content_key if code in LANGUAGES else code


class UrlButton(_Strict):
    url: str
    label: dict[str, str]

    @field_validator("url")
    @classmethod
    def _https(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("the button's url must start with https://")
        return value


class SegmentSpec(_Strict):
    """Who gets it, among the users who agreed to tariff news and can be reached. Unset: no restriction."""

    channels: list[BroadcastChannel] | None = None  # only channels that can receive broadcasts
    languages: list[str] | None = None
    identified: bool | None = None  # True: only chats linked to a subscriber; False: only those that are not
    account_kinds: list[AccountKind] | None = None
    tariffs: list[str] | None = None
    active_days: int | None = Field(None, ge=1, le=3650)

    @field_validator("languages")
    @classmethod
    def _known(cls, value: list[str] | None) -> list[str] | None:
        for code in value or []:
            if code not in LANGUAGES:
                raise ValueError(f"unknown language {code!r} (use {', '.join(LANGUAGES)})")
        return value


class CampaignSpec(_Strict):
    name: str = Field(min_length=1, max_length=120)
    profile: str
    text: dict[str, str]
    picture: str | None = None
    button: UrlButton | None = None
    start: datetime | None = None  # naive: the profile's local time
    quiet_hours: str | None = None
    segment: SegmentSpec = SegmentSpec()

    @field_validator("text")
    @classmethod
    def _texts(cls, value: dict[str, str]) -> dict[str, str]:
        for code, text in value.items():
            if code not in ("sr", "tk", "sr-Cyrl"):
                raise ValueError(
                    f"text in {code!r}: write sr and tk (Serbian Cyrillic is generated from sr; an sr-Cyrl text "
                    "replaces the generated one)"
                )
            if not text.strip():
                raise ValueError(f"text in {code!r} is empty")
            if len(text) > MAX_TEXT:
                raise ValueError(f"text in {code!r} has {len(text)} characters (at most {MAX_TEXT})")
        return value

    @field_validator("picture")
    @classmethod
    def _picture(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError("the picture must be an https:// URL (Telegram and Viber fetch it themselves)")
        return value

    @field_validator("start")
    @classmethod
    def _start(cls, value: datetime | None) -> datetime | None:
        # Year 1 or 9999 in the profile's zone is a date out of range once moved to UTC.
        if value is not None and not 2000 <= value.year <= 2999:
            raise ValueError(f"the year {value.year} is not a campaign's: write a start between 2000 and 2999")
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str | None) -> str | None:
        if value is not None:
            quiet_window(value)
        return value

    @model_validator(mode="after")
    def _every_language_has_a_text(self) -> CampaignSpec:
        for code in self.languages():
            base = base_language(code)
            if base not in self.text:
                raise ValueError(f"text: no text in {base!r} for the users who read {code!r} (segment.languages)")
            if self.button is not None and base not in self.button.label:
                raise ValueError(f"button.label: no label in {base!r}")
        return self

    def languages(self) -> list[str]:
        """The languages targeted: the segment's, or every language there is a text for (sr-Cyrl with sr)."""
        if self.segment.languages:
            return list(self.segment.languages)
        codes = [code for code in LANGUAGES if base_language(code) in self.text]
        return codes

    def text_for(self, code: str) -> str:
        """The text in this language: a hand-written `sr-Cyrl` one, else Cyrillic generated from `sr`."""
        if code in self.text:
            return self.text[code]
        text = self.text[base_language(code)]
        return latin_to_cyrillic(text) if LANGUAGES[code].cyrillic else text

    def button_label(self, code: str) -> str | None:
        if self.button is None:
            return None
        if code in self.button.label:
            return self.button.label[code]
        label = self.button.label[base_language(code)]
        return latin_to_cyrillic(label) if LANGUAGES[code].cyrillic else label

    def starts_at(self, timezone: str, now: datetime) -> datetime:
        """The start in UTC; no start given: now."""
        if self.start is None:
            return now
        if self.start.tzinfo is None:
            return self.start.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)
        return self.start.astimezone(UTC)


def quiet_window(value: str) -> tuple[time, time]:
    match = _QUIET.match(value)
    if match is None:
        raise ValueError("quiet_hours: write it as HH:MM-HH:MM, e.g. 21:00-09:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59 or (h1, m1) == (h2, m2):
        raise ValueError("quiet_hours: not a window of the day")
    return time(h1, m1), time(h2, m2)


def quiet_until(value: str | None, timezone: str, now: datetime) -> datetime | None:
    """When the quiet hours around `now` end (UTC), or None when messages may go now."""
    if value is None:
        return None
    begin, end = quiet_window(value)
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    quiet = (begin <= clock < end) if begin < end else (clock >= begin or clock < end)
    if not quiet:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone).astimezone(UTC)


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model that holds the field at `loc` (the campaign, its segment or its button)."""
    model: type[BaseModel] = CampaignSpec
    for part in loc:
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        inner = [a for a in (field.annotation, *get_args(field.annotation)) if isinstance(a, type)]
        found = next((a for a in inner if issubclass(a, BaseModel)), None)
        if found is None:
            return None
        model = found
    return model


def _explain(error: ErrorDetails) -> str:
    """One readable line for a validation error: the field's path, then what is wrong with it."""
    loc = error["loc"]
    where = ".".join(str(part) for part in loc)
    kind, value = error["type"], error.get("input")
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = f" (allowed: {', '.join(model.model_fields)})" if model is not None else ""
        return f"{where}: unknown field{allowed}"
    if kind == "missing":
        return f"{where}: missing (this field is required)"
    if loc == ("quiet_hours",) and isinstance(value, int) and not isinstance(value, bool):
        return 'quiet_hours: put it in quotes, e.g. quiet_hours: "21:00-09:00" (unquoted, YAML reads 21:00 as a number)'
    if loc == ("start",) and kind.startswith(("datetime", "date")):
        return f"start: {value!r} is not a date and time: write it as YYYY-MM-DD HH:MM, e.g. 2026-12-01 10:00"
    message = str(error["msg"]).removeprefix("Value error, ")
    if not where:  # a check of the whole file names its fields itself
        return message
    return message if message.startswith(f"{where}: ") else f"{where}: {message}"


def parse(raw: dict[str, Any]) -> CampaignSpec:
    try:
        return CampaignSpec.model_validate(raw)
    except ValidationError as exc:
        raise CampaignFileError("\n".join(_explain(error) for error in exc.errors())) from None


def load(path: Path) -> CampaignSpec:
    """Read a campaign file (.yaml, .yml or .toml, in any case); every error of the file on a line of its own."""
    try:
        content = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CampaignFileError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CampaignFileError(f"{path.name} is not UTF-8 text") from None
    toml = path.suffix.lower() == ".toml"
    try:
        raw = tomllib.loads(content) if toml else yaml.safe_load(content)
    except RecursionError:
        # Both parsers recurse once per level: a file of a few kilobytes of brackets exhausts the stack. No campaign
        # is more than a few levels deep, so this is refused like any other malformed file.
        raise CampaignFileError(f"{path.name} is nested too deeply to be a campaign file") from None
    except tomllib.TOMLDecodeError as exc:
        raise CampaignFileError(f"{path.name} is not valid TOML: {exc}") from None
    except yaml.YAMLError as exc:
        raise CampaignFileError(f"{path.name} is not valid YAML: {_yaml_problem(exc)}") from None
    if raw is None or raw == {}:
        raise CampaignFileError(f"{path.name} is empty: write the campaign's fields (name, profile, text, …)")
    if not isinstance(raw, dict):
        raise CampaignFileError(f"{path.name}: expected the campaign's fields (name: …, profile: …)")
    try:
        return parse(raw)
    except RecursionError:
        raise CampaignFileError(f"{path.name} is nested too deeply to be a campaign file") from None


def _yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"{exc.problem or exc.context} (line {mark.line + 1}, column {mark.column + 1})"
    return " ".join(str(exc).split())
