"""Thin handles on stored story objects: a :class:`Scene`, :class:`Take` or :class:`Character`
holds its project and an id and reads the file when asked, so whatever a view shows can
always be rebuilt from the file. Edits go through the project (one transaction each).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import CharacterNotFound, InvalidInput, SceneNotFound, TakeNotFound
from ..seeding import stable_int
from .model import CHARACTER_FIELDS, default_palette
from .storage import loads

if TYPE_CHECKING:
    from .project import Project
    from .screenplay import ParsedScene

__all__ = [
    "HUMAN_RATER",
    "MAX_TEXT",
    "MAX_TITLE",
    "Branch",
    "Character",
    "Choice",
    "FeedbackEvent",
    "LoreEntry",
    "Scene",
    "Special",
    "Take",
    "clean_text",
    "clean_title",
    "CHOICE_KINDS",
    "ENDING_TAG",
]

MAX_TITLE = 200
MAX_TEXT = 2_000_000  # characters in one take
HUMAN_RATER = "writer"
ENDING_TAG = "ending"  # a scene tagged so is an ending: a reader who reaches it is not stuck
# "choice": the reader picks it; "goto": the story moves on by itself (Ink divert, <<goto>>, (go-to:));
# "include": the scene shows another scene's text (<<include>>, (display:)), a reference, not a way out
CHOICE_KINDS = ("choice", "goto", "include")


def clean_title(title: Any, what: str = "title") -> str:
    """A title (or name) as one line; :class:`InvalidInput` when empty, not text or too long."""
    if not isinstance(title, str):
        raise InvalidInput(f"a scene {what} must be text, not {type(title).__name__}")
    title = " ".join(title.split())
    if not title:
        raise InvalidInput(f"a scene {what} cannot be empty")
    if len(title) > MAX_TITLE:
        raise InvalidInput(
            f"a scene {what} can have at most {MAX_TITLE} characters (this one has {len(title)})"
        )
    return title


def clean_text(text: Any) -> str:
    """A take's text, checked (a string of at most :data:`MAX_TEXT` characters)."""
    if not isinstance(text, str):
        raise InvalidInput(f"scene text must be a string, not {type(text).__name__}")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"a take can hold at most {MAX_TEXT:,} characters")
    return text


@dataclass(frozen=True)
class Choice:
    """A labelled edge of the story graph.

    An *open* choice has no target yet (``target_id`` is None): it names the scene it wants
    (``wanted``), like a Twine link to a passage not yet written. ``kind`` is ``"choice"`` (the
    reader picks it), ``"goto"`` (the story moves on by itself) or ``"include"`` (a reference:
    the scene shows the target's text).
    """

    project: Project
    id: str
    source_id: str
    target_id: str | None
    label: str
    wanted: str | None = None
    kind: str = "choice"

    @property
    def source(self) -> Scene:
        return Scene(self.project, self.source_id)

    @property
    def target(self) -> Scene | None:
        """The scene it leads to, or None for an open choice."""
        return Scene(self.project, self.target_id) if self.target_id is not None else None

    @property
    def is_open(self) -> bool:
        """True when the scene behind this choice is not written yet."""
        return self.target_id is None

    @classmethod
    def from_row(cls, project: Project, row: sqlite3.Row) -> Choice:
        """The choice stored in a ``choices`` row."""
        return cls(project, row["id"], row["source"], row["target"], row["label"], row["wanted"], row["kind"])

    def __repr__(self) -> str:
        to = self.target_id if self.target_id is not None else f"open: {self.wanted!r}"
        kind = "" if self.kind == "choice" else f" [{self.kind}]"
        return f"Choice({self.label!r}: {self.source_id} -> {to}{kind})"


class _Handle:
    __slots__ = ("project", "id")

    def __init__(self, project: Project, id: str) -> None:
        self.project = project
        self.id = id

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.id == self.id and other.project is self.project  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.id))


class Scene(_Handle):
    """A node of the story graph."""

    def row(self) -> sqlite3.Row:
        """The stored row (raises the not-found error when it was deleted or undone)."""
        row = self.project.db.one("SELECT * FROM scenes WHERE id=?", (self.id,))
        if row is None:
            raise SceneNotFound(f"the scene {self.id!r} no longer exists (deleted or undone)")
        return row

    @property
    def exists(self) -> bool:
        return self.project.db.one("SELECT 1 FROM scenes WHERE id=?", (self.id,)) is not None

    @property
    def title(self) -> str:
        return self.row()["title"]

    @title.setter
    def title(self, value: str) -> None:
        self.project.rename(self, value)

    @property
    def tags(self) -> list[str]:
        return loads(self.row()["tags"], [])

    @tags.setter
    def tags(self, value: Iterable[str]) -> None:
        self.project.update_scene(self, tags=list(value), label="retag scene")

    @property
    def characters(self) -> list[str]:
        return loads(self.row()["characters"], [])

    @characters.setter
    def characters(self, value: Iterable[str]) -> None:
        self.project.update_scene(self, characters=list(value), label="set scene cast")

    @property
    def position(self) -> tuple[float, float] | None:
        row = self.row()
        if row["x"] is None or row["y"] is None:
            return None
        return (row["x"], row["y"])

    @position.setter
    def position(self, value: tuple[float, float] | None) -> None:
        self.project.update_scene(self, position=value, label="move scene")

    @property
    def summary(self) -> str | None:
        return self.row()["summary"]

    @property
    def extra(self) -> dict[str, Any]:
        """What the scene's source format said that the workbench does not model, kept verbatim
        for export (by format name, e.g. ``extra["twine"]``)."""
        return loads(self.row()["extra"], {})

    @property
    def is_ending(self) -> bool:
        """Whether the writer marked this scene as an ending (the tag ``ending``)."""
        return any(t.casefold() == ENDING_TAG for t in self.tags)

    @is_ending.setter
    def is_ending(self, value: bool) -> None:
        self.project.mark_ending(self, value)

    @property
    def takes(self) -> list[Take]:
        self.row()
        rows = self.project.db.all("SELECT id FROM takes WHERE scene_id=? ORDER BY seq", (self.id,))
        return [Take(self.project, r["id"]) for r in rows]

    @property
    def chosen(self) -> Take | None:
        take_id = self.project.chosen_take_id(self.id)
        return Take(self.project, take_id) if take_id else None

    @property
    def text(self) -> str:
        chosen = self.chosen
        return chosen.text if chosen else ""

    @property
    def children(self) -> list[tuple[Choice, Scene]]:
        """The choices that lead to a scene, with that scene (open choices are in :attr:`choices`)."""
        rows = self.project.db.all(
            "SELECT * FROM choices WHERE source=? AND target IS NOT NULL ORDER BY seq", (self.id,)
        )
        return [(Choice.from_row(self.project, r), Scene(self.project, r["target"])) for r in rows]

    @property
    def choices(self) -> list[Choice]:
        """Every choice out of this scene in order, open ones (no scene yet) included."""
        rows = self.project.db.all("SELECT * FROM choices WHERE source=? ORDER BY seq", (self.id,))
        return [Choice.from_row(self.project, r) for r in rows]

    @property
    def open_choices(self) -> list[Choice]:
        """The choices out of this scene whose scene is not written yet."""
        return [c for c in self.choices if c.is_open]

    @property
    def parents(self) -> list[tuple[Choice, Scene]]:
        rows = self.project.db.all("SELECT * FROM choices WHERE target=? ORDER BY seq", (self.id,))
        return [(Choice.from_row(self.project, r), Scene(self.project, r["source"])) for r in rows]

    def add_take(
        self,
        text: str,
        source: str = "writer",
        provenance: Mapping[str, Any] | None = None,
        parent: Take | None = None,
        choose: bool | None = None,
    ) -> Take:
        """Add a take. A scene's first take is chosen automatically (logged as ``rater="auto"``)."""
        return self.project.add_take(self, text, source, provenance, parent, choose)

    def parsed(self) -> ParsedScene:
        """The chosen text parsed as screenplay text, with the project's cast names."""
        from .screenplay import parse_scene

        return parse_scene(self.text, [c.name for c in self.project.cast])

    def _repr_html_(self) -> str:
        from ..render import scene_html

        return scene_html(self)

    def __repr__(self) -> str:
        try:
            return f"Scene({self.title!r}, id={self.id!r})"
        except SceneNotFound:
            return f"Scene(<deleted>, id={self.id!r})"


class Take(_Handle):
    """One version of a scene's text, with where it came from."""

    def row(self) -> sqlite3.Row:
        """The stored row (raises the not-found error when it was deleted or undone)."""
        row = self.project.db.one("SELECT * FROM takes WHERE id=?", (self.id,))
        if row is None:
            raise TakeNotFound(f"the take {self.id!r} no longer exists")
        return row

    @property
    def text(self) -> str:
        return self.row()["text"]

    @property
    def source(self) -> str:
        return self.row()["source"]

    @property
    def scene(self) -> Scene:
        return Scene(self.project, self.row()["scene_id"])

    @property
    def parent(self) -> Take | None:
        pid = self.row()["parent_id"]
        return Take(self.project, pid) if pid else None

    @property
    def provenance(self) -> dict[str, Any]:
        return loads(self.row()["provenance"], {})

    @property
    def created(self) -> str:
        return self.row()["created"]

    @property
    def rating(self) -> int | None:
        return self.project.rating_of(self.id)

    @property
    def is_chosen(self) -> bool:
        return self.project.chosen_take_id(self.row()["scene_id"]) == self.id

    def choose(self, rater: str | None = None) -> Take:
        """Make this the scene's chosen take; logged as chosen over each sibling."""
        self.project.choose_take(self, rater or HUMAN_RATER)
        return self

    def rate(self, stars: int, rater: str | None = None) -> Take:
        """Rate this take from 1 to 5 stars."""
        self.project.rate_take(self, stars, rater or HUMAN_RATER)
        return self

    def edit(self, text: str, rater: str | None = None) -> Take:
        """A hand edit: a new take linked to this one, preferred over it, and chosen."""
        return self.project.edit_take(self, text, rater or HUMAN_RATER)

    def _repr_html_(self) -> str:
        from ..render import take_html

        return take_html(self)

    def __repr__(self) -> str:
        try:
            text = self.text
        except TakeNotFound:
            return f"Take(<deleted>, id={self.id!r})"
        short = text[:40].replace("\n", " ")
        return f"Take({self.id!r}, {self.source}, {short!r}{'...' if len(text) > 40 else ''})"


class Character(_Handle):
    """A character pinned in this project (a snapshot of the cast library's version)."""

    def row(self) -> sqlite3.Row:
        """The stored row (raises the not-found error when it was deleted or undone)."""
        row = self.project.db.one("SELECT * FROM characters WHERE id=?", (self.id,))
        if row is None:
            raise CharacterNotFound(f"the character {self.id!r} is no longer in this project")
        return row

    @property
    def name(self) -> str:
        return self.row()["name"]

    @property
    def version(self) -> int:
        return self.row()["version"]

    @property
    def library_id(self) -> str | None:
        return self.row()["library_id"]

    @property
    def library_version(self) -> int | None:
        return self.row()["library_version"]

    @property
    def data(self) -> dict[str, Any]:
        stored = loads(self.row()["data"], {})
        out = {
            k: (json.loads(json.dumps(v)) if isinstance(v, (dict, list)) else v)
            for k, v in CHARACTER_FIELDS.items()
        }
        out.update(stored)
        if out.get("palette") is None:
            out["palette"] = default_palette(self.library_id or self.id)
        if out.get("image_seed") is None:
            out["image_seed"] = stable_int("image", self.library_id or self.id)
        return out

    def __getattr__(self, item: str) -> Any:
        if item in CHARACTER_FIELDS:
            return self.data[item]
        raise AttributeError(item)

    def __setattr__(self, key: str, value: Any) -> None:
        if key in _Handle.__slots__:
            object.__setattr__(self, key, value)
        elif key in CHARACTER_FIELDS or key == "name":
            self.update(**{key: value})
        else:
            raise AttributeError(f"characters have no field {key!r}")

    def update(self, **fields: Any) -> Character:
        """Change fields; the project's snapshot gets a new version."""
        self.project.cast.update_character(self, fields)
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "version": self.version, **self.data}

    def _repr_html_(self) -> str:
        from ..render import character_html

        return character_html(self)

    def __repr__(self) -> str:
        try:
            return f"Character({self.name!r}, v{self.version})"
        except CharacterNotFound:
            return f"Character(<removed>, id={self.id!r})"


class Special(_Handle):
    """A story-format passage that is not a scene (a script, a stylesheet, ``StoryInit``, an ink
    function...), kept verbatim so exports write it back."""

    def row(self) -> sqlite3.Row:
        row = self.project.db.one("SELECT * FROM specials WHERE id=?", (self.id,))
        if row is None:
            raise InvalidInput(f"the special passage {self.id!r} no longer exists")
        return row

    @property
    def name(self) -> str:
        return self.row()["name"]

    @property
    def tags(self) -> list[str]:
        return loads(self.row()["tags"], [])

    @property
    def text(self) -> str:
        return self.row()["text"]

    @property
    def format(self) -> str:
        """The format it came from (``"twine"``, ``"ink"``, ``"yarn"``)."""
        return self.row()["format"]

    @property
    def extra(self) -> dict[str, Any]:
        return loads(self.row()["extra"], {})

    def __repr__(self) -> str:
        try:
            return f"Special({self.name!r}, {self.format}, tags={self.tags})"
        except InvalidInput:
            return f"Special(<removed>, id={self.id!r})"


@dataclass(frozen=True)
class LoreEntry:
    id: str
    name: str
    keys: tuple[str, ...]
    content: str
    always: bool
    priority: int

    def matches(self, text: str) -> bool:
        if self.always:
            return True
        low = text.casefold()
        return any(
            re.search(r"(?<!\w)" + re.escape(k.casefold()) + r"(?!\w)", low) for k in self.keys if k.strip()
        )


@dataclass(frozen=True)
class Branch:
    """A named, explicit ordered path of scenes from the start; it may revisit a scene (a loop)."""

    project: Project
    name: str
    scene_ids: tuple[str, ...]

    @property
    def scenes(self) -> list[Scene]:
        return [Scene(self.project, s) for s in self.scene_ids]

    @property
    def tip(self) -> Scene | None:
        return Scene(self.project, self.scene_ids[-1]) if self.scene_ids else None

    def __len__(self) -> int:
        return len(self.scene_ids)

    def __repr__(self) -> str:
        return f"Branch({self.name!r}, {len(self.scene_ids)} scenes)"


@dataclass(frozen=True)
class FeedbackEvent:
    seq: int
    ts: str
    rater: str
    kind: str
    scene_id: str | None
    take_id: str | None
    others: tuple[str, ...]
    value: Any
