"""Structured output: a JSON-schema constraint for token-by-token decoding, validation, extraction.

The constraint covers the subset of JSON Schema the workbench asks models for: objects
with properties (all emitted, in declared order), strings (``minLength``/``maxLength``,
``enum``), non-negative integers (``minimum``/``maximum``), booleans, null and arrays
(``minItems``/``maxItems``). Output is compact JSON (no free whitespace) and every length
is bounded, so a small or random model cannot loop forever. :class:`JsonMachine` is a
character-level pushdown automaton over that subset; :func:`allowed_tokens` turns it
into the set of vocabulary tokens that keep the text valid *and* leave room to finish
within the token budget.

:func:`extract_json` is the tolerant path for servers without guided decoding: it finds
the first JSON value in free text that matches the schema. :func:`validate` checks a
value and raises :class:`~workbench.errors.InvalidOutput` with a clear message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInput, InvalidOutput

DEFAULT_MAX_LENGTH = 300  # characters of a string without maxLength
DEFAULT_MAX_ITEMS = 8  # items of an array without maxItems
DEFAULT_MAX_INTEGER = 999_999

# --- schema -> nodes ------------------------------------------------------------------


@dataclass(frozen=True)
class _Str:
    min: int
    max: int


@dataclass(frozen=True)
class _Int:
    min: int
    max: int


@dataclass(frozen=True)
class _Choice:
    options: tuple[str, ...]


@dataclass(frozen=True)
class _Arr:
    item: Any
    min: int
    max: int


@dataclass(frozen=True)
class _Obj:
    # literal text before each value, then the closing literal
    parts: tuple[tuple[str, Any], ...]
    close: str = "}"


def _compile(schema: dict[str, Any], path: str = "$") -> Any:
    if not isinstance(schema, dict):
        raise InvalidInput(f"JSON schema at {path} must be an object, not {type(schema).__name__}")
    if "enum" in schema:
        options = tuple(json.dumps(v, ensure_ascii=False) for v in schema["enum"])
        if not options:
            raise InvalidInput(f"JSON schema at {path}: enum is empty")
        return _Choice(options)
    if "const" in schema:
        return _Choice((json.dumps(schema["const"], ensure_ascii=False),))
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    if kind == "string":
        lo = int(schema.get("minLength", 0))
        hi = int(schema.get("maxLength", max(lo, DEFAULT_MAX_LENGTH)))
        if hi < lo:
            raise InvalidInput(f"JSON schema at {path}: maxLength < minLength")
        return _Str(lo, hi)
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
        item = _compile(schema.get("items", {"type": "string"}), path + "[]")
        lo = int(schema.get("minItems", 0))
        hi = int(schema.get("maxItems", max(lo, DEFAULT_MAX_ITEMS)))
        if hi < lo:
            raise InvalidInput(f"JSON schema at {path}: maxItems < minItems")
        return _Arr(item, lo, hi)
    if kind == "object":
        props = schema.get("properties") or {}
        if not props:
            return _Choice(("{}",))
        parts = []
        for i, (key, sub) in enumerate(props.items()):
            lead = ("{" if i == 0 else ",") + json.dumps(key, ensure_ascii=False) + ":"
            parts.append((lead, _compile(sub, f"{path}.{key}")))
        return _Obj(tuple(parts))
    raise InvalidInput(f"JSON schema at {path}: type {kind!r} is not supported for constrained decoding")


def _min_len(node: Any) -> int:
    if isinstance(node, _Str):
        return node.min + 2
    if isinstance(node, _Int):
        return len(str(node.min))
    if isinstance(node, _Choice):
        return min(len(o) for o in node.options)
    if isinstance(node, _Arr):
        return 2 + node.min * _min_len(node.item) + max(0, node.min - 1)
    if isinstance(node, _Obj):
        return sum(len(lead) + _min_len(v) for lead, v in node.parts) + len(node.close)
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


# --- the automaton ---------------------------------------------------------------------

# A state is a tuple of frames, the top last. Frames:
#   ("V", node)                 a value not started yet
#   ("L", text, i)              the literal text[i:] still to emit
#   ("S", node, n, started)     a string: opening quote seen?, n characters so far
#   ("I", node, digits)         an integer
#   ("A", node, count, phase)   an array: phase 0 wants "[", 1 just after "[", 2 after an item
#   ("C", options, prefix)      one of several literals
State = tuple[tuple[Any, ...], ...]


def _expand(node: Any) -> tuple[tuple[Any, ...], ...]:
    if isinstance(node, _Str):
        return (("S", node, 0, False),)
    if isinstance(node, _Int):
        return (("I", node, ""),)
    if isinstance(node, _Choice):
        return (("C", node.options, ""),)
    if isinstance(node, _Arr):
        return (("A", node, 0, 0),)
    frames: list[tuple[Any, ...]] = [("L", node.close, 0)]
    for lead, value in reversed(node.parts):
        frames.append(("V", value))
        frames.append(("L", lead, 0))
    return tuple(frames)


def _frame_min(f: tuple[Any, ...]) -> int:
    tag = f[0]
    if tag == "V":
        return _min_len(f[1])
    if tag == "L":
        return len(f[1]) - f[2]
    if tag == "S":
        node, n, started = f[1], f[2], f[3]
        return (0 if started else 1) + max(0, node.min - n) + 1
    if tag == "I":
        return _int_more(f[2], f[1])
    if tag == "A":
        node, count, phase = f[1], f[2], f[3]
        if phase == 0:
            return _min_len(node)
        if phase == 1:
            return 1 if node.min == 0 else node.min * _min_len(node.item) + node.min
        return max(0, node.min - count) * (1 + _min_len(node.item)) + 1
    if tag == "C":
        return min(len(o) - len(f[2]) for o in f[1] if o.startswith(f[2]))
    raise TypeError(f)


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

    @staticmethod
    def min_remaining(state: State) -> int:
        """Fewest characters that complete the value from ``state``."""
        return sum(_frame_min(f) for f in state)

    def advance(self, state: State | None, text: str) -> State | None:
        """The state after ``text``, or None if ``text`` cannot continue a valid value."""
        for ch in text:
            if state is None:
                return None
            state = self._step(state, ch)
        return state

    @staticmethod
    def _step(state: State, ch: str) -> State | None:
        while state:
            top, rest = state[-1], state[:-1]
            tag = top[0]
            if tag == "V":
                state = rest + _expand(top[1])
                continue
            if tag == "L":
                text, i = top[1], top[2]
                if text[i] != ch:
                    return None
                return rest + (("L", text, i + 1),) if i + 1 < len(text) else rest
            if tag == "S":
                node, n, started = top[1], top[2], top[3]
                if not started:
                    return rest + (("S", node, 0, True),) if ch == '"' else None
                if ch == '"':
                    return rest if n >= node.min else None
                if ch == "\\" or ord(ch) < 0x20 or n >= node.max:
                    return None
                return rest + (("S", node, n + 1, True),)
            if tag == "I":
                node, digits = top[1], top[2]
                if "0" <= ch <= "9" and _int_viable(digits + ch, node):
                    return rest + (("I", node, digits + ch),)
                if digits and node.min <= int(digits) <= node.max:
                    state = rest  # the integer ended; the character belongs to what follows
                    continue
                return None
            if tag == "A":
                node, count, phase = top[1], top[2], top[3]
                if phase == 0:
                    return rest + (("A", node, 0, 1),) if ch == "[" else None
                if phase == 1:
                    if ch == "]" and node.min == 0:
                        return rest
                    if node.max == 0:
                        return None
                    state = rest + (("A", node, 1, 2), ("V", node.item))
                    continue
                if ch == "," and count < node.max:
                    return rest + (("A", node, count + 1, 2), ("V", node.item))
                if ch == "]" and count >= node.min:
                    return rest
                return None
            if tag == "C":
                options, prefix = top[1], top[2]
                p = prefix + ch
                matches = [o for o in options if o.startswith(p)]
                if matches:
                    if p in options and len(matches) == 1:
                        return rest
                    return rest + (("C", options, p),)
                if prefix in options:
                    state = rest
                    continue
                return None
            raise TypeError(top)
        return None  # the value is complete: nothing may follow


# --- tokens ---------------------------------------------------------------------------


@dataclass
class _TrieNode:
    children: dict[str, _TrieNode] = field(default_factory=dict)
    ids: list[int] = field(default_factory=list)


class TokenTrie:
    """The vocabulary's token strings in a character trie (special and partial-UTF-8 tokens left out)."""

    def __init__(self, token_strings: Sequence[str], exclude: set[int] | frozenset[int] = frozenset()):
        self.strings = list(token_strings)
        self.root = _TrieNode()
        for i, s in enumerate(self.strings):
            if not s or i in exclude or "\ufffd" in s:
                continue
            node = self.root
            for ch in s:
                node = node.children.setdefault(ch, _TrieNode())
            node.ids.append(i)
        self.usable = [bool(s) and i not in exclude and "\ufffd" not in s for i, s in enumerate(self.strings)]
        # for string states: plain-content tokens by length, and tokens that close a string part-way
        self.content_by_len: dict[int, list[int]] = {}
        self.quote_ids: list[int] = []
        for i, s in enumerate(self.strings):
            if not self.usable[i]:
                continue
            head = s.split('"', 1)[0]
            if "\\" in head or any(ord(c) < 0x20 for c in head):
                continue
            if len(head) == len(s):
                self.content_by_len.setdefault(len(s), []).append(i)
            else:
                self.quote_ids.append(i)


def token_ok(machine: JsonMachine, state: State, trie: TokenTrie, token_id: int, budget: int) -> State | None:
    """The state after ``token_id`` if it keeps the value valid and finishable in ``budget - 1`` more tokens."""
    if token_id >= len(trie.usable) or not trie.usable[token_id]:
        return None
    nxt = machine.advance(state, trie.strings[token_id])
    if nxt is None or machine.min_remaining(nxt) > budget - 1:
        return None
    return nxt


def allowed_tokens(machine: JsonMachine, state: State, trie: TokenTrie, budget: int) -> list[int]:
    """Every token that may come next from ``state`` with ``budget`` tokens left (this one included)."""
    while state and state[-1][0] == "V":
        state = state[:-1] + _expand(state[-1][1])
    if state and state[-1][0] == "S" and state[-1][3]:
        return _string_tokens(machine, state, trie, budget)
    out: list[int] = []
    stack: list[tuple[_TrieNode, State]] = [(trie.root, state)]
    step = machine._step
    while stack:
        node, st = stack.pop()
        for ch, child in node.children.items():
            nxt = step(st, ch)
            if nxt is None:
                continue
            if child.ids and machine.min_remaining(nxt) <= budget - 1:
                out.extend(child.ids)
            if child.children:
                stack.append((child, nxt))
    return out


def _string_tokens(machine: JsonMachine, state: State, trie: TokenTrie, budget: int) -> list[int]:
    """``allowed_tokens`` inside a string, without walking the whole vocabulary."""
    _, node, n, _ = state[-1]
    other = machine.min_remaining(state[:-1])
    out: list[int] = []
    for length, ids in trie.content_by_len.items():
        # the string's own remainder: max(0, min - n - length) characters, then the closing quote
        if n + length <= node.max and other + 1 + max(0, node.min - n - length) <= budget - 1:
            out.extend(ids)
    for i in trie.quote_ids:
        if token_ok(machine, state, trie, i, budget) is not None:
            out.append(i)
    return out


def min_tokens(schema: dict[str, Any]) -> int:
    """A token budget that always suffices to finish a value of ``schema`` (one character per token)."""
    return JsonMachine(schema).min_remaining((("V", _compile(schema)),))


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
        if isinstance(schema.get("items"), dict):
            for i, item in enumerate(value):
                problem = _check(item, schema["items"], f"{path}[{i}]")
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
