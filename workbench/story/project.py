"""A story project: one portable SQLite file.

The file holds the story graph (scenes and choices: a directed graph that may loop, with
unreachable scenes and open choices kept), named branches (explicit ordered paths that may
revisit a scene), takes with provenance, the append-only feedback log, the project's pinned
cast snapshot, lore, special passages of imported story formats (kept verbatim), media blobs
(content-addressed) and the generation cache. Every change is one transaction and one undo step.

The parts: :mod:`.storage` (the file, transactions, undo, opening), :mod:`.handles`
(``Scene``, ``Take``, ``Character``... thin handles that read on demand), :mod:`.collections`
(cast, lore, assets, branches) and this module's :class:`Project`, which ties them together.

The examples in this module share a scratch folder and the sample story:

    >>> import pathlib, tempfile
    >>> import workbench
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> project = workbench.build_sample(folder / "sample.story")
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import (
    AmbiguousPathError,
    DuplicateName,
    InvalidInput,
    ProjectNotFound,
    SceneNotFound,
    StoryError,
    TooLarge,
)
from .collections import DEFAULT_BRANCH, Assets, Branches, Cast, Lore, Specials, clean_branch_name
from .graph import (
    ChoiceInfo,
    GraphSnapshot,
    NewChoice,
    NewScene,
    NewSpecial,
    SceneInfo,
    Structure,
    structure,
)
from .handles import (
    CHOICE_KINDS,
    ENDING_TAG,
    HUMAN_RATER,
    MAX_TEXT,
    MAX_TITLE,
    Branch,
    Character,
    Choice,
    FeedbackEvent,
    LoreEntry,
    Scene,
    Special,
    Take,
    clean_text,
    clean_title,
)
from .model import Asset
from .storage import (
    Database,
    acting_as,
    connect,
    create_schema,
    dumps,
    inspect_file,
    loads,
    migrate_file,
    new_id,
    now,
)

__all__ = [
    "AUTO_RATER",
    "CHOICE_KINDS",
    "DEFAULT_BRANCH",
    "ENDING_TAG",
    "FEEDBACK_KINDS",
    "HUMAN_RATER",
    "MAX_CHOICES_PER_SCENE",
    "MAX_LABEL",
    "MAX_STORY_CHOICES",
    "MAX_STORY_SCENES",
    "MAX_TEXT",
    "MAX_TITLE",
    "META_FIELDS",
    "TAKE_SOURCES",
    "Asset",
    "Assets",
    "Branch",
    "Branches",
    "Cast",
    "Character",
    "Choice",
    "ChoiceInfo",
    "FeedbackEvent",
    "GraphSnapshot",
    "Lore",
    "LoreEntry",
    "NewChoice",
    "NewScene",
    "NewSpecial",
    "Project",
    "Scene",
    "SceneInfo",
    "Special",
    "Specials",
    "Structure",
    "Take",
    "clean_label",
    "clean_branch_name",
    "clean_text",
    "clean_title",
    "open_project",
]

AUTO_RATER = "auto"
"""The rater of choices a program makes (a scene's first take chosen on its own, a report run
picking the take it generated): kept in the feedback log, never exported as a human preference."""
TAKE_SOURCES = ("writer", "model", "edit", "import")
"""Where a take's text can come from: the writer, a model, a hand edit of another take, an import."""
FEEDBACK_KINDS = ("rate", "choose", "edit", "ab")
"""The kinds of feedback event: a rating, a pick over the sibling takes, an edit (preferred over its
original), a blind A/B pick (see :class:`~workbench.story.handles.FeedbackEvent`)."""
META_FIELDS = ("title", "logline", "genre", "style", "author_note")
"""The project settings that are part of the story: each is a property of :class:`Project`, and
:meth:`Project.content` holds them (with the IFID)."""
MAX_LABEL = 500
"""The most characters a choice label may have (:func:`clean_label`)."""
MAX_STORY_SCENES = 100_000
"""The most scenes one :meth:`Project.add_story` call (an import) may bring; beyond it the story is
refused with :class:`~workbench.errors.TooLarge` before anything is written."""
MAX_STORY_CHOICES = 500_000
"""The most choices one :meth:`Project.add_story` call (an import) may bring; beyond it the story is
refused with :class:`~workbench.errors.TooLarge` before anything is written."""
MAX_CHOICES_PER_SCENE = 1_000
"""The most choices out of one scene, open ones included: one more raises
:class:`~workbench.errors.TooLarge` (in an import, before anything is written)."""


def clean_label(label: Any) -> str:
    """A choice label as one line; :class:`InvalidInput` when empty, not text or too long.

    >>> clean_label("  Climb the\\n   tower ")
    'Climb the tower'
    >>> clean_label("x" * (MAX_LABEL + 1))
    Traceback (most recent call last):
    ...
    workbench.errors.InvalidInput: a choice label can have at most 500 characters (this one has 501)
    """
    if not isinstance(label, str):
        raise InvalidInput(f"a choice label must be text, not {type(label).__name__}")
    label = " ".join(label.split())
    if not label:
        raise InvalidInput("a choice needs a label (what the reader picks)")
    if len(label) > MAX_LABEL:
        raise InvalidInput(
            f"a choice label can have at most {MAX_LABEL} characters (this one has {len(label)})"
        )
    return label


def _reached_avoiding(succ: Mapping[str, list[str]], root: str, avoid: set[str]) -> set[str]:
    """Scenes reachable from ``root`` along ``succ`` without entering ``avoid`` (``root`` included)."""
    if root in avoid:
        return set()
    seen = {root}
    stack = [root]
    while stack:
        for t in succ.get(stack.pop(), ()):
            if t not in seen and t not in avoid:
                seen.add(t)
                stack.append(t)
    return seen


class Project:
    """An open project file. Use :func:`open_project` to get one.

    A project reads the file whenever asked, so it sees changes made by another process; every
    change is one transaction and one undo step (:meth:`undo` takes back the last, whoever made
    it). Its collections are attributes: ``cast``, ``lore``, ``assets``, ``branches`` and
    ``specials``. A project is a context manager that closes the file on leaving.

    >>> story = open_project(folder / "ferry.story", title="The Ferry")
    >>> harbour = story.add_scene("Harbour", "EXT. HARBOUR QUAY - NIGHT\\n\\nGulls wheel over the quay.")
    >>> tower = story.add_scene("Tower", choice="Climb the hill")  # follows the tip of main
    >>> back = story.connect(tower, harbour, "Go back down")  # a loop
    >>> story.start == harbour, [s.title for s in story.branches["main"].scenes]
    (True, ['Harbour', 'Tower'])
    >>> [s.title for s in story.path(tower)], story.structure().back_edges == [back.id]
    (['Harbour', 'Tower'], True)
    >>> story.undo(), len(story.choices)
    ('connect scenes', 1)
    >>> story.close()
    """

    def __init__(self, file: Path, conn: sqlite3.Connection) -> None:
        self.file = file  # the project file (``path()`` is the story so far)
        self.db = Database(file, conn)  # storage: the story layer's SQL goes through it
        self.cast = Cast(self)
        self.lore = Lore(self)
        self.assets = Assets(self)
        self.branches = Branches(self)
        self.specials = Specials(self)

    # ---- storage
    @property
    def conn(self) -> sqlite3.Connection:
        """The open SQLite connection (:class:`~workbench.errors.ProjectClosed` once closed). Only
        the story layer runs SQL; other parts use the project's methods."""
        return self.db.conn

    @contextlib.contextmanager
    def transaction(
        self, label: str = "change", undoable: bool = True, surface: str = "write"
    ) -> Iterator[Project]:
        """Group writes into one atomic transaction and one undo step. Nested calls join the outer one.

        ``surface`` is where the change is made: ``"write"`` or ``"play"`` (a reader's move); each
        surface's Undo takes back its own steps (:meth:`undo`)."""
        with self.db.transaction(label, undoable, surface):
            yield self

    @contextlib.contextmanager
    def reading(self) -> Iterator[Project]:
        """Reads inside the block see one consistent state of the story, whatever other programs
        commit meanwhile (e.g. to show a scene, its takes and its branches as they belong together).
        :meth:`snapshot` reads the whole graph this way by itself."""
        with self.db.snapshot():
            yield self

    @contextlib.contextmanager
    def acting_as(self, user: str | None) -> Iterator[Project]:
        """Changes made in the block (in this thread) are ``user``'s undo steps, and :meth:`undo`
        undoes ``user``'s own last step (a shared server gives each writer their own Undo)."""
        with acting_as(user):
            yield self

    def on_change(self, callback: Callable[[Project], None]) -> Callable[[], None]:
        """Call ``callback(project)`` after each committed change; returns a function that unsubscribes."""
        return self.db.on_change(lambda: callback(self))

    @property
    def revision(self) -> int:
        """A number that changes whenever the story changes (in this or another process)."""
        return self.db.revision

    def close(self) -> None:
        """Checkpoint the write-ahead log into the file and close it (the file is then complete on its own)."""
        self.db.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called (reading a closed project raises
        :class:`~workbench.errors.ProjectClosed`)."""
        return self.db.closed

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - best effort
        with contextlib.suppress(Exception):
            self.close()

    def backup(self, out: str | os.PathLike[str]) -> Path:
        """A consistent copy through SQLite's backup API (safe while the project is in use)."""
        return self.db.backup(out)

    # ---- meta
    def get_meta(self, key: str, default: str = "") -> str:
        """A project setting stored by key (title, logline, and settings other parts keep)."""
        return self.db.get_meta(key, default)

    def set_meta(self, key: str, value: str) -> None:
        """Store a project setting (one undoable step)."""
        if not isinstance(value, str):
            raise InvalidInput(f"the project's {key} must be text")
        with self.transaction(f"set {key}"):
            self.db.set_meta(key, value)

    title = property(
        lambda self: self.get_meta("title", "Untitled story"), lambda self, v: self.set_meta("title", v)
    )
    logline = property(lambda self: self.get_meta("logline"), lambda self, v: self.set_meta("logline", v))
    genre = property(lambda self: self.get_meta("genre"), lambda self, v: self.set_meta("genre", v))
    style = property(lambda self: self.get_meta("style"), lambda self, v: self.set_meta("style", v))
    author_note = property(
        lambda self: self.get_meta("author_note"), lambda self, v: self.set_meta("author_note", v)
    )

    @property
    def ifid(self) -> str:
        """The story's IFID: an upper-case UUID that names it across Twine and Twee round trips.
        Setting it checks it is a UUID (:class:`~workbench.errors.InvalidInput`); one undoable step."""
        return self.get_meta("ifid")

    @ifid.setter
    def ifid(self, value: str) -> None:
        try:
            value = str(uuid.UUID(str(value))).upper()
        except ValueError:
            raise InvalidInput(f"an IFID is a UUID like {uuid.uuid4()!s}, not {value!r}") from None
        self.set_meta("ifid", value)

    # ---- scenes
    @property
    def scenes(self) -> list[Scene]:
        """Every scene, in the order they were added (drafts no path reaches included)."""
        return [Scene(self, r["id"]) for r in self.db.all("SELECT id FROM scenes ORDER BY seq")]

    def scene_titles(self) -> list[tuple[str, str]]:
        """(id, title) of every scene in order, read in one query (for lists that show many scenes)."""
        return [(r["id"], r["title"]) for r in self.db.all("SELECT id, title FROM scenes ORDER BY seq")]

    @property
    def start(self) -> Scene | None:
        """The start scene (the first scene added, or the one an import named); None in an empty story."""
        sid = self.get_meta("start")
        return Scene(self, sid) if sid else None

    def scene(self, id_or_title: str | Scene) -> Scene:
        """The scene with this id or title (an exact match first, then any case); a
        :class:`Scene` given is checked to still exist. :class:`~workbench.errors.SceneNotFound`
        otherwise.

        >>> project.scene("the lamp goes dark").title
        'The Lamp Goes Dark'
        """
        if isinstance(id_or_title, Scene):
            id_or_title.row()
            return id_or_title
        if not isinstance(id_or_title, str):
            raise InvalidInput("look scenes up by id or title")
        r = self.db.one("SELECT id FROM scenes WHERE id=? OR title=?", (id_or_title, id_or_title))
        if r is None:
            r = self.db.one("SELECT id FROM scenes WHERE lower(title)=lower(?)", (id_or_title,))
        if r is None:
            raise SceneNotFound(f"no scene called {id_or_title!r} in {self.title!r}")
        return Scene(self, r["id"])

    @property
    def choices(self) -> list[Choice]:
        """Every choice of the story in the order they were made, open ones included."""
        return [Choice.from_row(self, r) for r in self.db.all("SELECT * FROM choices ORDER BY seq")]

    def title_taken(self, title: str) -> bool:
        """Whether a scene already has this title (case-insensitive)."""
        return self.db.one("SELECT 1 FROM scenes WHERE lower(title)=lower(?)", (title,)) is not None

    def unique_title(self, title: str) -> str:
        """``title``, or ``title (2)``, ``title (3)``... whichever is free."""
        base = clean_title(title)
        candidate, n = base, 1
        while self.db.one("SELECT 1 FROM scenes WHERE lower(title)=lower(?)", (candidate,)):
            n += 1
            candidate = f"{base} ({n})"
        return candidate

    def add_scene(
        self,
        title: str,
        text: str = "",
        after: Scene | str | None = None,
        choice: str | None = None,
        characters: Iterable[str] = (),
        tags: Iterable[str] = (),
        position: tuple[float, float] | None = None,
        branch: str | None = None,
        source: str = "writer",
        provenance: Mapping[str, Any] | None = None,
    ) -> Scene:
        """Add a scene, linked from ``after`` by a choice labelled ``choice``.

        The first scene becomes the start and the first scene of ``main``. Without ``after``
        the scene follows the tip of ``branch`` (default ``main``). A branch whose tip is
        ``after`` (``branch`` if given, else ``main``, else the only such branch) grows by the
        new scene. ``text``, if given, becomes the scene's first take (chosen). When ``after``
        has an open choice labelled ``choice`` (or, without ``choice``, one that wants a scene
        called ``title``), the new scene is the one behind it: that choice now leads there.
        """
        title = clean_title(title)
        text = clean_text(text)
        chars = [str(c) for c in characters]
        tag_list = [str(t).strip() for t in tags if str(t).strip()]
        with self.transaction(f"add scene {title}"):
            if self.db.one("SELECT 1 FROM scenes WHERE lower(title)=lower(?)", (title,)):
                raise DuplicateName(f"there is already a scene called {title!r}; pick another title")
            start = self.start
            src: Scene | None = None
            if start is None:
                if after is not None:
                    raise StoryError("the story has no scenes yet: the first scene cannot follow another")
            elif after is None:
                b = self.branches[branch or DEFAULT_BRANCH]
                src = b.tip
            else:
                src = self.scene(after)
            sid = new_id("s_")
            x, y = position if position is not None else (None, None)
            self.db.execute(
                "INSERT INTO scenes(id, title, tags, characters, x, y, seq) VALUES(?,?,?,?,?,?,?)",
                (sid, title, dumps(tag_list), dumps(chars), x, y, self.db.next_seq("scenes")),
            )
            scene = Scene(self, sid)
            if start is None:
                self.db.execute(
                    "INSERT INTO meta(key, value) VALUES('start', ?) "
                    "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                    (sid,),
                )
                if DEFAULT_BRANCH in self.branches:
                    self.db.execute(
                        "UPDATE branches SET scenes=? WHERE name=?", (dumps([sid]), DEFAULT_BRANCH)
                    )
                else:
                    self.db.execute(
                        "INSERT INTO branches(name, scenes, seq) VALUES(?,?,?)",
                        (DEFAULT_BRANCH, dumps([sid]), self.db.next_seq("branches")),
                    )
            elif src is not None:
                label = choice or title
                waiting = self._open_choice_for(src, label, title if choice is None else None)
                if waiting is not None:  # the scene behind an open choice is written
                    self.db.execute("UPDATE choices SET target=?, wanted=NULL WHERE id=?", (sid, waiting))
                else:
                    self._link(src, scene, label)
                grow = self._branch_to_grow(src, branch)
                if grow is not None:
                    ids = list(self.branches[grow].scene_ids) + [sid]
                    self.db.execute("UPDATE branches SET scenes=? WHERE name=?", (dumps(ids), grow))
            if text:
                self.add_take(scene, text, source, provenance, None, True)
        return scene

    def _branch_to_grow(self, src: Scene, branch: str | None) -> str | None:
        if branch is not None:
            b = self.branches[branch]
            if b.tip != src:
                raise StoryError(
                    f"{src.title!r} is not the last scene of branch {branch!r}; fork a new branch from it instead"
                )
            return branch
        tips = [name for name in self.branches if self.branches[name].tip == src]
        if DEFAULT_BRANCH in tips:
            return DEFAULT_BRANCH
        return tips[0] if len(tips) == 1 else None

    def _check_kind(self, kind: str) -> str:
        if kind not in CHOICE_KINDS:
            raise InvalidInput(f"a choice's kind is one of {', '.join(CHOICE_KINDS)}, not {kind!r}")
        return kind

    def _link(self, src: Scene, dst: Scene, label: str, kind: str = "choice") -> Choice:
        label = clean_label(label)
        kind = self._check_kind(kind)
        if self.db.one(
            "SELECT 1 FROM choices WHERE source=? AND target=? AND lower(label)=lower(?) AND kind=?",
            (src.id, dst.id, label, kind),
        ):
            raise DuplicateName(f"{src.title!r} already leads to {dst.title!r} by the choice {label!r}")
        self._check_room(src)
        cid = new_id("x_")
        self.db.execute(
            "INSERT INTO choices(id, source, target, label, kind, seq) VALUES(?,?,?,?,?,?)",
            (cid, src.id, dst.id, label, kind, self.db.next_seq("choices")),
        )
        return Choice(self, cid, src.id, dst.id, label, None, kind)

    def _check_room(self, src: Scene) -> None:
        n = self.db.scalar("SELECT count(*) FROM choices WHERE source=?", (src.id,))
        if n >= MAX_CHOICES_PER_SCENE:
            raise TooLarge(
                f"{src.title!r} already has {n:,} choices; a scene can have at most {MAX_CHOICES_PER_SCENE:,}"
            )

    def _open_choice_for(self, src: Scene, label: str, title: str | None) -> str | None:
        """The id of ``src``'s open choice labelled ``label`` (or wanting a scene called ``title``)."""
        r = self.db.one(
            "SELECT id FROM choices WHERE source=? AND target IS NULL AND lower(label)=lower(?) ORDER BY seq",
            (src.id, " ".join(str(label).split())),
        )
        if r is None and title is not None:
            r = self.db.one(
                "SELECT id FROM choices WHERE source=? AND target IS NULL AND lower(wanted)=lower(?) "
                "ORDER BY seq",
                (src.id, title),
            )
        return r["id"] if r else None

    def connect(
        self, from_scene: Scene | str, to_scene: Scene | str, choice: str, kind: str = "choice"
    ) -> Choice:
        """A choice from ``from_scene`` to an existing scene: a merge, or a loop back (a hub, "try again").

        Choices may lead back to an earlier scene, the start included, or to the scene itself;
        the branch map shows such loops. The same two scenes may be joined by several choices
        with different labels; the very same choice twice is refused (:class:`DuplicateName`).
        """
        with self.transaction("connect scenes"):
            src, dst = self.scene(from_scene), self.scene(to_scene)
            return self._link(src, dst, choice, kind)

    def add_choice(
        self, from_scene: Scene | str, choice: str, wanted: str | None = None, kind: str = "choice"
    ) -> Choice:
        """An open choice: ``choice`` out of ``from_scene`` to a scene not written yet, called ``wanted``
        (default: the label). :meth:`fill_choice` writes the scene behind it."""
        label = clean_label(choice)
        want = clean_title(wanted if wanted is not None else label)
        kind = self._check_kind(kind)
        with self.transaction("add open choice"):
            src = self.scene(from_scene)
            if self.db.one(
                "SELECT 1 FROM choices WHERE source=? AND target IS NULL AND lower(label)=lower(?)",
                (src.id, label),
            ):
                raise DuplicateName(f"{src.title!r} already has an open choice {label!r}")
            self._check_room(src)
            cid = new_id("x_")
            self.db.execute(
                "INSERT INTO choices(id, source, target, wanted, label, kind, seq) VALUES(?,?,?,?,?,?,?)",
                (cid, src.id, None, want, label, kind, self.db.next_seq("choices")),
            )
        return Choice(self, cid, src.id, None, label, want, kind)

    def choice(self, choice_id: str | Choice) -> Choice:
        """The choice with this id (read again from the file)."""
        cid = choice_id.id if isinstance(choice_id, Choice) else choice_id
        r = self.db.one("SELECT * FROM choices WHERE id=?", (cid,))
        if r is None:
            raise StoryError(f"the choice {cid!r} no longer exists (removed or undone)")
        return Choice.from_row(self, r)

    def fill_choice(
        self,
        choice: Choice | str,
        title: str | None = None,
        text: str = "",
        *,
        branch: str | None = None,
        source: str = "writer",
        provenance: Mapping[str, Any] | None = None,
    ) -> Scene:
        """Write the scene behind an open choice: a new scene (titled ``title``, else the scene the
        choice wants) that the choice now leads to. A branch ending at the choice's scene grows."""
        c = self.choice(choice)
        if c.target_id is not None:
            raise StoryError(f"the choice {c.label!r} already leads to {Scene(self, c.target_id).title!r}")
        want = title if title is not None else (c.wanted or c.label)
        with self.transaction(f"write the scene behind {c.label}"):
            scene = self.add_scene(
                want,
                text,
                after=c.source,
                choice=c.label,
                branch=branch,
                source=source,
                provenance=provenance,
            )
        return scene

    def retarget(self, choice: Choice | str, to_scene: Scene | str) -> Choice:
        """Point a choice (open or not) at an existing scene."""
        with self.transaction("retarget choice"):
            c = self.choice(choice)
            dst = self.scene(to_scene)
            self.db.execute("UPDATE choices SET target=?, wanted=NULL WHERE id=?", (dst.id, c.id))
        return self.choice(c.id)

    def disconnect(self, choice: Choice) -> None:
        """Remove a choice; a branch that took it (and no other choice between the same scenes) ends before it."""
        with self.transaction("remove choice"):
            src, dst = choice.source_id, choice.target_id
            other = self.db.one(
                "SELECT 1 FROM choices WHERE source=? AND target=? AND id!=?", (src, dst, choice.id)
            )
            if dst is not None and other is None:
                for name in list(self.branches):
                    ids = list(self.branches[name].scene_ids)
                    for i in range(len(ids) - 1):
                        if ids[i] == src and ids[i + 1] == dst:
                            self.db.execute(
                                "UPDATE branches SET scenes=? WHERE name=?", (dumps(ids[: i + 1]), name)
                            )
                            break
            self.db.execute("DELETE FROM choices WHERE id=?", (choice.id,))

    def relabel(self, choice: Choice, label: str) -> None:
        """Change what a choice says (checked by :func:`clean_label`); one undoable step."""
        label = clean_label(label)
        with self.transaction("relabel choice"):
            self.db.execute("UPDATE choices SET label=? WHERE id=?", (label, choice.id))

    def update_scene(
        self,
        scene: Scene,
        *,
        tags: list[str] | None = None,
        characters: list[str] | None = None,
        position: tuple[float, float] | None | bool = False,
        summary: str | None = None,
        label: str = "edit scene",
    ) -> None:
        """Change a scene's tags, characters, position or summary in one undoable step named
        ``label``; what is left out stays as it is (``position=None`` clears the position). The
        :class:`Scene` properties' setters call this."""
        with self.transaction(label):
            scene.row()
            if tags is not None:
                self.db.execute(
                    "UPDATE scenes SET tags=? WHERE id=?", (dumps([str(t) for t in tags]), scene.id)
                )
            if characters is not None:
                self.db.execute(
                    "UPDATE scenes SET characters=? WHERE id=?",
                    (dumps([str(c) for c in characters]), scene.id),
                )
            if position is not False:
                x, y = position if position is not None else (None, None)  # type: ignore[misc]
                self.db.execute("UPDATE scenes SET x=?, y=? WHERE id=?", (x, y, scene.id))
            if summary is not None:
                self.db.execute("UPDATE scenes SET summary=? WHERE id=?", (summary, scene.id))

    def mark_ending(self, scene: Scene | str, ending: bool = True) -> None:
        """Mark ``scene`` as an ending (the tag ``ending``), or unmark it: a reader who reaches an
        ending is not stuck there."""
        scene = self.scene(scene)
        tags = [t for t in scene.tags if t.casefold() != ENDING_TAG]
        if ending:
            tags.append(ENDING_TAG)
        self.update_scene(scene, tags=tags, label="mark ending" if ending else "unmark ending")

    def set_summary(self, scene: Scene, summary: str) -> None:
        """Store a scene's summary (:attr:`Scene.summary`); one undoable step."""
        self.update_scene(scene, summary=summary, label="summarise scene")

    # ---- paths and branches
    def path(self, scene: Scene | str, branch: str | None = None) -> list[Scene]:
        """The story so far: the scenes from the start to ``scene`` (inclusive), in reading order.

        With ``branch``, the branch's own path is used where it passes through; a branch that
        revisits ``scene`` (a loop) is read up to its latest visit, so a scene may appear more
        than once. Off the branch, the way back follows the one scene that leads here; where
        several do and no branch decides, :class:`AmbiguousPathError` is raised. Choices that
        lead back (loops) never make a path ambiguous: a path from the start does not pass
        through the scene it ends at. For a scene no path from the start reaches (a draft), the
        way back goes as far as it can.
        """
        target = self.scene(scene)
        start = self.get_meta("start") or None
        on_branch: tuple[str, ...] = ()
        if branch is not None:
            on_branch = self.branches[branch].scene_ids
        last_at = {sid: i for i, sid in enumerate(on_branch)}  # a scene's latest visit on the branch
        walked: list[str] = []
        on_walk: set[str] = set()
        cur = target.id
        succ: dict[str, list[str]] | None = None
        while True:
            if cur in last_at:
                ids = list(on_branch[: last_at[cur] + 1]) + list(reversed(walked))
                return [Scene(self, s) for s in ids]
            walked.append(cur)
            on_walk.add(cur)
            if cur == start:
                break
            parents = [
                r["source"]
                for r in self.db.all(
                    "SELECT source FROM choices WHERE target=? AND source!=? GROUP BY source ORDER BY min(seq)",
                    (cur, cur),
                )
                if r["source"] not in on_walk
            ]
            on = [p for p in parents if p in last_at]
            if on:  # the branch decides: the parent it visited last
                cur = max(on, key=lambda p: last_at[p])
                continue
            if len(parents) > 1 and start is not None:
                # only parents the start reaches without passing the way walked so far are ways back
                if succ is None:
                    succ = self._successors()
                fine = _reached_avoiding(succ, start, on_walk)
                parents = [p for p in parents if p in fine]
            if not parents:
                break
            if len(parents) > 1:
                names = ", ".join(Scene(self, p).title for p in parents)
                raise AmbiguousPathError(
                    f"several paths lead to {target.title!r} (through {names}); say which branch you mean"
                )
            cur = parents[0]
        return [Scene(self, s) for s in reversed(walked)]

    def _successors(self) -> dict[str, list[str]]:
        succ: dict[str, list[str]] = {}
        for r in self.db.all("SELECT source, target FROM choices WHERE target IS NOT NULL ORDER BY seq"):
            succ.setdefault(r["source"], []).append(r["target"])
        return succ

    def set_branch(self, name: str, scene: Scene | str, from_branch: str | None = None) -> Branch:
        """Point branch ``name`` at ``path(scene)`` (creating it if needed)."""
        name = clean_branch_name(name)
        with self.transaction(f"set branch {name}"):
            ids = [s.id for s in self.path(scene, from_branch)]
            start = self.get_meta("start")
            if ids and ids[0] != start:
                raise StoryError(
                    f"{self.scene(ids[-1]).title!r} cannot be reached from the start; "
                    "connect it to the story before making a branch of it"
                )
            if name in self.branches:
                self.db.execute("UPDATE branches SET scenes=? WHERE name=?", (dumps(ids), name))
            else:
                self.db.execute(
                    "INSERT INTO branches(name, scenes, seq) VALUES(?,?,?)",
                    (name, dumps(ids), self.db.next_seq("branches")),
                )
        return self.branches[name]

    def extend_branch(self, name: str, scene: Scene) -> Branch:
        """Append ``scene`` (a child of the branch's tip, perhaps one visited before) to branch ``name``."""
        with self.transaction(f"extend branch {name}"):
            b = self.branches[name]
            if b.tip is not None and not self.db.one(
                "SELECT 1 FROM choices WHERE source=? AND target=?", (b.tip.id, scene.id)
            ):
                raise StoryError(f"{scene.title!r} does not follow the last scene of branch {name!r}")
            self.db.execute(
                "UPDATE branches SET scenes=? WHERE name=?", (dumps([*b.scene_ids, scene.id]), name)
            )
        return self.branches[name]

    def unique_branch_name(self, base: str) -> str:
        """``base`` (cut to 70 characters), or ``base 2``, ``base 3``... whichever branch name is free.

        >>> project.unique_branch_name("ines"), project.unique_branch_name("rowing")
        ('ines 2', 'rowing')
        """
        base = clean_branch_name(base)[:70]
        name, n = base, 1
        while name in self.branches:
            n += 1
            name = f"{base} {n}"
        return name

    def delete_branch(self, name: str) -> None:
        """Forget a branch (its scenes stay; see :meth:`prune` to remove them too)."""
        if name == DEFAULT_BRANCH:
            raise StoryError(
                "main is the default branch and cannot be deleted; rename another branch to main first"
            )
        with self.transaction(f"delete branch {name}"):
            self.branches[name]
            self.db.execute("DELETE FROM branches WHERE name=?", (name,))

    # ---- edits
    def rename(self, scene_or_branch: Scene | Branch | str, new: str) -> None:
        """Rename a scene or a branch (a string names a branch if one has that name, else a scene)."""
        if isinstance(scene_or_branch, Branch) or (
            isinstance(scene_or_branch, str) and scene_or_branch in self.branches
        ):
            old = scene_or_branch.name if isinstance(scene_or_branch, Branch) else scene_or_branch
            new = clean_branch_name(new)
            with self.transaction(f"rename branch {old}"):
                self.branches[old]
                if new != old and new in self.branches:
                    raise DuplicateName(f"there is already a branch called {new!r}")
                self.db.execute("UPDATE branches SET name=? WHERE name=?", (new, old))
            return
        scene = self.scene(scene_or_branch)
        new = clean_title(new)
        with self.transaction(f"rename scene {scene.title}"):
            if self.db.one("SELECT 1 FROM scenes WHERE lower(title)=lower(?) AND id!=?", (new, scene.id)):
                raise DuplicateName(f"there is already a scene called {new!r}")
            self.db.execute("UPDATE scenes SET title=? WHERE id=?", (new, scene.id))

    def delete(self, scene: Scene | str) -> None:
        """Delete a scene and every scene reachable only through it; branches through it end before it.

        "Only through it": not reachable without it from the start or from any scene nothing leads
        to (a draft keeps what it leads to). Scenes in a loop through it go with it unless another
        way in remains.
        """
        scene = self.scene(scene)
        start = self.start
        with self.transaction(f"delete scene {scene.title}"):
            doomed = self._exclusive_subtree(scene.id)
            if start is not None and start.id in doomed:
                if len(self.scenes) > len(doomed) or len(doomed) > 1:
                    raise StoryError("the start scene can only be deleted when it is the only scene")
                self.db.execute("DELETE FROM meta WHERE key='start'")
            for name in list(self.branches):
                ids = list(self.branches[name].scene_ids)
                cut = next((i for i, s in enumerate(ids) if s in doomed), None)
                if cut is not None:
                    self.db.execute("UPDATE branches SET scenes=? WHERE name=?", (dumps(ids[:cut]), name))
            for sid in doomed:
                self.db.execute("DELETE FROM scenes WHERE id=?", (sid,))

    def _exclusive_subtree(self, root: str) -> set[str]:
        """``root`` and the scenes it reaches that cannot be reached without it from the start or
        from a scene nothing leads to."""
        succ = self._successors()
        has_parent = {t for ts in succ.values() for t in ts}
        start = self.get_meta("start")
        entries = [
            r["id"]
            for r in self.db.all("SELECT id FROM scenes ORDER BY seq")
            if r["id"] != root and (r["id"] == start or r["id"] not in has_parent)
        ]
        keep: set[str] = set()
        for e in entries:
            if e not in keep:
                keep |= _reached_avoiding(succ, e, {root})
        mine = _reached_avoiding(succ, root, set())
        return {root} | (mine - keep)

    def prune(self, branch: str) -> list[str]:
        """Remove a branch and the scenes on it that no other branch uses. Returns the removed titles."""
        if branch == DEFAULT_BRANCH:
            raise StoryError("main is the default branch and cannot be pruned")
        with self.transaction(f"prune branch {branch}"):
            b = self.branches[branch]
            others: set[str] = set()
            for name in self.branches:
                if name != branch:
                    others.update(self.branches[name].scene_ids)
            start = self.start
            mine = [
                s for s in dict.fromkeys(b.scene_ids) if s not in others and (start is None or s != start.id)
            ]
            removed: list[str] = []
            for sid in mine:
                if self.db.one("SELECT 1 FROM scenes WHERE id=?", (sid,)):
                    doomed = self._exclusive_subtree(sid) - others
                    if doomed & others:
                        continue
                    removed.append(Scene(self, sid).title)
                    self.delete(Scene(self, sid))
            self.db.execute("DELETE FROM branches WHERE name=?", (branch,))
        return removed

    def undo(self, by: str | None = None, surface: str | None = None) -> str:
        """Undo the last change and return what was undone.

        Whose change: ``by`` when given; else the writer acting now (:meth:`acting_as`); else the
        last change of anyone. ``surface`` takes only changes made there: ``"write"`` (the writer's
        views, notebooks, the CLI) or ``"play"`` (a reader's moves); None takes the last of any.
        Undoing a writer's change that someone else has changed since raises
        :class:`~workbench.errors.UndoConflict` and changes nothing. What was undone can be redone
        (:meth:`redo`) until that writer changes something else on that surface.
        """
        if by is None:
            return self.db.undo(surface=surface)
        return self.db.undo(by=by, surface=surface)

    def redo(self, by: str | None = None, surface: str | None = None) -> str:
        """Redo the change undone last (``by`` and ``surface`` as in :meth:`undo`) and return what was
        redone; :class:`~workbench.errors.NothingToRedo` when there is none."""
        if by is None:
            return self.db.redo(surface=surface)
        return self.db.redo(by=by, surface=surface)

    @property
    def undo_label(self) -> str | None:
        """What :meth:`undo` would undo (for the writer acting now), or None."""
        return self.db.undo_label

    def undo_label_for(self, user: str | None, surface: str | None = None) -> str | None:
        """What ``user``'s Undo would undo (anyone's last change when ``user`` is None) on
        ``surface`` (any when None), or None."""
        return self.db.undo_label_for(user, surface)

    def redo_label_for(self, user: str | None, surface: str | None = None) -> str | None:
        """What ``user``'s Redo would redo on ``surface``, or None."""
        return self.db.redo_label_for(user, surface)

    def history(
        self, user: str | None = None, surface: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """The steps ``user`` can undo on ``surface`` (newest first), then those they can redo
        (next first): dicts with ``step``, ``label``, ``ts``, ``author``, ``surface`` and ``redo``.

        >>> [h["label"] for h in story.history()]  # doctest: +SKIP
        ['rename scene', 'add take']
        """
        return self.db.history(user, surface, limit)

    def forget_undo(self) -> None:
        """Make the current state the starting point: nothing is left to undo (e.g. a freshly built sample)."""
        with self.transaction("forget undo", undoable=False):
            self.db.forget_undo()

    # ---- takes and feedback
    def add_take(
        self,
        scene: Scene,
        text: str,
        source: str,
        provenance: Mapping[str, Any] | None,
        parent: Take | None,
        choose: bool | None,
    ) -> Take:
        """Add a take to ``scene`` (what :meth:`Scene.add_take` calls); one undoable step.

        ``source`` is one of :data:`TAKE_SOURCES`, ``provenance`` JSON-safe data on how the text
        was made, ``parent`` the take it was made from. ``choose=True`` makes it the chosen take;
        ``None`` chooses it only when the scene has none yet (logged with :data:`AUTO_RATER`).
        """
        text = clean_text(text)
        if source not in TAKE_SOURCES:
            raise InvalidInput(f"a take's source is one of {', '.join(TAKE_SOURCES)}, not {source!r}")
        prov = dict(provenance or {})
        json.dumps(prov)
        with self.transaction(f"add take to {scene.title}"):
            scene.row()
            tid = new_id("t_")
            self.db.execute(
                "INSERT INTO takes(id, scene_id, text, source, parent_id, provenance, created, seq) "
                "VALUES(?,?,?,?,?,?,?,?)",
                (
                    tid,
                    scene.id,
                    text,
                    source,
                    parent.id if parent else None,
                    dumps(prov),
                    now(),
                    self.db.next_seq("takes"),
                ),
            )
            take = Take(self, tid)
            if choose or (choose is None and self.chosen_take_id(scene.id) is None):
                self._event("choose", AUTO_RATER, take, others=[])
        return take

    def _event(
        self, kind: str, rater: str, take: Take, others: Iterable[str] = (), value: Any = None
    ) -> None:
        self.db.execute(
            "INSERT INTO events(ts, rater, kind, scene_id, take_id, others, value) VALUES(?,?,?,?,?,?,?)",
            (
                now(),
                rater,
                kind,
                take.scene.id,
                take.id,
                dumps(list(others)),
                None if value is None else dumps(value),
            ),
        )

    def _live_events(self, where: str = "", params: tuple = ()) -> list[sqlite3.Row]:
        sql = (
            "SELECT * FROM events e WHERE kind != 'void' AND NOT EXISTS "
            "(SELECT 1 FROM events v WHERE v.kind='void' AND v.ref=e.seq)"
        )
        if where:
            sql += " AND " + where
        return self.db.all(sql + " ORDER BY seq", params)

    def chosen_take_id(self, scene_id: str) -> str | None:
        """The id of the scene's chosen take (its latest pick or edit not undone), or None."""
        rows = self._live_events(
            "e.scene_id=? AND e.kind IN ('choose','edit') AND EXISTS (SELECT 1 FROM takes t WHERE t.id=e.take_id)",
            (scene_id,),
        )
        return rows[-1]["take_id"] if rows else None

    def rating_of(self, take_id: str) -> int | None:
        """The take's latest rating in stars that has not been undone, or None."""
        rows = self._live_events("e.take_id=? AND e.kind='rate'", (take_id,))
        return loads(rows[-1]["value"]) if rows else None

    def _check_rater(self, rater: str) -> str:
        if not isinstance(rater, str) or not rater.strip():
            raise InvalidInput("a rater needs a name")
        return rater.strip()

    def choose_take(self, take: Take, rater: str) -> None:
        """Make ``take`` its scene's chosen take, logged by ``rater`` as chosen over each of its
        siblings (what :meth:`Take.choose` calls); one undoable step."""
        rater = self._check_rater(rater)
        with self.transaction("choose take"):
            scene = take.scene
            others = [t.id for t in scene.takes if t.id != take.id]
            self._event("choose", rater, take, others)

    def rate_take(self, take: Take, stars: int, rater: str) -> None:
        """Log ``rater``'s rating of ``take``, a whole number of stars from 1 to 5
        (:class:`~workbench.errors.InvalidInput` otherwise); one undoable step."""
        rater = self._check_rater(rater)
        if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
            raise InvalidInput(f"a rating is a whole number of stars from 1 to 5, not {stars!r}")
        with self.transaction("rate take"):
            take.row()
            self._event("rate", rater, take, value=stars)

    def edit_take(self, take: Take, text: str, rater: str) -> Take:
        """A hand edit (what :meth:`Take.edit` calls): a new take of source ``"edit"`` made from
        ``take``, chosen and logged as preferred over it; one undoable step. The same text again
        raises :class:`~workbench.errors.InvalidInput`."""
        rater = self._check_rater(rater)
        text = clean_text(text)
        if text == take.text:
            raise InvalidInput("the edited text is the same as the take's; nothing to save")
        with self.transaction("edit take"):
            prov = take.provenance
            prov = {**prov, "edited_from": take.id, "edited_by": rater}
            new = self.add_take(take.scene, text, "edit", prov, take, False)
            self._event("edit", rater, new, [take.id])
        return new

    def record_ab(self, winner: Take, loser: Take, rater: str | None = None) -> None:
        """A blind A/B pick: ``winner`` preferred over ``loser`` (same scene)."""
        rater = self._check_rater(rater or HUMAN_RATER)
        if winner.scene != loser.scene:
            raise InvalidInput("an A/B pick compares two takes of the same scene")
        with self.transaction("A/B pick"):
            self._event("ab", rater, winner, [loser.id])

    def feedback(self, include_auto: bool = True) -> list[FeedbackEvent]:
        """The live feedback log (undone events left out), oldest first."""
        rows = self._live_events("" if include_auto else "e.rater != 'auto'")
        return [
            FeedbackEvent(
                r["seq"],
                r["ts"],
                r["rater"],
                r["kind"],
                r["scene_id"],
                r["take_id"],
                tuple(loads(r["others"], [])),
                loads(r["value"]),
            )
            for r in rows
        ]

    def take(self, take_id: str) -> Take:
        """The take with this id; :class:`~workbench.errors.TakeNotFound` when there is none."""
        t = Take(self, take_id)
        t.row()
        return t

    # ---- caches
    def cache_get(self, key: str) -> Any | None:
        """A value from the project's generation cache, or None."""
        return self.db.cache_get(key)

    def cache_put(self, key: str, value: Any) -> None:
        """Store a JSON value in the generation cache (not an undo step)."""
        self.db.cache_put(key, value)

    # ---- whole-project views
    def content(self) -> dict[str, Any]:
        """The logical content: what the story says, free of timestamps and of the random ids rows get.

        Two projects built the same way (e.g. two copies given the same takes) have equal content, so
        :meth:`content_hash` identifies the story, not the file.
        """
        title_of = {s.id: s.title for s in self.scenes}
        scenes: list[dict[str, Any]] = []
        for s in self.scenes:
            takes = s.takes
            chosen = s.chosen
            scenes.append(
                {
                    "title": s.title,
                    "tags": s.tags,
                    "characters": s.characters,
                    "position": s.position,
                    "summary": s.summary,
                    "chosen": next(
                        (i for i, t in enumerate(takes) if chosen is not None and t.id == chosen.id), None
                    ),
                    "takes": [{"text": t.text, "source": t.source} for t in takes],
                    "children": [_choice_content(c, title_of) for c in s.choices],
                }
            )
            extra = s.extra
            if extra:
                scenes[-1]["extra"] = extra
        meta = {k: self.get_meta(k) for k in (*META_FIELDS, "ifid")}
        meta["start"] = title_of.get(self.get_meta("start"), "")
        out = {
            "meta": meta,
            "scenes": scenes,
            "branches": {n: [title_of[i] for i in self.branches[n].scene_ids] for n in self.branches},
            "cast": [{k: v for k, v in c.to_dict().items() if k != "id"} for c in self.cast],
            "lore": [[list(e.keys), e.content, e.always, e.priority] for e in self.lore],
        }
        formats = {k: v for k, v in self.db.all_meta().items() if k.startswith(FORMAT_META_PREFIX)}
        if formats:
            out["formats"] = formats
        entries = [title_of[e] for e in loads(self.get_meta("entries") or "[]", []) if e in title_of]
        if entries:
            out["entries"] = entries
        specials = [
            {"name": x.name, "tags": x.tags, "text": x.text, "format": x.format, "extra": x.extra}
            for x in self.specials
        ]
        if specials:
            out["specials"] = specials
        return out

    def content_hash(self) -> str:
        """The sha256 (hex) of :meth:`content`: it names the story, not the file, so two projects
        built the same way have the same hash and any change to the story changes it."""
        return hashlib.sha256(dumps(self.content()).encode()).hexdigest()

    def summary(self) -> dict[str, Any]:
        """An overview as plain data (what ``workbench info --json`` prints): title, logline, genre,
        IFID; how many scenes, choices, takes, lore entries, assets and loops; each branch's length;
        the cast's names; and by title the unreachable scenes, open choices, endings, the scenes
        where a reader gets stuck and the special passages kept.

        >>> info = project.summary()
        >>> info["scenes"], info["branches"], info["open_choices"], info["stuck"]
        (7, {'main': 5, 'ines': 5}, [], ['The Light Returns'])
        """
        snap = self.snapshot(text=False, extra=False)
        st = structure(snap)
        title = {s.id: s.title for s in snap.scenes}
        by_choice = {c.id: c for c in snap.choices}
        return {
            "title": self.title,
            "logline": self.logline,
            "genre": self.genre,
            "ifid": self.ifid,
            "scenes": len(snap.scenes),
            "choices": len(snap.choices),
            "branches": {n: len(self.branches[n]) for n in self.branches},
            "cast": self.cast.names(),
            "lore": len(self.lore),
            "takes": self.db.scalar("SELECT count(*) AS n FROM takes"),
            "assets": len(self.assets),
            "loops": len(st.back_edges),
            "unreachable": [title[i] for i in st.unreachable],
            "open_choices": [
                {
                    "scene": title[by_choice[i].source],
                    "choice": by_choice[i].label,
                    "wants": by_choice[i].wanted,
                }
                for i in st.open_choices
            ],
            "endings": [title[i] for i in st.endings],
            "stuck": [title[i] for i in st.stuck],
            "specials": [x.name for x in self.specials],
        }

    # ---- the graph as a whole
    def snapshot(self, text: bool = True, extra: bool = True) -> GraphSnapshot:
        """The whole story graph as plain data, read in a few queries (``text``: with each scene's
        chosen text; ``extra``: with what formats kept). For maps, exports and checks of large stories.

        The queries run in one read transaction, so another program changing the story meanwhile
        never leaves a choice pointing at a scene this snapshot has not read."""
        with self.db.snapshot():
            return self._graph_snapshot(text, extra)

    def _graph_snapshot(self, text: bool, extra: bool) -> GraphSnapshot:
        texts: dict[str, str] = {}
        counts: dict[str, int] = {}
        if text:
            rows = self.db.all(
                "WITH live AS (SELECT e.scene_id, e.take_id, e.seq FROM events e "
                "WHERE e.kind IN ('choose','edit') "
                "AND NOT EXISTS (SELECT 1 FROM events v WHERE v.kind='void' AND v.ref=e.seq) "
                "AND EXISTS (SELECT 1 FROM takes t WHERE t.id=e.take_id)), "
                "last AS (SELECT scene_id, take_id, max(seq) AS m FROM live GROUP BY scene_id) "
                "SELECT l.scene_id, t.text FROM last l JOIN takes t ON t.id=l.take_id"
            )
            texts = {r["scene_id"]: r["text"] for r in rows}
        for r in self.db.all("SELECT scene_id, count(*) AS n FROM takes GROUP BY scene_id"):
            counts[r["scene_id"]] = r["n"]
        scenes = [
            SceneInfo(
                id=r["id"],
                title=r["title"],
                tags=tuple(loads(r["tags"], [])),
                position=None if r["x"] is None or r["y"] is None else (r["x"], r["y"]),
                text=texts.get(r["id"], ""),
                takes=counts.get(r["id"], 0),
                characters=tuple(loads(r["characters"], [])),
                extra=loads(r["extra"], {}) if extra else {},
            )
            for r in self.db.all(
                "SELECT id, title, tags, characters, x, y, "
                + ("extra" if extra else "'{}' AS extra")
                + " FROM scenes ORDER BY seq"
            )
        ]
        choices = [
            ChoiceInfo(r["id"], r["source"], r["target"], r["label"], r["wanted"], r["kind"])
            for r in self.db.all("SELECT * FROM choices ORDER BY seq")
        ]
        entries = [e for e in loads(self.get_meta("entries") or "[]", []) if isinstance(e, str)]
        return GraphSnapshot(scenes, choices, self.get_meta("start") or None, entries)

    def structure(self) -> Structure:
        """Unreachable scenes, open choices, endings, dead ends and loops with no way out, back edges."""
        return structure(self.snapshot(text=False, extra=False))

    @property
    def unreachable(self) -> list[Scene]:
        """Scenes no path from the start reaches (drafts, notes, passages only a macro reached)."""
        return [Scene(self, i) for i in self.structure().unreachable]

    @property
    def open_choices(self) -> list[Choice]:
        """Choices whose scene is not written yet, in order."""
        rows = self.db.all("SELECT * FROM choices WHERE target IS NULL ORDER BY seq")
        return [Choice.from_row(self, r) for r in rows]

    def played_scene_ids(self) -> set[str]:
        """The scenes a reader's play wrote (every take of them came from a play move): the map
        folds them away unless the writer asks to see the play-throughs."""
        rows = self.db.all(
            "SELECT scene_id FROM takes GROUP BY scene_id "
            "HAVING min(coalesce(json_extract(provenance, '$.play'), 0)) = 1"
        )
        return {r["scene_id"] for r in rows}

    def stuck(self) -> list[Scene]:
        """Where a reader can get stuck: reachable scenes with no way out that are not marked as
        endings, then scenes in loops with no way out."""
        return [Scene(self, i) for i in self.structure().stuck]

    def format_data(self) -> dict[str, Any]:
        """What each story format kept about the whole story (by format name), as read at import."""
        out: dict[str, Any] = {}
        for key, value in self.db.all_meta().items():
            if key.startswith(FORMAT_META_PREFIX):
                try:
                    out[key[len(FORMAT_META_PREFIX) :]] = json.loads(value)
                except ValueError:
                    continue
        return out

    def set_format_data(self, fmt: str, value: Any) -> None:
        """Keep a story format's data about the whole story (``None`` removes it); one undoable step."""
        with self.transaction(f"keep {fmt} data"):
            if value is None:
                self.db.delete_meta(FORMAT_META_PREFIX + fmt)
            else:
                self.db.set_meta(
                    FORMAT_META_PREFIX + fmt, json.dumps(value, ensure_ascii=False, sort_keys=True)
                )

    def set_scene_extra(self, scene: Scene | str, key: str, value: Any) -> None:
        """Keep format data for ``scene`` under ``key`` (``None`` removes it); one undoable step."""
        scene = self.scene(scene)
        with self.transaction(f"keep {key} data"):
            extra = scene.extra
            if value is None:
                extra.pop(key, None)
            else:
                json.dumps(value)
                extra[key] = value
            self.db.execute("UPDATE scenes SET extra=? WHERE id=?", (dumps(extra), scene.id))

    # ---- a whole story at once
    def add_story(
        self,
        scenes: Iterable[NewScene],
        choices: Iterable[NewChoice] = (),
        specials: Iterable[NewSpecial] = (),
        *,
        start: int | None = 0,
        branches: Mapping[str, Iterable[int]] | None = None,
        meta: Mapping[str, str] | None = None,
        entries: Iterable[int] = (),
        source: str = "import",
        provenance: Mapping[str, Any] | None = None,
        label: str = "add story",
    ) -> list[Scene]:
        """Add a whole story graph at once (an import): one transaction, one undo step.

        Everything is checked first (titles, labels, sizes, limits; errors name the source line
        where one is given), then written in bulk without undo-trigger rows: the undo step holds
        a few compact statements that remove exactly the rows added, so a story of 50,000
        scenes costs a bounded undo log. ``start`` (an index) becomes the project's start when
        it has none; ``branches`` maps names to index paths; ``meta`` sets project settings;
        ``entries`` are scenes a reader can enter besides the start (a story format's menu links),
        so they do not count as unreachable. Returns the new scenes in order.
        """
        new = list(scenes)
        links = list(choices)
        kept = list(specials)
        prov = dict(provenance or {})
        if source not in TAKE_SOURCES:
            raise InvalidInput(f"a take's source is one of {', '.join(TAKE_SOURCES)}, not {source!r}")
        if len(new) > MAX_STORY_SCENES:
            at = new[MAX_STORY_SCENES].line
            raise TooLarge(
                f"{_at(at)}more than {MAX_STORY_SCENES:,} scenes; a story can bring at most "
                f"{MAX_STORY_SCENES:,} at once (split it)"
            )
        if len(links) > MAX_STORY_CHOICES:
            at = links[MAX_STORY_CHOICES].line
            raise TooLarge(
                f"{_at(at)}more than {MAX_STORY_CHOICES:,} choices; a story can bring at most "
                f"{MAX_STORY_CHOICES:,} at once (split it)"
            )
        rows_s = []
        taken = {r["t"] for r in self.db.all("SELECT lower(title) AS t FROM scenes")}
        seen: dict[str, int] = {}
        for sc in new:
            try:
                title = clean_title(sc.title)
                text = clean_text(sc.text)
            except InvalidInput as exc:
                raise type(exc)(f"{_at(sc.line)}{exc}") from None
            key = title.lower()
            if key in taken:
                raise DuplicateName(f"{_at(sc.line)}there is already a scene called {title!r}")
            if key in seen:
                raise DuplicateName(
                    f"{_at(sc.line)}two scenes are called {title!r} (the other at line {seen[key]})"
                )
            seen[key] = sc.line
            extra = dict(sc.extra)
            json.dumps(extra)
            pos = sc.position
            rows_s.append(
                (
                    title,
                    text,
                    dumps([str(t) for t in sc.tags if str(t).strip()]),
                    dumps([str(c) for c in sc.characters]),
                    None if pos is None else float(pos[0]),
                    None if pos is None else float(pos[1]),
                    dumps(extra),
                )
            )
        per_scene: dict[int, int] = {}
        rows_c = []
        for c in links:
            if not (0 <= c.source < len(new)) or (c.target is not None and not 0 <= c.target < len(new)):
                raise InvalidInput(f"{_at(c.line)}a choice joins scenes that are not in the story")
            try:
                lab = clean_label(c.label)
                kind = self._check_kind(c.kind)
                want = None if c.target is not None else clean_title(c.wanted or lab)
            except InvalidInput as exc:
                raise type(exc)(f"{_at(c.line)}{exc}") from None
            per_scene[c.source] = per_scene.get(c.source, 0) + 1
            if per_scene[c.source] > MAX_CHOICES_PER_SCENE:
                raise TooLarge(
                    f"{_at(c.line)}{rows_s[c.source][0]!r} has more than {MAX_CHOICES_PER_SCENE:,} choices"
                )
            rows_c.append((c.source, c.target, want, lab, kind))
        rows_x = []
        for x in kept:
            if not isinstance(x.name, str) or not isinstance(x.text, str):
                raise InvalidInput(f"{_at(x.line)}a special passage needs a name and text")
            if len(x.text) > MAX_TEXT:
                raise TooLarge(f"{_at(x.line)}{x.name!r} holds more than {MAX_TEXT:,} characters")
            rows_x.append((x.name, dumps([str(t) for t in x.tags]), x.text, x.format, dumps(dict(x.extra))))
        if start is not None and new and not 0 <= start < len(new):
            raise InvalidInput("the start must be one of the story's scenes")

        db = self.db
        with self.transaction(label):
            base = {t: db.max_rowid(t) for t in ("scenes", "choices", "takes", "specials")}
            events_base = int(db.scalar("SELECT coalesce(max(seq), 0) FROM events"))
            seq = {t: db.next_seq(t) for t in ("scenes", "choices", "takes", "specials")}
            ids = [new_id("s_") for _ in rows_s]
            stamp = now()
            with db.undo_triggers_paused():
                db.executemany(
                    "INSERT INTO scenes(id, title, tags, characters, x, y, extra, seq) VALUES(?,?,?,?,?,?,?,?)",
                    (
                        (ids[i], r[0], r[2], r[3], r[4], r[5], r[6], seq["scenes"] + i)
                        for i, r in enumerate(rows_s)
                    ),
                )
                db.executemany(
                    "INSERT INTO choices(id, source, target, wanted, label, kind, seq) VALUES(?,?,?,?,?,?,?)",
                    (
                        (
                            new_id("x_"),
                            ids[src],
                            None if dst is None else ids[dst],
                            want,
                            lab,
                            kind,
                            seq["choices"] + i,
                        )
                        for i, (src, dst, want, lab, kind) in enumerate(rows_c)
                    ),
                )
                with_text = [(i, r[1]) for i, r in enumerate(rows_s) if r[1]]
                take_ids = [new_id("t_") for _ in with_text]
                prov_json = dumps(prov)
                db.executemany(
                    "INSERT INTO takes(id, scene_id, text, source, parent_id, provenance, created, seq) "
                    "VALUES(?,?,?,?,?,?,?,?)",
                    (
                        (take_ids[k], ids[i], text, source, None, prov_json, stamp, seq["takes"] + k)
                        for k, (i, text) in enumerate(with_text)
                    ),
                )
                db.executemany(
                    "INSERT INTO events(ts, rater, kind, scene_id, take_id, others, value) "
                    "VALUES(?,?,?,?,?,?,?)",
                    (
                        (stamp, AUTO_RATER, "choose", ids[i], take_ids[k], "[]", None)
                        for k, (i, _) in enumerate(with_text)
                    ),
                )
                db.executemany(
                    "INSERT INTO specials(id, name, tags, text, format, extra, seq) VALUES(?,?,?,?,?,?,?)",
                    ((new_id("p_"), *r, seq["specials"] + i) for i, r in enumerate(rows_x)),
                )
                # the inverse, in a few statements: undo replays them last to first
                for table in ("scenes", "choices", "takes", "specials"):
                    db.log_undo(f"DELETE FROM {table} WHERE rowid > {base[table]}")
                db.log_undo(
                    "INSERT INTO events(ts, rater, kind, ref) "
                    "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'undo', 'void', e.seq FROM events e "
                    f"WHERE e.seq > {events_base} AND e.kind != 'void' "
                    "AND NOT EXISTS (SELECT 1 FROM events v WHERE v.kind='void' AND v.ref=e.seq)"
                )
            # a few rows more, through the undo triggers as usual
            if start is not None and new and not self.get_meta("start"):
                db.set_meta("start", ids[start])
                if DEFAULT_BRANCH in self.branches:
                    db.execute(
                        "UPDATE branches SET scenes=? WHERE name=?", (dumps([ids[start]]), DEFAULT_BRANCH)
                    )
                else:
                    db.execute(
                        "INSERT INTO branches(name, scenes, seq) VALUES(?,?,?)",
                        (DEFAULT_BRANCH, dumps([ids[start]]), db.next_seq("branches")),
                    )
            entry_ids = [ids[i] for i in entries if 0 <= i < len(ids)]
            if entry_ids:
                known = loads(self.get_meta("entries") or "[]", [])
                db.set_meta("entries", dumps([*known, *[e for e in entry_ids if e not in known]]))
            for key, value in (meta or {}).items():
                if not isinstance(value, str):
                    raise InvalidInput(f"the project's {key} must be text")
                db.set_meta(key, value)
            for name, path in (branches or {}).items():
                self._set_branch_path(clean_branch_name(name), [ids[i] for i in path])
        return [Scene(self, i) for i in ids]

    def _set_branch_path(self, name: str, ids: list[str]) -> None:
        """Set branch ``name`` to the scene ids ``ids`` (checked: from the start, along choices)."""
        start = self.get_meta("start")
        if ids and ids[0] != start:
            raise StoryError(f"branch {name!r} does not begin at the start scene")
        for a, b in zip(ids, ids[1:]):
            if not self.db.one("SELECT 1 FROM choices WHERE source=? AND target=?", (a, b)):
                raise StoryError(
                    f"branch {name!r}: no choice leads from {Scene(self, a).title!r} to {Scene(self, b).title!r}"
                )
        if name in self.branches:
            self.db.execute("UPDATE branches SET scenes=? WHERE name=?", (dumps(ids), name))
        else:
            self.db.execute(
                "INSERT INTO branches(name, scenes, seq) VALUES(?,?,?)",
                (name, dumps(ids), self.db.next_seq("branches")),
            )

    def _repr_html_(self) -> str:
        from ..render import project_html

        return project_html(self)

    def __repr__(self) -> str:
        if self.closed:
            return f"Project({str(self.file)!r}, closed)"
        return f"Project({self.title!r}, {len(self.scenes)} scenes, {len(self.branches)} branches)"


FORMAT_META_PREFIX = "format:"  # project settings that story formats keep (``format:twine``...)


def _at(line: int) -> str:
    return f"line {line}: " if line else ""


def _choice_content(c: Choice, title_of: Mapping[str, str]) -> Any:
    if c.target_id is not None and c.kind == "choice":
        return [c.label, title_of[c.target_id]]
    return {
        "label": c.label,
        "target": title_of.get(c.target_id) if c.target_id else None,
        "wanted": c.wanted,
        "kind": c.kind,
    }


def open_project(path: str | os.PathLike[str], create: bool = True, title: str | None = None) -> Project:
    """Open a project file, creating it when it does not exist (unless ``create=False``).

    A file that is not a project, is damaged, or was written by a newer version raises a clear
    :class:`~workbench.errors.ProjectError` and is left byte-for-byte as it was. A new
    project is titled ``title``, else after the file's name; an older file is brought up to date.

    >>> draft = open_project(folder / "night_ferry.story")
    >>> draft.title, draft.scenes, draft.closed
    ('night ferry', [], False)
    >>> draft.close()
    >>> open_project(folder / "elsewhere.story", create=False)
    Traceback (most recent call last):
    ...
    workbench.errors.ProjectNotFound: there is no project at .../elsewhere.story
    """
    p = Path(path).expanduser()
    if p.exists():
        inspect_file(p)
        conn = connect(p)
        try:
            migrate_file(conn, p)
        except BaseException:
            conn.close()
            raise
        return Project(p, conn)
    if not create:
        raise ProjectNotFound(f"there is no project at {p}")
    if not p.parent.exists():
        raise ProjectNotFound(f"the folder {p.parent} does not exist")
    conn = connect(p)
    try:
        create_schema(conn, title or p.stem.replace("_", " "))
    except BaseException:
        conn.close()
        raise
    return Project(p, conn)
