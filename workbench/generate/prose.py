"""Plain prose, one character at a time: the shape of a dialogue line or a plan's beat.

Small models fill free text with noise: shouted capitals, run-together words, digits, markup,
invented proper nouns. Speech and story beats need none of that, so a line of prose here is
sentences of words: each sentence starts with a capital and ends with ``. ! ? …`` after a word of two letters or more; a word has a
capital only first (``I`` and ``Mara`` yes, ``HOWEVER`` and ``PubMed`` no); ``, ; : —`` stand
between words; ``' ’ -`` join letters inside a word; no digits, quotes, brackets or symbols. In
the middle of a sentence a capitalised word must be one of the allowed ``names`` (the cast's
names, the lore's keywords, places): a scene about the cast, not about people it invents.

The shape is a small automaton over character classes. Its state:
``(class, letters in the word, next word starts a sentence, the capitalised word so far)`` with
classes S (line start), W (after a space), C (after a word's capital), L (inside a word), A (after
a joiner), P (after a sentence end), M (after ``, ; : —``) and N (inside a name mid-sentence).

    >>> st = START
    >>> for ch in "We go, Mara.":
    ...     st = step(st, ch, frozenset({"Mara"}))
    >>> st[0]
    'P'
    >>> step(step(START, "W", None), "E", None) is None   # no shouting
    True
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

__all__ = [
    "ENDS",
    "JOINERS",
    "LATIN",
    "MAX_WORD",
    "MID",
    "PREDICATE",
    "START",
    "State",
    "closable",
    "script",
    "scripts_of",
    "step",
    "to_close",
]

State = tuple[str, int, bool, str]
START: State = ("S", 0, True, "")
PREDICATE: State = ("W", 0, False, "")  # prose that goes on after a name: "[Mara] finds the key."
LATIN = frozenset({"LATIN"})
MAX_WORD = 15  # letters: "characteristics" yes, "Dolliesladlecabell" no
ENDS = ".!?\u2026"
MID = ",;:\u2014"
JOINERS = "'\u2019-"
# fewest characters that make prose in each class end on a sentence
_TO_CLOSE = {"P": 0, "L": 1, "C": 1, "N": 1, "A": 2, "W": 3, "S": 2, "M": 4}
MIN_LAST_WORD = 2  # letters in a word that ends a sentence ("...just a." is a cut, not an end)
SELF = ("I", "I'm", "I'll", "I've", "I'd", "I\u2019m", "I\u2019ll", "I\u2019ve", "I\u2019d")


@lru_cache(maxsize=65536)
def script(ch: str) -> str:
    """The script a letter belongs to (``LATIN``, ``CYRILLIC``, ``CJK``, ``GREEK``...), from its Unicode name."""
    name = unicodedata.name(ch, "")
    return name.split(" ")[0] if name else ""


def scripts_of(texts: object) -> frozenset[str]:
    """Latin, plus every script the letters of ``texts`` (an iterable of strings) are written in.

    A story's prose may use the scripts its own names and words use: a small model that wanders
    into another alphabet mid-sentence is writing noise.
    """
    found = {"LATIN"}
    for text in texts:  # type: ignore[attr-defined]
        for ch in str(text):
            if ch.isalpha():
                found.add(script(ch))
    return frozenset(found)


def to_close(st: State, names: frozenset[str] | None = None) -> int:
    """Fewest characters that end the prose on a sentence from ``st`` (a name not yet whole: more)."""
    if st[0] == "N":
        word = st[3]
        rest = [len(n) - len(word) for n in (*(names or ()), *SELF) if n.startswith(word)]
        return (min(rest) if rest else 0) + 1
    if st[0] == "L" and st[1] < MIN_LAST_WORD:
        return 1 + MIN_LAST_WORD - st[1]
    return _TO_CLOSE[st[0]]


def closable(st: State) -> bool:
    """Whether the prose may end here (a sentence just ended)."""
    return st[0] == "P"


def _name_ok(word: str, names: frozenset[str]) -> bool:
    return word in SELF or word in names


def _name_prefix(word: str, names: frozenset[str]) -> bool:
    return any(n.startswith(word) for n in names) or any(s.startswith(word) for s in SELF)


def step(st: State, ch: str, names: frozenset[str] | None, scripts: frozenset[str] = LATIN) -> State | None:
    """The state after ``ch`` (None: not allowed there). ``names`` None: a capitalised word in the
    middle of a sentence is not allowed at all (the token tables, which cannot know the word).
    Letters must be of one of ``scripts``."""
    cls, wlen, sent, word = st
    if ch.isalpha() and script(ch) not in scripts:
        return None
    if cls == "N":
        if ch.isalpha() and not ch.isupper() or ch in JOINERS:
            nw = word + ch
            return ("N", wlen + 1, False, nw) if names is not None and _name_prefix(nw, names) else None
        if names is None or not _name_ok(word, names):
            return None  # the word ends, and it is not a name the story knows
        if ch in ENDS:
            return ("P", 0, True, "")  # a whole name may end a sentence, however short ("I.")
        cls = "L"  # a whole name: from here on it ends like any word
    if ch.isalpha():
        if ch.isupper():
            if cls in ("S", "W"):
                if sent:
                    return ("C", 1, False, "")
                if names is None or not _name_prefix(ch, names):
                    return None
                return ("N", 1, False, ch)
            return None  # a capital inside a word: shouting, or two words run together
        if cls == "S" or (cls == "W" and sent):
            return None  # a sentence starts with a capital
        if cls in ("W", "L", "C", "A"):
            n = wlen + 1 if cls != "W" else 1
            return ("L", n, False, "") if n <= MAX_WORD else None
        return None
    if ch == " ":
        if cls in ("L", "C", "P", "M"):
            return ("W", 0, cls == "P", "")
        return None
    if ch in ENDS:
        return ("P", 0, True, "") if cls == "C" or (cls == "L" and wlen >= MIN_LAST_WORD) else None
    if ch in MID:
        return ("M", 0, False, "") if cls in ("L", "C") else None
    if ch in JOINERS:  # only with room for a letter after it: a joiner never ends a word
        return ("A", wlen, False, "") if cls in ("L", "C") and wlen < MAX_WORD else None
    return None


def check(
    text: str, names: frozenset[str] | None, scripts: frozenset[str] = LATIN, start: State = START
) -> State | None:
    """The state after ``text`` from ``start`` (None if it is not prose of this shape)."""
    st: State | None = start
    for ch in text:
        st = step(st, ch, names, scripts) if st is not None else None
        if st is None:
            return None
    return st
