"""Names a reader believes: the first and family names outlines choose their characters from.

A 135M model asked to invent a name spells things like "Ethanathanosbj Prude"; asked to
*choose* one from real names, it picks by likelihood in the story's context. The lists are
Faker's per-locale name lists (first names and family names as people carry them), limited
to the scripts the story is written in and sampled by the outline's seed, so two stories
outlined with different seeds meet different people.

>>> first, family = name_pool(["A lighthouse keeper finds a drowned sailor."], seed=3, k=5)
>>> len(first), len(family)
(5, 5)
>>> all(n[0].isupper() and n.isalpha() for n in first + family)
True
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Iterable
from functools import lru_cache

from . import prose

__all__ = ["LOCALES", "name_pool"]

# locales whose names are written in each script (Faker's person providers)
LOCALES: dict[str, tuple[str, ...]] = {
    "LATIN": (
        "en_US", "en_GB", "en_IE", "en_NZ", "en_NG", "fr_FR", "de_DE", "it_IT", "es_ES", "es_MX",
        "pt_BR", "pt_PT", "nl_NL", "sv_SE", "no_NO", "da_DK", "fi_FI", "pl_PL", "cs_CZ", "hr_HR",
        "ro_RO", "tr_TR", "id_ID", "sw", "yo_NG", "ig_NG",
    ),
    "CYRILLIC": ("ru_RU", "uk_UA", "bg_BG"),
    "GREEK": ("el_GR",),
    "HEBREW": ("he_IL",),
    "ARABIC": ("ar_SA",),
    "ARMENIAN": ("hy_AM",),
    "GEORGIAN": ("ka_GE",),
}  # fmt: skip


def _clean(name: object, scripts: frozenset[str]) -> str | None:
    """A name as one capitalised word of 3 to 12 letters in ``scripts``, or None."""
    text = str(name).strip()
    if not 3 <= len(text) <= 12 or not text[0].isupper() or not text.isalpha():
        return None
    if not text[1:].islower() and text[1:].upper() != text[1:].lower():
        return None  # "McDonald", "DeShawn": spelled as written, but not one plain word
    if any(prose.script(ch) not in scripts for ch in text):
        return None
    if prose.script(text[0]) == "LATIN" and not text.isascii():
        return None  # "Hrženjak", "Álvarez": fine names, but every tokenizer spells plain letters
    return text


@lru_cache(maxsize=64)
def _locale_names(locale: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    try:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
    except (ImportError, AttributeError):
        return (), ()
    first: list[str] = []
    for attr in ("first_names_female", "first_names_male", "first_names"):
        first += [str(n) for n in getattr(provider, attr, ()) or ()]
    family = [str(n) for n in getattr(provider, "last_names", ()) or ()]
    return tuple(dict.fromkeys(first)), tuple(dict.fromkeys(family))


@lru_cache(maxsize=16)
def _all_names(scripts: frozenset[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    first: dict[str, None] = {}
    family: dict[str, None] = {}
    for script in sorted(scripts):
        for locale in LOCALES.get(script, ()):
            f, g = _locale_names(locale)
            first.update((n, None) for n in (_clean(x, scripts) for x in f) if n)
            family.update((n, None) for n in (_clean(x, scripts) for x in g) if n)
    return tuple(sorted(first)), tuple(sorted(family))


def name_pool(texts: Iterable[str], seed: int, k: int = 160) -> tuple[list[str], list[str]]:
    """``k`` first names and ``k`` family names (fewer when the lists are shorter), in the scripts
    ``texts`` are written in, sampled by ``seed``: the same texts and seed give the same pool.

    Both lists are empty when no locale writes names in those scripts (the outline then lets
    the model spell names itself, under the name format).
    """
    scripts = prose.scripts_of(list(texts))
    first, family = _all_names(scripts)
    if not first or not family:
        return [], []
    rnd = random.Random(seed)
    return (
        sorted(rnd.sample(first, min(k, len(first)))),
        sorted(rnd.sample(family, min(k, len(family)))),
    )
