"""Words the embedded model does not write unless the story already uses them.

A 135M model trained on web text drifts into slurs and sexual violence in stories that have
nothing to do with either ("...which has been raping kids" in an outline about a safecracker).
The local backend bans these words at decoding time (the token sequences that spell them, in
lower case and capitalised, after a space), except the ones the prompt itself contains: a
writer whose story is about such things keeps its vocabulary. Servers apply their own
moderation; :func:`blocked_in` finds the words in any text.

>>> sorted(blocked_in("They found the rapist. Rape is a crime."))
['rape', 'rapist']
>>> "rape" in words_to_block("A story about a rape trial.")
False
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

__all__ = ["BLOCKED", "blocked_in", "token_sequences", "words_to_block"]

BLOCKED: frozenset[str] = frozenset(
    """
    rape raped rapes raping rapist rapists molest molested molesting molester molesters
    pedophile pedophiles paedophile paedophiles pedophilia incest porn porno pornography
    pornographic orgasm orgasms masturbate masturbating masturbation
    nigger niggers nigga niggas faggot faggots fag fags retard retards retarded kike kikes
    spic spics chink chinks tranny trannies whore whores slut sluts cunt cunts
    fuck fucks fucked fucking fucker motherfucker
    """.split()
)

_WORD = re.compile(r"[^\W\d_]+")


def blocked_in(text: str) -> set[str]:
    """The blocked words ``text`` contains (whole words, any case)."""
    return {w for w in _WORD.findall(text.casefold()) if w in BLOCKED}


def words_to_block(prompt: str) -> list[str]:
    """The blocked words that ``prompt`` does not itself use, sorted."""
    return sorted(BLOCKED - blocked_in(prompt))


def token_sequences(words: Iterable[str], encode: Callable[[str], list[int]]) -> list[list[int]]:
    """The token id sequences that spell each word after a space, lower case and capitalised."""
    out: dict[tuple[int, ...], None] = {}
    for w in words:
        for form in (" " + w, " " + w.capitalize()):
            ids = tuple(encode(form))
            if ids:
                out[ids] = None
    return [list(ids) for ids in out]
