"""Outlines, Dramatron-style: a logline, then a title, then characters, then a scene list.

Each level is structured output (JSON under a schema, constrained on the local backend),
written into the project, editable, and regenerated from the levels above it as they are
now (edits included).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInput, StoryError
from ..seeding import new_seed
from .writer import MAX_ACTION, Writer, clean_action

__all__ = ["LEVELS", "OUTLINE_SCHEMAS", "Outline", "current_outline", "outline", "regenerate"]

LEVELS = ("title", "characters", "scenes")

OUTLINE_SCHEMAS: dict[str, dict[str, Any]] = {
    "title": {
        "type": "object",
        "properties": {"title": {"type": "string", "minLength": 2, "maxLength": 60}},
        "required": ["title"],
    },
    "characters": {
        "type": "object",
        "properties": {
            "characters": {
                "type": "array",
                "minItems": 2,
                "maxItems": 4,
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "minLength": 2, "maxLength": 30},
                        "description": {"type": "string", "minLength": 5, "maxLength": 160},
                        "personality": {"type": "string", "minLength": 3, "maxLength": 80},
                        "appearance": {"type": "string", "minLength": 5, "maxLength": 120},
                    },
                    "required": ["name", "description", "personality", "appearance"],
                },
            }
        },
        "required": ["characters"],
    },
    "scenes": {
        "type": "object",
        "properties": {
            "scenes": {
                "type": "array",
                "minItems": 3,
                "maxItems": 6,
                "items": {
                    "type": "object",
                    "properties": {
                        "title": {"type": "string", "minLength": 2, "maxLength": 50},
                        "summary": {"type": "string", "minLength": 5, "maxLength": 200},
                    },
                    "required": ["title", "summary"],
                },
            }
        },
        "required": ["scenes"],
    },
}


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
    """Regenerate one outline level from the levels above it, as they are now (edits included)."""
    from . import prompts

    if level not in OUTLINE_SCHEMAS:
        raise InvalidInput(f"outline levels are {', '.join(OUTLINE_SCHEMAS)}, not {level!r}")
    seed = new_seed(seed)
    p = writer.project
    system = "You are a story developer. You answer only with JSON."
    schema = OUTLINE_SCHEMAS[level]
    if level == "title":
        value = writer.structured(
            system, prompts.render(prompts.OUTLINE_TITLE, logline=p.logline), schema, seed, 60
        )
        p.title = " ".join(value["title"].split()).strip(" \"'")
    elif level == "characters":
        value = writer.structured(
            system,
            prompts.render(prompts.OUTLINE_CHARACTERS, title=p.title, logline=p.logline, k=3),
            schema,
            seed,
            500,
        )
        with p.transaction("outline characters"):
            for c in list(p.cast):
                if "outline" in (c.tags or []):
                    p.cast.remove(c.id)
            seen: set[str] = {c.name.casefold() for c in p.cast}
            for c in value["characters"]:
                name = " ".join(c["name"].split()).strip(" .")
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
        chars = [{"name": c.name, "description": c.description} for c in p.cast]
        value = writer.structured(
            system,
            prompts.render(prompts.OUTLINE_SCENES, title=p.title, logline=p.logline, characters=chars, k=4),
            schema,
            seed,
            600,
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
            names = [c.name for c in p.cast]
            prev = None
            for item in value["scenes"]:
                title = p.unique_title(item["title"].strip(" .") or "Scene")
                summary = " ".join(item["summary"].split())
                present = [
                    n for n in names if any(part.casefold() in summary.casefold() for part in n.split())
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
    return current_outline(p)
