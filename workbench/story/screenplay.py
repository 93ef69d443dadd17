"""The scene-text parser: a tolerant Fountain subset.

A take's text is screenplay text (https://fountain.io): scene headings, action,
CHARACTER cues, (parentheticals), dialogue, dual dialogue (``^``) and
transitions. This one parser serves the screenplay report, Fountain export,
table reads (who speaks each line), storyboard shots and continuity.

It never raises on odd input. Prose without cues still parses: each paragraph
becomes action, and quoted speech is attributed to the nearest cast name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["Element", "Line", "ParsedScene", "parse_scene", "normalise_cue", "match_cast_name"]

HEADING_RE = re.compile(r"^(?:INT\./EXT|INT/EXT|I/E|INT|EXT|EST)[\.\s]", re.IGNORECASE)
# a cue: upper-case letters (any script), digits, spaces and a few marks; at least one letter
CUE_RE = re.compile(r"^(?=.*[^\W\d_])[^\W_a-z][^a-z]*$")
CUE_EXTENSION_RE = re.compile(r"\s*\((?:[^)]*)\)\s*$")
TRANSITION_RE = re.compile(r"^[A-Z\s\.\-']+TO:$")
BONEYARD_RE = re.compile(r"/\*.*?\*/", re.DOTALL)
NOTE_RE = re.compile(r"\[\[.*?\]\]", re.DOTALL)
QUOTE_RE = re.compile(r"[\"“]([^\"”]+)[\"”]")

KINDS = ("heading", "action", "character", "parenthetical", "dialogue", "transition")


@dataclass(frozen=True)
class Element:
    """One screenplay element, in reading order."""

    kind: str  # one of KINDS
    text: str
    character: str | None = None  # the speaker, for character/parenthetical/dialogue
    dual: bool = False
    line: int = 0  # 1-based line number in the source text


@dataclass(frozen=True)
class Line:
    """One spoken line: who says it, what, and how."""

    character: str | None
    text: str
    parenthetical: str | None = None
    dual: bool = False


@dataclass
class ParsedScene:
    """A parsed take: its elements in reading order, and what a report or a table read needs from them."""

    elements: list[Element] = field(default_factory=list)
    screenplay: bool = False  # True when the text had cues or headings (not the prose fallback)
    prose_lines: list[Line] = field(default_factory=list)

    @property
    def heading(self) -> str | None:
        """The first scene heading, or None."""
        for el in self.elements:
            if el.kind == "heading":
                return el.text
        return None

    @property
    def location(self) -> str | None:
        """The place named by the first scene heading (``INT. KITCHEN - NIGHT`` -> ``KITCHEN``)."""
        h = self.heading
        if not h:
            return None
        rest = HEADING_RE.sub("", h, count=1).strip(" .")
        return rest.split(" - ")[0].strip() or None

    @property
    def time_of_day(self) -> str | None:
        """The time named by the first scene heading (``INT. KITCHEN - NIGHT`` -> ``NIGHT``)."""
        h = self.heading
        if h and " - " in h:
            return h.rsplit(" - ", 1)[1].strip() or None
        return None

    @property
    def lines(self) -> list[Line]:
        """The spoken lines in order (from cues, or from quotes in prose)."""
        if not self.screenplay:
            return list(self.prose_lines)
        out: list[Line] = []
        paren: str | None = None
        for el in self.elements:
            if el.kind == "character":
                paren = None
            elif el.kind == "parenthetical":
                paren = el.text
            elif el.kind == "dialogue":
                out.append(Line(el.character, el.text, paren, el.dual))
                paren = None
        return out

    @property
    def speakers(self) -> list[str]:
        """Who speaks, in order of their first line, each once."""
        seen: dict[str, None] = {}
        for line in self.lines:
            if line.character:
                seen.setdefault(line.character, None)
        return list(seen)

    @property
    def action(self) -> list[str]:
        """The action paragraphs, in order."""
        return [el.text for el in self.elements if el.kind == "action"]


def normalise_cue(cue: str) -> str:
    """``MARA (V.O.)^`` -> ``MARA``; strips the forcing ``@`` and extensions."""
    cue = cue.strip()
    if cue.startswith("@"):
        cue = cue[1:]
    if cue.endswith("^"):
        cue = cue[:-1].rstrip()
    while True:
        new = CUE_EXTENSION_RE.sub("", cue)
        if new == cue:
            break
        cue = new
    return cue.strip()


def match_cast_name(name: str, cast: Iterable[str]) -> str | None:
    """The cast name a cue or mention refers to: full name, then first or last name, case-insensitive."""
    key = name.strip().casefold()
    if not key:
        return None
    names = list(cast)
    for full in names:
        if full.casefold() == key:
            return full
    for full in names:
        parts = full.casefold().split()
        if key in parts:
            return full
    return None


def _is_cue(line: str, next_line: str | None) -> bool:
    s = line.strip()
    if not s or next_line is None or not next_line.strip():
        return False
    if s.startswith("@"):
        return True
    if s.startswith(("!", ".", ">")) or HEADING_RE.match(s):
        return False
    bare = normalise_cue(s)
    if not bare or len(bare) > 40 or bare.endswith(":") and TRANSITION_RE.match(bare):
        return False
    return bool(CUE_RE.match(bare)) and not TRANSITION_RE.match(s)


def parse_scene(text: str, cast: Iterable[str] = ()) -> ParsedScene:
    r"""Parse a take's text. ``cast`` (character names) maps cues and prose mentions to names.

    Never raises: screenplay text gives headings, cues and dialogue; prose gives action
    paragraphs, with quoted speech attributed to the nearest cast name.

    >>> scene = parse_scene(
    ...     "INT. LIGHTHOUSE - NIGHT\n\nMara climbs the stairs.\n\nMARA\n(quietly)\nThe lamp is out.\n",
    ...     cast=["Mara Quell"],
    ... )
    >>> scene.location, scene.time_of_day
    ('LIGHTHOUSE', 'NIGHT')
    >>> scene.lines[0].character, scene.lines[0].text, scene.lines[0].parenthetical
    ('Mara Quell', 'The lamp is out.', '(quietly)')
    >>> parse_scene('Mara said "Hold the light."', cast=["Mara Quell"]).lines[0].character
    'Mara Quell'
    """
    cast_names = [c for c in cast if c]
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    text = BONEYARD_RE.sub("", text)
    text = NOTE_RE.sub("", text)
    raw = text.split("\n")
    elements: list[Element] = []
    i = 0
    n = len(raw)
    prev_blank = True
    screenplay = False
    action_buf: list[str] = []
    action_start = 0

    def flush_action() -> None:
        nonlocal action_buf
        if action_buf:
            body = "\n".join(action_buf).strip()
            if body:
                elements.append(Element("action", body, line=action_start))
            action_buf = []

    while i < n:
        line = raw[i]
        s = line.strip()
        nxt = raw[i + 1] if i + 1 < n else None
        if not s:
            flush_action()
            prev_blank = True
            i += 1
            continue
        # scene heading
        if prev_blank and (HEADING_RE.match(s) or (s.startswith(".") and not s.startswith(".."))):
            flush_action()
            heading = s[1:].strip() if s.startswith(".") and not HEADING_RE.match(s) else s
            heading = re.sub(r"\s*#[^#]*#\s*$", "", heading)  # scene numbers
            elements.append(Element("heading", heading.upper(), line=i + 1))
            screenplay = True
            prev_blank = False
            i += 1
            continue
        # transition
        if s.startswith(">") and not s.endswith("<"):
            flush_action()
            elements.append(Element("transition", s[1:].strip().upper(), line=i + 1))
            screenplay = True
            prev_blank = False
            i += 1
            continue
        if prev_blank and TRANSITION_RE.match(s) and (nxt is None or not nxt.strip()):
            flush_action()
            elements.append(Element("transition", s, line=i + 1))
            screenplay = True
            prev_blank = False
            i += 1
            continue
        # character cue + dialogue block
        if prev_blank and _is_cue(s, nxt):
            flush_action()
            dual = s.endswith("^")
            bare = normalise_cue(s)
            who = match_cast_name(bare, cast_names) or bare.title()
            if dual:
                # the previous dialogue block becomes dual too
                for k in range(len(elements) - 1, -1, -1):
                    if elements[k].kind not in ("character", "parenthetical", "dialogue"):
                        break
                    e = elements[k]
                    elements[k] = Element(e.kind, e.text, e.character, True, e.line)
                    if e.kind == "character":
                        break
            elements.append(Element("character", bare, who, dual, i + 1))
            screenplay = True
            i += 1
            dialogue_buf: list[str] = []
            dstart = i + 1

            def flush_dialogue() -> None:
                nonlocal dialogue_buf
                if dialogue_buf:
                    elements.append(Element("dialogue", " ".join(dialogue_buf).strip(), who, dual, dstart))  # noqa: B023
                    dialogue_buf = []

            while i < n and raw[i].strip():
                d = raw[i].strip()
                if d.startswith("(") and d.endswith(")"):
                    flush_dialogue()
                    elements.append(Element("parenthetical", d, who, dual, i + 1))
                else:
                    if not dialogue_buf:
                        dstart = i + 1
                    dialogue_buf.append(d)
                i += 1
            flush_dialogue()
            prev_blank = False
            continue
        # action (forced with '!'; centered text >...< is action too)
        if not action_buf:
            action_start = i + 1
        if s.startswith("!"):
            s = s[1:]
        elif s.startswith(">") and s.endswith("<"):
            s = s[1:-1].strip()
        action_buf.append(s)
        prev_blank = False
        i += 1
    flush_action()

    parsed = ParsedScene(elements=elements, screenplay=screenplay)
    if not screenplay:
        parsed.prose_lines = _prose_lines(elements, cast_names)
    return parsed


def _prose_lines(elements: list[Element], cast: list[str]) -> list[Line]:
    """Quoted speech in prose, attributed to the nearest cast name in the same paragraph."""
    out: list[Line] = []
    name_re = None
    if cast:
        tokens = sorted({t for c in cast for t in [c, *c.split()] if len(t) > 1}, key=len, reverse=True)
        name_re = re.compile(r"\b(" + "|".join(re.escape(t) for t in tokens) + r")\b", re.IGNORECASE)
    last_speaker: str | None = None
    for el in elements:
        if el.kind != "action":
            continue
        para = el.text
        for m in QUOTE_RE.finditer(para):
            speech = " ".join(m.group(1).split())
            if not speech:
                continue
            who = None
            if name_re is not None:
                before = [x for x in name_re.finditer(para, 0, m.start())]
                after = name_re.search(para, m.end())
                cand = []
                if before:
                    b = before[-1]
                    cand.append((m.start() - b.end(), b.group(1)))
                if after:
                    cand.append((after.start() - m.end(), after.group(1)))
                if cand:
                    cand.sort()
                    who = match_cast_name(cand[0][1], cast)
            if who is None:
                who = last_speaker
            last_speaker = who or last_speaker
            out.append(Line(who, speech))
    return out
