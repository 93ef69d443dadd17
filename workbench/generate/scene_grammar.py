"""The screenplay grammar: a scene's form, cast and turn-taking, enforced while the model writes.

A :class:`ScreenplaySpec` comes from a scene plan: the heading, the beats (action lines, the
first of which carries out the instruction), the characters present, and bounds. The
:class:`ScreenplayMachine` accepts exactly the scenes of that spec:

* the heading line, then the first beat as the opening action line;
* then blocks, each either a dialogue block (a CUE in capitals, as the cast spells the
  name, one of the characters present; an optional parenthetical; one dialogue line that
  ends on a sentence) or the next beat as an action line, in the plan's order;
* a conversation, not a monologue: nobody speaks two blocks running while someone else is
  present (three with a single speaker), at least two characters speak when two or more are
  present, and no line is said twice;
* the scene may end after a complete block once those hold; it always can end within the
  token budget (see :class:`~workbench.generate.constraint.ByteConstraint`).

The model writes the words (which speaker comes next is its choice among those allowed);
the machine guarantees the form. :func:`check_scene` checks a text against a spec (for
servers that cannot take the grammar), and :func:`to_gbnf` writes the grammar for servers
that can (llama.cpp GBNF; vLLM and SGLang read the same EBNF).

    >>> spec = ScreenplaySpec("INT. LIGHTHOUSE - NIGHT", ("Mara climbs the stairs.",), ("Mara Quell", "Tomas Reyes"))
    >>> text = ("INT. LIGHTHOUSE - NIGHT\\n\\nMara climbs the stairs.\\n\\nMARA QUELL\\nThe lamp is out."
    ...         "\\n\\nTOMAS REYES\\nThen we light it.\\n\\n")
    >>> check_scene(text, spec)
    []
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from . import prose
from .constraint import FreeText, char_class, with_scripts

__all__ = [
    "ScreenplayMachine",
    "ScreenplaySpec",
    "check_scene",
    "cue_of",
    "describe_plan",
    "normalise_line",
    "to_gbnf",
]

SENTENCE_END = ".!?\u2026"
CLOSERS = "\"'\u201d\u2019)"
PAREN_CHARS = set("abcdefghijklmnopqrstuvwxyz ,'-")
# bytes of room beyond the shortest line before a dialogue block the scene does not need may start,
# so that the line can end on its own sentence instead of being cut short by the length cap
OPTIONAL_SLACK = 24


def cue_of(name: str) -> str:
    """A character's cue: the name in capitals, as the cast spells it."""
    return " ".join(name.split()).upper()


def normalise_line(text: str) -> str:
    """A line compared with others: case, spacing and punctuation ignored."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


@dataclass(frozen=True)
class ScreenplaySpec:
    """What a scene must be: heading, beats (action lines in order), the characters present, bounds."""

    heading: str
    beats: tuple[str, ...]
    speakers: tuple[str, ...]
    min_speakers: int = 2
    max_blocks: int = 10
    line_min: int = 8
    line_max: int = 160
    paren_max: int = 24
    between_beats: int = 2  # dialogue blocks before the next beat may come
    names: tuple[str, ...] = ()  # capitalised words allowed mid-sentence (cast, places, lore keys)
    must_speak: tuple[str, ...] = ()  # speakers who speak at least once (whom the instruction is about)
    all_beats: bool = False  # every beat comes before the scene may end (a plan the writer gave)

    def __post_init__(self) -> None:
        object.__setattr__(self, "beats", tuple(self.beats))
        object.__setattr__(self, "speakers", tuple(self.speakers))
        object.__setattr__(self, "names", tuple(self.names))
        object.__setattr__(self, "must_speak", tuple(s for s in self.must_speak if s in self.speakers))

    @property
    def cues(self) -> tuple[str, ...]:
        return tuple(cue_of(s) for s in self.speakers)

    @property
    def needed_speakers(self) -> int:
        return min(self.min_speakers, len(self.speakers))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["beats"], d["speakers"], d["names"] = list(self.beats), list(self.speakers), list(self.names)
        d["must_speak"] = list(self.must_speak)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScreenplaySpec:
        return cls(
            **{
                **data,
                "beats": tuple(data["beats"]),
                "speakers": tuple(data["speakers"]),
                "names": tuple(data.get("names") or ()),
                "must_speak": tuple(data.get("must_speak") or ()),
            }
        )


def _blen(text: str) -> int:
    return len(text.encode("utf-8"))


def _closable(st: prose.State) -> bool:
    return prose.closable(st)


# State: (phase, data, counters)
#   phases: ("lit", text, i, then)  a literal; then "blk"
#           ("blk", prefix)         block start; prefix of a cue or beat option being written
#           ("par?",)               after a cue: a parenthetical or the line
#           ("paren", text)         inside a parenthetical
#           ("line", text)          a dialogue line
#   counters: (beat, since, last, run, spoken, lines, blocks)
#     beat   index of the next beat to place; since: dialogue blocks since the last beat;
#     last   index of the last speaker (-1 none); run: blocks running by that speaker;
#     spoken bitmask of speakers who spoke; lines: frozenset of normalised lines; blocks: count
Counters = tuple[int, int, int, int, int, frozenset[str], int]


class ScreenplayMachine:
    """Character-level recogniser of the scenes of a :class:`ScreenplaySpec` (see module docstring)."""

    def __init__(self, spec: ScreenplaySpec):
        if not spec.speakers:
            raise ValueError("a screenplay grammar needs at least one character present")
        if not spec.beats:
            raise ValueError("a screenplay grammar needs at least the opening beat")
        self.spec = spec
        self.cues = spec.cues
        self.beat_lines = tuple(" ".join(b.split()) for b in spec.beats)
        parts = {p for n in (*spec.speakers, *spec.names) for p in re.findall(r"[^\W\d_][\w'\u2019-]*", n)}
        self.names = frozenset(p for p in parts if p[:1].isupper())
        self.scripts = prose.scripts_of([*spec.speakers, *spec.names, *spec.beats])
        self._name_tokens: list[int] | None = None
        self._required = sum(1 << spec.speakers.index(n) for n in spec.must_speak)
        # a dialogue block the scene may still need: CUE \n line \n \n (the longest cue: any speaker
        # may be the one still missing)
        self._block = max(_blen(c) for c in self.cues) + 1 + spec.line_min + 4 + 2

    # ---- protocol
    def start(self) -> tuple[Any, ...]:
        opening = f"{self.spec.heading}\n\n{self.beat_lines[0]}\n\n"
        return (("lit", opening, 0, "blk"), (1, 0, -1, 0, 0, frozenset(), 0))

    def accepts(self, state: tuple[Any, ...]) -> bool:
        phase, c = state
        return phase[0] == "blk" and phase[1] == "" and self._requirements_met(c)

    def must_end(self, state: tuple[Any, ...]) -> bool:
        phase, c = state
        return phase[0] == "blk" and phase[1] == "" and not self._options(c) and self._requirements_met(c)

    def min_remaining(self, state: tuple[Any, ...]) -> int:
        phase, c = state
        tag = phase[0]
        if tag == "lit":
            return _blen(phase[1][phase[2] :]) + self._mandatory(c)
        if tag == "blk":
            prefix = phase[1]
            if not prefix:
                return self._mandatory(c)
            best = None
            for opt, kind, idx in self._options(c):
                if not opt.startswith(prefix):
                    continue
                rest = _blen(opt) - _blen(prefix)
                if kind == "cue":
                    after = self._after_block(c, idx)
                    cost = rest + self._line_rest(0, prose.START, c[5]) + 2 + self._mandatory(after)
                    if self._requirements_met(c):
                        cost += OPTIONAL_SLACK  # an optional line starts only with room to say it
                else:
                    cost = rest + self._mandatory(self._after_beat(c))
                best = cost if best is None else min(best, cost)
            return best if best is not None else 10**6
        speaker = c[2]
        after = self._after_block(c, speaker)
        if tag == "par?":
            return self._line_rest(0, prose.START, c[5]) + 2 + self._mandatory(after)
        if tag == "paren":
            start = self._line_rest(0, prose.START, c[5])
            return (0 if phase[1].strip() else 1) + 2 + start + 2 + self._mandatory(after)
        if tag == "line":
            text, lst = phase[1], phase[2]
            return self._line_rest(len(text), lst, c[5], text) + 2 + self._mandatory(after)
        raise TypeError(phase)

    def free_text(self, state: tuple[Any, ...]) -> FreeText | None:
        return None  # dialogue lines have their own token tables (:meth:`plain_tokens`)

    def plain_tokens(self, state: tuple[Any, ...], vocab: Any, budget: int) -> list[int] | None:
        """Inside a dialogue line: the plain tokens (no newline, whole characters) that may come
        next within ``budget``, from a table per line-automaton state (built once per vocabulary)."""
        phase, c = state
        if phase[0] not in ("line", "par?"):
            return None
        text, lst = (phase[1], phase[2]) if phase[0] == "line" else ("", prose.START)
        if lst[0] == "N":  # inside a name: every way on (more of it, or what may follow it) checked exactly
            return None
        n = len(text)
        after = self._mandatory(self._after_block(c, c[2]))
        out = []
        lines = c[5]
        for tok, k, end in _line_table(vocab, lst, self.scripts):
            if n + k > self.spec.line_max:
                break
            close = prose.to_close(end)
            if n + k + close > self.spec.line_max:
                continue
            pad = max(0, self.spec.line_min - n - k - close)
            base = close + (pad + 3 if pad else 0) + 1 + 2 + after
            if base > budget - 1:
                continue
            if base + 3 > budget - 1 and not pad and lines:
                # near the end of the budget: would closing here repeat an earlier line?
                if normalise_line(text + vocab.text[tok]) in lines:
                    continue
            out.append(tok)
        return out

    def name_tokens(self, vocab: Any) -> list[int]:
        """Tokens that may start or continue a capitalised name (checked one by one, never tabled)."""
        if self._name_tokens is None:
            stems = {n for n in (*self.names, *prose.SELF)}
            found = []
            for tok, text in enumerate(vocab.text):
                if not text or vocab.bytes[tok] is None:
                    continue
                t = text.lstrip(" ")
                if not t or not (t[0].isupper() or (t[0].isalpha() and not t[0].isupper())):
                    continue
                if any(n.startswith(t) or t.startswith(n) for n in stems) or any(
                    t[:1].islower() and n[1:].startswith(t[: len(n) - 1]) for n in stems
                ):
                    found.append(tok)
            self._name_tokens = found
        return self._name_tokens

    def next_chars(self, state: tuple[Any, ...]) -> frozenset[str] | str:
        """The characters that may come next (or their open class: see ``constraint.char_class``)."""
        phase, c = state
        tag = phase[0]
        if tag == "lit":
            return frozenset(phase[1][phase[2]])
        if tag == "blk":
            p = phase[1]
            return frozenset(o[len(p)] for o, _, _ in self._options(c) if o.startswith(p) and len(o) > len(p))
        if tag == "paren":
            return frozenset(PAREN_CHARS | {")"})
        lst = phase[2] if tag == "line" else prose.START
        if lst[0] in ("S", "P", "M") and not (lst[0] == "S" and lst[2]):
            return frozenset(prose.ENDS + prose.MID + prose.JOINERS + " \n")
        if lst[0] in ("S", "W") and lst[2]:
            cls = "upper"
        elif lst[0] == "W":
            cls = "alpha"
        elif lst[0] == "N":
            cls = "name"
        else:
            cls = "uncapped" if lst[0] == "A" else "word"
        return with_scripts(cls, self.scripts)

    in_class = staticmethod(char_class)

    def step(self, state: tuple[Any, ...], ch: str) -> tuple[Any, ...] | None:
        phase, c = state
        tag = phase[0]
        if tag == "lit":
            text, i, then = phase[1], phase[2], phase[3]
            if text[i] != ch:
                return None
            if i + 1 < len(text):
                return (("lit", text, i + 1, then), c)
            return (("blk", ""), c) if then == "blk" else (("line", "", prose.START), c)
        if tag == "blk":
            p = phase[1] + ch
            options = self._options(c)
            matches = [(o, kind, idx) for o, kind, idx in options if o.startswith(p)]
            if not matches:
                return None
            done = [(o, kind, idx) for o, kind, idx in matches if o == p]
            if done:
                _, kind, idx = done[0]
                if kind == "cue":
                    nc = (c[0], c[1], idx, c[3] + 1 if c[2] == idx else 1, c[4], c[5], c[6])
                    return (("par?",), nc)
                return (("blk", ""), self._after_beat(c))
            return (("blk", p), c)
        if tag == "par?":
            if ch == "(":
                return (("paren", ""), c)
            return self._line_char(("line", "", prose.START), c, ch)
        if tag == "paren":
            text = phase[1]
            if ch == ")":
                return (("lit", "\n", 0, "line"), c) if text.strip() else None
            if ch not in PAREN_CHARS or len(text) >= self.spec.paren_max or (not text and ch == " "):
                return None
            return (("paren", text + ch), c)
        if tag == "line":
            return self._line_char(phase, c, ch)
        raise TypeError(phase)

    # ---- helpers
    def _line_char(self, phase: tuple[Any, ...], c: Counters, ch: str) -> tuple[Any, ...] | None:
        text, lst = phase[1], phase[2]
        spec = self.spec
        if ch == "\n":
            if len(text) < spec.line_min or not _closable(lst):
                return None
            key = normalise_line(text)
            if not key or key in c[5]:
                return None  # a line said twice
            nc = self._after_block(c, c[2], key)
            return (("lit", "\n", 0, "blk"), nc)
        nxt = prose.step(lst, ch, self.names, self.scripts)
        if nxt is None:
            return None
        n = len(text) + 1
        if n + prose.to_close(nxt, self.names) > spec.line_max:
            return None  # keep room to end the sentence within the line's length
        return (("line", text + ch, nxt), c)

    def _line_rest(self, n: int, lst: prose.State, lines: frozenset[str] | None, text: str = "") -> int:
        """Fewest bytes that end a dialogue line of ``n`` characters in state ``lst`` (newline included).

        A path that always works: close the sentence, pad it to the minimum length with short
        sentences (" Ab." style), and add one more (" A.") if the line would repeat an earlier one.
        """
        close = prose.to_close(lst, self.names)
        pad = max(0, self.spec.line_min - n - close)
        if pad:
            pad += 3  # whole short sentences
        dup = 0
        if not pad and (lines is None or (lines and normalise_line(text) in lines)):
            dup = 3  # closing here would repeat an earlier line: one more short sentence
        return close + pad + dup + 1

    def _requirements_met(self, c: Counters) -> bool:
        spoken = bin(c[4]).count("1")
        return (
            c[6] >= 1
            and spoken >= self.spec.needed_speakers
            and self._required & ~c[4] == 0
            and (not self.spec.all_beats or c[0] >= len(self.beat_lines))
        )

    def _after_block(self, c: Counters, speaker: int, key: str | None = None) -> Counters:
        spoken = c[4] | (1 << speaker) if speaker >= 0 else c[4]
        lines = c[5] | {key} if key else c[5]
        return (c[0], c[1] + 1, speaker, c[3], spoken, lines, c[6] + 1)

    def _after_beat(self, c: Counters) -> Counters:
        return (c[0] + 1, 0, c[2], 0, c[4], c[5], c[6])

    def _allowed_speakers(self, c: Counters) -> list[int]:
        if c[6] >= self.spec.max_blocks:
            return []
        n = len(self.cues)
        last, run = c[2], c[3]
        # with only as many blocks left as speakers still owed, the next cue must be one of them
        owed = self._required & ~c[4]
        if not owed and bin(c[4]).count("1") < self.spec.needed_speakers:
            owed = ((1 << n) - 1) & ~c[4]
        short = self.spec.max_blocks - c[6] <= self._owed_blocks(c)
        out = []
        for i in range(n):
            if i == last and (n > 1 or run >= 2):
                continue
            if short and owed and not owed >> i & 1:
                continue
            out.append(i)
        return out

    def _options(self, c: Counters) -> list[tuple[str, str, int]]:
        """What may start the next block: (text, "cue" | "beat", index)."""
        opts = [(self.cues[i] + "\n", "cue", i) for i in self._allowed_speakers(c)]
        beat = c[0]
        if beat < len(self.beat_lines) and (c[1] >= self.spec.between_beats or c[6] >= self.spec.max_blocks):
            opts.append((self.beat_lines[beat] + "\n\n", "beat", beat))
        return opts

    def _owed_blocks(self, c: Counters) -> int:
        """Dialogue blocks still owed: speakers the scene needs, or who must speak, not yet heard."""
        spoken = bin(c[4]).count("1")
        return max(0, self.spec.needed_speakers - spoken, bin(self._required & ~c[4]).count("1"))

    def _mandatory(self, c: Counters) -> int:
        """Fewest bytes of whole blocks still needed before the scene may end (from a block start)."""
        blocks = max(self._owed_blocks(c), 1 - c[6])
        beats = 0
        if self.spec.all_beats and c[0] < len(self.beat_lines):
            rest = self.beat_lines[c[0] :]
            beats = sum(_blen(b) + 2 for b in rest)
            # blocks before each beat may come (none once the scene has had its most blocks)
            room = max(0, self.spec.max_blocks - c[6])
            between = max(0, self.spec.between_beats - c[1]) + self.spec.between_beats * (len(rest) - 1)
            blocks = max(blocks, min(between, room))
        return blocks * self._block + beats


def check_scene(text: str, spec: ScreenplaySpec, exact: bool = True) -> list[str]:
    """What is wrong with ``text`` as a scene of ``spec`` (empty when it is one).

    ``exact=False`` (a model that was asked, not forced): any scene heading will do, and the
    opening beat may be told in the model's own words.
    """
    from ..story.screenplay import HEADING_RE, parse_scene

    problems: list[str] = []
    lines = [ln.rstrip() for ln in text.strip().split("\n")]
    first = lines[0].strip() if lines else ""
    if exact and first != spec.heading:
        problems.append(f"the scene does not open with the heading {spec.heading!r}")
    if not exact and not HEADING_RE.match(first):
        problems.append("the scene does not open with a scene heading (INT. or EXT. PLACE - TIME)")
    if exact and " ".join(spec.beats[0].split()) not in " ".join(text.split()):
        problems.append("the opening action line is missing")
    parsed = parse_scene(text, list(spec.speakers))
    cues = {cue_of(s): s for s in spec.speakers}
    speakers: list[str] = []
    turns: list[str | None] = []  # who speaks each block; None: an action line between them
    said: set[str] = set()
    for el in parsed.elements:
        if el.kind == "action":
            turns.append(None)
        if el.kind == "character":
            cue = " ".join(el.text.replace("(CONT'D)", "").split()).upper()
            if cue not in cues:
                problems.append(f"{el.text!r} speaks but is not one of the characters present")
            speakers.append(cue)
            turns.append(cue)
        elif el.kind == "dialogue":
            key = normalise_line(el.text)
            if key in said:
                problems.append(f"the line {el.text!r} is said twice")
            said.add(key)
    if not speakers:
        problems.append("nobody speaks")
    distinct = len(set(speakers))
    if distinct < spec.needed_speakers:
        problems.append(f"only {distinct} character(s) speak; {spec.needed_speakers} should")
    for name in spec.must_speak:
        if cue_of(name) not in speakers:
            problems.append(f"{cue_of(name)} does not speak, and the scene is about them")
    limit = 2 if len(spec.speakers) == 1 else 1
    run = 1
    for a, b in zip(turns, turns[1:], strict=False):
        if b is None:
            continue
        run = run + 1 if a == b else 1
        if run > limit:
            problems.append(f"{b} speaks {run} blocks running")
            break
    return problems


def describe_plan(spec: ScreenplaySpec) -> str:
    """The spec in words, for a model that cannot be held to the grammar."""
    beats = " ".join(spec.beats)
    return (
        f"Start with the heading {spec.heading}. What happens: {beats} "
        f"Only {', '.join(spec.speakers)} speak, taking turns; each name in capitals on its own line, "
        "their line below it."
    )


def _gbnf_literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_gbnf(spec: ScreenplaySpec) -> str:
    """The spec as a GBNF grammar (llama.cpp; vLLM and SGLang read the same EBNF). Turn-taking and
    "no line twice" cannot be written in a context-free grammar: :func:`check_scene` checks them."""
    cues = " | ".join(_gbnf_literal(c) for c in spec.cues)
    beats = [" ".join(b.split()) for b in spec.beats]
    later = " | ".join(_gbnf_literal(b + "\n\n") for b in beats[1:])
    rules = [
        f"root ::= {_gbnf_literal(spec.heading + chr(10) + chr(10) + beats[0] + chr(10) + chr(10))} block+",
        "block ::= dialogue" + (" | beat" if later else ""),
        'dialogue ::= cue "\\n" paren? line "\\n\\n"',
        f"cue ::= {cues}",
        f'paren ::= "(" [a-z ,\'-]{{1,{spec.paren_max}}} ")\\n"',
        f"line ::= [^\\n(] [^\\n]{{{max(0, spec.line_min - 2)},{spec.line_max - 2}}} [.!?]",
    ]
    if later:
        rules.append(f"beat ::= {later}")
    return "\n".join(rules) + "\n"


_LINE_TABLES: dict[tuple[int, prose.State, frozenset[str]], list[tuple[int, int, prose.State]]] = {}


def _line_table(
    vocab: Any, start: prose.State, scripts: frozenset[str] = prose.LATIN
) -> list[tuple[int, int, prose.State]]:
    """Every plain token that may follow line state ``start``, with its length and end state, shortest first."""
    key = (id(vocab), start, scripts)
    table = _LINE_TABLES.get(key)
    if table is None:
        table = []
        for tok, text in enumerate(vocab.text):
            if not text or vocab.bytes[tok] is None or "\n" in text:
                continue
            st: prose.State | None = start
            for ch in text:
                st = prose.step(st, ch, None, scripts)  # type: ignore[arg-type]
                if st is None:
                    break
            if st is not None:
                table.append((tok, len(text), st))
        table.sort(key=lambda t: t[1])
        _LINE_TABLES[key] = table
    return table
