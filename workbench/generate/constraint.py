"""Constrained decoding over bytes: any character-level machine, any Hugging Face tokenizer.

A *character machine* (the JSON machine of :mod:`.structured`, the screenplay machine of
:mod:`.scene_grammar`) says which characters may come next, whether the text may end, and
the fewest bytes that finish it. :class:`ByteConstraint` lifts it to tokens: it feeds a
token's exact bytes (:mod:`.tokens`) through the machine, holding back the bytes of a
character that is split across tokens until it is whole, and it keeps the **budget
guarantee**: a token is allowed only if the text can still be finished within the tokens
left (counting one token per byte, which every byte-level and byte-fallback vocabulary can
do). So a constrained take is valid and complete every time, whatever the model's weights.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .prose import script
from .tokens import TokenVocab, utf8_need

__all__ = ["ByteConstraint", "CharMachine", "FreeText"]


@dataclass(frozen=True)
class FreeText:
    """A machine state inside free text: any characters except ``excluded`` (and control
    characters), at most ``room`` more of them; after ``k`` more plain characters the fewest
    bytes left to finish are at most ``cost(k)``."""

    excluded: frozenset[str]
    room: int
    base: int  # fewest bytes to finish after the free run, whatever it ends with
    minimum: int = 0  # plain characters still needed before the run may end
    enders: frozenset[str] = frozenset()  # characters that can bring the finish nearer than ``cost`` says

    def cost(self, k: int) -> int:
        return self.base + max(0, self.minimum - k)


class CharMachine(Protocol):
    """What :class:`ByteConstraint` needs from a character-level recogniser."""

    def start(self) -> Any: ...

    def step(self, state: Any, ch: str) -> Any | None: ...

    def min_remaining(self, state: Any) -> int: ...

    def accepts(self, state: Any) -> bool: ...

    def must_end(self, state: Any) -> bool: ...

    def free_text(self, state: Any) -> FreeText | None: ...

    def next_chars(self, state: Any) -> frozenset[str] | str:
        """Exactly the characters that may come next, or the name of an open class of them
        (whether a character may come next then depends only on the class: :meth:`in_class`)."""
        ...

    def in_class(self, cls: str, ch: str) -> bool: ...


_CONT = range(0x80, 0xC0)
SCAN = 4096  # code points looked at for the first character of a class after some lead bytes
_CLASS_FIRST: dict[Any, str | None] = {}
# free-text token indexes, per vocabulary (by id; a vocabulary lives as long as its model) and class
_INDEX_CACHE: dict[tuple[int, Any], tuple[list[tuple[int, int]], list[int], set[int]]] = {}


class ByteConstraint:
    """A character machine applied to token bytes, with the budget guarantee (see module docstring).

    State: ``(machine state, pending bytes of a split character, at the very start?)``.
    """

    def __init__(self, machine: CharMachine, vocab: TokenVocab, eos_ids: Sequence[int]):
        self.machine = machine
        self.vocab = vocab
        self.eos_ids = list(eos_ids)
        self._firsts: dict[str, set[int]] = {}

    # ---- states
    def start(self) -> tuple[Any, bytes, bool]:
        return (self.machine.start(), b"", True)

    def min_remaining(self, st: tuple[Any, bytes, bool]) -> int:
        """Fewest tokens (counted as bytes) that finish the text from ``st``.

        With a character split across tokens, the finish goes through one concrete completion of
        it: an upper bound of the true fewest, which is what keeps the budget guarantee.
        """
        cs, pend, _ = st
        if not pend:
            return self.machine.min_remaining(cs)
        ch = self._completion(cs, pend)
        if ch is None:
            return 10**6
        nxt = self.machine.step(cs, ch)
        if nxt is None:
            return 10**6
        return utf8_need(pend[0]) - len(pend) + self.machine.min_remaining(nxt)

    def _completion(self, cs: Any, pend: bytes) -> str | None:
        """A character starting with ``pend`` that may follow in state ``cs`` (None if there is none)."""
        nxt = self.machine.next_chars(cs)
        if not isinstance(nxt, str):
            return next(
                (
                    c
                    for c in sorted(nxt)
                    if c.encode("utf-8").startswith(pend) and self.machine.step(cs, c) is not None
                ),
                None,
            )
        found = self._class_completion(nxt, pend)
        if found is None or self.machine.step(cs, found) is not None:
            return found
        # the class's first character does not fit this very state (a length limit, say): look further
        for n, tail in enumerate(_completions(utf8_need(pend[0]) - len(pend))):
            if n > 512:
                break
            try:
                ch = (pend + tail).decode("utf-8")
            except UnicodeDecodeError:
                continue
            if self.machine.in_class(nxt, ch) and self.machine.step(cs, ch) is not None:
                return ch
        return None

    def _class_completion(self, nxt: str, pend: bytes) -> str | None:
        """The first character of class ``nxt`` that starts with the bytes ``pend`` (cached for
        every machine of the process: classes mean the same everywhere). At most
        :data:`SCAN` code points are looked at: a class with no character in the first ones of a
        lead byte's range (a rare script) is treated as having none there, which can only rule a
        character out, never let one in."""
        key = (nxt, pend)
        if self.machine.in_class is not char_class:
            key = (id(self.machine), nxt, pend)  # type: ignore[assignment]
        if key in _CLASS_FIRST:
            return _CLASS_FIRST[key]
        need = utf8_need(pend[0])
        found = None
        if need and len(pend) <= need:
            lead_bits = {1: 0x7F, 2: 0x1F, 3: 0x0F, 4: 0x07}[need]
            cp = pend[0] & lead_bits
            for b in pend[1:]:
                cp = (cp << 6) | (b & 0x3F)
            rest = need - len(pend)
            low = cp << (6 * rest)
            for c in range(low, min(low + (1 << (6 * rest)), low + SCAN)):
                if 0xD800 <= c <= 0xDFFF or c > 0x10FFFF:
                    continue
                ch = chr(c)
                if len(ch.encode("utf-8")) == need and self.machine.in_class(nxt, ch):
                    found = ch
                    break
        _CLASS_FIRST[key] = found
        return found

    def accepts(self, st: tuple[Any, bytes, bool]) -> bool:
        return not st[1] and self.machine.accepts(st[0])

    def must_end(self, st: tuple[Any, bytes, bool]) -> bool:
        return not st[1] and self.machine.must_end(st[0])

    def _prefix_viable(self, cs: Any, pend: bytes) -> bool:
        """Can some character that starts with the bytes ``pend`` follow in state ``cs``?"""
        return self._completion(cs, pend) is not None

    def advance_bytes(self, st: tuple[Any, bytes, bool], data: bytes) -> tuple[Any, bytes, bool] | None:
        cs, pend, at_start = st
        step = self.machine.step
        for b in data:
            if at_start:
                at_start = False
                if b == 0x20 and self.vocab.strip_first_space and not pend:
                    continue  # the space a SentencePiece tokenizer puts before the first word
            if pend:
                if b not in _CONT:
                    return None
                pend += bytes([b])
            else:
                if b < 0x80:
                    cs = step(cs, chr(b))
                    if cs is None:
                        return None
                    continue
                if utf8_need(b) == 0:
                    return None
                pend = bytes([b])
            need = utf8_need(pend[0])
            if len(pend) < need:
                if not self._prefix_viable(cs, pend):
                    return None
                continue
            try:
                ch = pend.decode("utf-8")
            except UnicodeDecodeError:
                return None
            pend = b""
            cs = step(cs, ch)
            if cs is None:
                return None
        return (cs, pend, at_start)

    def forced_text(self, st: tuple[Any, bytes, bool], limit: int = 64) -> str:
        """The text that must come next from ``st`` whatever the model wants (a JSON key, the rest
        of the only cast name that fits, a heading given by the plan): characters that are the
        only way on, up to where the text may end or has a choice. Empty when there is a choice."""
        cs, pend, at_start = st
        if pend or at_start:
            return ""
        out: list[str] = []
        machine = self.machine
        while len(out) < limit and not machine.accepts(cs) and not machine.must_end(cs):
            nxt = machine.next_chars(cs)
            if isinstance(nxt, str) or len(nxt) != 1:
                break
            ch = next(iter(nxt))
            after = machine.step(cs, ch)
            if after is None:
                break
            out.append(ch)
            cs = after
        return "".join(out)

    # ---- tokens
    def token_ok(self, st: tuple[Any, bytes, bool], tok: int, budget: int) -> tuple[Any, bytes, bool] | None:
        """The state after token ``tok`` if it keeps the text valid and finishable in ``budget - 1`` tokens.

        An end-of-text token is allowed exactly where the text may end (the state is returned unchanged).
        """
        if tok in self.eos_ids:
            return st if self.accepts(st) else None
        if self.must_end(st) or tok >= len(self.vocab.bytes):
            return None
        data = self.vocab.bytes[tok]
        if not data:
            return None
        nxt = self.advance_bytes(st, data)
        if nxt is None or self.min_remaining(nxt) > budget - 1:
            return None
        return nxt

    def allowed(self, st: tuple[Any, bytes, bool], budget: int) -> list[int]:
        """Every token that may come next with ``budget`` tokens left (this one included)."""
        out: list[int] = list(self.eos_ids) if self.accepts(st) else []
        if self.must_end(st):
            return out
        cs, pend, at_start = st
        plain_tokens = getattr(self.machine, "plain_tokens", None)
        if plain_tokens is not None and not pend and not at_start:
            plain = plain_tokens(cs, self.vocab, budget)
            if plain is not None:
                out.extend(plain)
                seen = set(plain)
                names = getattr(self.machine, "name_tokens", None)
                extra = names(self.vocab) if names is not None else []
                # newlines, split characters and names are checked one by one
                for tok in [*self._index(frozenset("\n"), frozenset())[1], *extra]:
                    if tok not in seen and self.token_ok(st, tok, budget) is not None:
                        seen.add(tok)
                        out.append(tok)
                return out
        free = None if (pend or at_start) else self.machine.free_text(cs)
        if free is not None:
            plain, rest, ending = self._index(free.excluded, free.enders)
            for tok, k in plain:
                if k > free.room:
                    break
                if free.cost(k) <= budget - 1:
                    out.append(tok)
                elif tok in ending and self.token_ok(st, tok, budget) is not None:
                    out.append(tok)  # e.g. a full stop, where the cheap estimate is too cautious
            for tok in rest:
                if self.token_ok(st, tok, budget) is not None:
                    out.append(tok)
            return out
        out.extend(self._walk(st, budget))
        return out

    def _index(
        self, excluded: frozenset[str], enders: frozenset[str]
    ) -> tuple[list[tuple[int, int]], list[int], set[int]]:
        """Tokens of plain text without ``excluded`` characters (with their length, shortest first),
        every other usable token (checked one by one), and the plain ones holding an ender."""
        key = (excluded, enders)
        found = _INDEX_CACHE.get((id(self.vocab), key))
        if found is None:
            plain: list[tuple[int, int]] = []
            rest: list[int] = []
            ending: set[int] = set()
            clean = set(self.vocab.clean)
            for tok, text in enumerate(self.vocab.text):
                if self.vocab.bytes[tok] is None:
                    continue
                if tok in clean and text is not None and not any(c in excluded for c in text):
                    plain.append((tok, len(text)))
                    if any(c in enders for c in text):
                        ending.add(tok)
                else:
                    rest.append(tok)
            plain.sort(key=lambda p: p[1])
            found = _INDEX_CACHE[(id(self.vocab), key)] = (plain, rest, ending)
        return found

    def _first_bytes(self, st: tuple[Any, bytes, bool]) -> set[int] | None:
        """The bytes worth trying next from ``st`` (None: all of them): every ASCII byte (the
        machine checks each at once), and the lead bytes of the characters beyond ASCII that
        ``next_chars`` says may come (the slow part of the walk is ruling out the others)."""
        cs, pend, _ = st
        if pend:
            return None
        nxt = self.machine.next_chars(cs)
        if isinstance(nxt, str):
            found = self._firsts.get(nxt)
            if found is None:
                leads = {b for b in range(0xC2, 0xF5) if self._class_completion(nxt, bytes([b])) is not None}
                found = self._firsts[nxt] = set(range(0x80)) | leads
            return found
        return set(range(0x80)) | {ch.encode("utf-8")[0] for ch in nxt if ord(ch) >= 0x80}

    def _walk(self, st: tuple[Any, bytes, bool], budget: int) -> list[int]:
        """Tokens found by walking the byte trie with the machine (states with few ways on)."""
        out: list[int] = []
        stack = [(self.vocab.root, st)]
        while stack:
            node, s = stack.pop()
            firsts = self._first_bytes(s)
            for byte, child in node.children.items():
                if firsts is not None and byte not in firsts:
                    continue
                nxt = self.advance_bytes(s, bytes([byte]))
                if nxt is None:
                    continue
                if child.ids and self.min_remaining(nxt) <= budget - 1:
                    out.extend(child.ids)
                if child.children:
                    stack.append((child, nxt))
        return out


def with_scripts(cls: str, scripts: Iterable[str]) -> str:
    """Class ``cls`` limited to letters of ``scripts`` (other characters of the class stay in it).

    >>> char_class(with_scripts("alpha", ["LATIN"]), "ë"), char_class(with_scripts("alpha", ["LATIN"]), "ж")
    (True, False)
    """
    return f"{cls}|{','.join(sorted(scripts))}"


def char_class(cls: str, ch: str) -> bool:
    """Whether ``ch`` belongs to one of the open character classes the machines use."""
    if ord(ch) < 0x20 or ord(ch) == 0x7F:
        return False
    if "|" in cls:  # a class limited to the letters of some scripts (see with_scripts)
        cls, scripts = cls.split("|", 1)
        if ch.isalpha() and ord(ch) >= 0x80 and script(ch) not in scripts.split(","):
            return False
    if cls == "free":  # inside a JSON string: anything but the quote and the backslash
        return ch not in '"\\'
    if cls == "line":  # a line of free text
        return ch != "\n"
    if cls == "line0":  # the first character of a line
        return not ch.isspace() and ch != "("
    if cls == "sentence0":
        return ch.isalnum()
    if cls == "upper":
        return ch.isalpha() and ch.isupper()
    if cls == "lower":
        return ch.isalpha() and ch.islower()
    if cls == "uncapped":  # a letter that is not a capital (lower case, or a script without case)
        return ch.isalpha() and not ch.isupper()
    if cls == "name":  # inside a name: more letters of it
        return (ch.isalpha() and not ch.isupper()) or ch == "\u2019"
    if cls == "word":  # inside a word of speech: more of it, or the punctuation that may end it
        return (ch.isalpha() and not ch.isupper()) or ch in "\u2026\u2014\u2019"
    if cls == "alpha":
        return ch.isalpha()
    if cls == "alnum":
        return ch.isalnum()
    if cls == "upper_or_digit":
        return (ch.isalpha() and ch.isupper()) or ch.isdigit()
    raise ValueError(f"unknown character class {cls!r}")


def _completions(n: int) -> Iterable[bytes]:
    """Continuation-byte tails of length ``n`` (1 to 3), most common first."""
    if n <= 0:
        yield b""
        return
    if n == 1:
        for b in _CONT:
            yield bytes([b])
        return
    for b in _CONT:
        for tail in _completions(n - 1):
            yield bytes([b]) + tail
