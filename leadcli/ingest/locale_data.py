"""Words of the exports' languages, from Babel's CLDR data (imported lazily): currency names and
symbols, month names. Nothing here is a hand-made list of words.
"""

from __future__ import annotations

import re
from functools import lru_cache

# The languages whose month and currency names an export may be written in (CLDR locales).
LANGUAGES = ("en", "de", "fr", "es", "pt", "pl", "ru", "it", "nl", "sv", "da", "nb", "fi", "cs", "tr", "uk")
# Locales where a shared symbol (`$`, `¥`, `kr`) means their own currency: what makes it ambiguous.
SYMBOL_LOCALES = ("en_CA", "en_AU", "en_NZ", "en_SG", "en_HK", "es_MX", "es_AR", "es_CL", "es_CO", "zh_Hant",
                  "zh", "ja", "sv", "da", "nb", "is")


@lru_cache(maxsize=1)
def iso_currencies() -> frozenset[str]:
    """Every ISO 4217 code CLDR knows, current and historical, `XXX` (no currency) included."""
    from babel.numbers import list_currencies

    return frozenset(list_currencies()) | {"XXX"}


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w$€£¥₽₹₩₪₺₴₦₱฿₫]+", " ", text.casefold()).split())


@lru_cache(maxsize=1)
def _currency_table() -> tuple[dict[str, set[str]], dict[str, set[str]], dict[str, str]]:
    """(full name or symbol -> codes, last word of a name -> codes, language -> its home currency)."""
    from babel import Locale
    from babel.core import get_global
    from babel.numbers import get_territory_currencies

    names: dict[str, set[str]] = {}
    last_words: dict[str, set[str]] = {}
    home: dict[str, str] = {}
    codes = iso_currencies()
    for lang in LANGUAGES:
        loc = Locale.parse(lang)
        plural = loc._data.get("currency_names_plural", {})
        for code, name in loc.currencies.items():
            if code not in codes:
                continue
            forms = {name, *dict(plural.get(code, {})).values()}
            for form in forms:
                names.setdefault(_words(form), set()).add(code)
                last_words.setdefault(_words(form).split(" ")[-1], set()).add(code)
        territory = get_global("likely_subtags").get(lang, "").split("_")[-1]
        found = get_territory_currencies(territory) if territory else []
        if found:
            home[lang] = found[0]
    current = _current_currencies()
    for name in dict.fromkeys(LANGUAGES + SYMBOL_LOCALES):
        for code, symbol in Locale.parse(name).currency_symbols.items():
            if code in current and symbol != code:
                names.setdefault(symbol.casefold(), set()).add(code)
    return names, last_words, home


def _current_currencies() -> set[str]:
    from babel.core import get_global
    from babel.numbers import get_territory_currencies

    found: set[str] = set()
    for territory in get_global("territory_currencies"):
        found.update(get_territory_currencies(territory))
    return found


def currency_codes(text: str) -> set[str]:
    """The ISO codes a currency name or symbol may mean (`Euro` -> EUR; `Dollar`, `$` -> several).

    A bare word such as `Рубль` is the currency of its language's home country when one of its
    candidates is (`рубль` -> RUB, not BYN); in English (`Dollar`, `Rupee`) it stays ambiguous.
    """
    key = _words(text)
    if not key:
        return set()
    names, last_words, home = _currency_table()
    found = names.get(text.strip().casefold()) or names.get(key) or names.get(key.rstrip(".")) or set()
    if found:
        current = _current_currencies() & found
        return set(current or found)
    stem = key.rstrip(".").split(" ")[-1]
    candidates = last_words.get(stem) or {c for w, cs in last_words.items() if len(stem) >= 3 and
                                          w.startswith(stem) for c in cs}
    if len(candidates) > 1:
        for lang, code in home.items():
            if lang != "en" and code in candidates and _in_language(stem, lang):
                return {code}
    return set(candidates)


def _in_language(word: str, lang: str) -> bool:
    from babel import Locale

    loc = Locale.parse(lang)
    return any(word in _words(name).split(" ") or any(w.startswith(word) for w in _words(name).split(" "))
               for name in loc.currencies.values())


@lru_cache(maxsize=1)
def month_words() -> dict[str, int]:
    """Month names and abbreviations of every language (any case, with or without a dot) -> 1..12."""
    from babel.dates import get_month_names

    table: dict[str, int] = {}
    for lang in LANGUAGES:
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for number, name in get_month_names(width, context, locale=lang).items():
                    word = name.casefold().rstrip(".")
                    if len(word) >= 3 and not word.isdigit():
                        table.setdefault(word, number)
    return table
