"""Outlines, Dramatron-style: a logline, then a title, then characters, then a scene list.

Each level is structured output (JSON under a schema, constrained on the local backend),
written into the project, editable, and regenerated from the levels above it as they are
now (edits included).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInput, StoryError
from ..seeding import new_seed
from .names import name_pool
from .plan import third_person
from .writer import MAX_ACTION, Writer, clean_action

__all__ = [
    "LEVELS",
    "OUTLINE_SCHEMAS",
    "Outline",
    "current_outline",
    "outline",
    "outline_problems",
    "outline_schema",
    "premise_predicates",
    "regenerate",
]

LEVELS = ("title", "characters", "scenes")
ATTEMPTS = 4  # regenerations of a level whose result a writer could not use
_STOP = {
    "the", "and", "a", "an", "of", "to", "in", "on", "for", "with", "who", "that", "his", "her", "their",
    "has", "have", "been", "is", "are", "was", "were", "be", "from", "by", "at", "as", "into", "after",
    "before", "when", "while", "it", "its", "this", "these", "those", "them", "they", "she", "he",
    "must", "can", "will", "not", "but", "or", "one", "two", "years", "year", "only", "all", "out",
}  # fmt: skip


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[^\W\d_]{4,}", text.casefold()) if w not in _STOP}


# words that do not start what a character does (articles, pronouns, prepositions, conjunctions...)
_NOT_A_VERB = _STOP | {
    "some", "any", "no", "every", "each", "only", "three", "four", "five", "several", "many", "our",
    "your", "my", "him", "me", "us", "you", "i", "we", "which", "whom", "whose", "what", "where",
    "why", "how", "than", "then", "so", "if", "because", "until", "unless", "though", "although",
    "about", "over", "under", "between", "through", "across", "against", "during", "without",
    "within", "among", "around", "upon", "off", "up", "down", "near", "behind", "beyond", "last",
    "first", "next", "other", "another", "same", "own", "also", "even", "just", "still", "very",
}  # fmt: skip
# words after which the next word belongs to the same noun phrase or clause (or to a relative
# clause about someone else: "a sailor who wakes up")
_NO_SPLIT_AFTER = _NOT_A_VERB | {"is", "are", "was", "were", "has", "have", "had"}
_PLURAL_TO_ONE = {"are": "is", "were": "was", "have": "has", "do": "does"}
_ONE_ALREADY = {"is", "was", "has", "had", "does", "did", "must", "can", "could", "will", "would", "should", "may", "might"}  # fmt: skip
_PLURAL_CUES = {
    "two",
    "three",
    "four",
    "five",
    "six",
    "several",
    "many",
    "both",
    "twins",
    "and",
    "pair",
    "group",
}


def premise_predicates(logline: str, limit: int = 4) -> list[str]:
    """What the logline's hero does, as words that can follow a character's name.

    The logline's subject is a description ("A retired safecracker", "the only two crew members
    awake"); what follows its verb is the premise. Candidates start at words that could be that
    verb (an auxiliary, a verb in ``-s`` or ``-ed``, or, after a plural subject, any plain word),
    put in the singular ("discover that the ship turned" -> "discovers that the ship turned"),
    up to the first certain one; the outline lets the model choose among them, so the opening
    scene carries the premise out with a character of the cast as its subject.

    >>> premise_predicates("A retired safecracker is blackmailed into one last job.")
    ['is blackmailed into one last job.']
    >>> premise_predicates("Two rivals are snowed in at a hotel.")
    ['is snowed in at a hotel.']
    """
    words = " ".join(str(logline).split()).split(" ")
    found: list[str] = []
    plural = False
    for i in range(1, min(len(words) - 1, 16)):
        word, prev = words[i], words[i - 1]
        low = word.casefold()
        plural = plural or prev.casefold().strip(",") in _PLURAL_CUES or words[0].casefold() in _PLURAL_CUES
        aux = low in _PLURAL_TO_ONE or low in _ONE_ALREADY
        if not word.isalpha() or not word.islower() or (low in _NOT_A_VERB and not aux):
            continue
        if prev.casefold() in _NO_SPLIT_AFTER or not prev[-1:].isalpha() or low.endswith(("ing", "ly")):
            continue  # inside a noun phrase, after a clause break, or not a finite verb
        certain = aux
        s_verb = low.endswith(("ed", "s")) and not low.endswith(("ss", "us", "is"))
        if low in _PLURAL_TO_ONE:
            first = _PLURAL_TO_ONE[low]
        elif certain or (s_verb and not (plural and low.endswith("s"))):
            first, certain = word, True
        elif plural and not s_verb:
            first = third_person(word)
        else:
            continue  # a plural noun after a plural subject, or a noun
        rest = " ".join([first, *words[i + 1 :]]).rstrip(",;: ")
        found.append(rest if rest[-1] in ".!?" else rest + ".")
        if certain or len(found) >= limit:
            break
    return found


def outline_schema(
    level: str,
    title: str = "",
    names: Sequence[str] = (),
    k_characters: int = 3,
    k_scenes: int = 4,
    logline: str = "",
    seed: int = 0,
) -> dict[str, Any]:
    """The JSON schema of one outline level, shaped so its values are usable, not merely valid.

    Characters have a first and a family name chosen from real names (:func:`name_pool`, by
    ``seed``) that no reader would mix up, and descriptions that end on a sentence; scene
    titles differ from each other, from the story's title and from every character's name; a
    scene says who it is about and what they do, in prose that may name only the cast
    mid-sentence; the first scene carries out the logline's premise (one of
    :func:`premise_predicates`). Letters are those of the scripts the logline is written in.
    """
    scripts = [logline, title, *names]
    if level == "title":
        return {
            "type": "object",
            "properties": {"title": {"type": "string", "minLength": 3, "maxLength": 40, "x-format": "title"}},
            "required": ["title"],
        }
    if level == "characters":
        first, family = name_pool(scripts, seed)
        name_fields: dict[str, Any] = (
            {"first": {"enum": first}, "last": {"enum": family}}
            if first and family
            else {
                "name": {
                    "type": "string",
                    "minLength": 5,
                    "maxLength": 28,
                    "x-format": "name",
                    "x-scripts-of": scripts,
                }
            }
        )
        item = {
            "type": "object",
            "properties": {
                **name_fields,
                "description": {
                    "type": "string",
                    "minLength": 25,
                    "maxLength": 150,
                    "x-format": "prose",
                    "x-scripts-of": scripts,
                },
                "personality": {
                    "type": "string",
                    "minLength": 10,
                    "maxLength": 70,
                    "x-format": "prose",
                    "x-scripts-of": scripts,
                },
                "appearance": {
                    "type": "string",
                    "minLength": 20,
                    "maxLength": 110,
                    "x-format": "prose",
                    "x-scripts-of": scripts,
                },
            },
            "required": [*name_fields, "description", "personality", "appearance"],
        }
        return {
            "type": "object",
            "properties": {
                "characters": {
                    "type": "array",
                    "minItems": 2,
                    "maxItems": max(2, k_characters),
                    "items": item,
                    "x-unique-key": next(iter(name_fields)),
                }
            },
            "required": ["characters"],
        }
    if level == "scenes":
        parts = sorted({p for n in names for p in [n, *n.split()]})
        who: dict[str, Any] = (
            {"enum": list(names)} if names else {"type": "string", "minLength": 2, "maxLength": 30}
        )
        item = {
            "type": "object",
            "properties": {
                "title": {
                    "type": "string",
                    "minLength": 4,
                    "maxLength": 40,
                    "x-format": "title",
                    "x-forbid": [title, *parts],
                    "x-scripts-of": scripts,
                },
                "who": who,
                "does": {
                    "type": "string",
                    "minLength": 20,
                    "maxLength": 140,
                    "x-format": "predicate",
                    "x-names": list(names),
                    "x-scripts-of": scripts,
                },
            },
            "required": ["title", "who", "does"],
        }
        scenes: dict[str, Any] = {
            "type": "array",
            "minItems": 3,
            "maxItems": max(3, k_scenes),
            "items": item,
            "x-unique-key": "title",
        }
        premise = premise_predicates(logline)
        if premise:  # the opening scene: the protagonist carries out the logline's premise
            opening = json.loads(json.dumps(item))
            opening["properties"]["does"] = {"enum": premise}
            scenes["prefixItems"] = [opening]
        return {"type": "object", "properties": {"scenes": scenes}, "required": ["scenes"]}
    raise InvalidInput(f"outline levels are {', '.join(LEVELS)}, not {level!r}")


# the schemas as a writer first meets them (a new story: no title or cast yet)
OUTLINE_SCHEMAS: dict[str, dict[str, Any]] = {
    "title": outline_schema("title"),
    "characters": outline_schema("characters"),
    "scenes": outline_schema("scenes", "", ("Ada Stone", "Ben Marsh")),
}


def outline_problems(project: Any, level: str) -> list[str]:
    """What would keep a writer from using this level of the project's outline (empty: usable).

    Checked in code, whatever produced the outline: at least two characters with names a
    reader tells apart; scene titles that differ from each other, from the title and from the
    cast's names; every summary names a character and says something happens; the scene list
    follows the logline's premise.
    """
    from .names import language_of
    from .structured import names_clash

    problems: list[str] = []
    cast = [c.name for c in project.cast]
    language = language_of([project.logline, project.title])

    def foreign(text: str) -> bool:  # prose in another language than the logline's
        found = language_of([text])
        return language is not None and found is not None and found != language

    if level in ("characters", "scenes"):
        if len(cast) < 2:
            problems.append("the story needs at least two characters")
        for i, a in enumerate(cast):
            for b in cast[i + 1 :]:
                if names_clash(a, b):
                    problems.append(f"{a!r} and {b!r} are too alike to tell apart")
        for c in project.cast:
            for fld in ("description", "appearance"):
                text = (c.data.get(fld) or "").strip()
                if text and text[-1] not in ".!?\u2026":
                    problems.append(f"{c.name}'s {fld} stops mid-sentence")
            if any(foreign(c.data.get(fld) or "") for fld in ("description", "personality", "appearance")):
                problems.append(f"{c.name}'s description is not in the logline's language")
    if level == "scenes":
        scenes = [s for s in project.scenes if "outline" in s.tags]
        titles = [s.title.casefold() for s in scenes]
        parts = {p.casefold() for n in cast for p in [n, *n.split()]}
        if len(scenes) < 3:
            problems.append("the outline needs at least three scenes")
        if len(set(titles)) < len(titles):
            problems.append("two scenes share a title")
        story_title = project.title.casefold()
        for s in scenes:
            t = s.title.casefold()
            bare = re.sub(r"\s*\(\d+\)$", "", t)
            if t == story_title or t in parts or bare in parts:
                problems.append(f"the scene title {s.title!r} is the story's title or a character's name")
            elif any(difflib.SequenceMatcher(None, bare, n.casefold()).ratio() >= 0.8 for n in cast):
                problems.append(f"the scene title {s.title!r} is a character's name with letters changed")
            elif story_title and difflib.SequenceMatcher(None, bare, story_title).ratio() >= 0.85:
                problems.append(f"the scene title {s.title!r} is the story's title with a letter changed")
            summary = s.summary or ""
            if not any(re.search(r"\b" + re.escape(p) + r"\b", summary.casefold()) for p in parts):
                problems.append(f"the summary of {s.title!r} names no character")
            if len(summary.split()) < 5:
                problems.append(f"the summary of {s.title!r} does not say what happens")
            elif foreign(summary):
                problems.append(f"the summary of {s.title!r} is not in the logline's language")
        premise = _words(project.logline)
        if premise and not any(_words(s.summary or "") & premise for s in scenes):
            problems.append("no scene takes up the logline's premise")
    return problems


@dataclass
class Outline:
    """The outline written into the project: title, characters, scene list."""

    logline: str
    title: str = ""
    characters: list[dict[str, str]] = field(default_factory=list)
    scenes: list[dict[str, str]] = field(default_factory=list)

    def _repr_html_(self) -> str:
        from ..render import outline_html

        return outline_html(self)


def current_outline(project: Any) -> Outline:
    """The outline as the project holds it now (edits included)."""
    chars = [
        {
            "name": c.name,
            "description": c.description,
            "personality": c.personality,
            "appearance": c.appearance,
        }
        for c in project.cast
    ]
    scenes = [{"title": s.title, "summary": s.summary or ""} for s in project.scenes]
    return Outline(project.logline, project.title, chars, scenes)


def outline(writer: Writer, logline: str, seed: int | None = None) -> Outline:
    """Title, then characters, then a scene list, each written into the writer's (empty) project.

    Scenes are added as a linear ``main`` branch with their summaries and no takes yet.
    """
    project = writer.project
    logline = clean_action(logline) if len(logline or "") <= MAX_ACTION else logline.strip()
    if not logline:
        raise InvalidInput("an outline needs a logline")
    if project.scenes:
        raise StoryError("this project already has scenes; outline a new project, or use regenerate()")
    seed = new_seed(seed)
    project.logline = logline
    project.set_meta("outline_seed", str(seed))
    for level in LEVELS:
        regenerate(writer, level, seed=seed)
    return current_outline(project)


def regenerate(writer: Writer, level: str, seed: int | None = None) -> Outline:
    """Regenerate one outline level from the levels above it, as they are now (edits included).

    A result a writer could not use (:func:`outline_problems`) is drawn again with another
    seed, a bounded number of times; the last problems are kept in the project's
    ``outline_problems`` setting for the views to show.
    """
    if level not in LEVELS:
        raise InvalidInput(f"outline levels are {', '.join(LEVELS)}, not {level!r}")
    seed = new_seed(seed)
    p = writer.project
    problems: list[str] = []
    for attempt in range(ATTEMPTS):
        _draw(writer, level, seed + 7919 * attempt)
        problems = outline_problems(p, level)
        if not problems:
            break
    p.set_meta("outline_problems", json.dumps(problems))
    return current_outline(p)


def _draw(writer: Writer, level: str, seed: int) -> None:
    """Write one outline level into the project (one transaction per level)."""
    from . import prompts

    p = writer.project
    system = "You are a story developer. You answer only with JSON."
    if level == "title":
        value = writer.structured(
            system,
            prompts.render(prompts.OUTLINE_TITLE, logline=p.logline),
            outline_schema("title", logline=p.logline),
            seed,
            60,
        )
        p.title = " ".join(value["title"].split()).strip(" \"'")
    elif level == "characters":
        value = writer.structured(
            system,
            prompts.render(prompts.OUTLINE_CHARACTERS, title=p.title, logline=p.logline, k=3),
            outline_schema("characters", p.title, logline=p.logline, seed=seed),
            seed,
            700,
        )
        with p.transaction("outline characters"):
            for c in list(p.cast):
                if "outline" in (c.tags or []):
                    p.cast.remove(c.id)
            seen: set[str] = {c.name.casefold() for c in p.cast}
            for c in value["characters"]:
                given = c.get("name") or f"{c.get('first', '')} {c.get('last', '')}"
                name = " ".join(given.split()).strip(" .")
                if not name or name.casefold() in seen:
                    continue
                seen.add(name.casefold())
                p.cast.add(
                    name,
                    description=c["description"].strip(),
                    personality=c["personality"].strip(),
                    appearance=c["appearance"].strip(),
                    tags=["outline"],
                )
    else:
        names = [c.name for c in p.cast]
        chars = [{"name": c.name, "description": c.description} for c in p.cast]
        value = writer.structured(
            system,
            prompts.render(prompts.OUTLINE_SCENES, title=p.title, logline=p.logline, characters=chars, k=4),
            outline_schema("scenes", p.title, names, logline=p.logline),
            seed,
            700,
        )
        with p.transaction("outline scenes"):
            outlined = [s for s in p.scenes if "outline" in s.tags]
            if any(s.takes for s in outlined):
                raise StoryError(
                    "some outlined scenes already have takes; delete them before regenerating the scene list"
                )
            for s in reversed(outlined):
                if s.exists:
                    p.delete(s)
            prev = None
            for item in value["scenes"]:
                title = p.unique_title(item["title"].strip(" .") or "Scene")
                who = item.get("who")
                summary = " ".join(f"{who or ''} {item['does']}".split())
                present = [who] if who in names else []
                present += [
                    n
                    for n in names
                    if n not in present
                    and any(re.search(r"\b" + re.escape(part) + r"\b", summary) for part in n.split())
                ]
                sc = p.add_scene(
                    title,
                    after=prev,
                    choice=title if prev else None,
                    characters=present,
                    tags=["outline"],
                )
                p.set_summary(sc, summary)
                prev = sc
