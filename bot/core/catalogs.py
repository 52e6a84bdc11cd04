"""Build step for the gettext catalogs: derive Serbian Cyrillic from the Latin catalog, compile every `.mo`.

The Cyrillic catalog is never edited by hand: it is produced from `locales/sr` by transliteration each time the
catalogs are compiled, so the two scripts cannot drift apart. Run as `python -m bot.core.catalogs`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from bot.config import PROJECT_ROOT
from bot.core.i18n import DOMAIN
from bot.core.text import latin_to_cyrillic


def read_catalog(path: Path) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh)


def cyrillic_from_latin(latin: Catalog) -> Catalog:
    cyr = Catalog(locale="sr_Cyrl", domain=DOMAIN, project="mila", fuzzy=False)
    cyr.plural_forms  # noqa: B018 - computed from the locale; Serbian has the same three forms in both scripts
    for message in latin:
        if not message.id:
            continue
        if isinstance(message.string, tuple | list):
            string: str | tuple[str, ...] = tuple(latin_to_cyrillic(s) for s in message.string)
        else:
            string = latin_to_cyrillic(message.string or "")
        cyr.add(message.id, string, context=message.context, flags=message.flags)
    return cyr


def build(locales_dir: Path) -> list[Path]:
    """Write `sr_Cyrl/…/messages.po` and every `.mo`; returns the compiled files."""
    latin_po = locales_dir / "sr" / "LC_MESSAGES" / f"{DOMAIN}.po"
    cyr_dir = locales_dir / "sr_Cyrl" / "LC_MESSAGES"
    cyr_dir.mkdir(parents=True, exist_ok=True)
    with (cyr_dir / f"{DOMAIN}.po").open("wb") as fh:
        write_po(fh, cyrillic_from_latin(read_catalog(latin_po)), width=0)
    compiled = []
    for po in sorted(locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        catalog = read_catalog(po)
        mo = po.with_suffix(".mo")
        with mo.open("wb") as fh:
            write_mo(fh, catalog, use_fuzzy=False)
        compiled.append(mo)
    return compiled


def main() -> int:
    locales_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else PROJECT_ROOT / "locales"
    for mo in build(locales_dir):
        print(f"compiled {mo.relative_to(locales_dir)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
