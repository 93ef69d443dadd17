"""Structured output: a JSON-schema constraint for token-by-token decoding, validation, extraction.

The constraint covers the subset of JSON Schema the workbench asks models for: objects
with properties (all emitted, in declared order), strings (``minLength``/``maxLength``,
``enum``, ``const``), non-negative integers (``minimum``/``maximum``), booleans, null and
arrays (``minItems``/``maxItems``, ``prefixItems``). Output is compact JSON (no free whitespace) and every
length is bounded, so a small or random model cannot loop forever.

A few keywords of our own (``x-``; other tools ignore them, :func:`validate` checks them)
make values usable, not merely valid:

* ``"x-format"`` on a string: ``"sentence"`` (ends with ``.``, ``!`` or ``?``), ``"name"``
  (capitalised words, letters only; ``"x-words": [min, max]`` words, default 2 to 3),
  ``"place"`` (capitalised words of letters), ``"title"`` (a capital first, no empty words);
* ``"x-forbid"``: values a string may not take (compared case-insensitively);
* ``"x-unique"`` on an array: items differ (strings and enums); ``"x-unique-key"``: object
  items differ in that string property. With ``"x-format": "name"`` two names clash when
  their first names are the same or nearly so (``Lena``/``Luna``), so a cast never has two
  people a reader would mix up.

:class:`JsonMachine` is a character-level pushdown automaton over that subset;
:class:`~workbench.generate.constraint.ByteConstraint` turns it into token masks for any
tokenizer, keeping a budget guarantee: the value always finishes within the tokens asked for.

:func:`extract_json` is the tolerant path for servers without guided decoding: it finds
the first JSON value in free text that matches the schema. :func:`validate` checks a
value and raises :class:`~workbench.errors.InvalidOutput` with a clear message.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..errors import InvalidInput, InvalidOutput
from . import prose
from .constraint import ByteConstraint, FreeText, char_class, with_scripts
from .tokens import TokenVocab

DEFAULT_MAX_LENGTH = 300  # characters of a string without maxLength
DEFAULT_MAX_ITEMS = 8  # items of an array without maxItems
DEFAULT_MAX_INTEGER = 999_999
FORMATS = ("sentence", "prose", "predicate", "name", "place", "title")
SENTENCE_END = ".!?"

# --- schema -> nodes ------------------------------------------------------------------


@dataclass(frozen=True)
class _Str:
    min: int
    max: int
    fmt: str | None = None
    words: tuple[int, int] = (1, 9)
    forbid: frozenset[str] = frozenset()
    unique: str | None = None  # "exact" | "name": must differ from earlier items of the nearest array
    names: frozenset[str] = frozenset()  # "prose": capitalised words allowed mid-sentence
    scripts: frozenset[str] = frozenset({"LATIN"})  # the scripts letters may be written in


@dataclass(frozen=True)
class _Int:
    min: int
    max: int


@dataclass(frozen=True)
class _Choice:
    options: tuple[str, ...]
    unique: bool = False  # an item of an array whose items must differ


@dataclass(frozen=True)
class _Arr:
    item: Any
    min: int
    max: int
    prefix: tuple[Any, ...] = ()  # ``prefixItems``: the first items' own schemas

    def at(self, i: int) -> Any:
        """The node of item ``i`` (0-based)."""
        return self.prefix[i] if i < len(self.prefix) else self.item

    def least(self, start: int, stop: int) -> int:
        """Fewest bytes of items ``start`` to ``stop - 1``, each with the comma before it."""
        return sum(1 + _min_len(self.at(i)) for i in range(start, stop))


@dataclass(frozen=True)
class _Obj:
    # literal text before each value, then the closing literal
    parts: tuple[tuple[str, Any], ...]
    close: str = "}"


def _blen(text: str) -> int:
    return len(text.encode("utf-8"))


def _string_node(schema: dict[str, Any], path: str, unique: str | None) -> _Str:
    lo = int(schema.get("minLength", 0))
    hi = int(schema.get("maxLength", max(lo, DEFAULT_MAX_LENGTH)))
    if hi < lo:
        raise InvalidInput(f"JSON schema at {path}: maxLength < minLength")
    fmt = schema.get("x-format")
    if fmt is not None and fmt not in FORMATS:
        raise InvalidInput(f"JSON schema at {path}: x-format is one of {', '.join(FORMATS)}, not {fmt!r}")
    words = tuple(schema.get("x-words", (2, 3) if fmt == "name" else (1, 9)))
    if fmt == "name" and hi < (NAME_WORD[0] + 1) * words[0] - 1:
        raise InvalidInput(f"JSON schema at {path}: maxLength too short for {words[0]} words")
    forbid = frozenset(_norm(str(v)) for v in schema.get("x-forbid", ()) if str(v).strip())
    names = frozenset(
        w
        for n in schema.get("x-names", ())
        for w in re.findall(r"[^\W\d_][\w'\u2019-]*", str(n))
        if w[:1].isupper()
    )
    scripts = prose.scripts_of([*schema.get("x-names", ()), *schema.get("x-scripts-of", ())])
    return _Str(lo, hi, fmt, (int(words[0]), int(words[1])), forbid, unique, names, scripts)


def _compile(schema: dict[str, Any], path: str = "$", unique: str | None = None) -> Any:
    if not isinstance(schema, dict):
        raise InvalidInput(f"JSON schema at {path} must be an object, not {type(schema).__name__}")
    if "enum" in schema:
        options = tuple(json.dumps(v, ensure_ascii=False) for v in schema["enum"])
        if not options:
            raise InvalidInput(f"JSON schema at {path}: enum is empty")
        return _Choice(options, unique is not None)
    if "const" in schema:
        return _Choice((json.dumps(schema["const"], ensure_ascii=False),))
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    if kind == "string":
        return _string_node(schema, path, unique)
    if kind in ("integer", "number"):
        lo = max(0, int(schema.get("minimum", 0)))
        hi = int(schema.get("maximum", max(lo, DEFAULT_MAX_INTEGER)))
        if hi < lo:
            raise InvalidInput(
                f"JSON schema at {path}: maximum < minimum (negative numbers are not supported)"
            )
        return _Int(lo, hi)
    if kind == "boolean":
        return _Choice(("true", "false"))
    if kind == "null":
        return _Choice(("null",))
    if kind == "array":
        items = schema.get("items", {"type": "string"})
        mode = None
        if schema.get("x-unique") or schema.get("uniqueItems"):
            mode = "name" if isinstance(items, dict) and items.get("x-format") == "name" else "exact"
        key = schema.get("x-unique-key")

        def item_node(sub_schema: Any, where: str) -> Any:
            node = _compile(sub_schema, where, mode)
            if key is None:
                return node
            if not isinstance(node, _Obj):
                raise InvalidInput(f"JSON schema at {path}: x-unique-key needs object items")
            sub = (sub_schema.get("properties") or {}).get(key)
            if not isinstance(sub, dict):
                raise InvalidInput(
                    f"JSON schema at {path}: x-unique-key {key!r} is not a property of the items"
                )
            key_mode = "name" if sub.get("x-format") == "name" else "exact"
            lead = json.dumps(key, ensure_ascii=False) + ":"
            parts = tuple(
                (ld, _compile(sub, f"{where}.{key}", key_mode) if ld.endswith(lead) else v)
                for ld, v in node.parts
            )
            return _Obj(parts, node.close)

        item = item_node(items, path + "[]")
        prefix = tuple(
            item_node(sub, f"{path}[{i}]") for i, sub in enumerate(schema.get("prefixItems") or ())
        )
        lo = int(schema.get("minItems", 0))
        hi = int(schema.get("maxItems", max(lo, DEFAULT_MAX_ITEMS)))
        if hi < lo:
            raise InvalidInput(f"JSON schema at {path}: maxItems < minItems")
        if isinstance(item, _Choice) and item.unique and lo > len(item.options):
            raise InvalidInput(
                f"JSON schema at {path}: minItems is larger than the number of distinct options"
            )
        return _Arr(item, lo, hi, prefix)
    if kind == "object":
        props = schema.get("properties") or {}
        if not props:
            return _Choice(("{}",))
        leads: list[tuple[str, Any]] = []
        for i, (key, sub) in enumerate(props.items()):
            lead = ("{" if i == 0 else ",") + json.dumps(key, ensure_ascii=False) + ":"
            leads.append((lead, _compile(sub, f"{path}.{key}")))
        return _Obj(tuple(leads))
    raise InvalidInput(f"JSON schema at {path}: type {kind!r} is not supported for constrained decoding")


NAME_WORD = (2, 14)  # letters in each word of a name: no initials, no run-on nonsense


def _str_min(node: _Str) -> int:
    """Fewest characters of a complete string's content."""
    base = node.min
    if node.fmt == "name":
        base = max(base, (NAME_WORD[0] + 1) * node.words[0] - 1)
    elif node.fmt in ("sentence", "prose", "predicate"):
        base = max(base, 2)
    elif node.fmt in ("place", "title"):
        base = max(base, 1)
    return base


def _min_len(node: Any) -> int:
    """Fewest bytes of a complete value of ``node``."""
    if isinstance(node, _Str):  # what an opened, still empty string needs, so the estimate never rises
        return max(_str_min(node), _str_extra(node, "", ())) + 2 + (1 if node.forbid or node.unique else 0)
    if isinstance(node, _Int):
        return len(str(node.min))
    if isinstance(node, _Choice):
        return min(_blen(o) for o in node.options)
    if isinstance(node, _Arr):
        return 1 + node.least(0, node.min) + (1 if node.min == 0 else 0)
    if isinstance(node, _Obj):
        return sum(_blen(lead) + _min_len(v) for lead, v in node.parts) + len(node.close)
    raise TypeError(node)


def _int_viable(digits: str, node: _Int) -> bool:
    """Whether the digit string can still become an integer in range."""
    if len(digits) > 1 and digits[0] == "0":
        return False
    v, scale = int(digits), 1
    while v * scale <= node.max:
        if v * scale + scale - 1 >= node.min:
            return True
        if v == 0:
            return False
        scale *= 10
    return False


def _int_more(digits: str, node: _Int) -> int:
    """Fewest digits still needed to make ``digits`` a complete in-range integer."""
    if not digits:
        return len(str(node.min))
    v = int(digits)
    if node.min <= v <= node.max:
        return 0
    k, scale = 1, 10
    while v * scale <= node.max:
        if v * scale + scale - 1 >= node.min:
            return k
        k, scale = k + 1, scale * 10
    return 10**6  # unreachable in a viable state


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def _first(text: str) -> str:
    return _norm(text).split(" ")[0] if text.strip() else ""


def names_clash(a: str, b: str) -> bool:
    """Two character names a reader would mix up: the same or nearly the same first name."""
    fa, fb = _first(a), _first(b)
    if not fa or not fb:
        return False
    return fa == fb or difflib.SequenceMatcher(a=fa, b=fb).ratio() >= 0.75


def _clashes(value: str, seen: Sequence[str], mode: str | None) -> bool:
    if mode == "name":
        return any(names_clash(value, s) for s in seen)
    if mode == "exact":
        v = _norm(value)
        return any(v == _norm(s) or difflib.SequenceMatcher(a=v, b=_norm(s)).ratio() >= 0.85 for s in seen)
    return False


# --- the automaton ---------------------------------------------------------------------

# A state is a tuple of frames, the top last. Frames:
#   ("V", node)                      a value not started yet
#   ("L", text, i)                   the literal text[i:] still to emit
#   ("S", node, content, started)    a string: opening quote seen?, its content so far
#   ("I", node, digits)              an integer
#   ("A", node, count, phase, seen)  an array: phase 0 wants "[", 1 just after "[", 2 after an
#                                    item; ``seen`` holds finished unique items
#   ("C", options, prefix, unique)   one of several literals
State = tuple[tuple[Any, ...], ...]


def _seen(state: State) -> tuple[str, ...]:
    """The finished unique items of the nearest enclosing array."""
    for f in reversed(state):
        if f[0] == "A":
            seen: tuple[str, ...] = f[4]
            return seen
    return ()


def _record(state: State, value: str) -> State:
    """``state`` with ``value`` added to the nearest enclosing array's finished items."""
    frames = list(state)
    for i in range(len(frames) - 1, -1, -1):
        f = frames[i]
        if f[0] == "A":
            frames[i] = (f[0], f[1], f[2], f[3], (*f[4], value))
            return tuple(frames)
    return state


def _expand(node: Any, state: State) -> tuple[tuple[Any, ...], ...]:
    if isinstance(node, _Str):
        return (("S", node, "", False),)
    if isinstance(node, _Int):
        return (("I", node, ""),)
    if isinstance(node, _Choice):
        options = node.options
        if node.unique:
            taken = set(_seen(state))
            options = tuple(o for o in options if o not in taken) or options
        return (("C", options, "", node.unique),)
    if isinstance(node, _Arr):
        return (("A", node, 0, 0, ()),)
    frames: list[tuple[Any, ...]] = [("L", node.close, 0)]
    for lead, value in reversed(node.parts):
        frames.append(("V", value))
        frames.append(("L", lead, 0))
    return tuple(frames)


def _str_extra(node: _Str, content: str, seen: Sequence[str]) -> int:
    """Fewest more characters before the string (with content ``content``) may close."""
    n = len(content)
    need = max(0, _str_min(node) - n)
    last = content[-1] if content else ""
    if node.fmt in ("prose", "predicate"):
        st = _prose_state(node, content)
        close = prose.to_close(st, node.names) if st is not None else 10**6
        need = max(need, close)
        if n + close < node.min:  # pad with short sentences
            need = max(need, close + (node.min - n - close) + 3)
    elif node.fmt == "sentence":
        if last not in SENTENCE_END:
            need = max(need, 1)
    elif node.fmt == "name":  # words of NAME_WORD[0] to NAME_WORD[1] letters
        words = content.split()
        lo, least = node.words[0], NAME_WORD[0]
        per_word = least + 1  # a space, then the shortest word
        if not content:
            need = max(need, least + per_word * (lo - 1))
        elif last == " ":
            need = max(need, least + per_word * max(0, lo - len(words) - 1))
        else:
            letters = sum(c.isalpha() for c in words[-1])
            here = max(1 if not last.isalpha() else 0, least - letters)
            need = max(need, here + per_word * max(0, lo - len(words)))
    elif node.fmt in ("place", "title"):
        if not content or last == " " or (node.fmt == "place" and not last.isalpha()):
            need = max(need, 1)
        elif node.fmt == "title" and not (last.isalnum() or last in "?!"):
            need = max(need, 1)
    if content and need == 0 and (_norm(content) in node.forbid or _clashes(content, seen, node.unique)):
        need = 1
    return need


def _frame_min(f: tuple[Any, ...], state: State) -> int:
    tag = f[0]
    if tag == "V":
        return _min_len(f[1])
    if tag == "L":
        return _blen(f[1][f[2] :])
    if tag == "S":
        node, content, started = f[1], f[2], f[3]
        seen = _seen(state) if node.unique else ()
        return (0 if started else 1) + _str_extra(node, content, seen) + 1
    if tag == "I":
        return _int_more(f[2], f[1])
    if tag == "A":
        node, count, phase = f[1], f[2], f[3]
        if phase == 0:
            return _min_len(node)
        if phase == 1:
            return 1 if node.min == 0 else node.least(0, node.min)
        return node.least(count, node.min) + 1
    if tag == "C":
        prefix = f[2]
        return min(_blen(o) - _blen(prefix) for o in f[1] if o.startswith(prefix))
    raise TypeError(f)


@lru_cache(maxsize=4096)
def _prose_state(node: _Str, content: str) -> prose.State | None:
    start = prose.PREDICATE if node.fmt == "predicate" else prose.START
    return prose.check(content, node.names, node.scripts, start)


def _format_ok(node: _Str, content: str, ch: str) -> bool:
    """May ``ch`` extend a string of format ``node.fmt`` whose content is ``content``?

    Only if the string can still be finished within its length limit afterwards: a format never
    walks into a state it cannot leave (one long word where a name needs two, say).
    """
    if not _shape_ok(node, content, ch):
        return False
    if node.fmt in (None, "prose", "predicate"):
        return True  # free text has no shape to finish; prose checks its own room
    return len(content) + 1 + _str_extra(node, content + ch, ()) <= node.max


def _shape_ok(node: _Str, content: str, ch: str) -> bool:
    last = content[-1] if content else ""
    fmt = node.fmt
    if fmt is None:
        return True
    if ch.isalpha() and prose.script(ch) not in node.scripts:
        return False
    if fmt in ("prose", "predicate"):
        if ch == "\u2026":
            return False  # a description or a beat ends on a full stop; "…" is how a cut text ends
        st = _prose_state(node, content)
        nxt = prose.step(st, ch, node.names, node.scripts) if st is not None else None
        return nxt is not None and len(content) + 1 + prose.to_close(nxt, node.names) <= node.max
    if fmt == "sentence":
        if not content:
            return ch.isalnum() or ch in "'("
        return not (ch == " " and last == " ")
    if fmt == "name":
        if not content or last == " ":
            return ch.isalpha() and ch.isupper()
        word = content.split()[-1]
        letters = sum(c.isalpha() for c in word)
        if ch == " ":
            return last.isalpha() and letters >= NAME_WORD[0] and len(content.split()) < node.words[1]
        if ch.isalpha() and letters >= NAME_WORD[1]:
            return False
        if ch in "'-":  # inside a word, with room for a letter after it
            return last.isalpha() and letters < NAME_WORD[1]
        return ch.isalpha() and ch.islower() if last.isalpha() or last in "'-" else False
    if fmt == "place":
        if not content or last == " ":
            return ch.isalpha() and ch.isupper()
        if ch == " ":
            return last.isalpha()
        if ch in "'-.":
            return last.isalpha()
        return ch.isalpha()
    if fmt == "title":
        if not content:
            return (ch.isalpha() and ch.isupper()) or ch.isdigit()
        if ch == " ":
            return last != " "
        return ch.isalnum() or ch in "'-,:!?&."
    return True


class JsonMachine:
    """Character-level recogniser of compact JSON matching a schema (see module docstring)."""

    def __init__(self, schema: dict[str, Any]):
        self.schema = schema
        self.root = _compile(schema)

    def start(self) -> State:
        return (("V", self.root),)

    @staticmethod
    def done(state: State) -> bool:
        return not state

    accepts = done
    must_end = done

    @staticmethod
    def min_remaining(state: State) -> int:
        """Fewest bytes that complete the value from ``state``."""
        return sum(_frame_min(f, state[: i + 1]) for i, f in enumerate(state))

    def advance(self, state: State | None, text: str) -> State | None:
        """The state after ``text``, or None if ``text`` cannot continue a valid value."""
        for ch in text:
            if state is None:
                return None
            state = self._step(state, ch)
        return state

    def step(self, state: State, ch: str) -> State | None:
        return self._step(state, ch)

    def free_text(self, state: State) -> FreeText | None:
        """Inside a plain string (no format, no forbidden values): the fast mask applies."""
        if not state:
            return None
        top = state[-1]
        if top[0] != "S" or not top[3]:
            return None
        node, content = top[1], top[2]
        if node.fmt is not None or node.forbid or node.unique:
            return None
        other = self.min_remaining(state[:-1])
        n = len(content)
        return FreeText(frozenset('"\\'), node.max - n, other + 1, max(0, node.min - n))

    def next_chars(self, state: State) -> frozenset[str] | str:
        """The characters that may come next (or their open class: see ``constraint.char_class``)."""
        while state and state[-1][0] == "V":
            state = state[:-1] + _expand(state[-1][1], state[:-1])
        if not state:
            return frozenset()
        top = state[-1]
        tag = top[0]
        if tag == "L":
            return frozenset(top[1][top[2]])
        if tag == "C":
            prefix = top[2]
            return frozenset(o[len(prefix)] for o in top[1] if o.startswith(prefix) and len(o) > len(prefix))
        if tag != "S":
            return frozenset('0123456789[]{},:"')  # punctuation and digits: never beyond ASCII
        node, content, started = top[1], top[2], top[3]
        n = len(content)
        if not started or n >= node.max:
            return frozenset('"')
        if node.fmt is None:
            return "free"
        cls = self._format_class(node, content)
        return cls if isinstance(cls, frozenset) else with_scripts(cls, node.scripts)

    @staticmethod
    def _format_class(node: _Str, content: str) -> frozenset[str] | str:
        """The characters (or their open class) that may extend a string of a format."""
        n = len(content)
        last = content[-1] if content else ""
        if node.fmt in ("prose", "predicate"):
            st = _prose_state(node, content)
            if st is None:
                return frozenset()
            if st[0] in ("S",) or (st[0] == "W" and st[2]):
                return "upper"
            if st[0] in ("P", "M"):
                return frozenset(prose.ENDS + prose.MID + prose.JOINERS + ' "')
            return {"W": "alpha", "N": "name", "A": "uncapped"}.get(st[0], "word")
        if node.fmt == "sentence":
            if not content:
                return "sentence0"
            return frozenset(SENTENCE_END) if n + 1 >= node.max else "free"
        start = not content or last == " "
        if node.fmt == "name":
            return "upper" if start else "lower"
        if node.fmt == "place":
            return "upper" if start else "alpha"
        return "upper_or_digit" if not content else "alnum"  # title

    in_class = staticmethod(char_class)

    @staticmethod
    def _step(state: State, ch: str) -> State | None:
        while state:
            top, rest = state[-1], state[:-1]
            tag = top[0]
            if tag == "V":
                state = rest + _expand(top[1], rest)
                continue
            if tag == "L":
                text, i = top[1], top[2]
                if text[i] != ch:
                    return None
                return rest + (("L", text, i + 1),) if i + 1 < len(text) else rest
            if tag == "S":
                node, content, started = top[1], top[2], top[3]
                if not started:
                    return rest + (("S", node, "", True),) if ch == '"' else None
                if ch == '"':
                    seen = _seen(rest) if node.unique else ()
                    if _str_extra(node, content, seen) > 0:
                        return None
                    return _record(rest, content) if node.unique else rest
                n = len(content)
                if ch == "\\" or ord(ch) < 0x20 or n >= node.max or not _format_ok(node, content, ch):
                    return None
                new = content + ch
                if node.unique == "name" and ch == " " and content.count(" ") == 0:
                    if _clashes(content, _seen(rest), "name"):
                        return None  # the first name is taken: no later word can fix that
                if n + 1 >= node.max and _str_extra(node, new, _seen(rest) if node.unique else ()) > 0:
                    return None  # full, and still not closable
                if node.fmt == "sentence" and n + 2 >= node.max and ch not in SENTENCE_END:
                    # leave room for the full stop
                    if n + 1 >= node.max:
                        return None
                return rest + (("S", node, new, True),)
            if tag == "I":
                node, digits = top[1], top[2]
                if "0" <= ch <= "9" and _int_viable(digits + ch, node):
                    return rest + (("I", node, digits + ch),)
                if digits and node.min <= int(digits) <= node.max:
                    state = rest  # the integer ended; the character belongs to what follows
                    continue
                return None
            if tag == "A":
                node, count, phase, seen = top[1], top[2], top[3], top[4]
                if phase == 0:
                    return rest + (("A", node, 0, 1, ()),) if ch == "[" else None
                if phase == 1:
                    if ch == "]" and node.min == 0:
                        return rest
                    if node.max == 0:
                        return None
                    state = rest + (("A", node, 1, 2, seen), ("V", node.at(0)))
                    continue
                if ch == "," and count < node.max:
                    nxt = node.at(count)
                    if isinstance(nxt, _Choice) and nxt.unique:
                        if len(seen) >= len(nxt.options):
                            return None  # no distinct option left
                    return rest + (("A", node, count + 1, 2, seen), ("V", nxt))
                if ch == "]" and count >= node.min:
                    return rest
                return None
            if tag == "C":
                options, prefix, unique = top[1], top[2], top[3]
                p = prefix + ch
                matches = [o for o in options if o.startswith(p)]
                if matches:
                    if p in options and len(matches) == 1:
                        return _record(rest, p) if unique else rest
                    return rest + (("C", options, p, unique),)
                if prefix in options:
                    state = _record(rest, prefix) if unique else rest
                    continue
                return None
            raise TypeError(top)
        return None  # the value is complete: nothing may follow


# --- tokens (the machine over a vocabulary) --------------------------------------------


class TokenTrie(TokenVocab):
    """A vocabulary given as token strings (for tests and simple tokenizers)."""

    def __init__(self, token_strings: Sequence[str], exclude: set[int] | frozenset[int] = frozenset()):
        super().__init__(
            [
                None if (i in exclude or not s or "\ufffd" in s) else s.encode("utf-8")
                for i, s in enumerate(token_strings)
            ]
        )
        self.strings = list(token_strings)


def _constraint(machine: JsonMachine, vocab: TokenVocab) -> ByteConstraint:
    cache = vocab.__dict__.setdefault("_json_constraints", {})
    found = cache.get(id(machine))
    if found is None or found.machine is not machine:
        found = cache[id(machine)] = ByteConstraint(machine, vocab, [])
    return found


def token_ok(
    machine: JsonMachine, state: State, trie: TokenVocab, token_id: int, budget: int
) -> State | None:
    """The state after ``token_id`` if it keeps the value valid and finishable in ``budget - 1`` more tokens."""
    nxt = _constraint(machine, trie).token_ok((state, b"", False), token_id, budget)
    if nxt is None or nxt[1]:
        return None
    return nxt[0]


def allowed_tokens(machine: JsonMachine, state: State, trie: TokenVocab, budget: int) -> list[int]:
    """Every token that may come next from ``state`` with ``budget`` tokens left (this one included).

    For a vocabulary of whole characters (tokens that never split a character); a tokenizer's
    own vocabulary goes through :class:`~workbench.generate.constraint.ByteConstraint`.
    """
    return [t for t in range(len(trie.bytes)) if token_ok(machine, state, trie, t, budget) is not None]


def token_floor(min_remaining: int) -> int:
    """The fewest new tokens a constrained request is given: the machine's estimate of what a
    complete value needs (one byte per token) plus a margin. The estimate is a lower bound that
    ignores some rules (a unique value must differ from earlier ones, a format's shape), so the
    margin keeps a text that follows the slower way finishable within the budget.

    >>> token_floor(100)
    133
    """
    return min_remaining + min_remaining // 4 + 8


def min_tokens(schema: dict[str, Any]) -> int:
    """A token budget that always suffices to finish a value of ``schema`` (one byte per token)."""
    machine = JsonMachine(schema)
    return machine.min_remaining(machine.start())


# --- validation and extraction ---------------------------------------------------------


def _check(value: Any, schema: dict[str, Any], path: str) -> str | None:
    if "enum" in schema and value not in schema["enum"]:
        return f"{path} must be one of {schema['enum']!r}, got {value!r}"
    if "const" in schema and value != schema["const"]:
        return f"{path} must be {schema['const']!r}"
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if kind else []
    type_ok = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "null": lambda v: v is None,
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
    }
    if kinds and not any(type_ok.get(k, lambda v: True)(value) for k in kinds):
        return f"{path} must be of type {' or '.join(kinds)}, got {type(value).__name__}"
    if isinstance(value, str):
        fmt = schema.get("x-format")
        if fmt is not None and value and not _format_valid(value, schema):
            return f"{path} is not a {fmt}: {value[:60]!r}"
        if _norm(value) in {_norm(str(v)) for v in schema.get("x-forbid", ())}:
            return f"{path} may not be {value!r}"
        if len(value) < schema.get("minLength", 0):
            return f"{path} is shorter than {schema['minLength']} characters"
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return f"{path} is longer than {schema['maxLength']} characters"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return f"{path} is below the minimum {schema['minimum']}"
        if "maximum" in schema and value > schema["maximum"]:
            return f"{path} is above the maximum {schema['maximum']}"
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            return f"{path} has fewer than {schema['minItems']} items"
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            return f"{path} has more than {schema['maxItems']} items"
        heads = schema.get("prefixItems") or []
        for i, item in enumerate(value):
            sub = heads[i] if i < len(heads) else schema.get("items")
            if isinstance(sub, dict):
                problem = _check(item, sub, f"{path}[{i}]")
                if problem:
                    return problem
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                return f"{path} is missing the required field {key!r}"
        for key, sub in (schema.get("properties") or {}).items():
            if key in value:
                problem = _check(value[key], sub, f"{path}.{key}")
                if problem:
                    return problem
    return None


def _format_valid(value: str, schema: dict[str, Any]) -> bool:
    """Whether ``value`` has the shape its ``x-format`` asks for (the decoding rules, replayed)."""
    node = _string_node(schema, "$", None)
    content = ""
    for ch in value:
        if not _format_ok(node, content, ch):
            return False
        content += ch
    return _str_extra(node, content, ()) == 0 or node.fmt is None


def validate(value: Any, schema: dict[str, Any]) -> Any:
    """Return ``value`` if it matches ``schema``; raise :class:`InvalidOutput` saying where it does not."""
    problem = _check(value, schema, "$")
    if problem:
        raise InvalidOutput(f"the model's JSON does not match the schema: {problem}")
    return value


_TRAILING_COMMA = re.compile(r",\s*([\]}])")


def _candidates(text: str) -> list[Any]:
    decoder = json.JSONDecoder()
    found: list[Any] = []
    for variant in dict.fromkeys((text, _TRAILING_COMMA.sub(r"\1", text))):
        for m in re.finditer(r"[\[{]", variant):
            try:
                value, _ = decoder.raw_decode(variant, m.start())
            except json.JSONDecodeError:
                continue
            found.append(value)
    return found


def extract_json(text: str, schema: dict[str, Any] | None = None) -> Any:
    """The first JSON object or array in ``text`` (code fences, prose and trailing commas tolerated)
    that matches ``schema``; :class:`InvalidOutput` when there is none."""
    found = _candidates(text)
    if not found:
        snippet = text.strip()[:120]
        raise InvalidOutput(f"the model's answer contains no JSON object or array (it began: {snippet!r})")
    if schema is None:
        return found[0]
    first_problem = None
    for value in found:
        problem = _check(value, schema, "$")
        if problem is None:
            return value
        first_problem = first_problem or problem
    raise InvalidOutput(f"the model's JSON does not match the schema: {first_problem}")


def parse_and_validate(text: str, schema: dict[str, Any]) -> Any:
    """Parse ``text`` as exactly one JSON value and validate it (the constrained-decoding path)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidOutput(f"the model's output is not valid JSON: {exc}") from None
    return validate(value, schema)
