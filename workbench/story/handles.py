"""Thin handles on stored story objects: a :class:`Scene`, :class:`Take` or :class:`Character`
holds its project and an id and reads the file when asked, so whatever a view shows can
always be rebuilt from the file. Edits go through the project (one transaction each).

The examples in this module share the sample story:

    >>> import pathlib, tempfile
    >>> import workbench
    >>> project = workbench.build_sample(pathlib.Path(tempfile.mkdtemp()) / "sample.story")
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
"""The most characters a scene title or a character name may have (:func:`clean_title`)."""
MAX_TEXT = 2_000_000
"""The most characters one take (or one kept special passage) may hold (:func:`clean_text`)."""
HUMAN_RATER = "writer"
"""The rater recorded in the feedback log when a person rates, picks or edits a take and names no
rater; choices made by a program are logged as ``"auto"`` instead (``AUTO_RATER``)."""
ENDING_TAG = "ending"
"""The scene tag that marks an ending (any case): a reader who reaches such a scene is not stuck
there (:attr:`Scene.is_ending`, :meth:`~workbench.story.project.Project.mark_ending`)."""
CHOICE_KINDS = ("choice", "goto", "include")
"""The kinds of :class:`Choice`: ``"choice"``, the reader picks it; ``"goto"``, the story moves on
by itself (an Ink divert, ``<<goto>>``, ``(go-to:)``); ``"include"``, the scene shows another
scene's text (``<<include>>``, ``(display:)``): a reference, not a way out of the scene."""


def clean_title(title: Any, what: str = "title") -> str:
    """A title (or name) as one line; :class:`InvalidInput` when empty, not text or too long.

    Runs of whitespace, line breaks included, become one space. ``what`` names the thing in the
    error message (``"character name"``...).

    >>> clean_title("  The Lamp\\n   Goes Dark ")
    'The Lamp Goes Dark'
    >>> clean_title("   ", "character name")
    Traceback (most recent call last):
    ...
    workbench.errors.InvalidInput: a scene character name cannot be empty
    """
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
    """A take's text, checked (a string of at most :data:`MAX_TEXT` characters), else :class:`InvalidInput`.

    The text is kept as it is: line breaks and indentation carry meaning in screenplay text.

    >>> clean_text("INT. LAMP ROOM - NIGHT\\n\\nThe lamp is out.")
    'INT. LAMP ROOM - NIGHT\\n\\nThe lamp is out.'
    >>> clean_text(None)
    Traceback (most recent call last):
    ...
    workbench.errors.InvalidInput: scene text must be a string, not NoneType
    """
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

    A choice is a value read from the file: after an edit, read it again
    (:meth:`~workbench.story.project.Project.choice`). Changes go through the project
    (``connect``, ``add_choice``, ``fill_choice``, ``retarget``, ``relabel``, ``disconnect``).

    >>> ledger = project.scene("The Sister's Ledger")
    >>> first = ledger.choices[0]
    >>> first.label, first.source.title, first.target.title, first.kind, first.is_open
    ('Take Tomas up the tower', "The Sister's Ledger", 'Trusting Tomas', 'choice', False)
    >>> burn = project.add_choice(ledger, "Burn the ledger", wanted="Ashes")
    >>> burn
    Choice('Burn the ledger': s_... -> open: 'Ashes')
    >>> burn.target is None, [c.label for c in ledger.open_choices]
    (True, ['Burn the ledger'])
    >>> project.undo()
    'add open choice'
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
        """The scene the choice leaves from."""
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
    """A node of the story graph: a handle holding the project and the scene's id.

    Every property reads the file when asked, so a handle never goes stale; once the scene is
    deleted (or its adding undone) reading raises :class:`~workbench.errors.SceneNotFound`.
    Setting ``title``, ``tags``, ``characters``, ``position`` or ``is_ending`` is one undoable
    step. Get handles from the project (``project.scene(title)``, ``project.scenes``,
    ``add_scene``) rather than building them.

    >>> scene = project.scene("Leaving It Dark")
    >>> scene
    Scene('Leaving It Dark', id='s_...')
    >>> scene.tags, scene.characters, len(scene.takes)
    (['what-if'], ['Mara Quell', 'Ines Quell'], 1)
    >>> [(c.label, s.title) for c, s in scene.parents]
    [('Side with Ines and leave the light dark', "The Sister's Ledger")]
    >>> [(c.label, s.title) for c, s in scene.children]
    [('Row out to the unknown boat', 'The Boat in the Dark')]
    >>> scene.text.splitlines()[0]
    'EXT. CLIFF PATH - NIGHT'
    >>> scene.position = (120.0, 40.0)
    >>> scene.position, project.undo(), scene.position
    ((120.0, 40.0), 'move scene', None)
    """

    def row(self) -> sqlite3.Row:
        """The stored row (raises the not-found error when it was deleted or undone)."""
        row = self.project.db.one("SELECT * FROM scenes WHERE id=?", (self.id,))
        if row is None:
            raise SceneNotFound(f"the scene {self.id!r} no longer exists (deleted or undone)")
        return row

    @property
    def exists(self) -> bool:
        """Whether the scene is still in the project (False once deleted or undone); never raises."""
        return self.project.db.one("SELECT 1 FROM scenes WHERE id=?", (self.id,)) is not None

    @property
    def title(self) -> str:
        """The scene's title, unique in the project (case-insensitively); setting it renames the
        scene (:class:`~workbench.errors.DuplicateName` when another scene has that title)."""
        return self.row()["title"]

    @title.setter
    def title(self, value: str) -> None:
        self.project.rename(self, value)

    @property
    def tags(self) -> list[str]:
        """The scene's tags, a new list on each read: set the property to change them. The tag
        :data:`ENDING_TAG` marks an ending; formats' tags are kept as read."""
        return loads(self.row()["tags"], [])

    @tags.setter
    def tags(self, value: Iterable[str]) -> None:
        self.project.update_scene(self, tags=list(value), label="retag scene")

    @property
    def characters(self) -> list[str]:
        """The names of the characters in the scene (the cast a prompt for it brings in); set the
        property to change them."""
        return loads(self.row()["characters"], [])

    @characters.setter
    def characters(self, value: Iterable[str]) -> None:
        self.project.update_scene(self, characters=list(value), label="set scene cast")

    @property
    def position(self) -> tuple[float, float] | None:
        """Where the scene sits on the branch map, ``(x, y)``, or None where the map lays it out;
        set the property to move it (None to let the map place it again)."""
        row = self.row()
        if row["x"] is None or row["y"] is None:
            return None
        return (row["x"], row["y"])

    @position.setter
    def position(self, value: tuple[float, float] | None) -> None:
        self.project.update_scene(self, position=value, label="move scene")

    @property
    def summary(self) -> str | None:
        """A short summary of the scene, or None until one is written; prompts for later scenes use
        it in place of the full text. Set with :meth:`~workbench.story.project.Project.set_summary`."""
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
        """Every take of the scene, oldest first (the chosen one is :attr:`chosen`)."""
        self.row()
        rows = self.project.db.all("SELECT id FROM takes WHERE scene_id=? ORDER BY seq", (self.id,))
        return [Take(self.project, r["id"]) for r in rows]

    @property
    def chosen(self) -> Take | None:
        """The chosen take, the one readers, prompts and exports see; None while the scene has no
        take. It is derived from the feedback log (the latest live pick or edit)."""
        take_id = self.project.chosen_take_id(self.id)
        return Take(self.project, take_id) if take_id else None

    @property
    def text(self) -> str:
        """The chosen take's text (screenplay text); empty while the scene has no take."""
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
        """The choices that lead to this scene, each with the scene it leaves from, in order."""
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
    """One version of a scene's text, with where it came from.

    A take's text never changes: a hand edit is a new take linked to the one it was made from.
    Which take is chosen, and a take's rating, are derived from the append-only feedback log,
    so picking, rating and editing (each one undoable step) keep the history.

    >>> scene = project.scene("The Lamp Goes Dark")
    >>> first = scene.chosen
    >>> first.source, first.is_chosen, first.rating, first.parent
    ('writer', True, None, None)
    >>> second = scene.add_take("INT. LAMP ROOM - NIGHT\\n\\nThe lamp gutters.", "model", {"seed": 7})
    >>> second.is_chosen, second.provenance, second.scene == scene
    (False, {'seed': 7}, True)
    >>> second.rate(4).choose().rating, second.is_chosen, first.is_chosen
    (4, True, False)
    >>> edit = second.edit("INT. LAMP ROOM - NIGHT\\n\\nThe lamp dies.")
    >>> edit.source, edit.parent == second, edit.provenance["edited_from"] == second.id, edit.is_chosen
    ('edit', True, True, True)
    """

    def row(self) -> sqlite3.Row:
        """The stored row (raises the not-found error when it was deleted or undone)."""
        row = self.project.db.one("SELECT * FROM takes WHERE id=?", (self.id,))
        if row is None:
            raise TakeNotFound(f"the take {self.id!r} no longer exists")
        return row

    @property
    def text(self) -> str:
        """The take's text (screenplay text, see :mod:`workbench.story.screenplay`)."""
        return self.row()["text"]

    @property
    def source(self) -> str:
        """Where the text came from: one of ``TAKE_SOURCES`` (``"writer"``, ``"model"``,
        ``"edit"``, ``"import"``)."""
        return self.row()["source"]

    @property
    def scene(self) -> Scene:
        """The scene this is a take of."""
        return Scene(self.project, self.row()["scene_id"])

    @property
    def parent(self) -> Take | None:
        """The take this one was made from (the original of an edit), or None."""
        pid = self.row()["parent_id"]
        return Take(self.project, pid) if pid else None

    @property
    def provenance(self) -> dict[str, Any]:
        """How the take was made, a new dict on each read: for a generated take the generator's
        fingerprint, every parameter (the seed too), the prompt, token counts and timings; for an
        edit, ``edited_from`` (the original's id)."""
        return loads(self.row()["provenance"], {})

    @property
    def created(self) -> str:
        """When the take was stored: an ISO 8601 UTC timestamp (``2025-01-31T09:30:00.000000Z``)."""
        return self.row()["created"]

    @property
    def rating(self) -> int | None:
        """The latest rating in stars (1 to 5) that has not been undone, or None."""
        return self.project.rating_of(self.id)

    @property
    def is_chosen(self) -> bool:
        """Whether this is its scene's chosen take."""
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
    """A character pinned in this project (a snapshot of the cast library's version).

    Every field of :data:`~workbench.story.model.CHARACTER_FIELDS` reads as an attribute
    (``mara.personality``) and setting one, or calling :meth:`update`, stores a new version of
    the project's snapshot (one undoable step); the cast library changes only on request.

    >>> mara = project.cast["Mara Quell"]
    >>> mara, mara.library_id, mara.library_version
    (Character('Mara Quell', v1), None, None)
    >>> mara.update(speech_style="Short sentences; never says goodbye.").version
    2
    >>> mara.speech_style, mara.data["speech_style"]
    ('Short sentences; never says goodbye.', 'Short sentences; never says goodbye.')
    >>> mara.palette == mara.to_dict()["palette"]
    True
    """

    def row(self) -> sqlite3.Row:
        """The stored row (raises the not-found error when it was deleted or undone)."""
        row = self.project.db.one("SELECT * FROM characters WHERE id=?", (self.id,))
        if row is None:
            raise CharacterNotFound(f"the character {self.id!r} is no longer in this project")
        return row

    @property
    def name(self) -> str:
        """The character's name, unique in the project (case-insensitively); setting it renames
        the character (a new version)."""
        return self.row()["name"]

    @property
    def version(self) -> int:
        """The snapshot's version in this project: 1 when added, one more with each change."""
        return self.row()["version"]

    @property
    def library_id(self) -> str | None:
        """The id of the cast-library character this was pinned from; None for a character made
        in the project."""
        return self.row()["library_id"]

    @property
    def library_version(self) -> int | None:
        """The cast-library version last pinned or pulled, or None (see ``Cast.outdated``)."""
        return self.row()["library_version"]

    @property
    def data(self) -> dict[str, Any]:
        """Every character field, a new dict on each read: the stored values over the defaults,
        the palette and image seed derived from the character's identity where none is set."""
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
        """The character as plain data: ``id``, ``name``, ``version`` and every field of :attr:`data`."""
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
    function...), kept verbatim so exports write it back.

    Importers keep them (``project.specials``, :class:`~workbench.story.collections.Specials`);
    the story graph, the player and the generators ignore them.

    >>> init = project.specials.add("StoryInit", "<<set $lamp to false>>", tags=["init"], format="twine")
    >>> init
    Special('StoryInit', twine, tags=['init'])
    >>> init.text, init.extra
    ('<<set $lamp to false>>', {})
    >>> project.specials.remove(init)
    >>> init.name
    Traceback (most recent call last):
    ...
    workbench.errors.InvalidInput: the special passage 'p_...' no longer exists
    """

    def row(self) -> sqlite3.Row:
        """The stored row (raises :class:`~workbench.errors.InvalidInput` when the passage was
        removed or undone)."""
        row = self.project.db.one("SELECT * FROM specials WHERE id=?", (self.id,))
        if row is None:
            raise InvalidInput(f"the special passage {self.id!r} no longer exists")
        return row

    @property
    def name(self) -> str:
        """The passage's name as the format wrote it (``StoryInit``, ``UserScript``...)."""
        return self.row()["name"]

    @property
    def tags(self) -> list[str]:
        """The passage's tags, as read."""
        return loads(self.row()["tags"], [])

    @property
    def text(self) -> str:
        """The passage's text, verbatim."""
        return self.row()["text"]

    @property
    def format(self) -> str:
        """The format it came from (``"twine"``, ``"ink"``, ``"yarn"``)."""
        return self.row()["format"]

    @property
    def extra(self) -> dict[str, Any]:
        """What else the format said about the passage (its map position...), kept for export."""
        return loads(self.row()["extra"], {})

    def __repr__(self) -> str:
        try:
            return f"Special({self.name!r}, {self.format}, tags={self.tags})"
        except InvalidInput:
            return f"Special(<removed>, id={self.id!r})"


@dataclass(frozen=True)
class LoreEntry:
    """One entry of world info, as plain data: ``content`` enters the prompt of a scene whose text
    mentions one of its ``keys`` (or every prompt, when ``always``); entries of higher ``priority``
    come first. Kept in the project's :class:`~workbench.story.collections.Lore`.

    >>> lamp = next(e for e in project.lore if e.name == "lighthouse")
    >>> lamp.keys, lamp.always, lamp.priority
    (('lighthouse', 'lamp', 'light'), False, 2)
    >>> lamp.matches("The LAMP is out."), lamp.matches("A lamppost by the quay.")
    (True, False)
    """

    id: str
    name: str
    keys: tuple[str, ...]
    content: str
    always: bool
    priority: int

    def matches(self, text: str) -> bool:
        """Whether the entry fires for ``text``: always-on entries do; others when one of the keys
        appears in it as a whole word or phrase, in any case."""
        if self.always:
            return True
        low = text.casefold()
        return any(
            re.search(r"(?<!\w)" + re.escape(k.casefold()) + r"(?!\w)", low) for k in self.keys if k.strip()
        )


@dataclass(frozen=True)
class Branch:
    """A named, explicit ordered path of scenes from the start; it may revisit a scene (a loop).

    A branch is a value read from the file (``project.branches[name]``); continuing the story on a
    branch adds a scene after its :attr:`tip`. The default branch is ``main``.

    >>> ines = project.branches["ines"]
    >>> ines, len(ines), ines.tip.title
    (Branch('ines', 5 scenes), 5, 'The Boat in the Dark')
    >>> [s.title for s in ines.scenes][2:4]
    ["The Sister's Ledger", 'Leaving It Dark']
    """

    project: Project
    name: str
    scene_ids: tuple[str, ...]

    @property
    def scenes(self) -> list[Scene]:
        """The branch's scenes in reading order (a scene it revisits appears again)."""
        return [Scene(self.project, s) for s in self.scene_ids]

    @property
    def tip(self) -> Scene | None:
        """The branch's last scene, where it continues; None for an empty branch."""
        return Scene(self.project, self.scene_ids[-1]) if self.scene_ids else None

    def __len__(self) -> int:
        return len(self.scene_ids)

    def __repr__(self) -> str:
        return f"Branch({self.name!r}, {len(self.scene_ids)} scenes)"


@dataclass(frozen=True)
class FeedbackEvent:
    """One live event of the append-only feedback log, as
    :meth:`~workbench.story.project.Project.feedback` reads it (undone events left out).

    ``kind`` is one of ``FEEDBACK_KINDS``: ``"rate"`` (``value`` holds the stars), ``"choose"``
    (``take_id`` picked over the takes in ``others``), ``"edit"`` (the edit ``take_id`` preferred
    over the original in ``others``) or ``"ab"`` (a blind pick of ``take_id`` over ``others``).
    ``rater`` is :data:`HUMAN_RATER` unless named, ``"auto"`` for choices made by a program;
    ``seq`` orders the log and ``ts`` is an ISO 8601 UTC timestamp.

    >>> [(e.kind, e.rater, e.value) for e in project.feedback(include_auto=False)]
    [('rate', 'writer', 4), ('choose', 'writer', None), ('edit', 'writer', None)]
    >>> last = project.feedback()[-1]
    >>> last.take_id == edit.id, last.others == (second.id,)
    (True, True)
    """

    seq: int
    ts: str
    rater: str
    kind: str
    scene_id: str | None
    take_id: str | None
    others: tuple[str, ...]
    value: Any
