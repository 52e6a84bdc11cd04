"""Operator profiles: everything that differs between operators, as localized data validated at start-up.

An operator of another country adopts mila by writing a profile file like `rs.yaml`, not code. A broken profile
stops start-up with a message naming the file and the field.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.core.i18n import LANGUAGES

PROFILE_DIR = Path(__file__).resolve().parent

Localized = dict[str, str]

Feature = Literal["reconnect", "services", "account", "consultations", "complaints", "operator", "contacts"]
IdMethod = Literal["phone", "customer_code", "phone_code_word", "phone_name_passport"]

# Named operator texts the flows read; every profile must have them.
REQUIRED_TEXTS = (
    "about",
    "contacts",
    "complaint_channels",
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Phone(_Model):
    number: str  # as the operator writes it: "0800 100 100", "(+993 66) 300890"
    label: Localized
    note: Localized | None = None


class Email(_Model):
    address: str = Field(pattern=r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$")
    purpose: Localized


class Payment(_Model):
    """What a payment slip needs, printed on the invoice for advance payment. `reference` is a template of the
    payer's reference ("poziv na broj") with {customer_code} and {account}; `model` the reference model (rs: 97)."""

    payee: str
    account: str  # the payee's bank account, as the operator writes it
    model: str | None = None
    reference: str = "{customer_code}"
    purpose: Localized | None = None

    @field_validator("reference")
    @classmethod
    def _reference(cls, value: str) -> str:
        try:
            value.format(customer_code="1", account="1")
        except (KeyError, IndexError, ValueError):
            raise ValueError(f"reference {value!r} may use only {{customer_code}} and {{account}}") from None
        return value


class Service(_Model):
    code: str = Field(pattern=r"^[a-z0-9_]{1,24}$")
    name: Localized
    # A short name for its button where the operator's name is long; the full name stays in the texts.
    label: Localized | None = None
    description: Localized
    requires: list[str] = []
    not_in_tariffs: list[str] = []
    asks_number: bool = False  # turning it on needs a phone number (call forwarding: where calls go)
    # Other words subscribers use for it ("roming", "internet u inostranstvu"): typed in a sentence, they name it.
    synonyms: list[str] = []

    @field_validator("synonyms")
    @classmethod
    def _synonyms(cls, value: list[str]) -> list[str]:
        blank = [s for s in value if not s.strip()]
        if blank or len(value) != len(set(value)):
            raise ValueError("synonyms must be distinct, non-empty words")
        return value


class Topic(_Model):
    code: str = Field(pattern=r"^[a-z0-9_]{1,24}$")
    title: Localized
    answer: Localized


EMAIL_PATTERN = r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$"


class ComplaintCategory(_Model):
    """What a complaint is about, and the operator's address that handles it (from the operator's rules)."""

    code: str = Field(pattern=r"^[a-z0-9_]{1,24}$")
    title: Localized
    email: str = Field(pattern=EMAIL_PATTERN)


class Complaints(_Model):
    """Complaints and written requests in the chat: categories, the longest description, the corporate desk."""

    max_length: int = Field(1000, ge=50, le=4000)
    categories: list[ComplaintCategory] = Field(min_length=1)
    # Requests of corporate customers go to the department that works with them; unset: the category's address,
    # marked as corporate in the subject so the receiving desk forwards it.
    corporate_email: str | None = Field(None, pattern=EMAIL_PATTERN)
    # The days within which the department answers: said when a request is filed; unset: not said.
    answer_days: int | None = Field(None, ge=1, le=90)

    def category(self, code: str) -> ComplaintCategory | None:
        return next((c for c in self.categories if c.code == code), None)


class Policies(_Model):
    promise_days: int = Field(ge=1, le=60)  # days to pay after a reconnection on promise
    promise_period_days: int = Field(30, ge=1)  # at most one promise per account in this period
    max_promise_debt: Decimal | None = None
    # What an invoice for advance payment may be for; a typed amount outside is refused with these bounds.
    advance_min: Decimal = Field(Decimal("1"), gt=0)
    advance_max: Decimal = Field(Decimal("1000000"), gt=0)

    @model_validator(mode="after")
    def _advance_bounds(self) -> Policies:
        if self.advance_max < self.advance_min:
            raise ValueError(f"advance_max {self.advance_max} is below advance_min {self.advance_min}")
        return self


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class SupportHours(_Model):
    """When human operators answer in the chat, in the profile's time zone; holidays are closed all day."""

    days: list[Weekday] = Field(min_length=1)
    open: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    close: str = Field(pattern=r"^([01][0-9]|2[0-4]):[0-5][0-9]$")  # "24:00": until midnight
    holidays: list[date] = []

    @model_validator(mode="after")
    def _order(self) -> SupportHours:
        if self.close <= self.open:
            raise ValueError(f"close {self.close} must be after open {self.open}")
        return self


class Profile(_Model):
    id: str
    operator: str
    assistant: str
    country: str = Field(pattern=r"^[A-Z]{2}$")
    timezone: str
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    default_language: str
    languages: list[str]
    menu: list[Feature]
    identification: list[IdMethod]
    contact_centre: Phone
    phones: list[Phone] = []
    emails: list[Email]
    postal_address: str | None = None
    services: list[Service]
    consultations: list[Topic] = []
    account_actions: list[Topic] = []
    complaints: Complaints | None = None
    texts: dict[str, Localized]
    policies: Policies
    support_hours: SupportHours | None = None  # unset: operators answer around the clock
    payment: Payment | None = None  # unset: the invoice says to pay by the account number only
    # Where the file marks a part `draft: true`: written for the demo, not from the operator's documents, so the
    # operator must confirm it (`mila profile check`, `mila doctor`). Not part of the data.
    drafts: tuple[str, ...] = Field(default=(), exclude=True)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        unknown = [code for code in value if code not in LANGUAGES]
        if unknown or not value:
            raise ValueError(f"languages must be among {sorted(LANGUAGES)}, got {unknown or value}")
        return value

    @model_validator(mode="after")
    def _complete(self) -> Profile:
        if self.default_language not in self.languages:
            raise ValueError(f"default_language {self.default_language!r} is not in languages")
        missing = [name for name in REQUIRED_TEXTS if name not in self.texts]
        if missing:
            raise ValueError(f"texts is missing {', '.join(missing)}")
        if "complaints" in self.menu and self.complaints is None:
            raise ValueError("the menu offers complaints but there is no complaints section")
        if "reconnect" in self.menu and "payment_info" not in self.texts:
            raise ValueError("texts is missing payment_info (how to pay), which the reconnect flow shows")
        codes = {s.code for s in self.services}
        owners: dict[str, str] = {}
        for service in self.services:
            for synonym in service.synonyms:
                key = " ".join(synonym.casefold().split())
                if owners.setdefault(key, service.code) != service.code:
                    raise ValueError(f"synonym {synonym!r} names both {owners[key]!r} and {service.code!r}")
        for service in self.services:
            for needed in service.requires:
                if needed not in codes:
                    raise ValueError(f"service {service.code!r} requires unknown service {needed!r}")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def content_keys(self) -> set[str]:
        return {LANGUAGES[code].content_key for code in self.languages}

    def gaps(self) -> list[str]:
        """What the profile lacks for a flow to be complete; not an error (the flow still works, with less), but
        something the operator should supply: the profile check lists each as a warning."""
        found = []
        if "account" in self.menu:
            if self.payment is None:
                found.append(
                    "payment is missing: the invoice for advance payment carries no payee, bank account, model or "
                    "reference to pay with"
                )
            if "discount_package" not in self.texts:
                found.append(
                    "texts is missing discount_package: the discount package is confirmed without saying what it "
                    "contains and costs (the contact centre is named instead)"
                )
        return found

    def service(self, code: str) -> Service | None:
        return next((s for s in self.services if s.code == code), None)

    def text(self, name: str) -> Localized:
        return self.texts[name]


class ProfileError(Exception):
    """A profile file is broken; the message names the file and the field."""


def _check_localized(node: object, path: str, keys: set[str], file: Path) -> None:
    """Every localized text must exist in each language the profile offers."""
    if isinstance(node, dict):
        if node and set(node) <= {"sr", "tk"} and all(isinstance(v, str) for v in node.values()):
            missing = keys - set(node)
            if missing:
                raise ProfileError(f"{file}: {path}: missing {', '.join(sorted(missing))} text")
            empty = [k for k, v in node.items() if not v.strip()]
            if empty:
                raise ProfileError(f"{file}: {path}: empty {', '.join(empty)} text")
            return
        for key, value in node.items():
            _check_localized(value, f"{path}.{key}" if path else str(key), keys, file)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _check_localized(value, f"{path}[{index}]", keys, file)


def take_drafts(node: object, path: str = "") -> list[str]:
    """Remove every `draft: true` mark from the raw profile, returning where each one was (a list item is named by
    its `code`, as in `services.roaming`)."""
    found: list[str] = []
    if isinstance(node, dict):
        mark = node.pop("draft", None)
        if mark is not None and not isinstance(mark, bool):
            raise ProfileError(f"{path or '(top level)'}: draft must be true or false")
        if mark:
            found.append(path or "(top level)")
        for key, value in node.items():
            found += take_drafts(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            name = value.get("code") if isinstance(value, dict) else None
            found += take_drafts(value, f"{path}.{name}" if isinstance(name, str) else f"{path}[{index}]")
    return found


def load_profile_file(file: Path) -> Profile:
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ProfileError(f"{file}: cannot read: {exc}") from None
    try:
        drafts = take_drafts(raw)
    except ProfileError as exc:
        raise ProfileError(f"{file}: {exc}") from None
    try:
        profile = Profile.model_validate(raw).model_copy(update={"drafts": tuple(drafts)})
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ProfileError(f"{file}: {where}: {message}") from None
    _check_localized(raw, "", profile.content_keys, file)
    try:
        phonenumbers.region_code_for_country_code(phonenumbers.country_code_for_region(profile.country))
    except Exception:
        raise ProfileError(f"{file}: country: unknown region {profile.country!r}") from None
    return profile


@cache
def load_profile(profile_id: str) -> Profile:
    """A built-in profile by id (`rs`, `tm`), or an operator's own profile file by path."""
    file = Path(profile_id) if profile_id.endswith((".yaml", ".yml")) else PROFILE_DIR / f"{profile_id}.yaml"
    if not file.exists():
        raise ProfileError(f"{file}: no such profile")
    return load_profile_file(file)
