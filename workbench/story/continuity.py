"""Continuity: who is present, where, alive, and holding what, scene by scene along a path.

The state is derived by rules from the parsed scenes (deaths, hand-overs, pick-ups, scene
headings), the cast (names, near-misses such as ``Marra`` for ``Mara``) and the lore
("X carries the Y", "X died years ago"). The model proposes text; rules and the writer
decide: a writer's override at a scene wins there and carries forward along the path.

    >>> states = derive([("s1", "Dawn", "EXT. QUAY - DAY\\n\\nTomas hands Mara the key.")],
    ...                 cast=["Mara Quell", "Tomas Reyes"])
    >>> states[-1].characters["Mara Quell"].items
    ['key']
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import InvalidInput
from .screenplay import HEADING_RE, normalise_cue, parse_scene

__all__ = ["CharacterState", "Continuity", "SceneContinuity", "derive", "NameResolver", "who_dies"]

META_KEY = "continuity_overrides"
FIELDS = ("alive", "present", "location", "items")
_MARK = "\u27e8{}\u27e9"  # a resolved name inside a sentence: ⟨0⟩
_M = r"\u27e8(\d+)\u27e9"
_DET = r"(?:the|a|an|his|her|their|its|my|your|our|some)"
_END = (
    r"(?=[.,;:!?]|\s+(?:and|then|but|before|as|while|from|back|over|high|up|out|tight|tightly|close|aloft|"
    r"firmly|against|in|on|under|above|with|to|toward|towards|into|at|behind|for|like|across)\b|$)"
)
DEATH_RE = re.compile(
    # "Mara dies", "Mara, the keeper, dies", and a predicate of its own first: "Mara falls from the
    # wall and dies" (no other name and no sentence end between)
    _M
    + r"(?:\s*,[^,]{0,40},)?(?:\s+[^.;:!?\u27e8\n]{1,60}?\s+and(?:\s+then)?)?\s+(?:(?:is|was|lies|lay|falls|fell|drops|dropped|collapses)\s+(?:\w+\s+)?dead"
    r"|dies|died|is killed|was killed|is murdered|was murdered|drowns|drowned|perishes|perished"
    r"|breathes (?:his|her|their) last)\b"
    r"(?!\s+(?:tired|set|serious|still|silent|quiet|calm|certain|sure|right|wrong|ahead|centre|center|asleep))",
    re.IGNORECASE,
)
KILL_RE = re.compile(
    _M + r"\s+(?:kills|killed|murders|murdered|shoots dead|stabs to death|strangles)\s+" + _M, re.IGNORECASE
)
GIVE_TO_RE = re.compile(
    _M + r"\s+(?:gives|gave|hands|handed|passes|passed|tosses|tossed|throws|slides|offers)\s+"
    r"(?P<item>" + _DET + r"\s+[^.,;:!?\u27e8]{1,40}?)\s+(?:over\s+)?to\s+" + _M,
    re.IGNORECASE,
)
GIVE_RE = re.compile(
    _M
    + r"\s+(?:gives|gave|hands|handed|passes|passed|tosses|tossed|throws|slides|offers)\s+"
    + _M
    + r"\s+(?P<item>"
    + _DET
    + r"\s+[^.,;:!?\u27e8]{1,40}?)"
    + _END,
    re.IGNORECASE,
)
TAKE_RE = re.compile(
    _M + r"\s+(?:takes|took|picks up|picked up|grabs|grabbed|pockets|pocketed|snatches|lifts|"
    r"holds|held|carries|carried|clutches|keeps|has|owns|wears)\s+(?:up\s+)?(?P<item>"
    + _DET
    + r"\s+[^.,;:!?\u27e8]{1,40}?)"
    + _END,
    re.IGNORECASE,
)
DROP_RE = re.compile(
    _M + r"\s+(?:drops|dropped|puts down|put down|sets down|set down|loses|lost|throws away|"
    r"discards|leaves behind)\s+(?P<item>" + _DET + r"\s+[^.,;:!?\u27e8]{1,40}?)" + _END,
    re.IGNORECASE,
)
NOT_ITEMS = {
    "breath",
    "deep breath",
    "step",
    "look",
    "seat",
    "moment",
    "turn",
    "sip",
    "glance",
    "hand",
    "hands",
    "chance",
    "stand",
    "walk",
    "breath of air",
    "time",
    "nod",
    "beat",
    "pause",
    "risk",
    "note",
    "head",
    "shoulder",
    "arm",
    "face",
    "way",
    "lead",
    "place",
    "lesson",
    "bow",
}
_WORDS = re.compile(r"[^\W\d_][\w'\u2019-]*", re.UNICODE)
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass
class CharacterState:
    """One character at one scene: alive, present, where, holding what."""

    name: str
    alive: bool = True
    present: bool = False
    location: str | None = None
    items: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "alive": self.alive,
            "present": self.present,
            "location": self.location,
            "items": list(self.items),
        }


@dataclass
class SceneContinuity:
    """The state of every cast member after one scene, with what changed and what looks wrong."""

    scene_id: str
    title: str
    characters: dict[str, CharacterState]
    location: str | None = None
    events: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    overridden: list[str] = field(default_factory=list)

    @property
    def dead(self) -> list[str]:
        return [n for n, c in self.characters.items() if not c.alive]

    @property
    def present(self) -> list[str]:
        return [n for n, c in self.characters.items() if c.present and c.alive]

    def note(self) -> str:
        """A short continuity note for the prompt: who is dead, who holds what, who is where."""
        lines = []
        if self.dead:
            lines.append(f"- Dead (they must not appear, act or speak): {', '.join(self.dead)}.")
        for n, c in self.characters.items():
            if c.alive and c.items:
                lines.append(f"- {n} has: {', '.join(c.items)}.")
        if self.present:
            where = f" at {self.location.title()}" if self.location else ""
            lines.append(f"- Last seen{where}: {', '.join(self.present)}.")
        names = [n for n, c in self.characters.items() if c.alive]
        if names:
            lines.append(f"- Spell names exactly: {', '.join(names)}.")
        return "Continuity (keep to these facts):\n" + "\n".join(lines) if lines else ""

    def _repr_html_(self) -> str:
        from ..render import continuity_html

        return continuity_html(self)


class NameResolver:
    """Maps a mention (``Mara``, ``MARA QUELL``, ``Marra``) to a cast name, or None."""

    def __init__(self, cast: Iterable[str], cutoff: float = 0.8) -> None:
        self.cast = [c for c in cast if c and c.strip()]
        self.cutoff = cutoff
        parts: dict[str, set[str]] = {}
        for full in self.cast:
            for p in full.split():
                parts.setdefault(p.casefold(), set()).add(full)
        self.full = {c.casefold(): c for c in self.cast}
        self.parts = {p: next(iter(names)) for p, names in parts.items() if len(names) == 1}
        self.firsts = {c.split()[0].casefold(): c for c in self.cast}

    def resolve(self, mention: str) -> str | None:
        key = " ".join(mention.replace("\u2019", "'").split()).casefold()
        key = re.sub(r"'s$", "", key)
        if not key:
            return None
        if key in self.full:
            return self.full[key]
        if key in self.parts:
            return self.parts[key]
        words = key.split()
        if len(words) == 1 and len(key) >= 4:
            close = difflib.get_close_matches(key, list(self.firsts), n=1, cutoff=self.cutoff)
            if close:
                return self.firsts[close[0]]
        return None

    def mark(self, sentence: str) -> tuple[str, list[str]]:
        """The sentence with each cast mention replaced by ``⟨i⟩``, and the names found."""
        found: list[str] = []
        out: list[str] = []
        pos = 0
        words = list(_WORDS.finditer(sentence))
        i = 0
        while i < len(words):
            w = words[i]
            if not w.group(0)[0].isupper():
                i += 1
                continue
            name = None
            end = w.end()
            if i + 1 < len(words) and sentence[w.end() : words[i + 1].start()].strip() == "":
                two = w.group(0) + " " + words[i + 1].group(0)
                name = self.full.get(re.sub(r"'s$", "", two.casefold()))
                if name:
                    end = words[i + 1].end()
                    i += 1
            if name is None:
                name = self.resolve(w.group(0))
            if name is not None:
                out.append(sentence[pos : w.start()])
                out.append(_MARK.format(len(found)))
                found.append(name)
                pos = end
                if sentence[end : end + 2] in ("'s", "\u2019s"):
                    out.append("'s")
                    pos = end + 2
            i += 1
        out.append(sentence[pos:])
        return "".join(out), found


def _item(raw: str) -> str | None:
    words = raw.strip().strip("\"'").split()
    while words and re.fullmatch(_DET, words[0], re.IGNORECASE):
        words = words[1:]
    item = " ".join(words[:4]).strip(" .,;:!?").lower()
    if not item or item in NOT_ITEMS or item.split()[-1] in NOT_ITEMS:
        return None
    return item


def _heading_location(heading: str) -> str | None:
    rest = HEADING_RE.sub("", heading, count=1).strip(" .")
    return rest.split(" - ")[0].strip() or None


class _Rules:
    """Applies the rules to one piece of text, updating ``state`` in place."""

    def __init__(self, resolver: NameResolver, state: dict[str, CharacterState]) -> None:
        self.resolver = resolver
        self.state = state
        self.events: list[str] = []

    def _give(self, giver: str, taker: str, item: str) -> None:
        for c in self.state.values():
            if item in c.items:
                c.items.remove(item)
        self.state[taker].items.append(item)
        self.events.append(f"{giver} gives {taker} the {item}")

    def sentence(self, text: str, in_scene: set[str]) -> list[str]:
        """Apply the rules to one sentence; returns the cast names it mentions."""
        marked, names = self.resolver.mark(text)
        for n in names:
            in_scene.add(n)
        if not names:
            return names
        for m in GIVE_TO_RE.finditer(marked):
            item = _item(m.group("item"))
            if item:
                self._give(names[int(m.group(1))], names[int(m.group(3))], item)
        for m in GIVE_RE.finditer(marked):
            item = _item(m.group("item"))
            if item:
                self._give(names[int(m.group(1))], names[int(m.group(2))], item)
        for m in TAKE_RE.finditer(marked):
            item = _item(m.group("item"))
            who = names[int(m.group(1))]
            if item and item not in self.state[who].items:
                for c in self.state.values():
                    if item in c.items:
                        c.items.remove(item)
                self.state[who].items.append(item)
                self.events.append(f"{who} has the {item}")
        for m in DROP_RE.finditer(marked):
            item = _item(m.group("item"))
            who = names[int(m.group(1))]
            if item and item in self.state[who].items:
                self.state[who].items.remove(item)
                self.events.append(f"{who} no longer has the {item}")
        dead = [names[int(m.group(1))] for m in DEATH_RE.finditer(marked)]
        dead += [names[int(m.group(2))] for m in KILL_RE.finditer(marked)]
        for who in dict.fromkeys(dead):
            if self.state[who].alive:
                self.state[who].alive = False
                self.events.append(f"{who} dies")
        return names


def derive(
    scenes: Sequence[tuple[str, str, str] | tuple[str, str, str, Sequence[str]]],
    cast: Sequence[str],
    lore: Iterable[str] = (),
    overrides: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
) -> list[SceneContinuity]:
    """The continuity after each scene of a path.

    ``scenes`` holds ``(scene_id, title, text)`` or ``(scene_id, title, text, characters)`` in
    story order; ``lore`` texts set the state before the first scene; ``overrides`` maps a
    scene id to ``{character: {field: value}}`` set by the writer (it wins at that scene and
    carries forward).
    """
    cast = list(dict.fromkeys(c for c in cast if c))
    resolver = NameResolver(cast)
    state = {n: CharacterState(n) for n in cast}
    rules = _Rules(resolver, state)
    for text in lore:
        for s in _SENTENCES.split(text or ""):
            if s.strip():
                rules.sentence(s, set())
    overrides = overrides or {}
    out: list[SceneContinuity] = []
    for entry in scenes:
        sid, title, text = entry[0], entry[1], entry[2]
        listed = list(entry[3]) if len(entry) > 3 else []  # type: ignore[misc]
        rules.events = []
        warnings: list[str] = []
        in_scene: set[str] = set()
        location: str | None = None
        where: dict[str, str | None] = {}
        alive_before = {n: c.alive for n, c in state.items()}
        parsed = parse_scene(text, cast)
        for el in parsed.elements:
            if el.kind == "heading":
                location = _heading_location(el.text)
            elif el.kind == "character":
                who = resolver.resolve(normalise_cue(el.text)) or resolver.resolve(el.character or "")
                if who:
                    in_scene.add(who)
                    where[who] = location
                    if not state[who].alive:
                        warnings.append(f"{who} speaks in {title!r} but is dead")
            elif el.kind == "action":
                for s in _SENTENCES.split(el.text):
                    if s.strip():
                        for n in rules.sentence(s, in_scene):
                            where[n] = location
        for line in parsed.prose_lines:
            if line.character and not state[line.character].alive:
                warnings.append(f"{line.character} speaks in {title!r} but is dead")
        if not in_scene and not text.strip():
            in_scene = {n for n in (resolver.resolve(c) for c in listed) if n}
        for n, c in state.items():
            c.present = n in in_scene and c.alive
            if n in in_scene and alive_before[n] and where.get(n, location):
                c.location = where.get(n) or location
        changed: list[str] = []
        for name, fields in (overrides.get(sid) or {}).items():
            if name not in state:
                continue
            changed.append(name)
            for key, value in fields.items():
                if key == "items":
                    value = [str(v).strip().lower() for v in value if str(v).strip()]
                setattr(state[name], key, value)
        snapshot = {n: replace(c, items=list(c.items)) for n, c in state.items()}
        out.append(SceneContinuity(sid, title, snapshot, location, list(rules.events), warnings, changed))
    return out


def who_dies(text: str, cast: Sequence[str]) -> list[str]:
    """The members of ``cast`` that ``text`` (an action line, a beat) says die, by the same rules.

    >>> who_dies("Edith falls from the garden wall and dies.", ["Edith Wynne", "Clara Wynne"])
    ['Edith Wynne']
    """
    after = derive([("", "", text)], cast)[-1]
    return [n for n, c in after.characters.items() if not c.alive]


class Continuity:
    """Continuity for a project: derived along a path, with the writer's overrides stored in the project.

    >>> cont = Continuity(project)                                   # doctest: +SKIP
    >>> cont.at("The Boat in the Dark", branch="ines").note()        # doctest: +SKIP
    >>> cont.set("The Boat in the Dark", "Tomas Reyes", alive=False)  # doctest: +SKIP
    """

    def __init__(self, project: Any) -> None:
        self.project = project

    @property
    def overrides(self) -> dict[str, dict[str, dict[str, Any]]]:
        raw = self.project.get_meta(META_KEY, "")
        try:
            value = json.loads(raw) if raw else {}
        except ValueError:
            value = {}
        return value if isinstance(value, dict) else {}

    def _save(self, value: dict[str, Any], label: str) -> None:
        with self.project.transaction(label):
            self.project.set_meta(META_KEY, json.dumps(value, sort_keys=True, ensure_ascii=False))

    def set(self, scene: Any, character: str, **fields: Any) -> SceneContinuity:
        """Override a character's state at ``scene`` (one undo step); returns the state there."""
        sc = self.project.scene(scene)
        name = self._character(character)
        bad = set(fields) - set(FIELDS)
        if bad:
            raise InvalidInput(f"continuity fields are {', '.join(FIELDS)}, not {', '.join(sorted(bad))}")
        clean: dict[str, Any] = {}
        for key, value in fields.items():
            if key in ("alive", "present"):
                if not isinstance(value, bool):
                    raise InvalidInput(f"{key} is True or False, not {value!r}")
            elif key == "location":
                if value is not None and not isinstance(value, str):
                    raise InvalidInput("a location is text")
                value = " ".join(value.split()).upper()[:80] if value else None
            elif key == "items":
                if isinstance(value, str) or not isinstance(value, Iterable):
                    raise InvalidInput("items is a list of things the character holds")
                value = [" ".join(str(v).split()).lower()[:60] for v in value if str(v).strip()]
            clean[key] = value
        data = self.overrides
        data.setdefault(sc.id, {}).setdefault(name, {}).update(clean)
        self._save(data, f"continuity: {name} at {sc.title}")
        return self.at(sc)

    def clear(self, scene: Any, character: str | None = None) -> None:
        """Forget the writer's overrides at ``scene`` (for one character, or all)."""
        sc = self.project.scene(scene)
        data = self.overrides
        if sc.id not in data:
            return
        if character is None:
            del data[sc.id]
        else:
            data[sc.id].pop(self._character(character), None)
            if not data[sc.id]:
                del data[sc.id]
        self._save(data, f"continuity: clear overrides at {sc.title}")

    def _character(self, character: str) -> str:
        names = [c.name for c in self.project.cast]
        name = NameResolver(names).resolve(character) if isinstance(character, str) else None
        if name is None:
            raise InvalidInput(f"{character!r} is not in the cast ({', '.join(names) or 'nobody yet'})")
        return name

    def along(self, scene: Any, branch: str | None = None) -> list[SceneContinuity]:
        """The continuity after each scene of the story so far up to ``scene``."""
        path = self.project.path(scene, branch)
        cast = [c.name for c in self.project.cast]
        lore = [e.content for e in self.project.lore]
        return derive([(s.id, s.title, s.text, s.characters) for s in path], cast, lore, self.overrides)

    def at(self, scene: Any, branch: str | None = None) -> SceneContinuity:
        """The continuity after ``scene``."""
        return self.along(scene, branch)[-1]
