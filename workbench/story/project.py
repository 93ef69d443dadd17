"""A story project: one portable SQLite file.

The file holds the story graph (scenes and choices), named branches (explicit ordered
paths), takes with provenance, the append-only feedback log, the project's pinned cast
snapshot, lore, media blobs (content-addressed) and the generation cache. Every change
is one transaction and one undo step.

The parts: :mod:`.storage` (the file, transactions, undo, opening), :mod:`.handles`
(``Scene``, ``Take``, ``Character``... thin handles that read on demand), :mod:`.collections`
(cast, lore, assets, branches) and this module's :class:`Project`, which ties them together.
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
    CycleError,
    DuplicateName,
    InvalidInput,
    ProjectNotFound,
    SceneNotFound,
    StoryError,
)
from .collections import DEFAULT_BRANCH, Assets, Branches, Cast, Lore, clean_branch_name
from .handles import (
    HUMAN_RATER,
    MAX_TEXT,
    MAX_TITLE,
    Branch,
    Character,
    Choice,
    FeedbackEvent,
    LoreEntry,
    Scene,
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
    "DEFAULT_BRANCH",
    "FEEDBACK_KINDS",
    "HUMAN_RATER",
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
    "FeedbackEvent",
    "Lore",
    "LoreEntry",
    "Project",
    "Scene",
    "Take",
    "clean_branch_name",
    "clean_text",
    "clean_title",
    "open_project",
]

AUTO_RATER = "auto"
TAKE_SOURCES = ("writer", "model", "edit", "import")
FEEDBACK_KINDS = ("rate", "choose", "edit", "ab")
META_FIELDS = ("title", "logline", "genre", "style", "author_note")


class Project:
    """An open project file. Use :func:`open_project` to get one."""

    def __init__(self, file: Path, conn: sqlite3.Connection) -> None:
        self.file = file  # the project file (``path()`` is the story so far)
        self.db = Database(file, conn)  # storage: the story layer's SQL goes through it
        self.cast = Cast(self)
        self.lore = Lore(self)
        self.assets = Assets(self)
        self.branches = Branches(self)

    # ---- storage
    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

    @contextlib.contextmanager
    def transaction(self, label: str = "change", undoable: bool = True) -> Iterator[Project]:
        """Group writes into one atomic transaction and one undo step. Nested calls join the outer one."""
        with self.db.transaction(label, undoable):
            yield self

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Project]:
        """Reads inside the block see one consistent state of the story, whatever other programs
        commit meanwhile (e.g. to draw the branch map from scenes and choices that belong together)."""
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
        return [Scene(self, r["id"]) for r in self.db.all("SELECT id FROM scenes ORDER BY seq")]

    def scene_titles(self) -> list[tuple[str, str]]:
        """(id, title) of every scene in order, read in one query (for lists that show many scenes)."""
        return [(r["id"], r["title"]) for r in self.db.all("SELECT id, title FROM scenes ORDER BY seq")]

    @property
    def start(self) -> Scene | None:
        sid = self.get_meta("start")
        return Scene(self, sid) if sid else None

    def scene(self, id_or_title: str | Scene) -> Scene:
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
        new scene. ``text``, if given, becomes the scene's first take (chosen).
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
                self._link(src, scene, choice or title)
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

    def _link(self, src: Scene, dst: Scene, label: str) -> Choice:
        label = " ".join(str(label).split())
        if not label:
            raise InvalidInput("a choice needs a label (what the reader picks)")
        if len(label) > 500:
            raise InvalidInput("a choice label can have at most 500 characters")
        if src.id == dst.id or self._reaches(dst.id, src.id):
            raise CycleError(
                f"linking {src.title!r} to {dst.title!r} would loop the story back on itself; "
                "stories here flow forward (a DAG)"
            )
        if self.db.one("SELECT 1 FROM choices WHERE source=? AND target=?", (src.id, dst.id)):
            raise DuplicateName(f"{src.title!r} already leads to {dst.title!r}")
        cid = new_id("x_")
        self.db.execute(
            "INSERT INTO choices(id, source, target, label, seq) VALUES(?,?,?,?,?)",
            (cid, src.id, dst.id, label, self.db.next_seq("choices")),
        )
        return Choice(self, cid, src.id, dst.id, label)

    def _reaches(self, a: str, b: str) -> bool:
        """Is ``b`` reachable from ``a`` along choices?"""
        r = self.db.conn.execute(
            "WITH RECURSIVE r(id) AS (SELECT ? UNION SELECT c.target FROM choices c JOIN r ON c.source=r.id) "
            "SELECT 1 FROM r WHERE id=? LIMIT 1",
            (a, b),
        ).fetchone()
        return r is not None

    def connect(self, from_scene: Scene | str, to_scene: Scene | str, choice: str) -> Choice:
        """Join two paths: a choice from ``from_scene`` to an existing scene (a merge)."""
        with self.transaction("connect scenes"):
            src, dst = self.scene(from_scene), self.scene(to_scene)
            if self.start is not None and dst.id == self.start.id:
                raise CycleError("nothing can lead back to the start scene")
            return self._link(src, dst, choice)

    def disconnect(self, choice: Choice) -> None:
        with self.transaction("remove choice"):
            src, dst = choice.source_id, choice.target_id
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
        label = " ".join(str(label).split())
        if not label:
            raise InvalidInput("a choice needs a label")
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

    def set_summary(self, scene: Scene, summary: str) -> None:
        self.update_scene(scene, summary=summary, label="summarise scene")

    # ---- paths and branches
    def path(self, scene: Scene | str, branch: str | None = None) -> list[Scene]:
        """The story so far: the scenes from the start to ``scene`` (inclusive).

        With ``branch``, the branch's own path is used where it passes through. Where merges
        make the way back ambiguous and no branch decides, :class:`AmbiguousPathError` is raised.
        """
        target = self.scene(scene)
        on_branch: tuple[str, ...] = ()
        if branch is not None:
            on_branch = self.branches[branch].scene_ids
            if target.id in on_branch:
                return [Scene(self, s) for s in on_branch[: on_branch.index(target.id) + 1]]
        walked: list[str] = []
        cur = target.id
        seen: set[str] = set()
        while True:
            if cur in on_branch:
                ids = list(on_branch[: on_branch.index(cur) + 1]) + list(reversed(walked))
                return [Scene(self, s) for s in ids]
            walked.append(cur)
            seen.add(cur)
            parents = [
                r["source"]
                for r in self.db.all("SELECT source FROM choices WHERE target=? ORDER BY seq", (cur,))
            ]
            if not parents:
                break
            if len(parents) > 1:
                on = [p for p in parents if p in on_branch]
                if len(on) == 1:
                    cur = on[0]
                    continue
                names = ", ".join(Scene(self, p).title for p in parents)
                raise AmbiguousPathError(
                    f"several paths lead to {target.title!r} (through {names}); say which branch you mean"
                )
            cur = parents[0]
            if cur in seen:  # pragma: no cover - the graph is acyclic
                raise CycleError("the story graph has a loop")
        return [Scene(self, s) for s in reversed(walked)]

    def set_branch(self, name: str, scene: Scene | str, from_branch: str | None = None) -> Branch:
        """Point branch ``name`` at ``path(scene)`` (creating it if needed)."""
        name = clean_branch_name(name)
        with self.transaction(f"set branch {name}"):
            ids = [s.id for s in self.path(scene, from_branch)]
            if name in self.branches:
                self.db.execute("UPDATE branches SET scenes=? WHERE name=?", (dumps(ids), name))
            else:
                self.db.execute(
                    "INSERT INTO branches(name, scenes, seq) VALUES(?,?,?)",
                    (name, dumps(ids), self.db.next_seq("branches")),
                )
        return self.branches[name]

    def extend_branch(self, name: str, scene: Scene) -> Branch:
        """Append ``scene`` (a child of the branch's tip) to branch ``name``."""
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
        """Delete a scene and every scene reachable only through it; branches through it end before it."""
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
        """``root`` and the descendants that cannot be reached from the start without it."""
        doomed = {root}
        changed = True
        while changed:
            changed = False
            rows = self.db.conn.execute("SELECT source, target FROM choices").fetchall()
            for r in rows:
                t = r["target"]
                if t in doomed or r["source"] not in doomed:
                    continue
                parents = {p["source"] for p in rows if p["target"] == t}
                if parents <= doomed:
                    doomed.add(t)
                    changed = True
        return doomed

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
            mine = [s for s in b.scene_ids if s not in others and (start is None or s != start.id)]
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

    def undo(self, by: str | None = None) -> str:
        """Undo the last change and return what was undone.

        Whose change: ``by`` when given; else the writer acting now (:meth:`acting_as`); else the
        last change of anyone. Undoing a writer's change that someone else has changed since
        raises :class:`~workbench.errors.UndoConflict` and changes nothing.
        """
        return self.db.undo() if by is None else self.db.undo(by=by)

    @property
    def undo_label(self) -> str | None:
        """What :meth:`undo` would undo (for the writer acting now), or None."""
        return self.db.undo_label

    def undo_label_for(self, user: str | None) -> str | None:
        """What ``user``'s Undo would undo (anyone's last change when ``user`` is None), or None."""
        return self.db.undo_label_for(user)

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
        rows = self._live_events(
            "e.scene_id=? AND e.kind IN ('choose','edit') AND EXISTS (SELECT 1 FROM takes t WHERE t.id=e.take_id)",
            (scene_id,),
        )
        return rows[-1]["take_id"] if rows else None

    def rating_of(self, take_id: str) -> int | None:
        rows = self._live_events("e.take_id=? AND e.kind='rate'", (take_id,))
        return loads(rows[-1]["value"]) if rows else None

    def _check_rater(self, rater: str) -> str:
        if not isinstance(rater, str) or not rater.strip():
            raise InvalidInput("a rater needs a name")
        return rater.strip()

    def choose_take(self, take: Take, rater: str) -> None:
        rater = self._check_rater(rater)
        with self.transaction("choose take"):
            scene = take.scene
            others = [t.id for t in scene.takes if t.id != take.id]
            self._event("choose", rater, take, others)

    def rate_take(self, take: Take, stars: int, rater: str) -> None:
        rater = self._check_rater(rater)
        if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
            raise InvalidInput(f"a rating is a whole number of stars from 1 to 5, not {stars!r}")
        with self.transaction("rate take"):
            take.row()
            self._event("rate", rater, take, value=stars)

    def edit_take(self, take: Take, text: str, rater: str) -> Take:
        rater = self._check_rater(rater)
        text = clean_text(text)
        if text == take.text:
            raise InvalidInput("the edited text is the same as the take's; nothing to save")
        with self.transaction("edit take"):
            prov = take.provenance
            prov = {**prov, "edited_from": take.id}
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
        scenes = []
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
                    "children": [[c.label, title_of[t.id]] for c, t in s.children],
                }
            )
        meta = {k: self.get_meta(k) for k in (*META_FIELDS, "ifid")}
        meta["start"] = title_of.get(self.get_meta("start"), "")
        return {
            "meta": meta,
            "scenes": scenes,
            "branches": {n: [title_of[i] for i in self.branches[n].scene_ids] for n in self.branches},
            "cast": [{k: v for k, v in c.to_dict().items() if k != "id"} for c in self.cast],
            "lore": [[list(e.keys), e.content, e.always, e.priority] for e in self.lore],
        }

    def content_hash(self) -> str:
        return hashlib.sha256(dumps(self.content()).encode()).hexdigest()

    def summary(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "logline": self.logline,
            "genre": self.genre,
            "ifid": self.ifid,
            "scenes": len(self.scenes),
            "choices": len(self.choices),
            "branches": {n: len(self.branches[n]) for n in self.branches},
            "cast": self.cast.names(),
            "lore": len(self.lore),
            "takes": self.db.scalar("SELECT count(*) AS n FROM takes"),
            "assets": len(self.assets),
        }

    def _repr_html_(self) -> str:
        from ..render import project_html

        return project_html(self)

    def __repr__(self) -> str:
        if self.closed:
            return f"Project({str(self.file)!r}, closed)"
        return f"Project({self.title!r}, {len(self.scenes)} scenes, {len(self.branches)} branches)"


def open_project(path: str | os.PathLike[str], create: bool = True, title: str | None = None) -> Project:
    """Open a project file, creating it when it does not exist (unless ``create=False``).

    A file that is not a project, is damaged, or was written by a newer version raises a clear
    :class:`~workbench.errors.ProjectError` and is left byte-for-byte as it was.
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
