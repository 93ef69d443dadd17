"""Scene plans: what a scene will be, decided before a word of it is written.

A small model does not follow a long prompt's instructions about format and cast, so a
scene is built top-down (Dramatron's lesson): first a **plan** under a JSON schema — who is
there (an enum of the living cast), where and when (the heading), and the beats, the first
of which carries out the instruction (the reader's move, the choice label or the outline
summary) — then the screenplay under a grammar that walks through the plan
(:mod:`.scene_grammar`). The model proposes; rules and the writer decide: the plan is checked
and repaired by rules here, stored with the take's provenance, and a writer can edit it
and write the scene again from it.

    >>> beat_from_instruction("Go down to the harbour", "Mara Quell", ["Mara Quell", "Tomas Reyes"])
    'Mara goes down to the harbour.'
    >>> beat_from_instruction("Tomas hands Mara the key", "Mara Quell", ["Mara Quell", "Tomas Reyes"])
    'Tomas hands Mara the key.'
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInput
from .names import language_of
from .scene_grammar import SENTENCE_END, ScreenplaySpec

__all__ = [
    "SETTINGS",
    "TIMES",
    "ScenePlan",
    "beat_from_instruction",
    "plan_preview",
    "plan_schema",
    "sentence",
    "third_person",
]

SETTINGS = ("INT.", "EXT.")
TIMES = ("DAY", "NIGHT", "MORNING", "EVENING", "DAWN", "DUSK")
BEAT_MIN, BEAT_MAX = 12, 90

# words that start a sentence with its own subject (not an order to the reader's character)
_SUBJECT_WORDS = {
    "a", "an", "the", "her", "his", "their", "its", "our", "my", "your", "this", "that", "these",
    "those", "it", "she", "he", "they", "someone", "somebody", "everyone", "everybody", "nobody",
    "no", "nothing", "something", "suddenly", "then", "meanwhile", "later", "now", "when", "while",
    "as", "after", "before", "outside", "inside", "there", "here", "all", "both", "one", "two",
    "three", "each", "every", "at", "in", "on", "under", "behind", "with", "without", "from",
}  # fmt: skip
_IRREGULAR = {"be": "is", "have": "has", "do": "does", "go": "goes", "are": "is", "am": "is"}
_FIRST_PERSON = {"i": None, "we": None, "you": None}


def sentence(text: str) -> str:
    """``text`` as one clean sentence: single spaces, a capital first, a full stop at the end."""
    text = " ".join(str(text).split()).strip(" \"'")
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    if text[-1] not in SENTENCE_END:
        text = text.rstrip(",;:-") + "."
    return text


def third_person(verb: str) -> str:
    """``verb`` as said of one person ("go" -> "goes", "carry" -> "carries", "are" -> "is")."""
    low = verb.lower()
    if low in _IRREGULAR:
        return _IRREGULAR[low]
    if re.search(r"(s|sh|ch|x|z|o)$", low):
        return verb + "es"
    if re.search(r"[^aeiou]y$", low):
        return verb[:-1] + "ies"
    return verb + "s"


def beat_from_instruction(instruction: str, protagonist: str | None, cast: Sequence[str]) -> str:
    """The instruction (a move, a choice label, a summary) as the scene's opening action line.

    A sentence with its own subject stays as written; an order to the reader's character
    ("Go down to the harbour", "I open the door") is told in the third person about
    ``protagonist`` ("Mara goes down to the harbour.").
    """
    text = " ".join(str(instruction).split()).strip(" .")
    if not text:
        return ""
    words = text.split(" ")
    first = words[0]
    low = first.casefold().strip(",")
    name_parts = {p.casefold() for n in cast for p in n.split()}
    who = (protagonist or "").split(" ")[0]
    if low in _FIRST_PERSON and who and len(words) > 1:
        verb = words[1]
        rest = words[2:]
        if verb.casefold() in ("am", "are"):
            return sentence(" ".join([who, "is", *rest]))
        return sentence(" ".join([who, third_person(verb), *rest]))
    if low in name_parts or low in _SUBJECT_WORDS or not first.isalpha() or not who:
        return sentence(text)
    # an order: "Go down to the harbour" -> "Mara goes down to the harbour."
    return sentence(" ".join([who, third_person(first.lower()), *words[1:]]))


def plan_schema(alive: Sequence[str], first_beat: str | None, names: Sequence[str] = ()) -> dict[str, Any]:
    """The JSON schema of a scene plan over the living cast ``alive``.

    A given first beat is not asked for (the prompt says it, :meth:`ScenePlan.from_model` puts
    it first): the model spends no steps copying it. Beats are plain prose in which the only capitalised words mid-sentence are ``names`` (the
    cast, places and lore keywords): a beat cannot bring in somebody the story does not have.
    """
    if not alive:
        raise InvalidInput(
            "nobody in the cast is alive to be in this scene: add a character, or correct continuity"
        )
    k = len(alive)
    beat: dict[str, Any] = {
        "type": "string",
        "minLength": BEAT_MIN,
        "maxLength": BEAT_MAX,
        "x-format": "prose",
        "x-names": sorted({*alive, *names}),
    }
    props: dict[str, Any] = {
        "characters": {
            "type": "array",
            "items": {"enum": list(alive)},
            "minItems": min(2, k),
            "maxItems": min(3, k),
            "x-unique": True,
        },
        "setting": {"enum": list(SETTINGS)},
        "location": {"type": "string", "minLength": 3, "maxLength": 28, "x-format": "place"},
        "time": {"enum": list(TIMES)},
        "first": beat,
        "then": {"type": "array", "items": beat, "minItems": 1, "maxItems": 1},
    }
    if first_beat:
        del props["first"]
    return {"type": "object", "properties": props, "required": list(props)}


_PLAN_FIELD = re.compile(
    r'"(characters|setting|location|time|first|then)"\s*:\s*(\[[^\]]*\]?|"(?:[^"\\]|\\.)*"?)'
)
_PLAN_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"?')


def plan_preview(partial: str) -> str:
    """A line a writer can read from a scene plan still being written (its JSON cut anywhere):
    where and when, who is there, what happens.

    >>> plan_preview('{"characters": ["Mara Quell", "Tomas Re')
    'Mara Quell, Tomas Re'
    >>> plan_preview('{"characters": ["Mara"], "setting": "EXT.", "location": "the quay", "time": "DAWN", "then": ["She wai')
    'EXT. THE QUAY - DAWN · Mara · She wai'
    """
    found: dict[str, list[str]] = {}
    for key, raw in _PLAN_FIELD.findall(partial):
        found[key] = [v.replace('\\"', '"').strip() for v in _PLAN_STRING.findall(raw)]
    where = [
        *found.get("setting", [])[:1],
        *(v.upper() for v in found.get("location", [])[:1]),
        *("- " + v for v in found.get("time", [])[:1]),
    ]
    parts = [" ".join(w for w in where if w)]
    parts.append(", ".join(c for c in found.get("characters", []) if c))
    parts.append(" / ".join(b for b in [*found.get("first", []), *found.get("then", [])] if b))
    return " · ".join(p for p in parts if p)


@dataclass
class ScenePlan:
    """A scene's plan: heading parts, the characters present, the beats (the first carries out the instruction)."""

    characters: list[str]
    beats: list[str]
    setting: str = "INT."
    location: str = "ROOM"
    time: str = "DAY"
    notes: list[str] = field(default_factory=list)  # what the rules changed, for the writer
    speaks: list[str] = field(default_factory=list)  # who must speak: whom the instruction is about
    silent: list[str] = field(default_factory=list)  # present but silent: the first beat kills them

    @property
    def heading(self) -> str:
        return f"{self.setting} {self.location.upper()} - {self.time}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "heading": self.heading,
            "setting": self.setting,
            "location": self.location,
            "time": self.time,
            "characters": list(self.characters),
            "beats": list(self.beats),
            "notes": list(self.notes),
            "speaks": list(self.speaks),
            "silent": list(self.silent),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScenePlan:
        """A plan from a dict (a stored plan, or one a writer edited); checked."""
        if not isinstance(data, dict):
            raise InvalidInput("a scene plan is a mapping with characters and beats")
        chars = [str(c) for c in data.get("characters") or [] if str(c).strip()]
        beats = [sentence(b) for b in data.get("beats") or [] if str(b).strip()]
        if not chars:
            raise InvalidInput("the scene plan names nobody: list at least one character who is in the scene")
        if not beats:
            raise InvalidInput("the scene plan has no beats: say at least what happens first")
        setting = str(data.get("setting") or "INT.").upper()
        if setting not in SETTINGS:
            setting = "INT."
        time = str(data.get("time") or "DAY").upper()
        location = " ".join(str(data.get("location") or "ROOM").split()).upper() or "ROOM"
        speaks = [str(c) for c in data.get("speaks") or [] if str(c) in chars]
        silent = [str(c) for c in data.get("silent") or [] if str(c) in chars]
        return cls(chars, beats, setting, location, time, list(data.get("notes") or []), speaks, silent)

    @classmethod
    def from_model(
        cls,
        value: dict[str, Any],
        alive: Sequence[str],
        must_include: Sequence[str] = (),
        dead: Sequence[str] = (),
        fallback_location: str | None = None,
        first: str | None = None,
        language: str | None = None,
        dying: Sequence[str] = (),
    ) -> ScenePlan:
        """A plan from the model's JSON, repaired by rules: characters the instruction names are
        present, a beat that names a dead character is dropped, a junk place falls back to the last one.
        ``first``: the first beat the instruction fixed (the model's own ``first`` otherwise); with
        ``language`` (the story's, :func:`~workbench.generate.names.language_of`), a beat written in
        another language is dropped. ``dying``: whom the first beat kills (present, silent)."""
        notes: list[str] = []
        chars = [c for c in dict.fromkeys(value.get("characters") or []) if c in alive]
        for name in must_include:
            if name in alive and name not in chars:
                chars.insert(0, name)
                notes.append(f"{name} is in the scene: the instruction names them")
        if not chars:
            chars = list(alive[:2])
        chars = chars[:3] if len(chars) > 3 else chars
        for name in alive:  # someone the first beat kills does not speak: two others do, where there are two
            if len([c for c in chars if c not in dying]) >= 2 or not dying:
                break
            if name not in chars and name not in dying:
                chars.append(name)
                notes.append(f"{name} is in the scene: someone has to speak when {dying[0]} dies")
        beats = [sentence(first or value.get("first", ""))]
        dead_parts = {p.casefold() for n in dead for p in n.split() if len(p) > 2}
        for b in value.get("then") or []:
            b = sentence(b)
            words = {w.casefold() for w in re.findall(r"[^\W\d_]+", b)}
            if words & dead_parts:
                notes.append(f"dropped a beat about someone who is dead: {b!r}")
                continue
            if language is not None and language_of([b]) not in (None, language):
                notes.append(f"dropped a beat in another language than the story's: {b!r}")
                continue
            if b and b.casefold() not in {x.casefold() for x in beats}:
                beats.append(b)
        location = " ".join(str(value.get("location") or "").split())
        parts = {p.casefold() for n in alive for p in n.split() if len(p) > 2}
        near = [
            w
            for w in location.split()
            if w.casefold() not in parts
            and any(difflib.SequenceMatcher(None, w.casefold(), p).ratio() >= 0.8 for p in parts)
        ]
        if len(re.sub(r"[^\w]", "", location)) < 3:
            location = fallback_location or "ROOM"
            notes.append(f"the place was unclear: kept {location}")
        elif near:  # "WYNE HOUSE" in a story with Clara Wynne: a name misspelt, not a place
            notes.append(
                f"the place {location!r} misspells a character's name: kept {fallback_location or 'ROOM'}"
            )
            location = fallback_location or "ROOM"
        return cls(
            chars,
            [b for b in beats if b],
            value.get("setting") or "INT.",
            location.upper(),
            value.get("time") or "DAY",
            notes,
            [n for n in must_include if n in chars and n not in dying][:1],
            [n for n in dying if n in chars],
        )

    def grammar(
        self, max_blocks: int = 8, names: Sequence[str] = (), all_beats: bool = False
    ) -> ScreenplaySpec:
        """The screenplay grammar that walks through this plan; with ``all_beats`` (a plan the
        writer gave) every beat comes, one dialogue block apart, before the scene may end."""
        places = [w.capitalize() for w in self.location.split() if len(w) > 2]
        return ScreenplaySpec(
            heading=self.heading,
            beats=tuple(self.beats),
            speakers=tuple(c for c in self.characters if c not in self.silent) or tuple(self.characters),
            max_blocks=max(2, max_blocks),
            names=tuple(dict.fromkeys([*names, *places])),
            must_speak=tuple(self.speaks),
            all_beats=all_beats,
            between_beats=1 if all_beats else 2,
        )
