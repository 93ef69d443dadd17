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

__all__ = ["LANGUAGES", "LOCALES", "language_of", "name_pool"]

# the locales of a language, told by its commonest short words: an English logline gets English
# names (a Spanish name pulls a small model into writing Spanish)
LANGUAGES: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {
    "en": (frozenset("the a an and of to in is are who his her their with that for on from".split()),
           ("en_US", "en_GB", "en_IE", "en_NZ")),
    "fr": (frozenset("le la les un une et de des du est qui dans sur pour avec son sa".split()), ("fr_FR",)),
    "de": (frozenset("der die das ein eine und ist sind mit von zu den im auf sich".split()), ("de_DE",)),
    "es": (frozenset("el la los las un una y de del es que en por para con su se una muy".split()), ("es_ES", "es_MX")),
    "it": (frozenset("il lo la gli le un una e di del che è per con suo sua nella della sono".split()), ("it_IT",)),
    "pt": (frozenset("o a os as um uma e de do da que em por com seu sua não uma".split()), ("pt_BR", "pt_PT")),
    "nl": (frozenset("de het een en van is in op met zijn die dat".split()), ("nl_NL",)),
}  # fmt: skip

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
    import faker.providers.person  # the name lists (a dependency of the package)

    try:
        provider = importlib.import_module(f"{faker.providers.person.__name__}.{locale}").Provider
    except (ImportError, AttributeError):
        return (), ()
    first: list[str] = []
    for attr in ("first_names_female", "first_names_male", "first_names"):
        first += [str(n) for n in getattr(provider, attr, ()) or ()]
    family = [str(n) for n in getattr(provider, "last_names", ()) or ()]
    return tuple(dict.fromkeys(first)), tuple(dict.fromkeys(family))


def language_of(texts: Iterable[str]) -> str | None:
    """The language of :data:`LANGUAGES` whose short words ``texts`` use most (None: none of them)."""
    words = [w for t in texts for w in str(t).casefold().split()]
    scores = {lang: sum(w in common for w in words) for lang, (common, _) in LANGUAGES.items()}
    best = max(scores, key=lambda lang: scores[lang])
    return best if scores[best] >= 2 else None


@lru_cache(maxsize=16)
def _all_names(scripts: frozenset[str], language: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    first: dict[str, None] = {}
    family: dict[str, None] = {}
    for script in sorted(scripts):
        locales = LOCALES.get(script, ())
        if script == "LATIN" and language in LANGUAGES:
            locales = LANGUAGES[language][1]
        for locale in locales:
            f, g = _locale_names(locale)
            first.update((n, None) for n in (_clean(x, scripts) for x in f) if n)
            family.update((n, None) for n in (_clean(x, scripts) for x in g) if n)
    return tuple(sorted(first)), tuple(sorted(family))


def name_pool(texts: Iterable[str], seed: int, k: int = 160) -> tuple[list[str], list[str]]:
    """``k`` first names and ``k`` family names (fewer when the lists are shorter), in the scripts
    and language ``texts`` are written in, sampled by ``seed``: the same texts and seed give the
    same pool.

    Both lists are empty when no locale writes names in those scripts (the outline then lets
    the model spell names itself, under the name format).
    """
    texts = list(texts)
    scripts = prose.scripts_of(texts)
    first, family = _all_names(scripts, language_of(texts))
    if not first or not family:
        return [], []
    rnd = random.Random(seed)
    return (
        sorted(rnd.sample(first, min(k, len(first)))),
        sorted(rnd.sample(family, min(k, len(family)))),
    )
