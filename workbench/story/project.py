"""A story project: one portable SQLite file.

The file holds the story graph (scenes and choices, a DAG), named branches
(explicit ordered paths), takes with provenance, the append-only feedback log,
the project's pinned cast snapshot, lore, media blobs (content-addressed) and the
generation cache. Every change is one transaction and one undo step.

Handles (:class:`Scene`, :class:`Take`, :class:`Character`, ...) are thin: they
hold the project and an id and read the file when asked, so whatever a view
shows can always be rebuilt from the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import (
    AmbiguousPathError,
    BranchNotFound,
    CharacterNotFound,
    CycleError,
    DamagedProject,
    DuplicateName,
    InvalidInput,
    NewerSchema,
    NotAProject,
    NothingToUndo,
    ProjectClosed,
    ProjectNotFound,
    SceneNotFound,
    StoryError,
    TakeNotFound,
)
from . import schema
from .model import CHARACTER_FIELDS, Asset, default_palette, stable_int

SQLITE_HEADER = b"SQLite format 3\x00"
DEFAULT_BRANCH = "main"
MAX_TITLE = 200
MAX_TEXT = 2_000_000  # characters in one take
HUMAN_RATER = "writer"
AUTO_RATER = "auto"
TAKE_SOURCES = ("writer", "model", "edit", "import")
FEEDBACK_KINDS = ("rate", "choose", "edit", "ab")
META_FIELDS = ("title", "logline", "genre", "style", "author_note")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def _loads(raw: str | None, default: Any = None) -> Any:
    if raw is None:
        return default
    return json.loads(raw)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _clean_title(title: Any, what: str = "title") -> str:
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


def _clean_text(text: Any) -> str:
    if not isinstance(text, str):
        raise InvalidInput(f"scene text must be a string, not {type(text).__name__}")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"a take can hold at most {MAX_TEXT:,} characters")
    return text


# --------------------------------------------------------------------------- handles
@dataclass(frozen=True)
class Choice:
    """A labelled edge of the story graph."""

    project: Project
    id: str
    source_id: str
    target_id: str
    label: str

    @property
    def source(self) -> Scene:
        return Scene(self.project, self.source_id)

    @property
    def target(self) -> Scene:
        return Scene(self.project, self.target_id)

    def __repr__(self) -> str:
        return f"Choice({self.label!r}: {self.source_id} -> {self.target_id})"


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

    def _row(self) -> sqlite3.Row:
        row = self.project._one("SELECT * FROM scenes WHERE id=?", (self.id,))
        if row is None:
            raise SceneNotFound(f"the scene {self.id!r} no longer exists (deleted or undone)")
        return row

    @property
    def exists(self) -> bool:
        return self.project._one("SELECT 1 FROM scenes WHERE id=?", (self.id,)) is not None

    @property
    def title(self) -> str:
        return self._row()["title"]

    @title.setter
    def title(self, value: str) -> None:
        self.project.rename(self, value)

    @property
    def tags(self) -> list[str]:
        return _loads(self._row()["tags"], [])

    @tags.setter
    def tags(self, value: Iterable[str]) -> None:
        self.project._update_scene(self, tags=list(value), label="retag scene")

    @property
    def characters(self) -> list[str]:
        return _loads(self._row()["characters"], [])

    @characters.setter
    def characters(self, value: Iterable[str]) -> None:
        self.project._update_scene(self, characters=list(value), label="set scene cast")

    @property
    def position(self) -> tuple[float, float] | None:
        row = self._row()
        if row["x"] is None or row["y"] is None:
            return None
        return (row["x"], row["y"])

    @position.setter
    def position(self, value: tuple[float, float] | None) -> None:
        self.project._update_scene(self, position=value, label="move scene")

    @property
    def summary(self) -> str | None:
        return self._row()["summary"]

    @property
    def takes(self) -> list[Take]:
        self._row()
        rows = self.project._all("SELECT id FROM takes WHERE scene_id=? ORDER BY seq", (self.id,))
        return [Take(self.project, r["id"]) for r in rows]

    @property
    def chosen(self) -> Take | None:
        take_id = self.project._chosen_take_id(self.id)
        return Take(self.project, take_id) if take_id else None

    @property
    def text(self) -> str:
        chosen = self.chosen
        return chosen.text if chosen else ""

    @property
    def children(self) -> list[tuple[Choice, Scene]]:
        rows = self.project._all("SELECT * FROM choices WHERE source=? ORDER BY seq", (self.id,))
        return [(self.project._choice(r), Scene(self.project, r["target"])) for r in rows]

    @property
    def parents(self) -> list[tuple[Choice, Scene]]:
        rows = self.project._all("SELECT * FROM choices WHERE target=? ORDER BY seq", (self.id,))
        return [(self.project._choice(r), Scene(self.project, r["source"])) for r in rows]

    def add_take(
        self,
        text: str,
        source: str = "writer",
        provenance: Mapping[str, Any] | None = None,
        parent: Take | None = None,
        choose: bool | None = None,
    ) -> Take:
        """Add a take. A scene's first take is chosen automatically (logged as ``rater="auto"``)."""
        return self.project._add_take(self, text, source, provenance, parent, choose)

    def parsed(self):  # noqa: ANN201 - ParsedScene
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

    def _row(self) -> sqlite3.Row:
        row = self.project._one("SELECT * FROM takes WHERE id=?", (self.id,))
        if row is None:
            raise TakeNotFound(f"the take {self.id!r} no longer exists")
        return row

    @property
    def text(self) -> str:
        return self._row()["text"]

    @property
    def source(self) -> str:
        return self._row()["source"]

    @property
    def scene(self) -> Scene:
        return Scene(self.project, self._row()["scene_id"])

    @property
    def parent(self) -> Take | None:
        pid = self._row()["parent_id"]
        return Take(self.project, pid) if pid else None

    @property
    def provenance(self) -> dict[str, Any]:
        return _loads(self._row()["provenance"], {})

    @property
    def created(self) -> str:
        return self._row()["created"]

    @property
    def rating(self) -> int | None:
        return self.project._rating(self.id)

    @property
    def is_chosen(self) -> bool:
        return self.project._chosen_take_id(self._row()["scene_id"]) == self.id

    def choose(self, rater: str | None = None) -> Take:
        """Make this the scene's chosen take; logged as chosen over each sibling."""
        self.project._feedback_choose(self, rater or HUMAN_RATER)
        return self

    def rate(self, stars: int, rater: str | None = None) -> Take:
        """Rate this take from 1 to 5 stars."""
        self.project._feedback_rate(self, stars, rater or HUMAN_RATER)
        return self

    def edit(self, text: str, rater: str | None = None) -> Take:
        """A hand edit: a new take linked to this one, preferred over it, and chosen."""
        return self.project._feedback_edit(self, text, rater or HUMAN_RATER)

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

    def _row(self) -> sqlite3.Row:
        row = self.project._one("SELECT * FROM characters WHERE id=?", (self.id,))
        if row is None:
            raise CharacterNotFound(f"the character {self.id!r} is no longer in this project")
        return row

    @property
    def name(self) -> str:
        return self._row()["name"]

    @property
    def version(self) -> int:
        return self._row()["version"]

    @property
    def library_id(self) -> str | None:
        return self._row()["library_id"]

    @property
    def library_version(self) -> int | None:
        return self._row()["library_version"]

    @property
    def data(self) -> dict[str, Any]:
        stored = _loads(self._row()["data"], {})
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
        self.project.cast._update(self, fields)
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
    """A named, explicit ordered path of scenes from the start."""

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


# --------------------------------------------------------------------------- collections
class Cast:
    """The project's characters (pinned snapshots)."""

    def __init__(self, project: Project) -> None:
        self.project = project

    def __iter__(self) -> Iterator[Character]:
        rows = self.project._all("SELECT id FROM characters ORDER BY seq")
        return iter([Character(self.project, r["id"]) for r in rows])

    def __len__(self) -> int:
        return self.project._scalar("SELECT count(*) AS n FROM characters")

    def __contains__(self, name: object) -> bool:
        try:
            self[name]  # type: ignore[index]
        except (CharacterNotFound, InvalidInput):
            return False
        return True

    def __getitem__(self, key: str) -> Character:
        if not isinstance(key, str):
            raise InvalidInput("look characters up by name or id")
        row = self.project._one("SELECT id FROM characters WHERE id=? OR name=?", (key, key))
        if row is None:
            row = self.project._one("SELECT id FROM characters WHERE lower(name)=lower(?)", (key,))
        if row is None:
            names = ", ".join(c.name for c in self) or "none yet"
            raise CharacterNotFound(f"no character called {key!r} in this project (cast: {names})")
        return Character(self.project, row["id"])

    def names(self) -> list[str]:
        return [r["name"] for r in self.project._all("SELECT name FROM characters ORDER BY seq")]

    @staticmethod
    def _check_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(fields) - set(CHARACTER_FIELDS))
        if unknown:
            raise InvalidInput(
                f"unknown character field(s): {', '.join(unknown)}; known: {', '.join(CHARACTER_FIELDS)}"
            )
        out = dict(fields)
        for key in ("alternate_greetings", "tags"):
            if key in out and not isinstance(out[key], list):
                out[key] = list(out[key])
        for key in ("voice", "card_extra", "extensions"):
            if key in out and not isinstance(out[key], dict):
                raise InvalidInput(f"the character field {key!r} must be a mapping")
        json.dumps(out)  # must be JSON-serialisable
        return out

    def add(
        self, name: str, *, library_id: str | None = None, library_version: int | None = None, **fields: Any
    ) -> Character:
        """Add a character to the project."""
        name = _clean_title(name, "character name")
        data = self._check_fields(fields)
        # the visual identity is fixed at creation (from the library id, else the name) and kept across renames
        identity = library_id or name
        if data.get("image_seed") is None:
            data["image_seed"] = stable_int("image", identity)
        if data.get("palette") is None:
            data["palette"] = default_palette(identity)
        with self.project.transaction(f"add character {name}"):
            if self.project._one("SELECT 1 FROM characters WHERE lower(name)=lower(?)", (name,)):
                raise DuplicateName(f"there is already a character called {name!r} in this project")
            cid = _new_id("c_")
            self.project._exec(
                "INSERT INTO characters(id, name, data, version, library_id, library_version, seq) "
                "VALUES(?,?,?,?,?,?,?)",
                (
                    cid,
                    name,
                    _dumps(data),
                    1,
                    library_id,
                    library_version,
                    self.project._next_seq("characters"),
                ),
            )
        return Character(self.project, cid)

    def use(self, library_character: Any) -> Character:
        """Pin a snapshot of a cast-library character in this project (or refresh the pin)."""
        lid = library_character.id
        fields = {k: v for k, v in library_character.fields.items() if k in CHARACTER_FIELDS}
        row = self.project._one("SELECT id FROM characters WHERE library_id=?", (lid,))
        if row is not None:
            char = Character(self.project, row["id"])
            with self.project.transaction(f"update {library_character.name} from the cast library"):
                self._update(
                    char,
                    {"name": library_character.name, **fields},
                    library_version=library_character.version,
                )
            return char
        return self.add(
            library_character.name, library_id=lid, library_version=library_character.version, **fields
        )

    def pull(self, name: str, library: Any = None) -> Character:
        """Replace the pinned snapshot with the cast library's newer version."""
        from .cast import open_cast

        char = self[name]
        lib = library or open_cast()
        if not char.library_id:
            raise StoryError(f"{char.name} was created in this project, not taken from the cast library")
        newer = lib.get(char.library_id)
        return self.use(newer)

    def outdated(self, library: Any = None) -> list[tuple[Character, int]]:
        """Characters whose cast-library version is newer than the pinned one."""
        from .cast import open_cast

        lib = library or open_cast()
        out = []
        for char in self:
            if char.library_id and char.library_id in lib:
                v = lib.get(char.library_id).version
                if v > (char.library_version or 0):
                    out.append((char, v))
        return out

    def _update(self, char: Character, fields: Mapping[str, Any], library_version: int | None = None) -> None:
        fields = dict(fields)
        new_name = fields.pop("name", None)
        data = self._check_fields(fields)
        with self.project.transaction(f"edit character {char.name}"):
            row = char._row()
            stored = _loads(row["data"], {})
            stored.update(data)
            name = row["name"]
            if new_name is not None and new_name != name:
                name = _clean_title(new_name, "character name")
                if self.project._one(
                    "SELECT 1 FROM characters WHERE lower(name)=lower(?) AND id!=?", (name, char.id)
                ):
                    raise DuplicateName(f"there is already a character called {name!r}")
            self.project._exec(
                "UPDATE characters SET name=?, data=?, version=version+1, "
                "library_version=coalesce(?, library_version) WHERE id=?",
                (name, _dumps(stored), library_version, char.id),
            )

    def remove(self, name: str) -> None:
        char = self[name]
        with self.project.transaction(f"remove character {char.name}"):
            self.project._exec("DELETE FROM characters WHERE id=?", (char.id,))


class Lore:
    """World info: entries that enter the prompt when their keywords appear."""

    def __init__(self, project: Project) -> None:
        self.project = project

    def _entry(self, r: sqlite3.Row) -> LoreEntry:
        return LoreEntry(
            r["id"], r["name"], tuple(_loads(r["keys"], [])), r["content"], bool(r["always"]), r["priority"]
        )

    def __iter__(self) -> Iterator[LoreEntry]:
        rows = self.project._all("SELECT * FROM lore ORDER BY priority DESC, seq")
        return iter([self._entry(r) for r in rows])

    def __len__(self) -> int:
        return self.project._scalar("SELECT count(*) AS n FROM lore")

    def add(
        self,
        keys: Iterable[str] | str,
        content: str,
        always: bool = False,
        priority: int = 0,
        name: str | None = None,
    ) -> LoreEntry:
        if isinstance(keys, str):
            keys = [k.strip() for k in keys.split(",")]
        keys = [k for k in (str(k).strip() for k in keys) if k]
        if not isinstance(content, str) or not content.strip():
            raise InvalidInput("a lore entry needs some content")
        if not keys and not always:
            raise InvalidInput("a lore entry needs at least one keyword, or always=True")
        lid = _new_id("l_")
        with self.project.transaction("add lore"):
            self.project._exec(
                "INSERT INTO lore(id, name, keys, content, always, priority, seq) VALUES(?,?,?,?,?,?,?)",
                (
                    lid,
                    name or (keys[0] if keys else "always"),
                    _dumps(keys),
                    content,
                    int(always),
                    int(priority),
                    self.project._next_seq("lore"),
                ),
            )
        return self.get(lid)

    def get(self, lore_id: str) -> LoreEntry:
        r = self.project._one("SELECT * FROM lore WHERE id=?", (lore_id,))
        if r is None:
            raise StoryError(f"no lore entry {lore_id!r}")
        return self._entry(r)

    def remove(self, entry: LoreEntry | str) -> None:
        lid = entry.id if isinstance(entry, LoreEntry) else entry
        with self.project.transaction("remove lore"):
            self.project._exec("DELETE FROM lore WHERE id=?", (lid,))

    def triggered(self, text: str) -> list[LoreEntry]:
        """Entries that fire for ``text`` (always-on ones included), highest priority first."""
        return [e for e in self if e.matches(text)]


class Assets:
    """Media blobs, content-addressed by sha256, stored in the project file."""

    def __init__(self, project: Project) -> None:
        self.project = project

    def put(
        self, data: bytes, mime: str, provenance: Mapping[str, Any] | None = None, kind: str = ""
    ) -> Asset:
        if not isinstance(data, (bytes, bytearray)):
            raise InvalidInput("asset data must be bytes")
        sha = hashlib.sha256(data).hexdigest()
        prov = dict(provenance or {})
        with self.project.transaction("store asset", undoable=False):
            self.project._exec(
                "INSERT OR IGNORE INTO assets(sha256, mime, kind, data, provenance, created) VALUES(?,?,?,?,?,?)",
                (sha, mime, kind, bytes(data), _dumps(prov), _now()),
            )
        return self.get(sha)

    def get(self, sha256: str) -> Asset:
        r = self.project._one("SELECT * FROM assets WHERE sha256=?", (sha256,))
        if r is None:
            raise StoryError(f"no asset {sha256[:12]}... in this project")
        return Asset(r["sha256"], r["mime"], bytes(r["data"]), _loads(r["provenance"], {}), r["kind"])

    def __contains__(self, sha256: object) -> bool:
        return self.project._one("SELECT 1 FROM assets WHERE sha256=?", (sha256,)) is not None

    def __iter__(self) -> Iterator[Asset]:
        rows = self.project._all("SELECT sha256 FROM assets ORDER BY created, sha256")
        return iter([self.get(r["sha256"]) for r in rows])

    def __len__(self) -> int:
        return self.project._scalar("SELECT count(*) AS n FROM assets")


class Branches(Mapping[str, Branch]):
    """Mapping of branch name to :class:`Branch`; ``branches[name] = scene`` sets it to ``path(scene)``."""

    def __init__(self, project: Project) -> None:
        self.project = project

    def __getitem__(self, name: str) -> Branch:
        r = self.project._one("SELECT * FROM branches WHERE name=?", (name,))
        if r is None:
            known = ", ".join(self) or "none yet"
            raise BranchNotFound(f"no branch called {name!r} (branches: {known})")
        return Branch(self.project, r["name"], tuple(_loads(r["scenes"], [])))

    def __iter__(self) -> Iterator[str]:
        return iter([r["name"] for r in self.project._all("SELECT name FROM branches ORDER BY seq")])

    def __len__(self) -> int:
        return self.project._scalar("SELECT count(*) AS n FROM branches")

    def __contains__(self, name: object) -> bool:
        return self.project._one("SELECT 1 FROM branches WHERE name=?", (name,)) is not None

    def __setitem__(self, name: str, scene: Scene | str) -> None:
        self.project.set_branch(name, scene)

    def __delitem__(self, name: str) -> None:
        self.project.delete_branch(name)

    def create(self, name: str, scene: Scene | str, from_branch: str | None = None) -> Branch:
        """A new branch ending at ``scene``; a name already in use raises :class:`DuplicateName`."""
        name = _clean_branch_name(name)
        if name in self:
            raise DuplicateName(f"there is already a branch called {name!r}")
        self.project.set_branch(name, scene, from_branch=from_branch)
        return self[name]

    def of(self, scene: Scene) -> list[str]:
        """Names of the branches whose path goes through ``scene``."""
        return [b for b in self if scene.id in self[b].scene_ids]


def _clean_branch_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("a branch needs a name")
    name = " ".join(name.split())
    if len(name) > 80:
        raise InvalidInput("a branch name can have at most 80 characters")
    return name


# --------------------------------------------------------------------------- project
class Project:
    """An open project file. Use :func:`open_project` to get one."""

    def __init__(self, file: Path, conn: sqlite3.Connection) -> None:
        self.file = file  # the project file (``path()`` is the story so far)
        self._conn: sqlite3.Connection | None = conn
        self._lock = threading.RLock()
        self._depth = 0
        self._labels: list[str] = []
        self._undoable = True
        self._listeners: list[Callable[[Project], None]] = []
        self.cast = Cast(self)
        self.lore = Lore(self)
        self.assets = Assets(self)
        self.branches = Branches(self)

    # ---- low level
    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ProjectClosed(f"the project {self.file.name} is closed; open it again with open_project()")
        return self._conn

    def _one(self, sql: str, params: tuple = ()) -> sqlite3.Row | None:
        with self._lock:
            return self.conn.execute(sql, params).fetchone()

    def _all(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self.conn.execute(sql, params).fetchall()

    def _scalar(self, sql: str, params: tuple = ()) -> Any:
        with self._lock:
            return self.conn.execute(sql, params).fetchone()[0]

    def _exec(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        if self._depth == 0:
            raise StoryError("internal: write outside a transaction")
        return self.conn.execute(sql, params)

    def _next_seq(self, table: str) -> int:
        r = self.conn.execute(f"SELECT coalesce(max(seq), 0) + 1 AS n FROM {table}").fetchone()
        return r["n"]

    @contextlib.contextmanager
    def transaction(self, label: str = "change", undoable: bool = True) -> Iterator[Project]:
        """Group writes into one atomic transaction and one undo step. Nested calls join the outer one."""
        with self._lock:
            outer = self._depth == 0
            if outer:
                self.conn.execute("BEGIN IMMEDIATE")
                self._labels = []
                self._undoable = undoable
                start = self.conn.execute("SELECT coalesce(max(seq), 0) AS n FROM undolog").fetchone()["n"]
            self._labels.append(label)
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if outer:
                    self.conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if not outer:
                return
            try:
                end = self.conn.execute("SELECT coalesce(max(seq), 0) AS n FROM undolog").fetchone()["n"]
                if end > start:
                    if self._undoable:
                        self.conn.execute(
                            "INSERT INTO undo_steps(label, first_seq, last_seq, ts) VALUES(?,?,?,?)",
                            (self._labels[0], start + 1, end, _now()),
                        )
                    else:
                        self.conn.execute("DELETE FROM undolog WHERE seq > ?", (start,))
                self.conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
                raise
        self._notify()

    def on_change(self, callback: Callable[[Project], None]) -> Callable[[], None]:
        """Call ``callback(project)`` after each committed change; returns a function that unsubscribes."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def _notify(self) -> None:
        for cb in list(self._listeners):
            with contextlib.suppress(Exception):
                cb(self)

    @property
    def revision(self) -> int:
        """A number that changes whenever the story changes (in this or another process)."""
        return int(
            self._scalar(
                "SELECT (SELECT coalesce(max(seq),0) FROM undolog) + (SELECT coalesce(max(seq),0) FROM events) "
                "+ (SELECT count(*) FROM undo_steps)"
            )
        )

    def close(self) -> None:
        """Checkpoint the write-ahead log into the file and close it (the file is then complete on its own)."""
        with self._lock:
            if self._conn is None:
                return
            conn, self._conn = self._conn, None
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.close()

    @property
    def closed(self) -> bool:
        return self._conn is None

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - best effort
        with contextlib.suppress(Exception):
            self.close()

    def backup(self, out: str | os.PathLike[str]) -> Path:
        """A consistent copy through SQLite's backup API (safe while the project is in use)."""
        out = Path(out)
        if out.resolve() == self.file.resolve():
            raise InvalidInput("the backup must go to another file than the project itself")
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".part")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        dest = sqlite3.connect(tmp)
        try:
            with self._lock:
                self.conn.backup(dest)
            dest.execute("PRAGMA journal_mode=DELETE")
        finally:
            dest.close()
        os.replace(tmp, out)
        return out

    # ---- meta
    def _meta(self, key: str, default: str = "") -> str:
        r = self._one("SELECT value FROM meta WHERE key=?", (key,))
        return r["value"] if r else default

    def _set_meta(self, key: str, value: str) -> None:
        if not isinstance(value, str):
            raise InvalidInput(f"the project's {key} must be text")
        with self.transaction(f"set {key}"):
            self._exec(
                "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, value),
            )

    title = property(
        lambda self: self._meta("title", "Untitled story"), lambda self, v: self._set_meta("title", v)
    )
    logline = property(lambda self: self._meta("logline"), lambda self, v: self._set_meta("logline", v))
    genre = property(lambda self: self._meta("genre"), lambda self, v: self._set_meta("genre", v))
    style = property(lambda self: self._meta("style"), lambda self, v: self._set_meta("style", v))
    author_note = property(
        lambda self: self._meta("author_note"), lambda self, v: self._set_meta("author_note", v)
    )

    @property
    def ifid(self) -> str:
        return self._meta("ifid")

    @ifid.setter
    def ifid(self, value: str) -> None:
        try:
            value = str(uuid.UUID(str(value))).upper()
        except ValueError:
            raise InvalidInput(f"an IFID is a UUID like {uuid.uuid4()!s}, not {value!r}") from None
        self._set_meta("ifid", value)

    # ---- scenes
    @property
    def scenes(self) -> list[Scene]:
        return [Scene(self, r["id"]) for r in self._all("SELECT id FROM scenes ORDER BY seq")]

    @property
    def start(self) -> Scene | None:
        sid = self._meta("start")
        return Scene(self, sid) if sid else None

    def scene(self, id_or_title: str | Scene) -> Scene:
        if isinstance(id_or_title, Scene):
            id_or_title._row()
            return id_or_title
        if not isinstance(id_or_title, str):
            raise InvalidInput("look scenes up by id or title")
        r = self._one("SELECT id FROM scenes WHERE id=? OR title=?", (id_or_title, id_or_title))
        if r is None:
            r = self._one("SELECT id FROM scenes WHERE lower(title)=lower(?)", (id_or_title,))
        if r is None:
            raise SceneNotFound(f"no scene called {id_or_title!r} in {self.title!r}")
        return Scene(self, r["id"])

    def _choice(self, r: sqlite3.Row) -> Choice:
        return Choice(self, r["id"], r["source"], r["target"], r["label"])

    @property
    def choices(self) -> list[Choice]:
        return [self._choice(r) for r in self._all("SELECT * FROM choices ORDER BY seq")]

    def unique_title(self, title: str) -> str:
        """``title``, or ``title (2)``, ``title (3)``... whichever is free."""
        base = _clean_title(title)
        candidate, n = base, 1
        while self._one("SELECT 1 FROM scenes WHERE lower(title)=lower(?)", (candidate,)):
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
        title = _clean_title(title)
        text = _clean_text(text)
        chars = [str(c) for c in characters]
        tag_list = [str(t).strip() for t in tags if str(t).strip()]
        with self.transaction(f"add scene {title}"):
            if self._one("SELECT 1 FROM scenes WHERE lower(title)=lower(?)", (title,)):
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
            sid = _new_id("s_")
            x, y = position if position is not None else (None, None)
            self._exec(
                "INSERT INTO scenes(id, title, tags, characters, x, y, seq) VALUES(?,?,?,?,?,?,?)",
                (sid, title, _dumps(tag_list), _dumps(chars), x, y, self._next_seq("scenes")),
            )
            scene = Scene(self, sid)
            if start is None:
                self._exec(
                    "INSERT INTO meta(key, value) VALUES('start', ?) "
                    "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                    (sid,),
                )
                if DEFAULT_BRANCH in self.branches:
                    self._exec("UPDATE branches SET scenes=? WHERE name=?", (_dumps([sid]), DEFAULT_BRANCH))
                else:
                    self._exec(
                        "INSERT INTO branches(name, scenes, seq) VALUES(?,?,?)",
                        (DEFAULT_BRANCH, _dumps([sid]), self._next_seq("branches")),
                    )
            elif src is not None:
                self._link(src, scene, choice or title)
                grow = self._branch_to_grow(src, branch)
                if grow is not None:
                    ids = list(self.branches[grow].scene_ids) + [sid]
                    self._exec("UPDATE branches SET scenes=? WHERE name=?", (_dumps(ids), grow))
            if text:
                self._add_take(scene, text, source, provenance, None, True)
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
        if self._one("SELECT 1 FROM choices WHERE source=? AND target=?", (src.id, dst.id)):
            raise DuplicateName(f"{src.title!r} already leads to {dst.title!r}")
        cid = _new_id("x_")
        self._exec(
            "INSERT INTO choices(id, source, target, label, seq) VALUES(?,?,?,?,?)",
            (cid, src.id, dst.id, label, self._next_seq("choices")),
        )
        return Choice(self, cid, src.id, dst.id, label)

    def _reaches(self, a: str, b: str) -> bool:
        """Is ``b`` reachable from ``a`` along choices?"""
        r = self.conn.execute(
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
                        self._exec("UPDATE branches SET scenes=? WHERE name=?", (_dumps(ids[: i + 1]), name))
                        break
            self._exec("DELETE FROM choices WHERE id=?", (choice.id,))

    def relabel(self, choice: Choice, label: str) -> None:
        label = " ".join(str(label).split())
        if not label:
            raise InvalidInput("a choice needs a label")
        with self.transaction("relabel choice"):
            self._exec("UPDATE choices SET label=? WHERE id=?", (label, choice.id))

    def _update_scene(
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
            scene._row()
            if tags is not None:
                self._exec("UPDATE scenes SET tags=? WHERE id=?", (_dumps([str(t) for t in tags]), scene.id))
            if characters is not None:
                self._exec(
                    "UPDATE scenes SET characters=? WHERE id=?",
                    (_dumps([str(c) for c in characters]), scene.id),
                )
            if position is not False:
                x, y = position if position is not None else (None, None)  # type: ignore[misc]
                self._exec("UPDATE scenes SET x=?, y=? WHERE id=?", (x, y, scene.id))
            if summary is not None:
                self._exec("UPDATE scenes SET summary=? WHERE id=?", (summary, scene.id))

    def set_summary(self, scene: Scene, summary: str) -> None:
        self._update_scene(scene, summary=summary, label="summarise scene")

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
                for r in self._all("SELECT source FROM choices WHERE target=? ORDER BY seq", (cur,))
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
        name = _clean_branch_name(name)
        with self.transaction(f"set branch {name}"):
            ids = [s.id for s in self.path(scene, from_branch)]
            if name in self.branches:
                self._exec("UPDATE branches SET scenes=? WHERE name=?", (_dumps(ids), name))
            else:
                self._exec(
                    "INSERT INTO branches(name, scenes, seq) VALUES(?,?,?)",
                    (name, _dumps(ids), self._next_seq("branches")),
                )
        return self.branches[name]

    def extend_branch(self, name: str, scene: Scene) -> Branch:
        """Append ``scene`` (a child of the branch's tip) to branch ``name``."""
        with self.transaction(f"extend branch {name}"):
            b = self.branches[name]
            if b.tip is not None and not self._one(
                "SELECT 1 FROM choices WHERE source=? AND target=?", (b.tip.id, scene.id)
            ):
                raise StoryError(f"{scene.title!r} does not follow the last scene of branch {name!r}")
            self._exec("UPDATE branches SET scenes=? WHERE name=?", (_dumps([*b.scene_ids, scene.id]), name))
        return self.branches[name]

    def unique_branch_name(self, base: str) -> str:
        base = _clean_branch_name(base)[:70]
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
            self._exec("DELETE FROM branches WHERE name=?", (name,))

    # ---- edits
    def rename(self, scene_or_branch: Scene | Branch | str, new: str) -> None:
        """Rename a scene or a branch (a string names a branch if one has that name, else a scene)."""
        if isinstance(scene_or_branch, Branch) or (
            isinstance(scene_or_branch, str) and scene_or_branch in self.branches
        ):
            old = scene_or_branch.name if isinstance(scene_or_branch, Branch) else scene_or_branch
            new = _clean_branch_name(new)
            with self.transaction(f"rename branch {old}"):
                self.branches[old]
                if new != old and new in self.branches:
                    raise DuplicateName(f"there is already a branch called {new!r}")
                self._exec("UPDATE branches SET name=? WHERE name=?", (new, old))
            return
        scene = self.scene(scene_or_branch)
        new = _clean_title(new)
        with self.transaction(f"rename scene {scene.title}"):
            if self._one("SELECT 1 FROM scenes WHERE lower(title)=lower(?) AND id!=?", (new, scene.id)):
                raise DuplicateName(f"there is already a scene called {new!r}")
            self._exec("UPDATE scenes SET title=? WHERE id=?", (new, scene.id))

    def delete(self, scene: Scene | str) -> None:
        """Delete a scene and every scene reachable only through it; branches through it end before it."""
        scene = self.scene(scene)
        start = self.start
        with self.transaction(f"delete scene {scene.title}"):
            doomed = self._exclusive_subtree(scene.id)
            if start is not None and start.id in doomed:
                if len(self.scenes) > len(doomed) or len(doomed) > 1:
                    raise StoryError("the start scene can only be deleted when it is the only scene")
                self._exec("DELETE FROM meta WHERE key='start'")
            for name in list(self.branches):
                ids = list(self.branches[name].scene_ids)
                cut = next((i for i, s in enumerate(ids) if s in doomed), None)
                if cut is not None:
                    self._exec("UPDATE branches SET scenes=? WHERE name=?", (_dumps(ids[:cut]), name))
            for sid in doomed:
                self._exec("DELETE FROM scenes WHERE id=?", (sid,))

    def _exclusive_subtree(self, root: str) -> set[str]:
        """``root`` and the descendants that cannot be reached from the start without it."""
        doomed = {root}
        changed = True
        while changed:
            changed = False
            rows = self.conn.execute("SELECT source, target FROM choices").fetchall()
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
                if self._one("SELECT 1 FROM scenes WHERE id=?", (sid,)):
                    doomed = self._exclusive_subtree(sid) - others
                    if doomed & others:
                        continue
                    removed.append(Scene(self, sid).title)
                    self.delete(Scene(self, sid))
            self._exec("DELETE FROM branches WHERE name=?", (branch,))
        return removed

    def undo(self) -> str:
        """Undo the last change (of any kind, by anyone). Returns what was undone."""
        with self._lock:
            step = self._one("SELECT * FROM undo_steps ORDER BY step DESC LIMIT 1")
            if step is None:
                raise NothingToUndo("there is nothing to undo")
            with self.transaction("undo", undoable=False):
                self.conn.execute("PRAGMA defer_foreign_keys=ON")
                rows = self.conn.execute(
                    "SELECT sql FROM undolog WHERE seq BETWEEN ? AND ? ORDER BY seq DESC",
                    (step["first_seq"], step["last_seq"]),
                ).fetchall()
                for r in rows:
                    self.conn.execute(r["sql"])
                self.conn.execute("DELETE FROM undolog WHERE seq >= ?", (step["first_seq"],))
                self.conn.execute("DELETE FROM undo_steps WHERE step=?", (step["step"],))
            return step["label"]

    @property
    def undo_label(self) -> str | None:
        step = self._one("SELECT label FROM undo_steps ORDER BY step DESC LIMIT 1")
        return step["label"] if step else None

    # ---- takes and feedback
    def _add_take(
        self,
        scene: Scene,
        text: str,
        source: str,
        provenance: Mapping[str, Any] | None,
        parent: Take | None,
        choose: bool | None,
    ) -> Take:
        text = _clean_text(text)
        if source not in TAKE_SOURCES:
            raise InvalidInput(f"a take's source is one of {', '.join(TAKE_SOURCES)}, not {source!r}")
        prov = dict(provenance or {})
        json.dumps(prov)
        with self.transaction(f"add take to {scene.title}"):
            scene._row()
            tid = _new_id("t_")
            self._exec(
                "INSERT INTO takes(id, scene_id, text, source, parent_id, provenance, created, seq) "
                "VALUES(?,?,?,?,?,?,?,?)",
                (
                    tid,
                    scene.id,
                    text,
                    source,
                    parent.id if parent else None,
                    _dumps(prov),
                    _now(),
                    self._next_seq("takes"),
                ),
            )
            take = Take(self, tid)
            if choose or (choose is None and self._chosen_take_id(scene.id) is None):
                self._event("choose", AUTO_RATER, take, others=[])
        return take

    def _event(
        self, kind: str, rater: str, take: Take, others: Iterable[str] = (), value: Any = None
    ) -> None:
        self._exec(
            "INSERT INTO events(ts, rater, kind, scene_id, take_id, others, value) VALUES(?,?,?,?,?,?,?)",
            (
                _now(),
                rater,
                kind,
                take.scene.id,
                take.id,
                _dumps(list(others)),
                None if value is None else _dumps(value),
            ),
        )

    def _live_events(self, where: str = "", params: tuple = ()) -> list[sqlite3.Row]:
        sql = (
            "SELECT * FROM events e WHERE kind != 'void' AND NOT EXISTS "
            "(SELECT 1 FROM events v WHERE v.kind='void' AND v.ref=e.seq)"
        )
        if where:
            sql += " AND " + where
        return self._all(sql + " ORDER BY seq", params)

    def _chosen_take_id(self, scene_id: str) -> str | None:
        rows = self._live_events(
            "e.scene_id=? AND e.kind IN ('choose','edit') AND EXISTS (SELECT 1 FROM takes t WHERE t.id=e.take_id)",
            (scene_id,),
        )
        return rows[-1]["take_id"] if rows else None

    def _rating(self, take_id: str) -> int | None:
        rows = self._live_events("e.take_id=? AND e.kind='rate'", (take_id,))
        return _loads(rows[-1]["value"]) if rows else None

    def _check_rater(self, rater: str) -> str:
        if not isinstance(rater, str) or not rater.strip():
            raise InvalidInput("a rater needs a name")
        return rater.strip()

    def _feedback_choose(self, take: Take, rater: str) -> None:
        rater = self._check_rater(rater)
        with self.transaction("choose take"):
            scene = take.scene
            others = [t.id for t in scene.takes if t.id != take.id]
            self._event("choose", rater, take, others)

    def _feedback_rate(self, take: Take, stars: int, rater: str) -> None:
        rater = self._check_rater(rater)
        if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
            raise InvalidInput(f"a rating is a whole number of stars from 1 to 5, not {stars!r}")
        with self.transaction("rate take"):
            take._row()
            self._event("rate", rater, take, value=stars)

    def _feedback_edit(self, take: Take, text: str, rater: str) -> Take:
        rater = self._check_rater(rater)
        text = _clean_text(text)
        if text == take.text:
            raise InvalidInput("the edited text is the same as the take's; nothing to save")
        with self.transaction("edit take"):
            prov = take.provenance
            prov = {**prov, "edited_from": take.id}
            new = self._add_take(take.scene, text, "edit", prov, take, False)
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
                tuple(_loads(r["others"], [])),
                _loads(r["value"]),
            )
            for r in rows
        ]

    def take(self, take_id: str) -> Take:
        t = Take(self, take_id)
        t._row()
        return t

    # ---- caches
    def cache_get(self, key: str) -> Any | None:
        r = self._one("SELECT value FROM cache WHERE key=?", (key,))
        return _loads(r["value"]) if r else None

    def cache_put(self, key: str, value: Any) -> None:
        with self.transaction("cache", undoable=False):
            self._exec(
                "INSERT INTO cache(key, value, created) VALUES(?,?,?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, _dumps(value), _now()),
            )

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
        meta = {k: self._meta(k) for k in (*META_FIELDS, "ifid")}
        meta["start"] = title_of.get(self._meta("start"), "")
        return {
            "meta": meta,
            "scenes": scenes,
            "branches": {n: [title_of[i] for i in self.branches[n].scene_ids] for n in self.branches},
            "cast": [{k: v for k, v in c.to_dict().items() if k != "id"} for c in self.cast],
            "lore": [[list(e.keys), e.content, e.always, e.priority] for e in self.lore],
        }

    def content_hash(self) -> str:
        return hashlib.sha256(_dumps(self.content()).encode()).hexdigest()

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
            "takes": self._scalar("SELECT count(*) AS n FROM takes"),
            "assets": len(self.assets),
        }

    def _repr_html_(self) -> str:
        from ..render import project_html

        return project_html(self)

    def __repr__(self) -> str:
        if self.closed:
            return f"Project({str(self.file)!r}, closed)"
        return f"Project({self.title!r}, {len(self.scenes)} scenes, {len(self.branches)} branches)"


# --------------------------------------------------------------------------- opening
def _inspect_file(path: Path) -> None:
    """Check an existing file is an intact project of a schema we can read, writing nothing."""
    try:
        with open(path, "rb") as fh:
            header = fh.read(100)
    except IsADirectoryError:
        raise NotAProject(f"{path} is a folder, not a project file") from None
    if len(header) == 0:
        raise NotAProject(f"{path} is empty, not a Story Workbench project")
    if not header.startswith(SQLITE_HEADER):
        raise NotAProject(f"{path} is not a Story Workbench project (it is not even a database file)")
    if len(header) < 100:
        raise DamagedProject(f"{path} is truncated: the project file is damaged")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    n_pages = int.from_bytes(header[28:32], "big")
    size = path.stat().st_size
    wal = path.with_name(path.name + "-wal")
    if n_pages and size < n_pages * page_size and not (wal.exists() and wal.stat().st_size > 0):
        raise DamagedProject(
            f"{path} is damaged: it is shorter than its header says ({size:,} of {n_pages * page_size:,} bytes). "
            "Restore it from a backup (workbench backup)."
        )
    uri = f"file:{path.resolve().as_posix()}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise DamagedProject(f"{path} cannot be opened: {exc}") from None
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if app_id != schema.APPLICATION_ID:
            raise NotAProject(f"{path} is a database, but not a Story Workbench project")
        if version > schema.SCHEMA_VERSION:
            raise NewerSchema(
                f"{path} was saved by a newer Story Workbench (file format {version}, this version reads up to "
                f"{schema.SCHEMA_VERSION}); upgrade story-workbench to open it"
            )
        conn.execute("SELECT count(*) FROM meta").fetchone()
        conn.execute("SELECT count(*) FROM scenes").fetchone()
    except sqlite3.DatabaseError as exc:
        raise DamagedProject(f"{path} is damaged ({exc}); restore it from a backup") from None
    finally:
        conn.close()


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 60000")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def open_project(path: str | os.PathLike[str], create: bool = True, title: str | None = None) -> Project:
    """Open a project file, creating it when it does not exist (unless ``create=False``).

    A file that is not a project, is damaged, or was written by a newer version raises a clear
    :class:`~workbench.errors.ProjectError` and is left byte-for-byte as it was.
    """
    p = Path(path).expanduser()
    if p.exists():
        _inspect_file(p)
        conn = _connect(p)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version < schema.SCHEMA_VERSION:
            conn.execute("BEGIN IMMEDIATE")
            try:
                schema.migrate(conn, version)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                conn.close()
                raise
        return Project(p, conn)
    if not create:
        raise ProjectNotFound(f"there is no project at {p}")
    if not p.parent.exists():
        raise ProjectNotFound(f"the folder {p.parent} does not exist")
    conn = _connect(p)
    try:
        conn.execute("BEGIN IMMEDIATE")
        if (
            conn.execute("PRAGMA user_version").fetchone()[0] == 0
            and not conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone()
        ):
            schema.create(conn)
            conn.execute("INSERT INTO meta(key, value) VALUES('ifid', ?)", (str(uuid.uuid4()).upper(),))
            conn.execute(
                "INSERT INTO meta(key, value) VALUES('title', ?)", (title or p.stem.replace("_", " "),)
            )
            conn.execute("INSERT INTO meta(key, value) VALUES('created', ?)", (_now(),))
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        conn.close()
        raise
    return Project(p, conn)
